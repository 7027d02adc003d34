// Decoding Arrow IPC streams (the "streaming format" of
// https://arrow.apache.org/docs/format/Columnar.html#serialization-and-interprocess-communication-ipc)
// into the Arrow C data interface, without an Arrow library. Spark Connect
// sends each result batch (ExecutePlanResponse.arrow_batch.data) as one
// complete IPC stream: a Schema message, then RecordBatch messages, then
// perhaps the end-of-stream marker. Each message is the continuation marker
// 0xFFFFFFFF, an int32 metadata length, a FlatBuffer `Message`
// (flatbuffer.h reads it), padding, and the body that its buffers point into.
//
// The bytes come from the network, so nothing in them is trusted: every
// offset, length and count is checked before use, and a malformed stream
// gives a Corruption status naming what is wrong (and the column, where
// there is one), never a crash or a read outside the input.
//
// Types: null, bool, int8..int64, uint8..uint64, float32/64, utf8,
// large_utf8, binary, large_binary, fixed_size_binary, decimal128/256,
// date32/64, time32/64, timestamp (any unit, with or without a time zone),
// duration, interval (Spark's year-month and day-time intervals are
// interval[year_month] and duration[us]), and nested list, large_list,
// fixed_size_list, struct and map. float16, unions, run-end encoded and view types, dictionary
// encoding and compressed bodies (LZ4_FRAME, ZSTD) are refused with
// InvalidArgument naming the column and type, or the codec.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "larder/offline_store.h"
#include "larder/status.h"

namespace larder::offline::arrow_ipc {

// How a type's values are laid out in buffers (Arrow's "physical layout").
enum class Layout {
  kNull,           // no buffers
  kBool,           // validity, bit-packed values
  kFixed,          // validity, values of byte_width bytes
  kBinary,         // validity, int32 offsets, bytes (utf8, binary)
  kLargeBinary,    // validity, int64 offsets, bytes (large_utf8, large_binary)
  kList,           // validity, int32 offsets; one child (list, map)
  kLargeList,      // validity, int64 offsets; one child
  kFixedSizeList,  // validity; one child of list_size values per row
  kStruct,         // validity; one child per field
};

// One field of a decoded schema.
struct Field {
  std::string name;
  bool nullable = true;
  // The C data interface's format string ("l", "tsu:UTC", "d:38,10", "+s").
  std::string format;
  // The type as messages show it ("int64", "timestamp[us, tz=UTC]").
  std::string type_name;
  Layout layout = Layout::kNull;
  int64_t byte_width = 0;  // kFixed: bytes per value (kBool: 0)
  int64_t list_size = 0;   // kFixedSizeList: values per row
  bool map_keys_sorted = false;
  std::vector<Field> children;

  friend bool operator==(const Field&, const Field&) = default;
};

struct Schema {
  std::vector<Field> fields;
  friend bool operator==(const Schema&, const Schema&) = default;
};

// The memory of one decoded record batch (64-byte aligned blocks), shared by
// its arrays until the last of them is released.
struct BatchMemory;

// One column (or child) of a decoded record batch: C data interface arrays
// with offset 0, their buffers pointing into the batch's memory.
struct ArrayData {
  int64_t length = 0;
  int64_t null_count = 0;
  std::vector<const void*> buffers;  // as the C data interface lists them
  std::vector<ArrayData> children;
};

struct RecordBatch {
  int64_t length = 0;
  std::vector<ArrayData> columns;  // one per schema field
  std::shared_ptr<const BatchMemory> memory;
};

// The schema of the IPC stream `bytes` (its first message), decoded.
// Errors: Corruption for malformed bytes; InvalidArgument for a type that is
// not supported, naming the column.
Result<Schema> ReadSchema(std::string_view bytes);

// The same, exported through the C data interface: a struct ("+s") with one
// child per field (name, nullability and map key order as the stream gives
// them; custom metadata is dropped). The caller owns the result and must
// call its release.
Result<ArrowSchema> DecodeSchema(std::string_view bytes);

// Initialises `*out` as the C data interface form of `schema` (a "+s" of its
// fields). The caller owns it and must call out->release(out).
void ExportSchema(const Schema& schema, ArrowSchema* out);

// Initialises `*out` as the C data interface form of `batch`: a struct array
// of batch.length rows, no nulls, one child per column. The batch's memory
// lives until `*out` and every child moved out of it are released.
void ExportRecordBatch(RecordBatch batch, ArrowArray* out);

// Decodes a sequence of IPC streams that share one schema (Spark Connect's
// result batches) and queues their record batches.
//
// Thread safety: none; one thread at a time.
class IpcStreamDecoder {
 public:
  // Decodes `ipc_stream`, one complete IPC stream: a Schema message, zero or
  // more RecordBatch messages, and optionally the end-of-stream marker, with
  // nothing after it. The first call's schema becomes the decoder's; each
  // later stream's schema must equal it. The batches are copied out of
  // `ipc_stream` (which the caller may free afterwards) and queued. On error
  // nothing of the stream is queued and the decoder is as before.
  // Errors: Corruption for malformed bytes or a schema that differs from the
  // first; InvalidArgument for unsupported types, dictionaries or
  // compression. Messages start "arrow ipc: " and name the column.
  Status Append(std::string_view ipc_stream);

  bool has_schema() const { return schema_.has_value(); }
  // REQUIRES: has_schema().
  const Schema& schema() const { return *schema_; }

  // The number of batches queued and not popped.
  size_t queued_batches() const { return queue_.size(); }
  // Moves the oldest queued batch out; nullopt when none is queued.
  std::optional<RecordBatch> PopBatch();

 private:
  std::optional<Schema> schema_;
  std::deque<RecordBatch> queue_;
};

}  // namespace larder::offline::arrow_ipc
