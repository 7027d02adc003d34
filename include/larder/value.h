// Value: one typed feature value, or null.
//
// A Value is null, or holds one of Feast's dtypes (larder/types.h): Int32,
// Int64, Float32, Float64, String, Bytes, Bool, UnixTimestamp (microseconds
// since the Unix epoch, UTC), or Array(T) of one of those scalars. Array
// elements are never null (as in Feast's protos); a whole array may be null.
//
//   Value v = Value::Int64(42);
//   if (!v.is_null() && v.type() == ValueType{ScalarType::kInt64}) use(v.int64_value());
//   Value tags = Value::StringArray({"fiction", "mystery"});
//
// Cost: a Value is 56 bytes. Null and scalar values never allocate, so they
// are as cheap to copy as a small struct; strings, bytes and arrays own their
// data and allocate on copy (move them where you can; moves never allocate).
//
// Equality compares the type and the value; floating-point elements compare
// with ==, so a NaN is not equal to itself. Null equals null.
//
// Thread safety: a Value is a plain value; distinct objects may be used from
// distinct threads, and a const Value may be read from many threads.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "larder/types.h"

namespace larder {

class Value {
 public:
  // A null value.
  Value() = default;
  static Value Null() { return Value(); }

  static Value Int32(int32_t v) { return Value(ScalarType::kInt32, false, v); }
  static Value Int64(int64_t v) { return Value(ScalarType::kInt64, false, v); }
  static Value Float32(float v) { return Value(ScalarType::kFloat32, false, v); }
  static Value Float64(double v) { return Value(ScalarType::kFloat64, false, v); }
  static Value String(std::string v) { return Value(ScalarType::kString, false, std::move(v)); }
  // Arbitrary bytes, NULs included.
  static Value Bytes(std::string v) { return Value(ScalarType::kBytes, false, std::move(v)); }
  static Value Bool(bool v) { return Value(ScalarType::kBool, false, v); }
  // Microseconds since the Unix epoch, UTC.
  static Value UnixTimestamp(TimestampMicros v) {
    return Value(ScalarType::kUnixTimestamp, false, int64_t{v});
  }

  static Value Int32Array(std::vector<int32_t> v) {
    return Value(ScalarType::kInt32, true, std::move(v));
  }
  static Value Int64Array(std::vector<int64_t> v) {
    return Value(ScalarType::kInt64, true, std::move(v));
  }
  static Value Float32Array(std::vector<float> v) {
    return Value(ScalarType::kFloat32, true, std::move(v));
  }
  static Value Float64Array(std::vector<double> v) {
    return Value(ScalarType::kFloat64, true, std::move(v));
  }
  static Value StringArray(std::vector<std::string> v) {
    return Value(ScalarType::kString, true, std::move(v));
  }
  static Value BytesArray(std::vector<std::string> v) {
    return Value(ScalarType::kBytes, true, std::move(v));
  }
  static Value BoolArray(std::vector<bool> v) {
    return Value(ScalarType::kBool, true, std::move(v));
  }
  static Value UnixTimestampArray(std::vector<TimestampMicros> v) {
    return Value(ScalarType::kUnixTimestamp, true, std::move(v));
  }

  bool is_null() const { return std::holds_alternative<std::monostate>(data_); }
  // The dtype. REQUIRES: !is_null() (a null value has no type).
  ValueType type() const { return type_; }

  // Typed accessors. REQUIRES: !is_null() and the type named in the comment;
  // a mismatch is a bug and throws std::bad_variant_access (crashes loudly).
  int32_t int32_value() const { return std::get<int32_t>(data_); }          // Int32
  int64_t int64_value() const { return std::get<int64_t>(data_); }          // Int64
  float float32_value() const { return std::get<float>(data_); }            // Float32
  double float64_value() const { return std::get<double>(data_); }          // Float64
  const std::string& string_value() const { return std::get<std::string>(data_); }  // String, Bytes
  bool bool_value() const { return std::get<bool>(data_); }                 // Bool
  TimestampMicros timestamp_value() const { return std::get<int64_t>(data_); }  // UnixTimestamp

  const std::vector<int32_t>& int32_array() const {  // Array(Int32)
    return std::get<std::vector<int32_t>>(data_);
  }
  const std::vector<int64_t>& int64_array() const {  // Array(Int64), Array(UnixTimestamp)
    return std::get<std::vector<int64_t>>(data_);
  }
  const std::vector<float>& float32_array() const {  // Array(Float32)
    return std::get<std::vector<float>>(data_);
  }
  const std::vector<double>& float64_array() const {  // Array(Float64)
    return std::get<std::vector<double>>(data_);
  }
  const std::vector<std::string>& string_array() const {  // Array(String), Array(Bytes)
    return std::get<std::vector<std::string>>(data_);
  }
  const std::vector<bool>& bool_array() const {  // Array(Bool)
    return std::get<std::vector<bool>>(data_);
  }

  bool operator==(const Value& other) const {
    if (is_null() || other.is_null()) return is_null() == other.is_null();
    return type_ == other.type_ && data_ == other.data_;
  }

  // A readable rendering for logs and test failures, e.g. `Int64(42)`,
  // `Array(String)["a", "b"]`, `null`. Not a stable format.
  std::string DebugString() const;

 private:
  using Data = std::variant<std::monostate, int32_t, int64_t, float, double, bool, std::string,
                            std::vector<int32_t>, std::vector<int64_t>, std::vector<float>,
                            std::vector<double>, std::vector<bool>, std::vector<std::string>>;

  template <typename T>
  Value(ScalarType scalar, bool is_array, T&& v)
      : type_{scalar, is_array}, data_(std::forward<T>(v)) {}

  ValueType type_;
  Data data_;
};

// Prints DebugString(); lets gtest show values.
std::ostream& operator<<(std::ostream& os, const Value& value);

}  // namespace larder
