#include "stream/kinesis/kinesis_json.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

namespace larder::stream {
namespace {

TEST(KinesisJson, ErrorTypesLoseNamespaceAndUrl) {
  AwsErrorBody e = ParseAwsError(R"({"__type":"com.amazonaws.kinesis.v20131202#)"
                                 R"(ExpiredIteratorException:http://x/","Message":"old"})");
  EXPECT_EQ(e.type, "ExpiredIteratorException");
  EXPECT_EQ(e.message, "old");
  e = ParseAwsError(R"({"__type":"ResourceNotFoundException","message":"gone"})");
  EXPECT_EQ(e.type, "ResourceNotFoundException");
  EXPECT_EQ(e.message, "gone");
  e = ParseAwsError("<html>Bad Gateway</html>");
  EXPECT_TRUE(e.type.empty() && e.message.empty());
}

TEST(KinesisJson, WrongShapesAreCorruptionNamingTheOperation) {
  for (const char* body :
       {"", "[]", R"({"Records":{}})", R"({"Records":[1]})",
        R"({"Records":[],"MillisBehindLatest":1.5})",
        R"({"Records":[],"ChildShards":[{"ShardId":"a","ParentShards":"b"}]})",
        R"({"Records":[{"SequenceNumber":"1","PartitionKey":"k","Data":"AA==",)"
        R"("ApproximateArrivalTimestamp":"yesterday"}]})"}) {
    auto r = ParseGetRecords(body, "kinesis GetRecords");
    ASSERT_FALSE(r.ok()) << body;
    EXPECT_EQ(r.status().code(), StatusCode::kCorruption) << body;
    EXPECT_TRUE(r.status().message().starts_with("kinesis GetRecords: the response "))
        << r.status().ToString();
  }
  EXPECT_FALSE(ParsePutRecords(R"({"Records":[{}]})", 1, "op").ok());
  EXPECT_FALSE(ParsePutRecords(R"({"Records":[{"ShardId":"s","SequenceNumber":"-1"}]})", 1, "op")
                   .ok());
  EXPECT_FALSE(ParseListShards(R"({"Shards":[],"NextToken":5})", "op").ok());
}

// The fuzz target's seeds are real answers: each parses, as the target
// picks the parser (fuzz/kinesis_json_fuzz.cc).
TEST(KinesisJson, FuzzCorpusSeedsParse) {
  const std::filesystem::path dir =
      std::filesystem::path(LARDER_SOURCE_DIR) / "fuzz" / "corpus" / "kinesis_json";
  int files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    std::ifstream in(entry.path(), std::ios::binary);
    const std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    ASSERT_GE(data.size(), 2u) << entry.path();
    ++files;
    const std::string_view body = std::string_view(data).substr(1);
    Status status;
    switch (static_cast<uint8_t>(data[0] - '0') % 6) {
      case 0:
        status = ParseAwsError(body).type.empty() ? Status::Corruption("no type") : Status();
        break;
      case 1: status = ParseStreamStatus(body, "op").status(); break;
      case 2: status = ParseListShards(body, "op").status(); break;
      case 3: status = ParseShardIterator(body, "op").status(); break;
      case 4: status = ParseGetRecords(body, "op").status(); break;
      default:
        status = ParsePutRecords(body.substr(1), static_cast<unsigned char>(body[0]) % 8, "op")
                     .status();
        break;
    }
    EXPECT_TRUE(status.ok()) << entry.path() << ": " << status.ToString();
  }
  EXPECT_GE(files, 6);
}

}  // namespace
}  // namespace larder::stream
