// The Kinesis client against a real kinesalite (puts, reads from every kind
// of iterator, resharding, errors), plus a scripted server for what
// kinesalite will not do on demand (throttling, failed entries, malformed
// responses).
#include "stream/kinesis/kinesis_client.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <cstdlib>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "support/kinesalite_server.h"
#include "support/scripted_server.h"
#include "support/server_process.h"

namespace larder::testing {
namespace {

using json = nlohmann::json;
using stream::CompareSequenceNumbers;
using stream::KinesisClient;
using stream::KinesisClientOptions;
using stream::KinesisRecord;
using stream::KinesisShard;
using stream::PutRecordsEntry;
using stream::ShardIteratorType;

// 2^127: the middle of the hash key space.
constexpr char kMidHashKey[] = "170141183460469231731687303715884105728";
constexpr char kMaxHashKey[] = "340282366920938463463374607431768211455";  // 2^128 - 1
constexpr auto kActiveTimeout = std::chrono::seconds(20);

KinesisClientOptions Options(const std::string& endpoint_url) {
  KinesisClientOptions o;
  o.endpoint_url = endpoint_url;
  o.region = "us-east-1";
  o.credentials = {"AKIDLARDERTEST", "larder-test-secret", ""};
  o.backoff_base_ms = 1;
  o.backoff_cap_ms = 4;
  return o;
}

std::unique_ptr<KinesisClient> MustOpen(const std::string& endpoint_url) {
  auto client = KinesisClient::Open(Options(endpoint_url));
  EXPECT_TRUE(client.ok()) << client.status().ToString();
  return client.ok() ? std::move(client).value() : nullptr;
}

// A client of the shared kinesalite; null (with a failure) when it cannot
// start.
std::unique_ptr<KinesisClient> Kinesalite() {
  std::string error;
  KinesaliteServer* server = KinesaliteServer::Shared(&error);
  EXPECT_NE(server, nullptr) << error;
  return server == nullptr ? nullptr : MustOpen(server->endpoint_url());
}

void CreateActive(KinesisClient& client, const std::string& name, int shards) {
  Status s = client.CreateStream(name, shards);
  ASSERT_TRUE(s.ok()) << s.ToString();
  s = client.WaitForActive(name, kActiveTimeout);
  ASSERT_TRUE(s.ok()) << s.ToString();
}

std::vector<PutRecordsEntry> Entries(size_t first, size_t count) {
  std::vector<PutRecordsEntry> entries;
  for (size_t i = first; i < first + count; ++i) {
    // Binary data: a zero byte, a high byte and the index.
    entries.push_back({"key-" + std::to_string(i % 37),
                       std::string("\0\xff", 2) + "record " + std::to_string(i)});
  }
  return entries;
}

// Reads `shard` from an iterator of `type` until it is drained: until the
// next iterator is empty (a closed shard) or, for an open shard, a read
// returns nothing while no more are behind.
struct ShardRead {
  std::vector<KinesisRecord> records;
  bool closed = false;  // the last next iterator was empty
};
ShardRead ReadShard(KinesisClient& client, const std::string& stream, const std::string& shard,
                    ShardIteratorType type, const std::string& sequence_number = "") {
  ShardRead out;
  auto it = client.GetShardIterator(stream, shard, type, sequence_number);
  EXPECT_TRUE(it.ok()) << it.status().ToString();
  if (!it.ok()) return out;
  std::string iterator = *it;
  for (int reads = 0; reads < 1000; ++reads) {
    auto batch = client.GetRecords(iterator, 300);  // below the total: several reads
    EXPECT_TRUE(batch.ok()) << batch.status().ToString();
    if (!batch.ok()) return out;
    for (auto& r : batch->records) out.records.push_back(std::move(r));
    if (batch->next_shard_iterator.empty()) {
      out.closed = true;
      return out;
    }
    if (batch->records.empty() && batch->millis_behind_latest == 0) return out;
    iterator = batch->next_shard_iterator;
  }
  ADD_FAILURE() << "shard " << shard << " did not drain";
  return out;
}

std::vector<std::string> Datas(const std::vector<KinesisRecord>& records) {
  std::vector<std::string> out;
  for (const auto& r : records) out.push_back(r.data);
  return out;
}

std::vector<std::string> Datas(const std::vector<PutRecordsEntry>& entries) {
  std::vector<std::string> out;
  for (const auto& e : entries) out.push_back(e.data);
  return out;
}

const KinesisShard* FindShard(const std::vector<KinesisShard>& shards, const std::string& id) {
  for (const auto& s : shards) {
    if (s.shard_id == id) return &s;
  }
  return nullptr;
}

// ---------------------------------------------------------------- kinesalite

TEST(KinesisClient, PutsOverTheRequestLimitAndReadsEveryShardInOrder) {
  auto client = Kinesalite();
  ASSERT_NE(client, nullptr);
  const std::string name = "puts-and-reads";
  CreateActive(*client, name, 2);
  const std::vector<PutRecordsEntry> entries = Entries(0, 1200);
  auto put = client->PutRecords(name, entries);
  ASSERT_TRUE(put.ok()) << put.status().ToString();
  ASSERT_EQ(put->records.size(), entries.size());
  EXPECT_EQ(put->failed, 0u);

  auto shards = client->ListShards(name);
  ASSERT_TRUE(shards.ok()) << shards.status().ToString();
  ASSERT_EQ(shards->size(), 2u);
  std::map<std::string, std::vector<size_t>> put_by_shard;  // entry indexes in input order
  for (size_t i = 0; i < entries.size(); ++i) {
    ASSERT_NE(FindShard(*shards, put->records[i].shard_id), nullptr) << i;
    put_by_shard[put->records[i].shard_id].push_back(i);
  }
  size_t total = 0;
  for (const KinesisShard& shard : *shards) {
    EXPECT_TRUE(shard.parent_shard_id.empty());
    EXPECT_TRUE(shard.ending_sequence_number.empty()) << "an open shard";
    const ShardRead read =
        ReadShard(*client, name, shard.shard_id, ShardIteratorType::kTrimHorizon);
    EXPECT_FALSE(read.closed);
    const std::vector<size_t>& expected = put_by_shard[shard.shard_id];
    EXPECT_GT(expected.size(), 100u) << "the partition keys spread over both shards";
    ASSERT_EQ(read.records.size(), expected.size()) << shard.shard_id;
    for (size_t k = 0; k < expected.size(); ++k) {
      const KinesisRecord& r = read.records[k];
      const size_t i = expected[k];
      EXPECT_EQ(r.data, entries[i].data) << shard.shard_id << " #" << k;
      EXPECT_EQ(r.partition_key, entries[i].partition_key);
      EXPECT_EQ(r.sequence_number, put->records[i].sequence_number);
      EXPECT_GT(r.approximate_arrival_timestamp_ms, 1'600'000'000'000);
      if (k > 0) {
        EXPECT_LT(CompareSequenceNumbers(read.records[k - 1].sequence_number, r.sequence_number),
                  0);
      }
    }
    total += read.records.size();
  }
  EXPECT_EQ(total, entries.size());
}

TEST(KinesisClient, SequenceNumberIteratorsStartAtOrJustAfterTheRecord) {
  auto client = Kinesalite();
  ASSERT_NE(client, nullptr);
  const std::string name = "after-sequence";
  CreateActive(*client, name, 1);
  const auto entries = Entries(0, 10);
  auto put = client->PutRecords(name, entries);
  ASSERT_TRUE(put.ok()) << put.status().ToString();
  const std::string shard = put->records[4].shard_id;
  const std::string seq = put->records[4].sequence_number;

  const ShardRead after =
      ReadShard(*client, name, shard, ShardIteratorType::kAfterSequenceNumber, seq);
  EXPECT_EQ(Datas(after.records), Datas(Entries(5, 5)));
  const ShardRead at = ReadShard(*client, name, shard, ShardIteratorType::kAtSequenceNumber, seq);
  EXPECT_EQ(Datas(at.records), Datas(Entries(4, 6)));

  auto bad = client->GetShardIterator(name, shard, ShardIteratorType::kAfterSequenceNumber, "12x");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("'12x'"), std::string::npos) << bad.status().ToString();
}

TEST(KinesisClient, LatestSeesOnlyLaterPuts) {
  auto client = Kinesalite();
  ASSERT_NE(client, nullptr);
  const std::string name = "latest";
  CreateActive(*client, name, 1);
  ASSERT_TRUE(client->PutRecords(name, Entries(0, 5)).ok());
  auto shards = client->ListShards(name);
  ASSERT_TRUE(shards.ok()) << shards.status().ToString();
  auto it = client->GetShardIterator(name, (*shards)[0].shard_id, ShardIteratorType::kLatest);
  ASSERT_TRUE(it.ok()) << it.status().ToString();
  ASSERT_TRUE(client->PutRecords(name, Entries(5, 3)).ok());
  auto batch = client->GetRecords(*it, 100);
  ASSERT_TRUE(batch.ok()) << batch.status().ToString();
  EXPECT_EQ(Datas(batch->records), Datas(Entries(5, 3)));
}

TEST(KinesisClient, SplitShardLinksChildrenAndTheParentDrainsToAnEmptyIterator) {
  auto client = Kinesalite();
  ASSERT_NE(client, nullptr);
  const std::string name = "split";
  CreateActive(*client, name, 1);
  ASSERT_TRUE(client->PutRecords(name, Entries(0, 20)).ok());
  auto before = client->ListShards(name);
  ASSERT_TRUE(before.ok()) << before.status().ToString();
  ASSERT_EQ(before->size(), 1u);
  const std::string parent = (*before)[0].shard_id;

  Status s = client->SplitShard(name, parent, kMidHashKey);
  ASSERT_TRUE(s.ok()) << s.ToString();
  s = client->WaitForActive(name, kActiveTimeout);
  ASSERT_TRUE(s.ok()) << s.ToString();
  ASSERT_TRUE(client->PutRecords(name, Entries(20, 10)).ok());

  auto after = client->ListShards(name);
  ASSERT_TRUE(after.ok()) << after.status().ToString();
  ASSERT_EQ(after->size(), 3u);
  const KinesisShard* closed = FindShard(*after, parent);
  ASSERT_NE(closed, nullptr);
  EXPECT_FALSE(closed->ending_sequence_number.empty());
  std::vector<const KinesisShard*> children;
  for (const auto& shard : *after) {
    if (shard.shard_id == parent) continue;
    EXPECT_EQ(shard.parent_shard_id, parent);
    EXPECT_TRUE(shard.adjacent_parent_shard_id.empty());
    EXPECT_TRUE(shard.ending_sequence_number.empty());
    EXPECT_GT(CompareSequenceNumbers(shard.starting_sequence_number,
                                     closed->ending_sequence_number),
              0);
    children.push_back(&shard);
  }
  ASSERT_EQ(children.size(), 2u);
  std::set<std::pair<std::string, std::string>> ranges;
  for (const auto* c : children) ranges.insert({c->starting_hash_key, c->ending_hash_key});
  EXPECT_EQ(ranges, (std::set<std::pair<std::string, std::string>>{
                        {"0", "170141183460469231731687303715884105727"},
                        {kMidHashKey, kMaxHashKey}}));

  const ShardRead drained = ReadShard(*client, name, parent, ShardIteratorType::kTrimHorizon);
  EXPECT_TRUE(drained.closed) << "a closed shard ends with an empty next iterator";
  EXPECT_EQ(Datas(drained.records), Datas(Entries(0, 20)));
  size_t in_children = 0;
  for (const auto* c : children) {
    in_children +=
        ReadShard(*client, name, c->shard_id, ShardIteratorType::kTrimHorizon).records.size();
  }
  EXPECT_EQ(in_children, 10u);
}

TEST(KinesisClient, MergeShardsLinksBothParentsAndBothDrain) {
  auto client = Kinesalite();
  ASSERT_NE(client, nullptr);
  const std::string name = "merge";
  CreateActive(*client, name, 2);
  auto put = client->PutRecords(name, Entries(0, 40));
  ASSERT_TRUE(put.ok()) << put.status().ToString();
  auto before = client->ListShards(name);
  ASSERT_TRUE(before.ok()) << before.status().ToString();
  ASSERT_EQ(before->size(), 2u);
  const std::string a = (*before)[0].shard_id, b = (*before)[1].shard_id;

  Status s = client->MergeShards(name, a, b);
  ASSERT_TRUE(s.ok()) << s.ToString();
  s = client->WaitForActive(name, kActiveTimeout);
  ASSERT_TRUE(s.ok()) << s.ToString();

  auto after = client->ListShards(name);
  ASSERT_TRUE(after.ok()) << after.status().ToString();
  ASSERT_EQ(after->size(), 3u);
  const KinesisShard& child = (*after)[2];
  EXPECT_EQ(child.parent_shard_id, a);
  EXPECT_EQ(child.adjacent_parent_shard_id, b);
  EXPECT_EQ(child.starting_hash_key, "0");
  EXPECT_EQ(child.ending_hash_key, kMaxHashKey);
  EXPECT_TRUE(child.ending_sequence_number.empty());
  size_t drained = 0;
  for (const std::string& parent : {a, b}) {
    const KinesisShard* closed = FindShard(*after, parent);
    ASSERT_NE(closed, nullptr);
    EXPECT_FALSE(closed->ending_sequence_number.empty());
    const ShardRead read = ReadShard(*client, name, parent, ShardIteratorType::kTrimHorizon);
    EXPECT_TRUE(read.closed) << parent;
    drained += read.records.size();
  }
  EXPECT_EQ(drained, 40u);
}

TEST(KinesisClient, MissingStreamIsNotFoundNamingIt) {
  auto client = Kinesalite();
  ASSERT_NE(client, nullptr);
  const auto check = [](const Status& s, const std::string& op) {
    EXPECT_EQ(s.code(), StatusCode::kNotFound) << s.ToString();
    EXPECT_NE(s.message().find(op + " stream 'no-such-stream'"), std::string::npos)
        << s.ToString();
    EXPECT_NE(s.message().find("ResourceNotFoundException"), std::string::npos) << s.ToString();
  };
  check(client->ListShards("no-such-stream").status(), "ListShards");
  check(client->PutRecords("no-such-stream", Entries(0, 1)).status(), "PutRecords");
  check(client->GetShardIterator("no-such-stream", "shardId-000000000000",
                                 ShardIteratorType::kTrimHorizon)
            .status(),
        "GetShardIterator");
  check(client->WaitForActive("no-such-stream", kActiveTimeout), "DescribeStreamSummary");
  check(client->DeleteStream("no-such-stream"), "DeleteStream");

  const std::string name = "created-twice";
  CreateActive(*client, name, 1);
  Status again = client->CreateStream(name, 1);
  EXPECT_EQ(again.code(), StatusCode::kFailedPrecondition) << again.ToString();
  EXPECT_NE(again.message().find("ResourceInUseException"), std::string::npos) << again.ToString();
  EXPECT_TRUE(client->DeleteStream(name).ok());
}

TEST(KinesaliteServer, SurvivesAClientThatResetsMidRequest) {
  // Plain kinesalite dies of an uncaught ECONNRESET here; the launcher
  // keeps it up for the tests that follow.
  auto server = KinesaliteServer::Start();
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  const int fd = ConnectLoopback((*server)->port(), /*receive_timeout_seconds=*/1);
  ASSERT_GE(fd, 0);
  const std::string partial =
      "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-amz-json-1.1\r\n"
      "X-Amz-Target: Kinesis_20131202.ListShards\r\nContent-Length: 1000\r\n\r\n{\"Stream";
  ASSERT_EQ(write(fd, partial.data(), partial.size()), static_cast<ssize_t>(partial.size()));
  usleep(200'000);
  const linger reset{1, 0};  // close with RST
  setsockopt(fd, SOL_SOCKET, SO_LINGER, &reset, sizeof(reset));
  close(fd);
  usleep(300'000);
  auto client = MustOpen((*server)->endpoint_url());
  ASSERT_NE(client, nullptr);
  Status s = client->DeleteStream("after-reset");
  EXPECT_EQ(s.code(), StatusCode::kNotFound) << s.ToString() << "; server output: "
                                             << ReadFileText((*server)->LogPath());
}

// ---------------------------------------------------------------- no server

TEST(KinesisClientOptions, MalformedEndpointsAndBadOptionsAreRefused) {
  for (const char* url : {"127.0.0.1:4567", "http://", "https://", "http://host:notaport",
                          "ftp://host"}) {
    auto client = KinesisClient::Open(Options(url));
    ASSERT_FALSE(client.ok()) << url;
    EXPECT_EQ(client.status().code(), StatusCode::kInvalidArgument) << url;
    EXPECT_NE(client.status().message().find("endpoint"), std::string::npos)
        << client.status().ToString();
  }
  // No endpoint: AWS's own for the region, over TLS.
  auto aws = KinesisClient::Open(Options(""));
  ASSERT_TRUE(aws.ok()) << aws.status().ToString();
  EXPECT_EQ((*aws)->endpoint_url(), "https://kinesis.us-east-1.amazonaws.com");
  EXPECT_TRUE(KinesisClient::Open(Options("https://kinesis.eu-west-1.amazonaws.com")).ok());

  auto o = Options("http://127.0.0.1:1");
  o.region = "us east";
  EXPECT_EQ(KinesisClient::Open(o).status().code(), StatusCode::kInvalidArgument);
  o = Options("http://127.0.0.1:1");
  o.max_attempts = 0;
  EXPECT_EQ(KinesisClient::Open(o).status().code(), StatusCode::kInvalidArgument);

  // Credentials come from the environment when the options have none.
  const char* saved_id = std::getenv("AWS_ACCESS_KEY_ID");
  const std::optional<std::string> id =
      saved_id != nullptr ? std::optional(std::string(saved_id)) : std::nullopt;
  unsetenv("AWS_ACCESS_KEY_ID");
  o = Options("http://127.0.0.1:1");
  o.credentials = {};
  auto none = KinesisClient::Open(o);
  EXPECT_EQ(none.status().code(), StatusCode::kFailedPrecondition) << none.status().ToString();
  EXPECT_NE(none.status().message().find("AWS_ACCESS_KEY_ID"), std::string::npos);
  setenv("AWS_ACCESS_KEY_ID", "AKIDFROMENV", 1);
  setenv("AWS_SECRET_ACCESS_KEY", "secret-from-env", 0);
  EXPECT_TRUE(KinesisClient::Open(o).ok());
  if (id) {
    setenv("AWS_ACCESS_KEY_ID", id->c_str(), 1);
  } else {
    unsetenv("AWS_ACCESS_KEY_ID");
  }
}

TEST(KinesisClientOptions, BadArgumentsAreRefusedBeforeSending) {
  auto client = MustOpen("http://127.0.0.1:1");  // nothing is sent
  ASSERT_NE(client, nullptr);
  EXPECT_EQ(client->CreateStream("has space", 1).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(client->CreateStream("ok", 0).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(client->GetRecords("iterator", 0).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(client->PutRecords("ok", {{"", "data"}}).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(client->PutRecords("ok", {{std::string("\xff", 1), "data"}}).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(client->SplitShard("ok", "shardId-0", "-1").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(
      client->GetShardIterator("ok", "shardId-0", ShardIteratorType::kLatest, "1").status().code(),
      StatusCode::kInvalidArgument);
}

TEST(KinesisSequenceNumbers, CompareNumerically) {
  EXPECT_LT(CompareSequenceNumbers("1", "2"), 0);
  EXPECT_GT(CompareSequenceNumbers("10", "9"), 0);
  EXPECT_EQ(CompareSequenceNumbers("007", "7"), 0);
  EXPECT_EQ(CompareSequenceNumbers("0", "000"), 0);
  EXPECT_LT(CompareSequenceNumbers("0", "1"), 0);
  // 128-bit values that differ only in their last digit, and by length.
  EXPECT_LT(CompareSequenceNumbers("49590338271490256608559692538361571095921575989136588898",
                                   "49590338271490256608559692538361571095921575989136588899"),
            0);
  EXPECT_GT(CompareSequenceNumbers(kMaxHashKey, kMidHashKey), 0);
  EXPECT_LT(CompareSequenceNumbers("99999999999999999999", "100000000000000000000"), 0);
  EXPECT_TRUE(stream::IsDecimalString("0123"));
  EXPECT_FALSE(stream::IsDecimalString(""));
  EXPECT_FALSE(stream::IsDecimalString("-1"));
}

// ---------------------------------------------------------------- scripted

constexpr char kThrottled[] =
    R"({"__type":"ProvisionedThroughputExceededException","message":"Rate exceeded"})";

TEST(KinesisClientScripted, ThrottlingIsRetriedAndOtherErrorsAreNot) {
  ScriptedServer server({
      {400, kThrottled},
      {400, R"({"__type":"com.amazonaws.kinesis.v20131202#LimitExceededException:)"
            R"(http://internal.amazon.com/coral/","message":"slow down"})"},
      {200, R"({"ShardIterator":"it-1"})"},
      {400, R"({"__type":"ExpiredIteratorException","message":"Iterator expired"})"},
  });
  auto client = MustOpen(server.endpoint_url());
  ASSERT_NE(client, nullptr);
  auto it = client->GetShardIterator("s", "shardId-0", ShardIteratorType::kTrimHorizon);
  ASSERT_TRUE(it.ok()) << it.status().ToString();
  EXPECT_EQ(*it, "it-1");
  auto expired = client->GetRecords(*it, 10);
  ASSERT_FALSE(expired.ok());
  EXPECT_EQ(expired.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(expired.status().message().find("GetRecords: HTTP 400: ExpiredIteratorException: "
                                            "Iterator expired"),
            std::string::npos)
      << expired.status().ToString();
  ASSERT_EQ(server.requests().size(), 4u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(server.requests()[i].target, "GetShardIterator");
    EXPECT_EQ(server.requests()[i].body, server.requests()[0].body);
  }
  EXPECT_EQ(json::parse(server.requests()[3].body),
            (json{{"ShardIterator", "it-1"}, {"Limit", 10}}));
}

TEST(KinesisClientScripted, RetriesAreBounded) {
  std::vector<ScriptedServer::Response> script(3, {400, kThrottled});
  ScriptedServer server(script);
  auto options = Options(server.endpoint_url());
  options.max_attempts = 3;
  auto client = KinesisClient::Open(options);
  ASSERT_TRUE(client.ok());
  Status s = (*client)->DeleteStream("s");
  EXPECT_EQ(s.code(), StatusCode::kIOError);
  EXPECT_NE(s.message().find("DeleteStream stream 's': HTTP 400: "
                             "ProvisionedThroughputExceededException: Rate exceeded (after 3 "
                             "attempts)"),
            std::string::npos)
      << s.ToString();
  EXPECT_EQ(server.requests().size(), 3u);
}

TEST(KinesisClientScripted, PutRecordsRetriesOnlyTheFailedEntries) {
  const json first = {
      {"FailedRecordCount", 2},
      {"Records", json::array({{{"ShardId", "shardId-0"}, {"SequenceNumber", "100"}},
                               {{"ErrorCode", "ProvisionedThroughputExceededException"},
                                {"ErrorMessage", "Rate exceeded for shard"}},
                               {{"ErrorCode", "KMSAccessDeniedException"},
                                {"ErrorMessage", "no key"}},
                               {{"ErrorCode", "InternalFailure"}, {"ErrorMessage", "oops"}}})}};
  const json second = {
      {"FailedRecordCount", 0},
      {"Records", json::array({{{"ShardId", "shardId-1"}, {"SequenceNumber", "101"}},
                               {{"ShardId", "shardId-1"}, {"SequenceNumber", "102"}}})}};
  ScriptedServer server({{200, first.dump()}, {200, second.dump()}});
  auto client = MustOpen(server.endpoint_url());
  ASSERT_NE(client, nullptr);
  const auto entries = Entries(0, 4);
  auto put = client->PutRecords("s", entries);
  ASSERT_TRUE(put.ok()) << put.status().ToString();
  ASSERT_EQ(put->records.size(), 4u);
  EXPECT_EQ(put->failed, 1u);
  EXPECT_EQ(put->records[0].sequence_number, "100");
  EXPECT_EQ(put->records[1].sequence_number, "101");
  EXPECT_TRUE(put->records[1].error_code.empty());
  EXPECT_EQ(put->records[2].error_code, "KMSAccessDeniedException");
  EXPECT_EQ(put->records[2].error_message, "no key");
  EXPECT_EQ(put->records[3].sequence_number, "102");
  ASSERT_EQ(server.requests().size(), 2u);
  const json retried = json::parse(server.requests()[1].body);
  ASSERT_EQ(retried["Records"].size(), 2u);
  EXPECT_EQ(retried["Records"][0]["PartitionKey"], entries[1].partition_key);
  EXPECT_EQ(retried["Records"][1]["PartitionKey"], entries[3].partition_key);
}

TEST(KinesisClientScripted, MalformedResponsesAreCorruptionNamingTheOperation) {
  ScriptedServer server({
      {200, "not json"},
      {200, R"({"Records":[{"SequenceNumber":"1","PartitionKey":"k","Data":"!!"}]})"},
      {200, R"({"Records":[{"SequenceNumber":1,"PartitionKey":"k","Data":""}]})"},
      {200, R"({"Shards":[{"ShardId":"shardId-0"}]})"},
      {200, R"({"Records":[]})"},  // PutRecords of one entry: no answer for it
      {200, R"({"StreamDescriptionSummary":{}})"},
      {200, R"({"Records":[],"NextShardIterator":7})"},
  });
  auto client = MustOpen(server.endpoint_url());
  ASSERT_NE(client, nullptr);
  const auto check = [](const Status& s, const std::string& op) {
    EXPECT_EQ(s.code(), StatusCode::kCorruption) << s.ToString();
    EXPECT_NE(s.message().find(op), std::string::npos) << s.ToString();
  };
  check(client->GetRecords("it", 10).status(), "GetRecords");
  check(client->GetRecords("it", 10).status(), "GetRecords");
  check(client->GetRecords("it", 10).status(), "GetRecords");
  check(client->ListShards("s").status(), "ListShards");
  check(client->PutRecords("s", Entries(0, 1)).status(), "PutRecords");
  check(client->WaitForActive("s", kActiveTimeout), "DescribeStreamSummary");
  check(client->GetRecords("it", 10).status(), "GetRecords");
}

TEST(KinesisClientScripted, ChildShardsAndTimestampsAreRead) {
  const json reply = {
      {"Records", json::array({{{"SequenceNumber", "5"},
                                {"PartitionKey", "k"},
                                {"Data", "AP8="},
                                {"ApproximateArrivalTimestamp", 1700000000.123}}})},
      {"MillisBehindLatest", 0},
      {"ChildShards", json::array({{{"ShardId", "shardId-2"},
                                    {"ParentShards", json::array({"shardId-0", "shardId-1"})},
                                    {"HashKeyRange",
                                     {{"StartingHashKey", "0"}, {"EndingHashKey", "9"}}}}})}};
  ScriptedServer server({{200, reply.dump()}});
  auto client = MustOpen(server.endpoint_url());
  ASSERT_NE(client, nullptr);
  auto batch = client->GetRecords("it", 10);
  ASSERT_TRUE(batch.ok()) << batch.status().ToString();
  ASSERT_EQ(batch->records.size(), 1u);
  EXPECT_EQ(batch->records[0].data, std::string("\0\xff", 2));
  EXPECT_EQ(batch->records[0].approximate_arrival_timestamp_ms, 1700000000123);
  EXPECT_TRUE(batch->next_shard_iterator.empty());
  ASSERT_EQ(batch->child_shards.size(), 1u);
  EXPECT_EQ(batch->child_shards[0].shard_id, "shardId-2");
  EXPECT_EQ(batch->child_shards[0].parent_shards,
            (std::vector<std::string>{"shardId-0", "shardId-1"}));
  EXPECT_EQ(batch->child_shards[0].ending_hash_key, "9");
}

}  // namespace
}  // namespace larder::testing
