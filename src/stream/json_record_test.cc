#include "stream/json_record.h"

#include <gtest/gtest.h>

namespace larder::stream {
namespace {

TEST(JsonRecord, FieldsBecomeValuesUnderTheirMappedNames) {
  auto row = DecodeJsonRecord(
      R"({"uid": 7, "isbn": "0451", "rating": 4.5, "ok": true, "tags": ["a", "b"], "n": null,
          "at": "2024-01-01T00:00:00Z"})",
      {{"uid", "user_id"}});
  ASSERT_TRUE(row.ok()) << row.status().ToString();
  EXPECT_EQ(row->at("user_id").int64_value(), 7);
  EXPECT_FALSE(row->contains("uid"));
  EXPECT_EQ(row->at("isbn").string_value(), "0451");
  EXPECT_DOUBLE_EQ(row->at("rating").float64_value(), 4.5);
  EXPECT_TRUE(row->at("ok").bool_value());
  EXPECT_EQ(row->at("tags").string_array().size(), 2u);
  EXPECT_TRUE(row->at("n").is_null());
  EXPECT_EQ(row->at("at").string_value(), "2024-01-01T00:00:00Z");
}

TEST(JsonRecord, BadRecordsAreErrorsNamingTheProblem) {
  struct Case {
    std::string data;
    std::string says;
  };
  const Case cases[] = {
      {"{\"a\": 1", "not valid JSON"},
      {"[1, 2]", "expected a JSON object"},
      {"\"text\"", "expected a JSON object"},
      {R"({"a": {"b": 1}})", "field `a`: expected a number"},
      {R"({"a": 1, "a": 2})", "field `a`: appears twice"},
      {R"({"a": 1, "b": 2})", "field `b`: appears twice"},  // both map to `a`
      {R"({"a": 18446744073709551615})", "field `a`: 18446744073709551615 is out of the Int64"},
      {R"({"a": [1, "x"]})", "field `a`: array elements must all be"},
      {R"({"a": [null]})", "field `a`[0]: array elements cannot be null"},
  };
  for (const Case& c : cases) {
    auto row = DecodeJsonRecord(c.data, {{"b", "a"}});
    ASSERT_FALSE(row.ok()) << c.data;
    EXPECT_NE(row.status().message().find(c.says), std::string::npos)
        << c.data << " -> " << row.status().ToString();
  }
  auto big = DecodeJsonRecord("{\"a\": \"" + std::string(2000, 'x') + "\"}", {}, 1000);
  ASSERT_FALSE(big.ok());
  EXPECT_NE(big.status().message().find("over the limit of 1000"), std::string::npos);
}

}  // namespace
}  // namespace larder::stream
