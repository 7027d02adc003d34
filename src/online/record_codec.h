// The stored form of one online record (format version 2).
//
//   offset  size  field
//   0       1     format version, 0x02
//   1       8     event_timestamp, order-encoded (below)
//   9       8     created_timestamp, order-encoded
//   17      8     tie key, big-endian (RecordTieKey of the value section)
//   25      8     schema fingerprint of the view, little-endian
//   33      var   the value section: varint value count, then each value's
//                 tag and payload (online/value_codec.h), in schema order
// Nothing may follow the last value.
//
// Order-encoded timestamp: the big-endian bytes of the int64 with its sign
// bit flipped. Bytes 1..24 then compare bytewise (memcmp) exactly as the
// (event_timestamp, created_timestamp, tie_key) triple compares as numbers:
// the total order of rows (docs/online-store.md), which a backend can apply
// without decoding a record (a Redis script compares bytes 2..25, 1-based).
//
// Format version 1 (written before the tie key existed) is the same without
// bytes 17..24: its fingerprint is at 17 and its values at 25. It is still
// read; on write it ranks below any version-2 record of equal timestamps.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "larder/online_store.h"
#include "larder/status.h"

namespace larder::online {

inline constexpr uint8_t kRecordFormatVersion = 0x02;
inline constexpr size_t kRecordHeaderSize = 33;
// Format version 1: no tie key.
inline constexpr uint8_t kRecordFormatVersionNoTie = 0x01;
inline constexpr size_t kRecordHeaderSizeNoTie = 25;

// The fixed-size front of a record.
struct RecordHeader {
  TimestampMicros event_timestamp = 0;
  TimestampMicros created_timestamp = 0;
  uint64_t tie_key = 0;
  uint64_t schema_fingerprint = 0;
  // False for a format-version-1 record, which has no tie key.
  bool has_tie_key = true;
};

// The tie-break of the total order of rows: FNV-1a 64 over a record's value
// section (the varint value count and the encoded values, exactly as stored
// from offset 33). It depends only on the row's typed values, so the same
// row gets the same key in every process, backend and in DuckDB (the
// larder_tie_key SQL function, offline/duckdb/tie_key_function.h, hashes the
// same bytes).
uint64_t RecordTieKey(std::string_view value_section);

// FNV-1a 64 over, per feature in order: name bytes, 0x00, dtype name
// (ValueTypeName, e.g. "Array(Int64)"), 0x00.
uint64_t SchemaFingerprint(const std::vector<OnlineFeature>& features);

// The total order of rows, and so the conditional-write rule: true when
// (event, created, tie key) of `incoming` is lexicographically greater than
// that of `stored`. Equal is not newer (equal triples are, but for a 2^-64
// hash collision, the same values). A stored record without a tie key
// (format version 1) loses to an incoming one with equal timestamps.
inline bool IsNewer(const RecordHeader& incoming, const RecordHeader& stored) {
  if (incoming.event_timestamp != stored.event_timestamp) {
    return incoming.event_timestamp > stored.event_timestamp;
  }
  if (incoming.created_timestamp != stored.created_timestamp) {
    return incoming.created_timestamp > stored.created_timestamp;
  }
  if (!stored.has_tie_key) return incoming.has_tie_key;
  return incoming.has_tie_key && incoming.tie_key > stored.tie_key;
}

// Whether `incoming` replaces `stored`: it is newer, or `stored` was written
// under another schema.
inline bool Supersedes(const RecordHeader& incoming, const RecordHeader& stored) {
  return incoming.schema_fingerprint != stored.schema_fingerprint || IsNewer(incoming, stored);
}

// Checks `record` against `view` (value count and dtypes) and appends its
// encoding to `*out`; sets `*header` (when given) to its header.
// InvalidArgument naming the view and feature otherwise.
Status EncodeRecord(const OnlineView& view, const OnlineRecord& record, std::string* out,
                    RecordHeader* header = nullptr);

// Reads the header (of format version 2, or 1 without a tie key). Corruption
// when too short or of an unknown version.
Result<RecordHeader> DecodeRecordHeader(std::string_view bytes);

// Decodes a whole record for `view` into `*result`: state kFound with the
// timestamps and values, or kSchemaMismatch (values left empty) when the
// record's fingerprint is not view.fingerprint(). Corruption when the bytes do
// not parse, or a value's dtype is not its feature's.
Status DecodeRecord(const OnlineView& view, std::string_view bytes, OnlineReadResult* result);

}  // namespace larder::online
