// Fuzzes the Arrow IPC stream decoder (src/offline/arrow_ipc/). The input is
// taken whole as one IPC stream (IpcStreamDecoder::Append), and also split
// after each end-of-stream marker into the chunks of an ArrowArrayStream
// (MakeArrowStream), as Spark Connect sends one stream per batch. A stream
// must decode or give Corruption/InvalidArgument starting "arrow ipc: ". A
// decoded batch must keep the C data interface's promises: one array per
// field, each of the batch's length, null counts within 0..length, a
// validity bitmap whenever there are nulls, and every byte that the layout
// lets a consumer read inside its buffers (read here, so that
// AddressSanitizer sees a buffer too short). Anything else traps.
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "offline/arrow_ipc/ipc_arrow_stream.h"
#include "offline/arrow_ipc/ipc_stream_decoder.h"

namespace {

using larder::Result;
using larder::Status;
using larder::StatusCode;
using larder::offline::arrow_ipc::ExportRecordBatch;
using larder::offline::arrow_ipc::ExportSchema;
using larder::offline::arrow_ipc::Field;
using larder::offline::arrow_ipc::IpcStreamDecoder;
using larder::offline::arrow_ipc::Layout;
using larder::offline::arrow_ipc::MakeArrowStream;
using larder::offline::arrow_ipc::ReadSchema;
using larder::offline::arrow_ipc::RecordBatch;
using larder::offline::arrow_ipc::Schema;

void Check(bool ok) {
  if (!ok) __builtin_trap();
}

void CheckError(const Status& s) {
  Check(!s.ok());
  Check(s.code() == StatusCode::kCorruption || s.code() == StatusCode::kInvalidArgument);
  Check(s.message().starts_with("arrow ipc: "));
}

volatile uint64_t g_sink;

void Read(const void* p, uint64_t n) {
  const auto* b = static_cast<const uint8_t*>(p);
  uint64_t sum = 0;
  for (uint64_t i = 0; i < n; ++i) sum += b[i];
  g_sink = g_sink + sum;
}

template <typename Offset>
void ReadOffsets(const ArrowArray& a, uint64_t limit) {
  const uint64_t len = static_cast<uint64_t>(a.length);
  Read(a.buffers[1], (len + 1) * sizeof(Offset));
  const auto* o = static_cast<const Offset*>(a.buffers[1]);
  Check(o[0] >= 0);
  for (uint64_t i = 0; i < len; ++i) Check(o[i] <= o[i + 1]);
  Check(static_cast<uint64_t>(o[len]) <= limit);
  if (a.n_buffers == 3) Read(static_cast<const char*>(a.buffers[2]) + o[0], o[len] - o[0]);
}

// Checks `a`, an exported array of `f`, reading every byte it promises.
void CheckArray(const Field& f, const ArrowArray& a) {
  Check(a.release != nullptr && a.offset == 0 && a.length >= 0);
  Check(a.null_count >= 0 && a.null_count <= a.length);
  const uint64_t len = static_cast<uint64_t>(a.length);
  Check(a.n_children == static_cast<int64_t>(f.children.size()));
  if (f.layout == Layout::kNull) {
    Check(a.n_buffers == 0);
    return;
  }
  if (a.null_count > 0) Check(a.buffers[0] != nullptr);
  if (a.buffers[0] != nullptr) Read(a.buffers[0], (len + 7) / 8);
  for (int64_t i = 0; i < a.n_children; ++i) CheckArray(f.children[i], *a.children[i]);
  switch (f.layout) {
    case Layout::kBool:
      Check(a.n_buffers == 2);
      Read(a.buffers[1], (len + 7) / 8);
      break;
    case Layout::kFixed:
      Check(a.n_buffers == 2);
      Read(a.buffers[1], len * static_cast<uint64_t>(f.byte_width));
      break;
    case Layout::kBinary:
      Check(a.n_buffers == 3);
      ReadOffsets<int32_t>(a, UINT64_MAX);
      break;
    case Layout::kLargeBinary:
      Check(a.n_buffers == 3);
      ReadOffsets<int64_t>(a, UINT64_MAX);
      break;
    case Layout::kList:
      Check(a.n_buffers == 2);
      ReadOffsets<int32_t>(a, static_cast<uint64_t>(a.children[0]->length));
      break;
    case Layout::kLargeList:
      Check(a.n_buffers == 2);
      ReadOffsets<int64_t>(a, static_cast<uint64_t>(a.children[0]->length));
      break;
    case Layout::kFixedSizeList:
      Check(a.n_buffers == 1);
      Check(a.children[0]->length / (f.list_size == 0 ? 1 : f.list_size) >=
            (f.list_size == 0 ? 0 : a.length));
      break;
    case Layout::kStruct:
      Check(a.n_buffers == 1);
      for (int64_t i = 0; i < a.n_children; ++i) Check(a.children[i]->length >= a.length);
      break;
    case Layout::kNull:
      break;
  }
}

void CheckBatch(const Schema& schema, const ArrowArray& batch) {
  Check(batch.n_children == static_cast<int64_t>(schema.fields.size()));
  for (size_t c = 0; c < schema.fields.size(); ++c) {
    Check(batch.children[c]->length == batch.length);
    CheckArray(schema.fields[c], *batch.children[c]);
  }
}

void CheckSchema(const std::vector<Field>& fields, const ArrowSchema& s) {
  Check(s.n_children == static_cast<int64_t>(fields.size()));
  for (size_t i = 0; i < fields.size(); ++i) {
    Check(fields[i].format == s.children[i]->format);
    Check(fields[i].name == s.children[i]->name);
    CheckSchema(fields[i].children, *s.children[i]);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);

  // The whole input as one stream.
  IpcStreamDecoder decoder;
  Status st = decoder.Append(bytes);
  if (!st.ok()) {
    CheckError(st);
    Check(!decoder.has_schema() && decoder.queued_batches() == 0);
  } else {
    ArrowSchema schema;
    ExportSchema(decoder.schema(), &schema);
    CheckSchema(decoder.schema().fields, schema);
    schema.release(&schema);
    while (std::optional<RecordBatch> b = decoder.PopBatch()) {
      ArrowArray a;
      ExportRecordBatch(std::move(*b), &a);
      CheckBatch(decoder.schema(), a);
      a.release(&a);
    }
  }

  // Split after each end-of-stream marker: the chunks of one result.
  static const std::string_view kEnd("\xFF\xFF\xFF\xFF\0\0\0\0", 8);
  std::vector<std::string> chunks;
  size_t start = 0;
  for (size_t at = bytes.find(kEnd); at != std::string_view::npos; at = bytes.find(kEnd, start)) {
    chunks.emplace_back(bytes.substr(start, at + 8 - start));
    start = at + 8;
  }
  if (start < bytes.size()) chunks.emplace_back(bytes.substr(start));
  if (chunks.size() < 2) return 0;
  size_t next = 0;
  ArrowArrayStream stream = MakeArrowStream([&]() -> Result<std::optional<std::string>> {
    if (next == chunks.size()) return std::optional<std::string>();
    return std::optional<std::string>(chunks[next++]);
  });
  ArrowSchema schema;
  std::optional<Schema> decoded;
  if (stream.get_schema(&stream, &schema) == 0) {
    decoded = ReadSchema(chunks[0]).value();
    CheckSchema(decoded->fields, schema);
    schema.release(&schema);
    for (int i = 0; i < 1000; ++i) {
      ArrowArray a;
      const int rc = stream.get_next(&stream, &a);
      if (rc != 0) {
        Check(rc == EIO);
        CheckError(Status::Corruption(stream.get_last_error(&stream)));
        break;
      }
      if (a.release == nullptr) break;
      CheckBatch(*decoded, a);
      a.release(&a);
    }
  } else {
    const std::string error = stream.get_last_error(&stream);
    Check(error.starts_with("arrow ipc: "));
  }
  stream.release(&stream);
  return 0;
}
