#include "online/value_codec.h"

#include <bit>
#include <cstring>
#include <type_traits>
#include <vector>

namespace larder::online {
namespace {

// Bytes per array element on the wire, or 0 when variable (length-prefixed).
size_t FixedWidth(ScalarType s) {
  switch (s) {
    case ScalarType::kInt32:
    case ScalarType::kFloat32:
      return 4;
    case ScalarType::kInt64:
    case ScalarType::kFloat64:
    case ScalarType::kUnixTimestamp:
      return 8;
    case ScalarType::kBool:
      return 1;
    case ScalarType::kString:
    case ScalarType::kBytes:
      return 0;
  }
  return 0;
}

template <typename T>
void PutScalar(const T& v, std::string* out) {
  if constexpr (std::is_same_v<T, int32_t>) {
    PutFixed32(static_cast<uint32_t>(v), out);
  } else if constexpr (std::is_same_v<T, int64_t>) {
    PutFixed64(static_cast<uint64_t>(v), out);
  } else if constexpr (std::is_same_v<T, float>) {
    PutFixed32(std::bit_cast<uint32_t>(v), out);
  } else if constexpr (std::is_same_v<T, double>) {
    PutFixed64(std::bit_cast<uint64_t>(v), out);
  } else if constexpr (std::is_same_v<T, bool>) {
    out->push_back(v ? '\x01' : '\x00');
  } else {
    static_assert(std::is_same_v<T, std::string>);
    PutLengthPrefixed(v, out);
  }
}

template <typename T>
void PutArray(const std::vector<T>& v, std::string* out) {
  PutVarint(v.size(), out);
  for (size_t i = 0; i < v.size(); ++i) PutScalar<T>(v[i], out);
}

template <typename T>
bool ReadScalar(ByteReader* r, T* v) {
  if constexpr (std::is_same_v<T, int32_t>) {
    uint32_t u;
    if (!r->ReadFixed32(&u)) return false;
    *v = static_cast<int32_t>(u);
  } else if constexpr (std::is_same_v<T, int64_t>) {
    uint64_t u;
    if (!r->ReadFixed64(&u)) return false;
    *v = static_cast<int64_t>(u);
  } else if constexpr (std::is_same_v<T, float>) {
    uint32_t u;
    if (!r->ReadFixed32(&u)) return false;
    *v = std::bit_cast<float>(u);
  } else if constexpr (std::is_same_v<T, double>) {
    uint64_t u;
    if (!r->ReadFixed64(&u)) return false;
    *v = std::bit_cast<double>(u);
  } else if constexpr (std::is_same_v<T, bool>) {
    uint8_t b;
    if (!r->ReadByte(&b) || b > 1) return false;
    *v = b == 1;
  } else {
    static_assert(std::is_same_v<T, std::string>);
    std::string_view s;
    if (!r->ReadLengthPrefixed(&s)) return false;
    v->assign(s);
  }
  return true;
}

template <typename T>
bool ReadArray(ByteReader* r, ScalarType scalar, std::vector<T>* out) {
  uint64_t n;
  if (!r->ReadVarint(&n)) return false;
  // Every element takes at least one byte: a count beyond the remaining
  // bytes is corrupt, and is refused before anything is allocated.
  size_t width = FixedWidth(scalar);
  if (n > r->remaining() / (width == 0 ? 1 : width)) return false;
  out->clear();
  out->reserve(n);
  for (uint64_t i = 0; i < n; ++i) {
    T v{};
    if (!ReadScalar(r, &v)) return false;
    out->push_back(std::move(v));
  }
  return true;
}

Status Truncated(uint8_t tag) {
  return Status::Corruption("truncated or malformed value with tag " + std::to_string(tag));
}

}  // namespace

uint8_t ValueTag(ValueType type) {
  uint8_t tag = static_cast<uint8_t>(static_cast<int>(type.scalar) + 1);
  return type.is_array ? static_cast<uint8_t>(tag | kArrayTagBit) : tag;
}

void PutVarint(uint64_t v, std::string* out) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

void PutFixed32(uint32_t v, std::string* out) {
  char buf[4];
  for (int i = 0; i < 4; ++i) buf[i] = static_cast<char>((v >> (8 * i)) & 0xff);
  out->append(buf, 4);
}

void PutFixed64(uint64_t v, std::string* out) {
  char buf[8];
  for (int i = 0; i < 8; ++i) buf[i] = static_cast<char>((v >> (8 * i)) & 0xff);
  out->append(buf, 8);
}

void PutLengthPrefixed(std::string_view s, std::string* out) {
  PutVarint(s.size(), out);
  out->append(s);
}

void EncodeValue(const Value& value, std::string* out) {
  if (value.is_null()) {
    out->push_back(static_cast<char>(kNullTag));
    return;
  }
  ValueType t = value.type();
  out->push_back(static_cast<char>(ValueTag(t)));
  if (!t.is_array) {
    switch (t.scalar) {
      case ScalarType::kInt32: return PutScalar(value.int32_value(), out);
      case ScalarType::kInt64: return PutScalar(value.int64_value(), out);
      case ScalarType::kFloat32: return PutScalar(value.float32_value(), out);
      case ScalarType::kFloat64: return PutScalar(value.float64_value(), out);
      case ScalarType::kString:
      case ScalarType::kBytes: return PutScalar(value.string_value(), out);
      case ScalarType::kBool: return PutScalar(value.bool_value(), out);
      case ScalarType::kUnixTimestamp: return PutScalar(int64_t{value.timestamp_value()}, out);
    }
    return;
  }
  switch (t.scalar) {
    case ScalarType::kInt32: return PutArray(value.int32_array(), out);
    case ScalarType::kInt64:
    case ScalarType::kUnixTimestamp: return PutArray(value.int64_array(), out);
    case ScalarType::kFloat32: return PutArray(value.float32_array(), out);
    case ScalarType::kFloat64: return PutArray(value.float64_array(), out);
    case ScalarType::kString:
    case ScalarType::kBytes: return PutArray(value.string_array(), out);
    case ScalarType::kBool: return PutArray(value.bool_array(), out);
  }
}

bool ByteReader::ReadByte(uint8_t* v) {
  if (remaining() < 1) return false;
  *v = static_cast<uint8_t>(data_[pos_++]);
  return true;
}

bool ByteReader::ReadFixed32(uint32_t* v) {
  if (remaining() < 4) return false;
  uint32_t r = 0;
  for (int i = 0; i < 4; ++i) r |= uint32_t{static_cast<uint8_t>(data_[pos_ + i])} << (8 * i);
  pos_ += 4;
  *v = r;
  return true;
}

bool ByteReader::ReadFixed64(uint64_t* v) {
  if (remaining() < 8) return false;
  uint64_t r = 0;
  for (int i = 0; i < 8; ++i) r |= uint64_t{static_cast<uint8_t>(data_[pos_ + i])} << (8 * i);
  pos_ += 8;
  *v = r;
  return true;
}

bool ByteReader::ReadBigEndian64(uint64_t* v) {
  if (remaining() < 8) return false;
  uint64_t r = 0;
  for (int i = 0; i < 8; ++i) r = (r << 8) | static_cast<uint8_t>(data_[pos_ + i]);
  pos_ += 8;
  *v = r;
  return true;
}

bool ByteReader::ReadVarint(uint64_t* v) {
  uint64_t r = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    uint8_t b;
    if (!ReadByte(&b)) return false;
    if (shift == 63 && b > 1) return false;  // more than 64 bits
    r |= uint64_t{b & 0x7fu} << shift;
    if ((b & 0x80) == 0) {
      *v = r;
      return true;
    }
  }
  return false;
}

bool ByteReader::ReadBytes(size_t n, std::string_view* v) {
  if (remaining() < n) return false;
  *v = data_.substr(pos_, n);
  pos_ += n;
  return true;
}

bool ByteReader::ReadLengthPrefixed(std::string_view* v) {
  uint64_t n;
  if (!ReadVarint(&n) || n > remaining()) return false;
  return ReadBytes(static_cast<size_t>(n), v);
}

Status DecodeValue(ByteReader* r, Value* value) {
  uint8_t tag;
  if (!r->ReadByte(&tag)) return Status::Corruption("truncated value: missing tag");
  if (tag == kNullTag) {
    *value = Value();
    return Status::OK();
  }
  bool is_array = (tag & kArrayTagBit) != 0;
  int scalar_tag = tag & ~kArrayTagBit;
  if (scalar_tag < 1 || scalar_tag > 8 || (tag & 0x70) != 0) {
    return Status::Corruption("unknown value tag " + std::to_string(tag));
  }
  auto scalar = static_cast<ScalarType>(scalar_tag - 1);
  bool ok = false;
  if (!is_array) {
    switch (scalar) {
      case ScalarType::kInt32: {
        int32_t v;
        if ((ok = ReadScalar(r, &v))) *value = Value::Int32(v);
        break;
      }
      case ScalarType::kInt64:
      case ScalarType::kUnixTimestamp: {
        int64_t v;
        if ((ok = ReadScalar(r, &v))) {
          *value = scalar == ScalarType::kInt64 ? Value::Int64(v) : Value::UnixTimestamp(v);
        }
        break;
      }
      case ScalarType::kFloat32: {
        float v;
        if ((ok = ReadScalar(r, &v))) *value = Value::Float32(v);
        break;
      }
      case ScalarType::kFloat64: {
        double v;
        if ((ok = ReadScalar(r, &v))) *value = Value::Float64(v);
        break;
      }
      case ScalarType::kString:
      case ScalarType::kBytes: {
        std::string v;
        if ((ok = ReadScalar(r, &v))) {
          *value = scalar == ScalarType::kString ? Value::String(std::move(v))
                                                 : Value::Bytes(std::move(v));
        }
        break;
      }
      case ScalarType::kBool: {
        bool v;
        if ((ok = ReadScalar(r, &v))) *value = Value::Bool(v);
        break;
      }
    }
  } else {
    switch (scalar) {
      case ScalarType::kInt32: {
        std::vector<int32_t> v;
        if ((ok = ReadArray(r, scalar, &v))) *value = Value::Int32Array(std::move(v));
        break;
      }
      case ScalarType::kInt64:
      case ScalarType::kUnixTimestamp: {
        std::vector<int64_t> v;
        if ((ok = ReadArray(r, scalar, &v))) {
          *value = scalar == ScalarType::kInt64 ? Value::Int64Array(std::move(v))
                                                : Value::UnixTimestampArray(std::move(v));
        }
        break;
      }
      case ScalarType::kFloat32: {
        std::vector<float> v;
        if ((ok = ReadArray(r, scalar, &v))) *value = Value::Float32Array(std::move(v));
        break;
      }
      case ScalarType::kFloat64: {
        std::vector<double> v;
        if ((ok = ReadArray(r, scalar, &v))) *value = Value::Float64Array(std::move(v));
        break;
      }
      case ScalarType::kString:
      case ScalarType::kBytes: {
        std::vector<std::string> v;
        if ((ok = ReadArray(r, scalar, &v))) {
          *value = scalar == ScalarType::kString ? Value::StringArray(std::move(v))
                                                 : Value::BytesArray(std::move(v));
        }
        break;
      }
      case ScalarType::kBool: {
        std::vector<bool> v;
        if ((ok = ReadArray(r, scalar, &v))) *value = Value::BoolArray(std::move(v));
        break;
      }
    }
  }
  return ok ? Status::OK() : Truncated(tag);
}

}  // namespace larder::online
