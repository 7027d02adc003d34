#include "larder/types.h"

#include <gtest/gtest.h>

namespace larder {
namespace {

TEST(ParseDuration, AcceptsUnitsAndSums) {
  EXPECT_EQ(ParseDuration("365d")->micros, 365 * Duration::kDay);
  EXPECT_EQ(ParseDuration("12h")->micros, 12 * Duration::kHour);
  EXPECT_EQ(ParseDuration("10m")->micros, 10 * Duration::kMinute);
  EXPECT_EQ(ParseDuration("30s")->micros, 30 * Duration::kSecond);
  EXPECT_EQ(ParseDuration("1d12h")->micros, Duration::kDay + 12 * Duration::kHour);
  EXPECT_EQ(ParseDuration("0")->micros, 0);
}

TEST(ParseDuration, RejectsBadText) {
  for (const char* text : {"", "-1d", "12", "d", "5w", "1.5h", "99999999999999999999d", "1d-2h"}) {
    auto r = ParseDuration(text);
    EXPECT_FALSE(r.ok()) << text;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << text;
  }
  EXPECT_NE(ParseDuration("-1d").status().message().find("negative"), std::string::npos);
}

TEST(FormatDuration, RoundTrips) {
  for (const char* text : {"365d", "1d12h", "10m", "30s", "0s", "1d1h1m1s"}) {
    auto d = ParseDuration(text);
    ASSERT_TRUE(d.ok()) << text;
    EXPECT_EQ(FormatDuration(*d), text);
  }
}

TEST(ParseValueType, ScalarsAndArrays) {
  EXPECT_EQ(ParseValueType("Int64")->scalar, ScalarType::kInt64);
  auto arr = ParseValueType("Array(String)");
  ASSERT_TRUE(arr.ok());
  EXPECT_TRUE(arr->is_array);
  EXPECT_EQ(ValueTypeName(*arr), "Array(String)");
  EXPECT_FALSE(ParseValueType("int64").ok());
  EXPECT_FALSE(ParseValueType("Array(Array(Int64))").ok());
  EXPECT_FALSE(ParseValueType("Decimal").ok());
}

}  // namespace
}  // namespace larder

namespace larder {
namespace {

TEST(ParseIsoTimestamp, AcceptsDatesTimesAndZones) {
  TimestampMicros t = 0;
  ASSERT_TRUE(ParseIsoTimestamp("1970-01-01", &t));
  EXPECT_EQ(t, 0);
  ASSERT_TRUE(ParseIsoTimestamp("2022-01-01T00:00:00Z", &t));
  EXPECT_EQ(t, 1'640'995'200'000'000);
  ASSERT_TRUE(ParseIsoTimestamp("2022-01-01 00:00:00.25", &t));
  EXPECT_EQ(t, 1'640'995'200'250'000);
  ASSERT_TRUE(ParseIsoTimestamp("2022-01-01T02:00:00+02:00", &t));
  EXPECT_EQ(t, 1'640'995'200'000'000);
  ASSERT_TRUE(ParseIsoTimestamp("2021-12-31T19:00-0500", &t));
  EXPECT_EQ(t, 1'640'995'200'000'000);
  ASSERT_TRUE(ParseIsoTimestamp("2024-02-29T12:00:00+00", &t));
  ASSERT_TRUE(ParseIsoTimestamp("1969-12-31T23:59:59Z", &t));
  EXPECT_EQ(t, -1'000'000);
}

TEST(ParseIsoTimestamp, RejectsOtherText) {
  TimestampMicros t = 7;
  for (const char* text : {"", "2022", "2022-13-01", "2023-02-29", "2022-01-01T24:00",
                           "2022-01-01T00:00:00.", "2022-01-01T00:00:00 UTC", "2022-01-01+2",
                           "2022-01-01T00:00:00+25:00", "yesterday", "2022-01-01T-1:00:00Z",
                           "2022-01-01T00:-5:-9Z", "2022-01-01T00:00+-1:00", "+022-01-01"}) {
    EXPECT_FALSE(ParseIsoTimestamp(text, &t)) << text;
  }
  EXPECT_EQ(t, 7);
}

}  // namespace
}  // namespace larder
