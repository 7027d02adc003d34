#include "online/entity_key.h"

#include <gtest/gtest.h>

#include <string>

namespace larder::online {
namespace {

std::string Hex(std::string_view b) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : b) {
    out += kHex[c >> 4];
    out += kHex[c & 0xf];
  }
  return out;
}

std::string Encode(const EntityKey& key) {
  std::string out;
  Status s = EncodeEntityKey(key, &out);
  EXPECT_TRUE(s.ok()) << s.ToString();
  return out;
}

// These bytes are a stable format: stored data depends on them. Never change
// an expectation here; add a new key layout version instead.
TEST(EntityKey, GoldenBytesSingleKey) {
  EXPECT_EQ(Hex(Encode({{"user_id"}, {Value::Int64(1001)}})),
            "01"                  // one join key
            "07757365725f6964"    // "user_id"
            "02e903000000000000");  // Int64 1001
  EXPECT_EQ(Hex(Encode({{"isbn"}, {Value::String("0439")}})),
            "01"
            "046973626e"  // "isbn"
            "050430343339");  // String "0439"
}

TEST(EntityKey, GoldenBytesSortsJoinKeysByName) {
  const std::string expected =
      "02"
      "046973626e" "050430343339"                    // isbn = "0439"
      "07757365725f6964" "020700000000000000";       // user_id = 7
  EXPECT_EQ(Hex(Encode({{"user_id", "isbn"}, {Value::Int64(7), Value::String("0439")}})),
            expected);
  EXPECT_EQ(Hex(Encode({{"isbn", "user_id"}, {Value::String("0439"), Value::Int64(7)}})),
            expected);
}

TEST(EntityKey, Int32WidensToInt64) {
  EXPECT_EQ(Encode({{"id"}, {Value::Int32(-3)}}), Encode({{"id"}, {Value::Int64(-3)}}));
  EXPECT_NE(Encode({{"id"}, {Value::String("1")}}), Encode({{"id"}, {Value::Int64(1)}}));
  EXPECT_NE(Encode({{"id"}, {Value::Bytes("1")}}), Encode({{"id"}, {Value::String("1")}}));
}

TEST(EntityKey, RecordKeyGoldenBytesAndPrefixes) {
  std::string key;
  ASSERT_TRUE(EncodeRecordKey("p", "v", {{"id"}, {Value::Int64(1)}}, &key).ok());
  EXPECT_EQ(Hex(key),
            "01"      // key layout version
            "0170"    // project "p"
            "0176"    // view "v"
            "01" "026964" "020100000000000000");  // {id: 1}
  EXPECT_EQ(Hex(ViewKeyPrefix("p", "v")), "0101700176");
  EXPECT_EQ(Hex(ProjectKeyPrefix("p")), "010170");
  EXPECT_EQ(key.rfind(ViewKeyPrefix("p", "v"), 0), 0u);
  // A view whose name extends another's does not share its prefix.
  EXPECT_NE(ViewKeyPrefix("p", "vv").rfind(ViewKeyPrefix("p", "v"), 0), 0u);
  EXPECT_NE(ProjectKeyPrefix("pp").rfind(ProjectKeyPrefix("p"), 0), 0u);
}

TEST(EntityKey, DecodeRoundTrips) {
  EntityKey key{{"user_id", "isbn"}, {Value::Int64(7), Value::String("0439")}};
  auto back = DecodeEntityKey(Encode(key));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->join_keys, (std::vector<std::string>{"isbn", "user_id"}));
  EXPECT_EQ(back->values[0], Value::String("0439"));
  EXPECT_EQ(back->values[1], Value::Int64(7));
  EXPECT_EQ(DecodeEntityKey("").status().code(), StatusCode::kCorruption);
  EXPECT_EQ(DecodeEntityKey(Encode(key) + "x").status().code(), StatusCode::kCorruption);
  std::string truncated = Encode(key);
  truncated.pop_back();
  EXPECT_EQ(DecodeEntityKey(truncated).status().code(), StatusCode::kCorruption);
}

TEST(EntityKey, RefusesBadKeys) {
  std::string out;
  EXPECT_EQ(EncodeEntityKey({}, &out).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(EncodeEntityKey({{"a"}, {}}, &out).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(EncodeEntityKey({{"a"}, {Value::Null()}}, &out).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(EncodeEntityKey({{"a"}, {Value::Int64Array({1})}}, &out).code(),
            StatusCode::kInvalidArgument);
  Status dup = EncodeEntityKey({{"a", "a"}, {Value::Int64(1), Value::Int64(2)}}, &out);
  EXPECT_EQ(dup.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(dup.message().find("`a`"), std::string::npos) << dup.message();
}

TEST(EntityKey, PrefixSuccessor) {
  EXPECT_EQ(PrefixSuccessor("ab"), "ac");
  EXPECT_EQ(PrefixSuccessor(std::string("a\xff\xff", 3)), "b");
  EXPECT_EQ(PrefixSuccessor(std::string("\xff", 1)), "");
  EXPECT_EQ(PrefixSuccessor(""), "");
}

}  // namespace
}  // namespace larder::online
