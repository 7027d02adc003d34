#include "larder/value.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <type_traits>
#include <utility>

#include "online/value_codec.h"

namespace larder {
namespace {

TEST(Value, DefaultIsNull) {
  Value v;
  EXPECT_TRUE(v.is_null());
  EXPECT_EQ(v, Value::Null());
  EXPECT_EQ(v.DebugString(), "null");
}

TEST(Value, StaysSmall) {
  // The header promises 56 bytes; scalars live inline.
  EXPECT_LE(sizeof(Value), 56u);
  EXPECT_TRUE(std::is_nothrow_move_constructible_v<Value>);
}

TEST(Value, ScalarsKeepTheirType) {
  EXPECT_EQ(Value::Int32(-7).type(), (ValueType{ScalarType::kInt32, false}));
  EXPECT_EQ(Value::Int32(-7).int32_value(), -7);
  EXPECT_EQ(Value::Int64(1LL << 40).int64_value(), 1LL << 40);
  EXPECT_EQ(Value::Float32(1.5f).float32_value(), 1.5f);
  EXPECT_EQ(Value::Float64(2.25).float64_value(), 2.25);
  EXPECT_EQ(Value::String("fr").string_value(), "fr");
  EXPECT_EQ(Value::Bytes(std::string("\0x", 2)).string_value(), std::string("\0x", 2));
  EXPECT_TRUE(Value::Bool(true).bool_value());
  EXPECT_EQ(Value::UnixTimestamp(-5).timestamp_value(), -5);
  EXPECT_EQ(Value::UnixTimestamp(5).type().scalar, ScalarType::kUnixTimestamp);
}

TEST(Value, EqualityComparesTypeAndValue) {
  EXPECT_NE(Value::Int64(1), Value::UnixTimestamp(1));
  EXPECT_NE(Value::String("a"), Value::Bytes("a"));
  EXPECT_NE(Value::Int32(1), Value::Int64(1));
  EXPECT_NE(Value::Int64(0), Value::Null());
  EXPECT_EQ(Value::StringArray({"a", "b"}), Value::StringArray({"a", "b"}));
  EXPECT_NE(Value::StringArray({"a", "b"}), Value::BytesArray({"a", "b"}));
  EXPECT_NE(Value::Float64(std::nan("")), Value::Float64(std::nan("")));
}

TEST(Value, ArraysAndCopies) {
  Value a = Value::BoolArray({true, false, true});
  EXPECT_EQ(a.type(), (ValueType{ScalarType::kBool, true}));
  Value b = a;
  EXPECT_EQ(a, b);
  Value c = std::move(b);
  EXPECT_EQ(c.bool_array().size(), 3u);
  EXPECT_EQ(Value::UnixTimestampArray({1, 2}).int64_array().size(), 2u);
  EXPECT_EQ(Value::StringArray({"x", "y\"z"}).DebugString(), "Array(String)[\"x\", \"y\\\"z\"]");
  EXPECT_EQ(Value::Int64(42).DebugString(), "Int64(42)");
}

// Every dtype round-trips through the value encoding, edge values included.
TEST(Value, CodecRoundTripsEveryDtype) {
  const Value values[] = {
      Value::Null(),
      Value::Int32(std::numeric_limits<int32_t>::min()),
      Value::Int64(std::numeric_limits<int64_t>::max()),
      Value::Float32(-0.0f),
      Value::Float64(std::numeric_limits<double>::infinity()),
      Value::String(""),
      Value::Bytes(std::string("\0\xff", 2)),
      Value::Bool(false),
      Value::UnixTimestamp(-1),
      Value::Int32Array({}),
      Value::Int64Array({1, -1}),
      Value::Float32Array({1.25f}),
      Value::Float64Array({0.5, -2}),
      Value::StringArray({"", "ab"}),
      Value::BytesArray({std::string(300, 'x')}),
      Value::BoolArray({true, false}),
      Value::UnixTimestampArray({0, 1700000000000000}),
  };
  for (const Value& v : values) {
    std::string bytes;
    online::EncodeValue(v, &bytes);
    online::ByteReader r(bytes);
    Value back = Value::Int32(99);
    ASSERT_TRUE(online::DecodeValue(&r, &back).ok()) << v;
    EXPECT_EQ(back, v);
    EXPECT_EQ(r.remaining(), 0u) << v;
  }
}

TEST(Value, CodecGoldenBytes) {
  auto hex = [](const Value& v) {
    std::string b;
    online::EncodeValue(v, &b);
    std::string out;
    for (unsigned char c : b) {
      static constexpr char kHex[] = "0123456789abcdef";
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
    }
    return out;
  };
  EXPECT_EQ(hex(Value::Null()), "00");
  EXPECT_EQ(hex(Value::Int32(-2)), "01feffffff");
  EXPECT_EQ(hex(Value::Int64(1001)), "02e903000000000000");
  EXPECT_EQ(hex(Value::Float32(1.0f)), "030000803f");
  EXPECT_EQ(hex(Value::Float64(1.0)), "04000000000000f03f");
  EXPECT_EQ(hex(Value::String("hi")), "05026869");
  EXPECT_EQ(hex(Value::Bytes("hi")), "06026869");
  EXPECT_EQ(hex(Value::Bool(true)), "0701");
  EXPECT_EQ(hex(Value::UnixTimestamp(1)), "080100000000000000");
  EXPECT_EQ(hex(Value::StringArray({"a", "bc"})), "85020161026263");
  EXPECT_EQ(hex(Value::BoolArray({true, false})), "87020100");
  EXPECT_EQ(hex(Value::String(std::string(200, 'z'))).substr(0, 8), "05c8017a");
}

TEST(Value, CodecRefusesBadInput) {
  for (std::string bad : {std::string(""), std::string("\x09", 1), std::string("\x02\x01", 2),
                          std::string("\x07\x02", 2), std::string("\x05\x05" "ab", 4),
                          std::string("\x85\xff\xff\xff\xff\x0f", 6),
                          std::string("\x05\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 12),
                          std::string("\x40", 1)}) {
    online::ByteReader r(bad);
    Value v;
    Status s = online::DecodeValue(&r, &v);
    EXPECT_EQ(s.code(), StatusCode::kCorruption) << s.ToString();
  }
}

}  // namespace
}  // namespace larder
