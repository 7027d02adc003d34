// The stored form of one online record (format version 1).
//
//   offset  size  field
//   0       1     format version, 0x01
//   1       8     event_timestamp, order-encoded (below)
//   9       8     created_timestamp, order-encoded
//   17      8     schema fingerprint of the view, little-endian
//   25      var   varint value count, then each value's tag and payload
//                 (online/value_codec.h), in the view's schema order
// Nothing may follow the last value.
//
// Order-encoded timestamp: the big-endian bytes of the int64 with its sign
// bit flipped. Bytes 1..16 then compare bytewise (memcmp, or Lua's string <)
// exactly as the (event_timestamp, created_timestamp) pair compares as
// numbers, so a backend can apply the conditional-write rule without
// decoding a record: a Redis script compares string.sub(rec, 2, 17).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "larder/online_store.h"
#include "larder/status.h"

namespace larder::online {

inline constexpr uint8_t kRecordFormatVersion = 0x01;
inline constexpr size_t kRecordHeaderSize = 25;

// The fixed-size front of a record.
struct RecordHeader {
  TimestampMicros event_timestamp = 0;
  TimestampMicros created_timestamp = 0;
  uint64_t schema_fingerprint = 0;
};

// FNV-1a 64 over, per feature in order: name bytes, 0x00, dtype name
// (ValueTypeName, e.g. "Array(Int64)"), 0x00.
uint64_t SchemaFingerprint(const std::vector<OnlineFeature>& features);

// The conditional-write rule: true when (event, created) of `incoming` is
// lexicographically greater than that of `stored`. Equal is not newer.
inline bool IsNewer(const RecordHeader& incoming, const RecordHeader& stored) {
  if (incoming.event_timestamp != stored.event_timestamp) {
    return incoming.event_timestamp > stored.event_timestamp;
  }
  return incoming.created_timestamp > stored.created_timestamp;
}

// Whether `incoming` replaces `stored`: it is newer, or `stored` was written
// under another schema.
inline bool Supersedes(const RecordHeader& incoming, const RecordHeader& stored) {
  return incoming.schema_fingerprint != stored.schema_fingerprint || IsNewer(incoming, stored);
}

// Checks `record` against `view` (value count and dtypes) and appends its
// encoding to `*out`. InvalidArgument naming the view and feature otherwise.
Status EncodeRecord(const OnlineView& view, const OnlineRecord& record, std::string* out);

// Reads the header. Corruption when too short or of an unknown version.
Result<RecordHeader> DecodeRecordHeader(std::string_view bytes);

// Decodes a whole record for `view` into `*result`: state kFound with the
// timestamps and values, or kSchemaMismatch (values left empty) when the
// record's fingerprint is not view.fingerprint(). Corruption when the bytes do
// not parse, or a value's dtype is not its feature's.
Status DecodeRecord(const OnlineView& view, std::string_view bytes, OnlineReadResult* result);

}  // namespace larder::online
