// The binary encoding of one Value, shared by entity keys and records, and
// the bounds-checked byte reader that decodes it.
//
// A value is a tag byte and a payload (docs/online-store.md has the table):
//   tag 0x00 null (no payload); 0x01..0x08 the scalars Int32, Int64, Float32,
//   Float64, String, Bytes, Bool, UnixTimestamp; 0x80 | scalar tag for
//   Array(scalar). Fixed-width numbers are little-endian (floats as their
//   IEEE-754 bits); strings and bytes are a varint length and the bytes; Bool
//   is one byte 0 or 1; an array is a varint count and the element payloads.
// Varints are unsigned LEB128, at most 10 bytes.
//
// Decoding never trusts its input: every length is checked against the bytes
// that remain, and bad input gives Status::Corruption, never a crash.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "larder/status.h"
#include "larder/value.h"

namespace larder::online {

inline constexpr uint8_t kNullTag = 0x00;
inline constexpr uint8_t kArrayTagBit = 0x80;

// The tag of a non-null value of `type`.
uint8_t ValueTag(ValueType type);

void PutVarint(uint64_t v, std::string* out);
void PutFixed32(uint32_t v, std::string* out);  // little-endian
void PutFixed64(uint64_t v, std::string* out);  // little-endian
void PutLengthPrefixed(std::string_view s, std::string* out);

// Appends the tag and payload of `value`.
void EncodeValue(const Value& value, std::string* out);

// Reads encoded data front to back. Each Read* returns false, consuming
// nothing useful, when the input is too short or malformed.
class ByteReader {
 public:
  explicit ByteReader(std::string_view data) : data_(data) {}

  bool ReadByte(uint8_t* v);
  bool ReadFixed32(uint32_t* v);
  bool ReadFixed64(uint64_t* v);
  bool ReadBigEndian64(uint64_t* v);
  bool ReadVarint(uint64_t* v);
  bool ReadLengthPrefixed(std::string_view* v);
  bool ReadBytes(size_t n, std::string_view* v);

  size_t remaining() const { return data_.size() - pos_; }
  size_t position() const { return pos_; }

 private:
  std::string_view data_;
  size_t pos_ = 0;
};

// Decodes one value (tag and payload) into `*value`. Returns Corruption on an
// unknown tag, a truncated payload or a Bool byte other than 0 or 1.
Status DecodeValue(ByteReader* reader, Value* value);

}  // namespace larder::online
