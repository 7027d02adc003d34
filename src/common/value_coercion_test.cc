#include "common/value_coercion.h"

#include <gtest/gtest.h>

namespace larder {
namespace {

ValueType T(const char* name) { return *ParseValueType(name); }

TEST(CoerceValue, WidensAndNarrowsWithoutLoss) {
  EXPECT_EQ(*CoerceValue(Value::Int64(7), T("Float64")), Value::Float64(7));
  EXPECT_EQ(*CoerceValue(Value::Int64(7), T("Int32")), Value::Int32(7));
  EXPECT_EQ(*CoerceValue(Value::Float64(0.5), T("Float32")), Value::Float32(0.5f));
  EXPECT_EQ(*CoerceValue(Value::Int32(3), T("Int64")), Value::Int64(3));
  EXPECT_EQ(*CoerceValue(Value::String("2022-01-01T00:00:00Z"), T("UnixTimestamp")),
            Value::UnixTimestamp(1'640'995'200'000'000));
  EXPECT_EQ(*CoerceValue(Value::Int64Array({1, 2}), T("Array(Float64)")),
            Value::Float64Array({1, 2}));
  EXPECT_EQ(*CoerceValue(Value::Int64Array({}), T("Array(String)")), Value::StringArray({}));
  EXPECT_EQ(*CoerceValue(Value::StringArray({"1970-01-01"}), T("Array(UnixTimestamp)")),
            Value::UnixTimestampArray({0}));
  EXPECT_TRUE(CoerceValue(Value::Null(), T("Int64"))->is_null());
  EXPECT_EQ(*CoerceValue(Value::String("x"), T("String")), Value::String("x"));
}

TEST(CoerceValue, RefusesWhatWouldLoseOrGuess) {
  struct Case {
    Value value;
    const char* to;
    const char* says;
  };
  const Case cases[] = {
      {Value::Float64(2.5), "Int64", "cannot be read as Int64"},
      {Value::Int64(int64_t{1} << 40), "Int32", "out of range"},
      {Value::String("7"), "Int64", "cannot be read as Int64"},
      {Value::Int64(1), "String", "cannot be read as String"},
      {Value::String("soon"), "UnixTimestamp", "ISO 8601"},
      {Value::Int64(1), "UnixTimestamp", "cannot be read as UnixTimestamp"},
      {Value::Int64(1), "Array(Int64)", "cannot be read as Array(Int64)"},
      {Value::Int64Array({1}), "Int64", "cannot be read as Int64"},
      {Value::Int64Array({int64_t{1} << 40}), "Array(Int32)", "Array(Int32)"},
      {Value::Float64(1e300), "Float32", "Float32"},
      {Value::Bool(true), "Int64", "cannot be read as Int64"},
  };
  for (const Case& c : cases) {
    Result<Value> r = CoerceValue(c.value, T(c.to));
    ASSERT_FALSE(r.ok()) << c.value << " -> " << c.to;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(r.status().message().find(c.says), std::string::npos) << r.status().message();
  }
}

}  // namespace
}  // namespace larder
