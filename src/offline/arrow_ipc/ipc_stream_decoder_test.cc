// The IPC decoder against pyarrow, the reference producer: streams written
// by pyarrow at test time (testdata/make_ipc_streams.py) are decoded,
// scanned into DuckDB through the C stream interface, and compared with
// DuckDB's read of the same table from Parquet written by pyarrow. Then
// hostile input: every truncation, corrupted bytes, metadata and buffers.
#include "offline/arrow_ipc/ipc_stream_decoder.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "offline/arrow_ipc/flatbuffer.h"
#include "offline/arrow_ipc/ipc_arrow_stream.h"
#include "offline/duckdb/arrow_stream.h"
#include "offline/duckdb/duckdb_connection.h"
#include "support/test_util.h"

namespace larder::offline::arrow_ipc {
namespace {

using larder::testing::ReadFileText;
using larder::testing::RunCommand;
using larder::testing::SourceDir;
using larder::testing::TempDir;

// The directory of pyarrow's files, made once; empty when the SDK venv (with
// pyarrow) is missing.
const std::string& Generated() {
  static TempDir dir;  // removed at exit
  static const std::string path = [] {
    const std::string python = SourceDir() + "/third_party/sdk_venv/bin/python";
    if (!std::filesystem::exists(python)) return std::string();
    auto r = RunCommand(python + " " + SourceDir() +
                        "/src/offline/arrow_ipc/testdata/make_ipc_streams.py " + dir.path());
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r.exit_code == 0 ? dir.path() : std::string();
  }();
  return path;
}

// pyarrow writes the streams these tests decode: without it they fail (a
// skipped test would pass for nothing).
#define REQUIRE_PYARROW()                                                                \
  if (Generated().empty()) {                                                             \
    GTEST_FAIL() << "no pyarrow: create third_party/sdk_venv with scripts/sdk_venv.sh"; \
  }

std::string File(const std::string& name) { return ReadFileText(Generated() + "/" + name); }

// An ArrowArrayStream over `chunks`, counting the pulls in *pulls.
ArrowArrayStream StreamOver(std::vector<std::string> chunks, int* pulls = nullptr) {
  auto next = std::make_shared<size_t>(0);
  return MakeArrowStream(
      [chunks = std::move(chunks), next, pulls]() -> Result<std::optional<std::string>> {
        if (pulls != nullptr) ++*pulls;
        if (*next == chunks.size()) return std::optional<std::string>();
        return std::optional<std::string>(chunks[(*next)++]);
      });
}

// Scans `stream` into DuckDB (as Larder does) and checks that every row and
// column equals DuckDB's read of `parquet`. Returns the DuckDB types of the
// imported columns by name.
std::map<std::string, std::string> ExpectSameAsParquet(ArrowArrayStream stream,
                                                       const std::string& parquet) {
  std::map<std::string, std::string> types;
  auto conn = duckdb::Connection::Open(":memory:");
  EXPECT_TRUE(conn.ok());
  if (!conn.ok()) return types;
  Status imported = duckdb::ImportArrowStream(**conn, &stream, "ipc", "ipc");
  stream.release(&stream);
  EXPECT_TRUE(imported.ok()) << imported.ToString();
  if (!imported.ok()) return types;
  auto got = (*conn)->Query("SELECT * FROM ipc ORDER BY id", "ipc");
  auto want = (*conn)->Query(
      "SELECT * FROM read_parquet('" + Generated() + "/" + parquet + "') ORDER BY id", "parquet");
  EXPECT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_TRUE(want.ok()) << want.status().ToString();
  if (!got.ok() || !want.ok()) return types;
  EXPECT_EQ(got->column_names, want->column_names);
  EXPECT_EQ(got->rows.size(), want->rows.size());
  for (size_t r = 0; r < got->rows.size() && r < want->rows.size(); ++r) {
    for (size_t c = 0; c < got->column_names.size(); ++c) {
      EXPECT_EQ(got->rows[r][c], want->rows[r][c])
          << "row " << r << " column " << got->column_names[c] << " (" << got->column_types[c]
          << ")";
    }
  }
  for (size_t c = 0; c < got->column_names.size(); ++c) {
    types[got->column_names[c]] = got->column_types[c];
  }
  return types;
}

const Field* FindField(const Schema& s, const std::string& name) {
  for (const Field& f : s.fields) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

TEST(ArrowIpcDecoder, SchemaGivesCFormatsNamesAndNullability) {
  REQUIRE_PYARROW();
  auto schema = ReadSchema(File("all_types.arrows"));
  ASSERT_TRUE(schema.ok()) << schema.status().ToString();
  const std::map<std::string, std::string> formats = {{"id", "l"},
                                                      {"nulls", "n"},
                                                      {"b", "b"},
                                                      {"i8", "c"},
                                                      {"u64", "L"},
                                                      {"f32", "f"},
                                                      {"f64", "g"},
                                                      {"s", "u"},
                                                      {"ls", "U"},
                                                      {"bin", "z"},
                                                      {"lbin", "Z"},
                                                      {"fsb", "w:3"},
                                                      {"d32", "tdD"},
                                                      {"d64", "tdm"},
                                                      {"t32", "ttm"},
                                                      {"t64", "ttu"},
                                                      {"ts_s", "tss:"},
                                                      {"ts_ms", "tsm:"},
                                                      {"ts_us_utc", "tsu:UTC"},
                                                      {"ts_ns_tz", "tsn:America/New_York"},
                                                      {"dec", "d:12,2"},
                                                      {"dec38", "d:38,12"},
                                                      {"lst", "+l"},
                                                      {"llst", "+L"},
                                                      {"fsl", "+w:3"},
                                                      {"st", "+s"},
                                                      {"mp", "+m"},
                                                      {"lst_st", "+l"}};
  for (const auto& [name, format] : formats) {
    const Field* f = FindField(*schema, name);
    ASSERT_NE(f, nullptr) << name;
    EXPECT_EQ(f->format, format) << name;
  }
  EXPECT_EQ(schema->fields.size(), 34u);
  EXPECT_FALSE(FindField(*schema, "id")->nullable);
  EXPECT_TRUE(FindField(*schema, "s")->nullable);
  const Field* mp = FindField(*schema, "mp");
  ASSERT_EQ(mp->children.size(), 1u);
  ASSERT_EQ(mp->children[0].children.size(), 2u);
  EXPECT_EQ(mp->children[0].children[0].format, "u");
  EXPECT_EQ(mp->children[0].children[1].format, "l");

  auto c = DecodeSchema(File("all_types.arrows"));
  ASSERT_TRUE(c.ok());
  EXPECT_STREQ(c->format, "+s");
  ASSERT_EQ(c->n_children, 34);
  EXPECT_STREQ(c->children[0]->name, "id");
  EXPECT_EQ(c->children[0]->flags & ARROW_FLAG_NULLABLE, 0);
  EXPECT_STREQ(c->children[24]->format, "tsu:UTC");
  EXPECT_EQ(c->children[24]->flags & ARROW_FLAG_NULLABLE, ARROW_FLAG_NULLABLE);
  c->release(&*c);
}

TEST(ArrowIpcDecoder, OneStreamOfSeveralBatchesMatchesPyarrow) {
  REQUIRE_PYARROW();
  IpcStreamDecoder decoder;
  ASSERT_TRUE(decoder.Append(File("all_types.arrows")).ok());
  ASSERT_EQ(decoder.queued_batches(), 3u);
  std::vector<std::string> lengths;
  int64_t rows = 0;
  std::vector<RecordBatch> batches;
  while (auto b = decoder.PopBatch()) {
    rows += b->length;
    batches.push_back(std::move(*b));
  }
  EXPECT_EQ(rows, 10);
  EXPECT_EQ(batches[0].length, 4);
  EXPECT_EQ(batches[1].length, 3);
  // The same stream, whole, through the C stream interface into DuckDB.
  auto types = ExpectSameAsParquet(StreamOver({File("all_types.arrows")}), "all_types.parquet");
  EXPECT_EQ(types["ts_us_utc"], "TIMESTAMP WITH TIME ZONE");
  EXPECT_EQ(types["dec38"], "DECIMAL(38,12)");
  EXPECT_EQ(types["mp"], "MAP(VARCHAR, BIGINT)");
  EXPECT_EQ(types["u64"], "UBIGINT");
  EXPECT_EQ(types["ls"], "VARCHAR");
}

TEST(ArrowIpcStream, ChunksAsSparkSendsThemMatchPyarrow) {
  REQUIRE_PYARROW();
  ExpectSameAsParquet(
      StreamOver({File("chunk_0.arrows"), File("chunk_1.arrows"), File("chunk_2.arrows")}),
      "all_types.parquet");
}

TEST(ArrowIpcStream, SlicedArraysMatchPyarrow) {
  REQUIRE_PYARROW();
  ExpectSameAsParquet(StreamOver({File("slice.arrows")}), "slice.parquet");
}

TEST(ArrowIpcStream, DurationsAndIntervalsReachDuckDb) {
  REQUIRE_PYARROW();
  ArrowArrayStream s = StreamOver({File("intervals.arrows")});
  auto conn = duckdb::Connection::Open(":memory:");
  ASSERT_TRUE(conn.ok());
  ASSERT_TRUE(duckdb::ImportArrowStream(**conn, &s, "ipc", "ipc").ok());
  s.release(&s);
  auto r = (*conn)->Query("SELECT dur, mdn FROM ipc ORDER BY id", "ipc");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->column_types, (std::vector<std::string>{"INTERVAL", "INTERVAL"}));
  using Row = std::vector<std::optional<std::string>>;
  ASSERT_EQ(r->rows.size(), 3u);
  EXPECT_EQ(r->rows[0], (Row{"00:00:01.5", "1 year 2 months 3 days 00:00:00.000004"}));
  EXPECT_EQ(r->rows[1], (Row{std::nullopt, std::nullopt}));
  EXPECT_EQ(r->rows[2], (Row{"-24:00:00", "-1 month"}));  // DuckDB keeps micros as time
}

TEST(ArrowIpcStream, EmptyResultHasTheSchemaAndNoRows) {
  REQUIRE_PYARROW();
  ArrowArrayStream s = StreamOver({File("empty.arrows")});
  auto conn = duckdb::Connection::Open(":memory:");
  ASSERT_TRUE(conn.ok());
  ASSERT_TRUE(duckdb::ImportArrowStream(**conn, &s, "ipc", "ipc").ok());
  s.release(&s);
  auto r = (*conn)->Query("SELECT * FROM ipc", "ipc");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->rows.size(), 0u);
  EXPECT_EQ(r->column_names.size(), 34u);
}

TEST(ArrowIpcStream, PullsOneChunkAtATime) {
  REQUIRE_PYARROW();
  int pulls = 0;
  ArrowArrayStream s =
      StreamOver({File("chunk_0.arrows"), File("empty.arrows"), File("chunk_1.arrows")}, &pulls);
  EXPECT_EQ(pulls, 0);
  ArrowSchema schema;
  ASSERT_EQ(s.get_schema(&s, &schema), 0);
  EXPECT_EQ(pulls, 1);
  ArrowSchema again;  // a second call gives another copy
  ASSERT_EQ(s.get_schema(&s, &again), 0);
  EXPECT_EQ(pulls, 1);
  again.release(&again);
  ArrowArray a;
  ASSERT_EQ(s.get_next(&s, &a), 0);
  EXPECT_EQ(pulls, 1);
  EXPECT_EQ(a.length, 4);
  ArrowArray b;
  ASSERT_EQ(s.get_next(&s, &b), 0);  // the empty chunk is skipped
  EXPECT_EQ(pulls, 3);
  EXPECT_EQ(b.length, 3);
  ArrowArray end;
  ASSERT_EQ(s.get_next(&s, &end), 0);
  EXPECT_EQ(end.release, nullptr);
  // Arrays outlive the stream, and children may be moved out and released
  // on their own.
  s.release(&s);
  ArrowArray* child = a.children[13];  // "s", utf8
  ArrowArray moved = *child;
  child->release = nullptr;
  a.release(&a);
  ASSERT_EQ(moved.n_buffers, 3);
  const auto* offsets = static_cast<const int32_t*>(moved.buffers[1]);
  const char* data = static_cast<const char*>(moved.buffers[2]);
  EXPECT_EQ(std::string(data + offsets[0], offsets[1] - offsets[0]), "0");
  EXPECT_EQ(reinterpret_cast<uintptr_t>(offsets) % 8, 0u);
  moved.release(&moved);
  b.release(&b);
  schema.release(&schema);
}

TEST(ArrowIpcStream, ProducerErrorsEndTheStream) {
  REQUIRE_PYARROW();
  int calls = 0;
  const std::string chunk = File("chunk_0.arrows");
  ArrowArrayStream s = MakeArrowStream([&]() -> Result<std::optional<std::string>> {
    if (calls++ == 0) return std::optional<std::string>(chunk);
    return Status::IOError("spark connect: stream reset");
  });
  ArrowSchema schema;
  ASSERT_EQ(s.get_schema(&s, &schema), 0);
  schema.release(&schema);
  ArrowArray a;
  ASSERT_EQ(s.get_next(&s, &a), 0);
  a.release(&a);
  EXPECT_EQ(s.get_next(&s, &a), EIO);
  EXPECT_STREQ(s.get_last_error(&s), "spark connect: stream reset");
  EXPECT_EQ(s.get_next(&s, &a), EIO);  // and stays failed
  s.release(&s);

  ArrowArrayStream none = StreamOver({});
  EXPECT_EQ(none.get_schema(&none, &schema), EIO);
  EXPECT_NE(std::string(none.get_last_error(&none)).find("no schema"), std::string::npos);
  none.release(&none);

  ArrowArrayStream throws = MakeArrowStream(
      []() -> Result<std::optional<std::string>> { throw std::runtime_error("boom"); });
  EXPECT_EQ(throws.get_next(&throws, &a), EIO);
  EXPECT_NE(std::string(throws.get_last_error(&throws)).find("boom"), std::string::npos);
  throws.release(&throws);
}

TEST(ArrowIpcStream, DuckDbReportsADecodingError) {
  REQUIRE_PYARROW();
  std::string bad = File("chunk_1.arrows");
  bad.resize(bad.size() - 100);
  ArrowArrayStream s = StreamOver({File("chunk_0.arrows"), bad});
  auto conn = duckdb::Connection::Open(":memory:");
  ASSERT_TRUE(conn.ok());
  Status st = duckdb::ImportArrowStream(**conn, &s, "ipc", "ipc");
  s.release(&s);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("truncated stream"), std::string::npos) << st.ToString();
}

TEST(ArrowIpcStream, DuckDbIsNotAskedToScanAStreamWithoutSchema) {
  REQUIRE_PYARROW();
  std::string bad = File("chunk_0.arrows");
  bad[0] = 'x';
  ArrowArrayStream s = StreamOver({bad});
  auto conn = duckdb::Connection::Open(":memory:");
  ASSERT_TRUE(conn.ok());
  Status st = duckdb::ImportArrowStream(**conn, &s, "ipc", "spark result");
  s.release(&s);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(st.message(),
            "spark result: cannot read the Arrow stream's schema: arrow ipc: expected the "
            "continuation marker 0xFFFFFFFF at byte 0, found 0xFFFFFF78");
}

TEST(ArrowIpcDecoder, LaterSchemasMustEqualTheFirst) {
  REQUIRE_PYARROW();
  IpcStreamDecoder decoder;
  ASSERT_TRUE(decoder.Append(File("chunk_0.arrows")).ok());
  Status st = decoder.Append(File("other_schema.arrows"));
  EXPECT_EQ(st.code(), StatusCode::kCorruption);
  EXPECT_NE(st.message().find("arrow ipc: the schema differs from the first stream's: field 13 "
                              "is 'ls' here but was 's'"),
            std::string::npos)
      << st.message();
  EXPECT_EQ(decoder.queued_batches(), 1u);  // the refused stream queued nothing
  ASSERT_TRUE(decoder.Append(File("chunk_1.arrows")).ok());
  EXPECT_EQ(decoder.queued_batches(), 2u);
}

TEST(ArrowIpcDecoder, UnsupportedInputIsRefusedByName) {
  REQUIRE_PYARROW();
  IpcStreamDecoder decoder;
  Status zstd = decoder.Append(File("zstd.arrows"));
  EXPECT_EQ(zstd.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(zstd.message().find("compressed with ZSTD, which is not supported"), std::string::npos)
      << zstd.message();
  Status dict = decoder.Append(File("dictionary.arrows"));
  EXPECT_EQ(dict.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(dict.message().find("column 'c' (utf8) is dictionary-encoded"), std::string::npos)
      << dict.message();
  Status half = decoder.Append(File("float16.arrows"));
  EXPECT_EQ(half.message(), "arrow ipc: column 'h' has type float16, which is not supported");
  Status deep = decoder.Append(File("deep.arrows"));
  EXPECT_EQ(deep.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(deep.message(), "arrow ipc: fields nest deeper than 64 levels, which is not supported");
  EXPECT_FALSE(decoder.has_schema());
}

// ---------------------------------------------------------------------------
// Hostile input

// The positions in `stream` of the parts of its messages: each message's
// metadata and body, and for record batches the nodes and buffers.
struct MessageLayout {
  size_t start = 0;     // the continuation marker
  size_t metadata = 0;  // the flatbuffer
  size_t body = 0;
  std::vector<size_t> nodes;    // each FieldNode (length, null_count)
  std::vector<size_t> buffers;  // each Buffer (offset, length)
};

std::vector<MessageLayout> Layout(std::string_view stream) {
  std::vector<MessageLayout> out;
  size_t pos = 0;
  while (pos + 8 <= stream.size()) {
    int32_t len = 0;
    std::memcpy(&len, stream.data() + pos + 4, 4);
    if (len == 0) break;
    MessageLayout m;
    m.start = pos;
    m.metadata = pos + 8;
    const std::string_view meta = stream.substr(m.metadata, len);
    auto root = FlatTable::Root(meta);
    EXPECT_TRUE(root.ok());
    auto header = root->Table(2);
    const int64_t body_length = *root->Scalar<int64_t>(3, 0);
    if (*root->Scalar<uint8_t>(1, 0) == 3) {
      FlatVector nodes = *(*header)->Vector(1, 16);
      FlatVector buffers = *(*header)->Vector(2, 16);
      for (uint32_t i = 0; i < nodes.size(); ++i) {
        m.nodes.push_back(nodes.BytesAt(i).data() - stream.data());
      }
      for (uint32_t i = 0; i < buffers.size(); ++i) {
        m.buffers.push_back(buffers.BytesAt(i).data() - stream.data());
      }
    }
    m.body = m.metadata + len;
    out.push_back(m);
    pos = m.body + body_length;
  }
  return out;
}

int64_t Get64(const std::string& s, size_t pos) {
  int64_t v;
  std::memcpy(&v, s.data() + pos, 8);
  return v;
}
void Put64(std::string* s, size_t pos, int64_t v) { std::memcpy(s->data() + pos, &v, 8); }
void Put32(std::string* s, size_t pos, int32_t v) { std::memcpy(s->data() + pos, &v, 4); }

// Reads every byte that the C data interface lets a consumer read of
// `array` (of `field`), so that AddressSanitizer sees any buffer too short.
uint64_t Touch(const Field& field, const ArrayData& a) {
  uint64_t sum = 0;
  auto bytes = [&](const void* p, uint64_t n) {
    const auto* b = static_cast<const uint8_t*>(p);
    for (uint64_t i = 0; i < n; ++i) sum += b[i];
  };
  const uint64_t len = static_cast<uint64_t>(a.length);
  if (field.layout == Layout::kNull) return 0;
  if (a.buffers[0] != nullptr) bytes(a.buffers[0], (len + 7) / 8);
  switch (field.layout) {
    case Layout::kBool:
      bytes(a.buffers[1], (len + 7) / 8);
      break;
    case Layout::kFixed:
      bytes(a.buffers[1], len * field.byte_width);
      break;
    case Layout::kBinary:
    case Layout::kLargeBinary: {
      const bool large = field.layout == Layout::kLargeBinary;
      bytes(a.buffers[1], (len + 1) * (large ? 8 : 4));
      int64_t first = 0, last = 0;
      if (large) {
        first = static_cast<const int64_t*>(a.buffers[1])[0];
        last = static_cast<const int64_t*>(a.buffers[1])[len];
      } else {
        first = static_cast<const int32_t*>(a.buffers[1])[0];
        last = static_cast<const int32_t*>(a.buffers[1])[len];
      }
      bytes(static_cast<const char*>(a.buffers[2]) + first, last - first);
      break;
    }
    case Layout::kList:
    case Layout::kLargeList:
      bytes(a.buffers[1], (len + 1) * (field.layout == Layout::kLargeList ? 8 : 4));
      sum += Touch(field.children[0], a.children[0]);
      break;
    default:
      for (size_t i = 0; i < a.children.size(); ++i) sum += Touch(field.children[i], a.children[i]);
  }
  return sum;
}

// Appends `bytes`; a decoded batch is read whole. Returns the status.
Status AppendAndTouch(std::string_view bytes) {
  IpcStreamDecoder decoder;
  Status st = decoder.Append(bytes);
  if (!st.ok()) {
    EXPECT_TRUE(st.message().starts_with("arrow ipc: ")) << st.message();
    EXPECT_TRUE(st.code() == StatusCode::kCorruption || st.code() == StatusCode::kInvalidArgument)
        << st.ToString();
    return st;
  }
  volatile uint64_t sink = 0;
  while (auto b = decoder.PopBatch()) {
    for (size_t c = 0; c < b->columns.size(); ++c) {
      sink = sink + Touch(decoder.schema().fields[c], b->columns[c]);
    }
    ArrowArray exported;
    ExportRecordBatch(std::move(*b), &exported);
    exported.release(&exported);
  }
  return st;
}

TEST(ArrowIpcHostile, EveryTruncationIsAnErrorOrAShorterStream) {
  REQUIRE_PYARROW();
  const std::string stream = File("all_types.arrows");
  const std::vector<MessageLayout> layout = Layout(stream);
  ASSERT_EQ(layout.size(), 4u);  // the schema and 3 batches
  int ok = 0;
  for (size_t n = 0; n <= stream.size(); ++n) {
    Status st = AppendAndTouch(std::string_view(stream).substr(0, n));
    if (st.ok()) {
      ++ok;  // only at a message boundary: after a batch, or the whole stream
      const bool boundary = n == stream.size() || n == stream.size() - 8 || n == layout[1].start ||
                            n == layout[2].start || n == layout[3].start;
      EXPECT_TRUE(boundary) << n;
    }
  }
  EXPECT_EQ(ok, 5);
}

TEST(ArrowIpcHostile, CorruptedBytesNeverCrash) {
  REQUIRE_PYARROW();
  for (const char* name : {"fuzz_seed_strings.arrows", "fuzz_seed_nested.arrows"}) {
    const std::string stream = File(name);
    for (size_t i = 0; i < stream.size(); ++i) {
      for (const uint8_t v : {0x00, 0x01, 0x07, 0x7F, 0x80, 0xFF}) {
        std::string bad = stream;
        bad[i] = static_cast<char>(v);
        (void)AppendAndTouch(bad);
      }
      std::string bumped = stream;
      bumped[i] = static_cast<char>(bumped[i] + 1);
      (void)AppendAndTouch(bumped);
    }
  }
}

TEST(ArrowIpcHostile, FramingErrorsSayWhatIsWrong) {
  REQUIRE_PYARROW();
  const std::string stream = File("fuzz_seed_strings.arrows");
  std::string bad = stream;
  Put32(&bad, 0, 0x12345678);
  EXPECT_EQ(AppendAndTouch(bad).message(),
            "arrow ipc: expected the continuation marker 0xFFFFFFFF at byte 0, found 0x12345678");
  bad = stream;
  Put32(&bad, 4, 0x7FFFFFF0);
  EXPECT_NE(AppendAndTouch(bad).message().find("truncated stream: the message metadata at byte 0"),
            std::string::npos);
  bad = stream;
  Put32(&bad, 4, -8);
  EXPECT_EQ(AppendAndTouch(bad).message(), "arrow ipc: negative metadata length -8 at byte 0");
  EXPECT_NE(AppendAndTouch(stream + "x").message().find("1 bytes follow the end-of-stream marker"),
            std::string::npos);
  EXPECT_EQ(AppendAndTouch("").message(), "arrow ipc: the stream holds no Schema message");
  // A record batch where the schema should be.
  const std::vector<MessageLayout> layout = Layout(stream);
  EXPECT_NE(AppendAndTouch(std::string_view(stream).substr(layout[1].start))
                .message()
                .find("does not start with a Schema message"),
            std::string::npos);
  // Two schemas in one stream.
  const std::string schema_only = stream.substr(0, layout[1].start);
  EXPECT_NE(AppendAndTouch(schema_only + stream).message().find("a second Schema message"),
            std::string::npos);
}

TEST(ArrowIpcHostile, BadNodesAndBuffersNameTheColumn) {
  REQUIRE_PYARROW();
  // Columns s (utf8: validity, offsets, data) and i (int64: validity, data).
  const std::string stream = File("fuzz_seed_strings.arrows");
  const MessageLayout batch = Layout(stream)[1];
  ASSERT_EQ(batch.nodes.size(), 2u);
  ASSERT_EQ(batch.buffers.size(), 5u);
  auto message = [&](auto mutate) {
    std::string bad = stream;
    mutate(&bad);
    return AppendAndTouch(bad).message();
  };
  EXPECT_EQ(message([&](std::string* s) { Put64(s, batch.nodes[0] + 8, 4); }),
            "arrow ipc: column 's' (utf8): null count 4 is outside 0..3");
  EXPECT_EQ(message([&](std::string* s) { Put64(s, batch.nodes[1], 2); }),
            "arrow ipc: column 'i' (int64): has 2 rows in a record batch of 3");
  // The offsets of "a", null, "ccc": 0 1 1 4 (int32), over 4 bytes of data.
  const int64_t offsets_at = Get64(stream, batch.buffers[1]);
  const size_t last_offset = batch.body + offsets_at + 12;
  EXPECT_EQ(message([&](std::string* s) { Put32(s, last_offset, 1000); }),
            "arrow ipc: column 's' (utf8): offsets exceed the data buffer (1000 > 4)");
  EXPECT_EQ(message([&](std::string* s) { Put32(s, last_offset - 4, 5); }),
            "arrow ipc: column 's' (utf8): offsets decrease at row 2");
  const int64_t data_at = Get64(stream, batch.buffers[2]);
  EXPECT_EQ(message([&](std::string* s) { (*s)[batch.body + data_at + 2] = '\xC3'; }),
            "arrow ipc: column 's' (utf8): row 2 is not valid UTF-8");
  auto row2 = [&](const char* three_bytes) {  // "ccc" replaced
    return message([&](std::string* s) { s->replace(batch.body + data_at + 1, 3, three_bytes); });
  };
  EXPECT_EQ(row2("\xE2\x82\xAC"), "");  // U+20AC
  EXPECT_EQ(row2("\xED\xA0\x80"), "arrow ipc: column 's' (utf8): row 2 is not valid UTF-8");
  EXPECT_EQ(row2("\xE0\x80\x80"), "arrow ipc: column 's' (utf8): row 2 is not valid UTF-8");
  EXPECT_EQ(row2("a\xF4\x90"), "arrow ipc: column 's' (utf8): row 2 is not valid UTF-8");
  EXPECT_EQ(message([&](std::string* s) { (*s)[batch.body + data_at] = '\xC3'; }),
            "arrow ipc: column 's' (utf8): row 0 is not valid UTF-8");  // cut short
  EXPECT_EQ(message([&](std::string* s) { Put32(s, batch.body + offsets_at, -1); }),
            "arrow ipc: column 's' (utf8): the first offset is negative");
  EXPECT_EQ(message([&](std::string* s) { Put64(s, batch.buffers[4], 1 << 20); }),
            "arrow ipc: column 'i' (int64): buffer 4 (offset 1048576, length 24) lies outside the "
            "body of " +
                std::to_string(Get64(stream, batch.buffers[4]) + 24) + " bytes");
  EXPECT_EQ(message([&](std::string* s) { Put64(s, batch.buffers[4] + 8, 16); }),
            "arrow ipc: column 'i' (int64): the data buffer holds 16 bytes, too few for 3 values");
  EXPECT_EQ(message([&](std::string* s) { Put64(s, batch.buffers[3] + 8, 0); }),
            "arrow ipc: column 'i' (int64): null count 1 but no validity bitmap");
  EXPECT_EQ(message([&](std::string* s) { Put64(s, batch.buffers[1] + 8, 8); }),
            "arrow ipc: column 's' (utf8): the offsets buffer holds 8 bytes, 16 are needed");
}

// Each seed is one or more streams, one after another (split, as the fuzz
// target splits them, after each end-of-stream marker).
TEST(ArrowIpcHostile, FuzzCorpusSeedsDecode) {
  int seeds = 0;
  const std::string_view end("\xFF\xFF\xFF\xFF\0\0\0\0", 8);
  for (const auto& entry :
       std::filesystem::directory_iterator(SourceDir() + "/fuzz/corpus/arrow_ipc")) {
    const std::string seed = ReadFileText(entry.path());
    size_t start = 0;
    for (size_t at = seed.find(end); at != std::string::npos; at = seed.find(end, start)) {
      EXPECT_TRUE(AppendAndTouch(std::string_view(seed).substr(start, at + 8 - start)).ok())
          << entry.path() << " at " << start;
      start = at + 8;
    }
    EXPECT_EQ(start, seed.size()) << entry.path();
    ++seeds;
  }
  EXPECT_GE(seeds, 4);
}

}  // namespace
}  // namespace larder::offline::arrow_ipc
