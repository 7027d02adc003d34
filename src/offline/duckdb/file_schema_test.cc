#include "offline/duckdb/file_schema.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace larder::duckdb {
namespace {

class FileSchema : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = ::testing::TempDir() + "larder_schema_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    auto conn = Connection::Open(":memory:");
    ASSERT_TRUE(conn.ok()) << conn.status().ToString();
    conn_ = std::move(conn).value();
  }
  void TearDown() override {
    conn_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  // Writes the result of `select` to dir_/name with COPY.
  void Write(const std::string& select, const std::string& name,
             const std::string& format) {
    Status st = conn_->Execute("COPY (" + select + ") TO " +
                                   QuoteLiteral(dir_ + "/" + name) +
                                   " (FORMAT " + format + ")",
                               "write " + name);
    ASSERT_TRUE(st.ok()) << st.ToString();
  }

  static DataSource Source(FileFormat format) {
    DataSource s;
    s.name = "src";
    s.kind = DataSourceKind::kFile;
    s.file_format = format;
    return s;
  }

  std::string dir_;
  std::unique_ptr<Connection> conn_;
};

TEST_F(FileSchema, ReadsParquetSchema) {
  Write("SELECT 1::BIGINT AS user_id, 'x' AS country, "
        "TIMESTAMPTZ '2020-01-01 00:00:00+00' AS signup_date, 1.5 AS d",
        "users.parquet", "parquet");
  auto cols = ReadFileSourceSchema(Source(FileFormat::kParquet),
                                   dir_ + "/users.parquet");
  ASSERT_TRUE(cols.ok()) << cols.status().ToString();
  ASSERT_EQ(cols->size(), 4u);
  EXPECT_EQ((*cols)[0].name, "user_id");
  EXPECT_EQ((*cols)[0].type, "BIGINT");
  EXPECT_EQ((*cols)[1].name, "country");
  EXPECT_EQ((*cols)[1].type, "VARCHAR");
  EXPECT_EQ((*cols)[2].name, "signup_date");
  EXPECT_EQ((*cols)[2].type, "TIMESTAMP WITH TIME ZONE");
  EXPECT_EQ((*cols)[3].type, "DECIMAL(2,1)");
}

TEST_F(FileSchema, ReadsCsvSchema) {
  Write("SELECT 42 AS user_id, 'it''s' AS note, DATE '2020-01-02' AS day",
        "notes.csv", "csv");
  auto cols =
      ReadFileSourceSchema(*conn_, Source(FileFormat::kCsv), dir_ + "/notes.csv");
  ASSERT_TRUE(cols.ok()) << cols.status().ToString();
  ASSERT_EQ(cols->size(), 3u);
  EXPECT_EQ((*cols)[0].name, "user_id");
  EXPECT_EQ((*cols)[0].type, "BIGINT");
  EXPECT_EQ((*cols)[1].type, "VARCHAR");
  EXPECT_EQ((*cols)[2].type, "DATE");
}

TEST_F(FileSchema, GlobOverTwoFiles) {
  Write("SELECT 1::BIGINT AS a, 'x' AS b", "part-1.parquet", "parquet");
  Write("SELECT 2::BIGINT AS a, 'y' AS b", "part-2.parquet", "parquet");
  auto cols = ReadFileSourceSchema(Source(FileFormat::kParquet),
                                   dir_ + "/part-*.parquet");
  ASSERT_TRUE(cols.ok()) << cols.status().ToString();
  ASSERT_EQ(cols->size(), 2u);
  EXPECT_EQ((*cols)[0].name, "a");
  EXPECT_EQ((*cols)[1].name, "b");
  auto n = conn_->QueryScalar(
      "SELECT count(*) FROM " +
          FileScanSql(FileFormat::kParquet, dir_ + "/part-*.parquet"),
      "count");
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(n->value_or(""), "2");
}

TEST_F(FileSchema, MissingFileIsNotFound) {
  std::string path = dir_ + "/nothing.parquet";
  auto cols = ReadFileSourceSchema(Source(FileFormat::kParquet), path);
  ASSERT_FALSE(cols.ok());
  EXPECT_EQ(cols.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(cols.status().message(), "no file matches " + path);

  auto glob = ReadFileSourceSchema(Source(FileFormat::kCsv),
                                   dir_ + "/missing/*.csv");
  ASSERT_FALSE(glob.ok());
  EXPECT_EQ(glob.status().code(), StatusCode::kNotFound);
}

TEST_F(FileSchema, CorruptFileNamesTheFile) {
  std::string path = dir_ + "/bad.parquet";
  std::ofstream(path) << "this is not parquet at all";
  auto cols = ReadFileSourceSchema(Source(FileFormat::kParquet), path);
  ASSERT_FALSE(cols.ok());
  EXPECT_TRUE(cols.status().code() == StatusCode::kInvalidArgument ||
              cols.status().code() == StatusCode::kIOError)
      << cols.status().ToString();
  EXPECT_EQ(cols.status().message().rfind("file " + path + ": ", 0), 0u)
      << cols.status().ToString();
}

TEST_F(FileSchema, QuotesPathsWithQuotes) {
  Write("SELECT 1 AS a", "it's.parquet", "parquet");
  auto cols = ReadFileSourceSchema(Source(FileFormat::kParquet),
                                   dir_ + "/it's.parquet");
  ASSERT_TRUE(cols.ok()) << cols.status().ToString();
  EXPECT_EQ(cols->size(), 1u);
}

TEST_F(FileSchema, RejectsNonFileSources) {
  DataSource push = Source(FileFormat::kParquet);
  push.kind = DataSourceKind::kPush;
  auto cols = ReadFileSourceSchema(push, dir_ + "/x.parquet");
  ASSERT_FALSE(cols.ok());
  EXPECT_EQ(cols.status().code(), StatusCode::kInvalidArgument);
}

TEST_F(FileSchema, UsableAsSchemaResolver) {
  SchemaResolver resolver = [](const DataSource& s, const std::string& p) {
    return ReadFileSourceSchema(s, p);
  };
  Write("SELECT 1 AS a", "r.parquet", "parquet");
  auto cols = resolver(Source(FileFormat::kParquet), dir_ + "/r.parquet");
  ASSERT_TRUE(cols.ok());
  EXPECT_EQ((*cols)[0].type, "INTEGER");
}

// Fixtures written by pyarrow (tests/data/parquet_time_units/README.md):
// DuckDB cannot write a TIMESTAMP(NANOS) adjusted to UTC, nor INT96.
std::string Fixture(const std::string& name) {
  return std::string(LARDER_SOURCE_DIR) + "/tests/data/parquet_time_units/" + name;
}

DataSource TimedSource(const std::string& ts, const std::string& created = "") {
  DataSource s;
  s.name = "events";
  s.kind = DataSourceKind::kFile;
  s.file_format = FileFormat::kParquet;
  s.timestamp_field = ts;
  s.created_timestamp_column = created;
  return s;
}

// Expects ReadFileSourceSchema of `path` to refuse `column` of `file` (the
// path itself unless named) as `role`.
void ExpectLossyTimeRefused(const DataSource& source, const std::string& path,
                            const std::string& column, const std::string& role,
                            const std::string& kind, std::string file = "") {
  if (file.empty()) file = path;
  auto cols = ReadFileSourceSchema(source, path);
  ASSERT_EQ(cols.status().code(), StatusCode::kInvalidArgument) << cols.status().ToString();
  EXPECT_EQ(cols.status().message(),
            "file " + file + ": column `" + column + "` (the " + role +
                " of data source 'events') is " + kind +
                ", which DuckDB reads truncated to the microsecond, so a row could compare as "
                "earlier than it is; write the column in microseconds, or in nanoseconds without "
                "a time zone (naive UTC, e.g. pandas datetime64[ns]), which Larder rounds up");
}

constexpr const char* kUtcNanos = "a Parquet TIMESTAMP(NANOS) adjusted to UTC";

// DuckDB reads a UTC-adjusted TIMESTAMP(NANOS) as a microsecond TIMESTAMPTZ,
// truncated: 500 ns past the second reads as the second itself. This is why
// such a compared time is refused; were DuckDB to read it exactly, the
// refusal could give way to rounding up.
TEST_F(FileSchema, DuckDbTruncatesUtcNanoseconds) {
  auto ns = conn_->QueryScalar("SELECT epoch_ns(utc_ns) FROM read_parquet(" +
                                   QuoteLiteral(Fixture("utc_nanos.parquet")) +
                                   ") WHERE user_id = 1",
                               "read");
  ASSERT_TRUE(ns.ok()) << ns.status().ToString();
  EXPECT_EQ(ns->value_or(""), "1700000000000000000");  // the file holds ...500
}

TEST_F(FileSchema, RefusesTimesReadTruncated) {
  const std::string file = Fixture("utc_nanos.parquet");
  ExpectLossyTimeRefused(TimedSource("utc_ns"), file, "utc_ns", "timestamp_field", kUtcNanos);
  ExpectLossyTimeRefused(TimedSource("naive_ns", "utc_ns"), file, "utc_ns",
                         "created_timestamp_column", kUtcNanos);
  ExpectLossyTimeRefused(TimedSource("int96_ts"), Fixture("int96.parquet"), "int96_ts",
                         "timestamp_field", "an INT96 timestamp (nanoseconds)");
}

// Naive nanoseconds are read exactly (and rounded up where compared), UTC
// microseconds are exact, and a feature column is never compared.
TEST_F(FileSchema, AcceptsExactTimesAndUncomparedNanoseconds) {
  for (const auto& [ts, created] : {std::pair<std::string, std::string>{"naive_ns", "utc_us"},
                                    {"utc_us", "naive_ns"}, {"utc_us", ""}}) {
    auto cols = ReadFileSourceSchema(TimedSource(ts, created), Fixture("utc_nanos.parquet"));
    ASSERT_TRUE(cols.ok()) << ts << "/" << created << ": " << cols.status().ToString();
    EXPECT_EQ(cols->size(), 5u);
  }
}

// Every file a glob matches is checked, not only the first, whose schema
// DuckDB reads the others by.
TEST_F(FileSchema, RefusesUtcNanosecondsInAnyFileOfAGlob) {
  Write("SELECT 1::BIGINT AS user_id, TIMESTAMPTZ '2023-01-01 00:00:00+00' AS utc_ns",
        "a.parquet", "parquet");
  std::filesystem::copy_file(Fixture("utc_nanos.parquet"), dir_ + "/b.parquet");
  ExpectLossyTimeRefused(TimedSource("utc_ns"), dir_ + "/*.parquet", "utc_ns", "timestamp_field",
                         kUtcNanos, dir_ + "/b.parquet");
  // The first file alone is exact.
  EXPECT_TRUE(ReadFileSourceSchema(TimedSource("utc_ns"), dir_ + "/a.parquet").ok());
}

}  // namespace
}  // namespace larder::duckdb
