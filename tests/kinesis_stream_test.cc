// `larder stream` against a real kinesalite: records become online window
// aggregates, latest rows and offline history; bad records become dead
// letters; a consumer killed at random points and restarted (with a shard
// split in the middle of the stream) ends with the state of one clean run.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <sys/wait.h>

#include <chrono>
#include <cstdlib>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "larder/feature_store.h"
#include "stream/kinesis/kinesis_client.h"
#include "support/dynalite_server.h"
#include "support/kinesalite_server.h"
#include "support/redis_server.h"
#include "support/serve_fixture.h"
#include "support/server_process.h"
#include "support/stream_test_repo.h"
#include "support/test_util.h"

namespace larder {
namespace {

using ::larder::testing::KinesaliteServer;

using Good = ::larder::testing::StreamEvent;
using ::larder::testing::StreamTestRepo;

constexpr int64_t kMin = testing::kStreamMinute;
constexpr int64_t kDay = testing::kStreamDay;

TimestampMicros Now() { return testing::NowMicros(); }

// A repo whose views read the kinesis source `events_stream` of `stream`.
struct Repo : StreamTestRepo {
  Repo(const std::string& endpoint, const std::string& stream)
      : StreamTestRepo(testing::KinesisSourceYaml(endpoint, stream)) {}
};

std::map<int64_t, std::vector<std::string>> Expected(const std::vector<Good>& good) {
  return testing::ExpectedOnline(good);
}

// kinesalite checks only that requests are signed; the consumer (in this
// process and in `larder stream` children) reads these.
void SetTestCredentials() {
  setenv("AWS_ACCESS_KEY_ID", "AKIDLARDERTEST", /*overwrite=*/0);
  setenv("AWS_SECRET_ACCESS_KEY", "larder-test-secret", /*overwrite=*/0);
}

std::unique_ptr<stream::KinesisClient> Client(const KinesaliteServer& server) {
  SetTestCredentials();
  stream::KinesisClientOptions o;
  o.endpoint_url = server.endpoint_url();
  o.region = "us-east-1";
  auto client = stream::KinesisClient::Open(o);
  EXPECT_TRUE(client.ok()) << client.status().ToString();
  return client.ok() ? std::move(*client) : nullptr;
}

// Puts `good` as JSON records (in a shuffled order, each sent twice when
// `duplicates`) followed by `bad`.
void Put(stream::KinesisClient& client, const std::string& stream, std::vector<Good> good,
         const std::vector<std::string>& bad, std::mt19937_64& rng, bool duplicates) {
  std::vector<stream::PutRecordsEntry> entries;
  std::shuffle(good.begin(), good.end(), rng);
  for (const Good& g : good) {
    const std::string json = testing::StreamRecordJson(g);
    entries.push_back({std::to_string(g.user), json});
    if (duplicates && rng() % 4 == 0) entries.push_back({std::to_string(g.user), json});
  }
  for (const std::string& b : bad) entries.push_back({"bad", b});
  auto put = client.PutRecords(stream, entries);
  ASSERT_TRUE(put.ok()) << put.status().ToString();
  ASSERT_EQ(put->failed, 0u);
}

std::vector<Good> GoodEvents(std::mt19937_64& rng, TimestampMicros base, int count, int offset) {
  return testing::StreamEvents(rng, base, count, offset);
}

const std::vector<std::string>& kBad = testing::BadStreamRecords();

TEST(KinesisStream, RecordsLandOnlineAndOfflineAndBadOnesAreDeadLetters) {
  std::string error;
  KinesaliteServer* server = KinesaliteServer::Shared(&error);
  ASSERT_NE(server, nullptr) << error;
  auto client = Client(*server);
  ASSERT_NE(client, nullptr);
  ASSERT_TRUE(client->CreateStream("events_a", 2).ok());
  ASSERT_TRUE(client->WaitForActive("events_a", std::chrono::seconds(10)).ok());
  Repo repo(server->endpoint_url(), "events_a");
  std::mt19937_64 rng(1);
  const TimestampMicros base = (Now() - kDay) / (10 * kMin) * (10 * kMin);
  const std::vector<Good> good = GoodEvents(rng, base, 300, 0);
  Put(*client, "events_a", good, kBad, rng, /*duplicates=*/true);

  StreamOptions options;
  options.until_idle = true;
  options.records_per_call = 64;
  options.max_record_bytes = 64 << 10;
  auto fs = repo.Open();
  auto done = fs->Stream(options);
  ASSERT_TRUE(done.ok()) << done.status().ToString();
  EXPECT_EQ(done->dead_letters, 5);
  EXPECT_GE(done->records, 305);
  fs.reset();

  const std::vector<int64_t> users = {1, 2, 3, 4, 5, 6, 7};
  EXPECT_EQ(repo.Online(users, base + kDay), Expected(good));
  // Offline: each good event once, duplicates and all.
  auto rows = repo.Query("SELECT count(*)::BIGINT FROM \"push__events_stream\"",
                         {{ScalarType::kInt64}});
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0][0].int64_value(), 300);
  auto dead = repo.Query("SELECT reason FROM larder_stream_dead_letters ORDER BY reason",
                         {{ScalarType::kString}});
  ASSERT_EQ(dead.size(), 5u);
  std::string reasons;
  for (const auto& r : dead) reasons += r[0].string_value() + "\n";
  for (const char* says : {"not valid JSON", "missing field `event_time`", "many",
                           "user_id", "over the limit"}) {
    EXPECT_NE(reasons.find(says), std::string::npos) << says << " in\n" << reasons;
  }

  // A Kafka consumer id with only Kinesis sources would do nothing: refused.
  fs = repo.Open();
  StreamOptions with_id = options;
  with_id.consumer_id = "node-1";
  auto refused = fs->Stream(with_id);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("applies to Kafka sources"), std::string::npos)
      << refused.status().ToString();

  // A second run starts at the checkpoints: nothing to read, nothing changes.
  done = fs->Stream(options);
  ASSERT_TRUE(done.ok()) << done.status().ToString();
  EXPECT_EQ(done->records, 0);
  fs.reset();
  EXPECT_EQ(repo.Online(users, base + kDay), Expected(good));

  // The stream deleted and created again: the old checkpoints are not its
  // own, so its shards start over, and its records land.
  ASSERT_TRUE(client->DeleteStream("events_a").ok());
  // Deleting finishes in the background: create once the name is free.
  Status created = client->CreateStream("events_a", 2);
  for (int i = 0; i < 100 && !created.ok(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    created = client->CreateStream("events_a", 2);
  }
  ASSERT_TRUE(created.ok()) << created.ToString();
  ASSERT_TRUE(client->WaitForActive("events_a", std::chrono::seconds(10)).ok());
  const std::vector<Good> more = GoodEvents(rng, base, 20, 1000);
  Put(*client, "events_a", more, {}, rng, /*duplicates=*/false);
  fs = repo.Open();
  done = fs->Stream(options);
  ASSERT_TRUE(done.ok()) << done.status().ToString();
  EXPECT_EQ(done->records, 20);
  fs.reset();
  std::vector<Good> all = good;
  all.insert(all.end(), more.begin(), more.end());
  EXPECT_EQ(repo.Online(users, base + kDay), Expected(all));

  // Teardown forgets the checkpoints (and keeps the dead letters).
  fs = repo.Open();
  ASSERT_TRUE(fs->Teardown().ok());
  fs.reset();
  auto left = repo.Query("SELECT count(*)::BIGINT FROM larder_stream_checkpoints",
                         {{ScalarType::kInt64}});
  ASSERT_EQ(left.size(), 1u);
  EXPECT_EQ(left[0][0].int64_value(), 0);
}

// The same stream into a DynamoDB online store (a real dynalite): window
// aggregates and latest rows equal the events'.
TEST(KinesisStream, AggregationViewsOnDynamoDbGetTheEvents) {
  std::string error;
  KinesaliteServer* server = KinesaliteServer::Shared(&error);
  ASSERT_NE(server, nullptr) << error;
  testing::DynaliteServer::SetFakeCredentials();
  testing::DynaliteServer* dynalite = testing::DynaliteServer::Shared(&error);
  ASSERT_NE(dynalite, nullptr) << error;
  auto client = Client(*server);
  ASSERT_NE(client, nullptr);
  ASSERT_TRUE(client->CreateStream("events_d", 2).ok());
  ASSERT_TRUE(client->WaitForActive("events_d", std::chrono::seconds(10)).ok());
  StreamTestRepo repo(testing::KinesisSourceYaml(server->endpoint_url(), "events_d"),
                      "{type: dynamodb, endpoint_url: '" + dynalite->endpoint_url() +
                          "', table_name_template: 'kd_{project}.{table_name}'}");
  std::mt19937_64 rng(6);
  const TimestampMicros base = (Now() - kDay) / (10 * kMin) * (10 * kMin);
  const std::vector<Good> good = GoodEvents(rng, base, 200, 0);
  Put(*client, "events_d", good, {}, rng, /*duplicates=*/true);
  StreamOptions options;
  options.until_idle = true;
  options.poll_interval = std::chrono::milliseconds(50);
  auto fs = repo.Open();
  auto done = fs->Stream(options);
  ASSERT_TRUE(done.ok()) << done.status().ToString();
  fs.reset();
  EXPECT_EQ(repo.Online({1, 2, 3, 4, 5, 6, 7}, base + kDay), Expected(good));
  fs = repo.Open();
  EXPECT_TRUE(fs->Teardown().ok());
}

TEST(KinesisStream, KilledConsumersRestartWithNothingLostOrCountedTwiceAcrossASplitAndAMerge) {
  std::string error;
  KinesaliteServer* server = KinesaliteServer::Shared(&error);
  ASSERT_NE(server, nullptr) << error;
  auto client = Client(*server);
  ASSERT_NE(client, nullptr);
  ASSERT_TRUE(client->CreateStream("events_k", 2).ok());
  ASSERT_TRUE(client->WaitForActive("events_k", std::chrono::seconds(10)).ok());
  Repo repo(server->endpoint_url(), "events_k");
  std::mt19937_64 rng(2);
  const TimestampMicros base = (Now() - kDay) / (10 * kMin) * (10 * kMin);
  const std::vector<Good> first = GoodEvents(rng, base, 400, 0);
  const std::vector<Good> second = GoodEvents(rng, base, 400, 400);
  const std::vector<Good> third = GoodEvents(rng, base, 400, 800);
  Put(*client, "events_k", first, {kBad[0], kBad[2]}, rng, /*duplicates=*/true);

  // Small batches make a replay take many checkpoints; a 1 s poll makes even
  // a run with nothing left outlast every kill delay below, so each round
  // is killed whatever the machine's speed.
  const std::string command = std::string(LARDER_BINARY) + " -c " + repo.dir.path() +
                              " stream --until-idle --records-per-call 10 --poll-ms 1000"
                              " >/dev/null 2>&1";
  std::uniform_int_distribution<int> delay_ms(30, 400);
  int kills = 0, mid_replay = 0;
  for (int round = 0; round < 30; ++round) {
    if (round == 10) {
      // Split the first shard in the middle of its hash range, then put the rest.
      auto shards = client->ListShards("events_k");
      ASSERT_TRUE(shards.ok()) << shards.status().ToString();
      ASSERT_TRUE(client->SplitShard("events_k", (*shards)[0].shard_id,
                                     "85070591730234615865843651857942052864")
                      .ok());
      ASSERT_TRUE(client->WaitForActive("events_k", std::chrono::seconds(10)).ok());
      Put(*client, "events_k", second, {kBad[1]}, rng, /*duplicates=*/true);
    }
    if (round == 20) {
      // Merge the split's two children (open and adjacent), then put the rest.
      auto shards = client->ListShards("events_k");
      ASSERT_TRUE(shards.ok()) << shards.status().ToString();
      std::vector<std::string> children;
      for (const stream::KinesisShard& s : *shards) {
        if (!s.parent_shard_id.empty() && s.ending_sequence_number.empty()) {
          children.push_back(s.shard_id);
        }
      }
      ASSERT_EQ(children.size(), 2u);
      ASSERT_TRUE(client->MergeShards("events_k", children[0], children[1]).ok());
      ASSERT_TRUE(client->WaitForActive("events_k", std::chrono::seconds(10)).ok());
      Put(*client, "events_k", third, {}, rng, /*duplicates=*/true);
    }
    const std::string timed = "timeout -s KILL " + std::to_string(delay_ms(rng) / 1000.0) + " " +
                              command;
    const int rc = std::system(timed.c_str());
    ASSERT_TRUE(WIFEXITED(rc)) << timed;
    if (WEXITSTATUS(rc) == 0) continue;  // caught up before the kill
    ASSERT_EQ(WEXITSTATUS(rc), 137) << "not a kill: " << timed;  // timeout's SIGKILL
    ++kills;
    // Killed with part of the stream applied: rows landed, not all of them.
    auto landed = repo.Query(
        "SELECT count(*)::BIGINT FROM duckdb_tables() WHERE table_name = 'push__events_stream'",
        {{ScalarType::kInt64}});
    if (!landed.empty() && landed[0][0].int64_value() == 1) {
      auto rows = repo.Query("SELECT count(*)::BIGINT FROM \"push__events_stream\"",
                             {{ScalarType::kInt64}});
      const int64_t n = rows.empty() ? 0 : rows[0][0].int64_value();
      if (n > 0 && n < (round < 10 ? 400 : round < 20 ? 800 : 1200)) ++mid_replay;
    }
  }
  EXPECT_GE(kills, 20) << "the consumer was killed too rarely to test restarts";
  EXPECT_GE(mid_replay, 5) << "too few kills fell in the middle of the replay";
  ASSERT_EQ(std::system(command.c_str()), 0) << command;

  std::vector<Good> all = first;
  all.insert(all.end(), second.begin(), second.end());
  all.insert(all.end(), third.begin(), third.end());
  const std::vector<int64_t> users = {1, 2, 3, 4, 5, 6, 7};
  EXPECT_EQ(repo.Online(users, base + kDay), Expected(all));
  auto rows = repo.Query("SELECT count(*)::BIGINT FROM \"push__events_stream\"",
                         {{ScalarType::kInt64}});
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0][0].int64_value(), 1200);
  auto dead = repo.Query("SELECT count(*)::BIGINT FROM larder_stream_dead_letters",
                         {{ScalarType::kInt64}});
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_EQ(dead[0][0].int64_value(), 3);
  auto drained = repo.Query(
      "SELECT count(*)::BIGINT FROM larder_stream_checkpoints WHERE closed",
      {{ScalarType::kInt64}});
  ASSERT_EQ(drained.size(), 1u);
  EXPECT_EQ(drained[0][0].int64_value(), 3);  // the split's parent, the merge's two
}

// Consumers keep their checkpoints to themselves: a child shard whose
// parent another consumer reads starts at once (every write is
// order-independent). shardId-000000000000 hashes to consumer 1 and its
// split's child shardId-000000000003 to consumer 0 (FNV-1a modulo 2), so
// consumer 0, run first, must read the child without the parent's
// checkpoint.
TEST(KinesisStream, ConsumersSharingAStreamNeedNotSeeEachOthersParents) {
  std::string error;
  KinesaliteServer* server = KinesaliteServer::Shared(&error);
  ASSERT_NE(server, nullptr) << error;
  auto client = Client(*server);
  ASSERT_NE(client, nullptr);
  ASSERT_TRUE(client->CreateStream("events_c", 2).ok());
  ASSERT_TRUE(client->WaitForActive("events_c", std::chrono::seconds(10)).ok());
  Repo repo(server->endpoint_url(), "events_c");
  std::mt19937_64 rng(4);
  const TimestampMicros base = (Now() - kDay) / (10 * kMin) * (10 * kMin);
  const std::vector<Good> first = GoodEvents(rng, base, 100, 0);
  const std::vector<Good> second = GoodEvents(rng, base, 200, 100);
  // Partition keys spread over the hash range, so that every shard gets records.
  auto put = [&](const std::vector<Good>& good) {
    std::vector<stream::PutRecordsEntry> entries;
    for (size_t i = 0; i < good.size(); ++i) {
      const Good& g = good[i];
      entries.push_back({"key-" + std::to_string(i) + "-" + std::to_string(g.time),
                         testing::StreamRecordJson(g)});
    }
    auto done = client->PutRecords("events_c", entries);
    ASSERT_TRUE(done.ok()) << done.status().ToString();
    ASSERT_EQ(done->failed, 0u);
  };
  put(first);
  ASSERT_TRUE(client->SplitShard("events_c", "shardId-000000000000",
                                 "85070591730234615865843651857942052864")
                  .ok());
  ASSERT_TRUE(client->WaitForActive("events_c", std::chrono::seconds(10)).ok());
  put(second);
  auto shards = client->ListShards("events_c");
  ASSERT_TRUE(shards.ok());
  ASSERT_EQ(shards->size(), 4u);
  EXPECT_EQ((*shards)[3].shard_id, "shardId-000000000003");
  EXPECT_EQ((*shards)[3].parent_shard_id, "shardId-000000000000");

  for (const char* index : {"0", "1"}) {
    const std::string command = std::string(LARDER_BINARY) + " -c " + repo.dir.path() +
                                " stream --until-idle --poll-ms 50 --shard-count 2 --shard-index " +
                                index + " >/dev/null 2>&1";
    ASSERT_EQ(std::system(command.c_str()), 0) << command;
  }
  std::vector<Good> all = first;
  all.insert(all.end(), second.begin(), second.end());
  EXPECT_EQ(repo.Online({1, 2, 3, 4, 5, 6, 7}, base + kDay), Expected(all));
  auto rows = repo.Query("SELECT count(*)::BIGINT FROM \"push__events_stream\"",
                         {{ScalarType::kInt64}});
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0][0].int64_value(), 300);
  auto child = repo.Query(
      "SELECT count(*)::BIGINT FROM larder_stream_checkpoints WHERE shard = "
      "'shardId-000000000003' AND sequence_number <> ''",
      {{ScalarType::kInt64}});
  ASSERT_EQ(child.size(), 1u);
  EXPECT_EQ(child[0][0].int64_value(), 1) << "the child shard got no records to test with";
}

// The sum over every series of metric `name` (of any labels) in a
// Prometheus text exposition; -1 when no series has that name.
double MetricSum(const std::string& text, const std::string& name) {
  double sum = -1;
  size_t at = 0;
  while (at < text.size()) {
    size_t end = text.find('\n', at);
    if (end == std::string::npos) end = text.size();
    const std::string line = text.substr(at, end - at);
    at = end + 1;
    if (line.rfind(name, 0) != 0 || (line.size() > name.size() && line[name.size()] != '{' &&
                                      line[name.size()] != ' ')) {
      continue;
    }
    sum = std::max(sum, 0.0) + std::stod(line.substr(line.rfind(' ') + 1));
  }
  return sum;
}

// Polls GET /metrics on `port` until metric `name` sums to `want` (20 s at
// most); returns the last exposition.
std::string AwaitMetric(int port, const std::string& name, double want) {
  std::string text;
  for (int i = 0; i < 400; ++i) {
    text = testing::RawRequest(port, "GET", "/metrics").body;
    if (MetricSum(text, name) == want) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return text;
}

TEST(KinesisStream, MetricsPortAndServeStreamReportTheConsumer) {
  std::string error;
  KinesaliteServer* server = KinesaliteServer::Shared(&error);
  ASSERT_NE(server, nullptr) << error;
  auto client = Client(*server);
  ASSERT_NE(client, nullptr);
  ASSERT_TRUE(client->CreateStream("events_m", 2).ok());
  ASSERT_TRUE(client->WaitForActive("events_m", std::chrono::seconds(10)).ok());
  Repo repo(server->endpoint_url(), "events_m");
  std::mt19937_64 rng(3);
  const TimestampMicros base = (Now() - kDay) / (10 * kMin) * (10 * kMin);
  const std::vector<Good> first = GoodEvents(rng, base, 60, 0);
  const std::vector<Good> second = GoodEvents(rng, base, 60, 60);
  Put(*client, "events_m", first, {kBad[0]}, rng, /*duplicates=*/false);

  // `larder stream --metrics-port`: the consumer's metrics while it runs.
  const int metrics_port = testing::RedisServer::FreePort();
  auto pid = testing::SpawnProcess({LARDER_BINARY, "-c", repo.dir.path(), "stream", "--poll-ms",
                                    "100", "--metrics-port", std::to_string(metrics_port)},
                                   repo.dir.Join("stream.log"));
  ASSERT_TRUE(pid.ok()) << pid.status().ToString();
  std::string text = AwaitMetric(metrics_port, "larder_stream_records_total", 61);
  EXPECT_EQ(MetricSum(text, "larder_stream_records_total"), 61) << text;
  EXPECT_EQ(MetricSum(text, "larder_stream_dead_letters_total"), 1) << text;
  EXPECT_EQ(MetricSum(text, "larder_stream_running"), 1) << text;
  EXPECT_NE(text.find("larder_stream_view_rows_total{view=\"agg\",outcome=\"written\"} 60"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("larder_stream_records_total{source=\"events_stream\",shard=\"shardId-"),
            std::string::npos)
      << text;
  EXPECT_GT(MetricSum(text, "larder_stream_last_checkpoint_timestamp_seconds"), 0) << text;
  ::kill(*pid, SIGTERM);
  int status = 0;
  ASSERT_EQ(::waitpid(*pid, &status, 0), *pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
      << testing::ReadFileText(repo.dir.Join("stream.log"));

  // `larder serve --stream`: the server consumes the stream, its reads see
  // each record once applied, and /metrics carries the consumer's series.
  const int port = testing::RedisServer::FreePort();
  pid = testing::SpawnProcess({LARDER_BINARY, "serve", "-c", repo.dir.path(), "--port",
                               std::to_string(port), "--workers", "2", "--stream"},
                              repo.dir.Join("serve.log"));
  ASSERT_TRUE(pid.ok()) << pid.status().ToString();
  ASSERT_EQ(testing::WaitUntilAnswering(*pid, [port] { return testing::Healthy(port); },
                                        std::chrono::seconds(20)),
            testing::WaitOutcome::kAnswering)
      << testing::ReadFileText(repo.dir.Join("serve.log"));
  Put(*client, "events_m", second, {kBad[3]}, rng, /*duplicates=*/false);
  // The restarted consumer reads only what came after its checkpoints.
  text = AwaitMetric(port, "larder_stream_records_total", 61);
  EXPECT_EQ(MetricSum(text, "larder_stream_records_total"), 61) << text;
  EXPECT_EQ(MetricSum(text, "larder_stream_dead_letters_total"), 1) << text;
  EXPECT_NE(text.find("larder_requests_total"), std::string::npos);

  std::vector<Good> all = first;
  all.insert(all.end(), second.begin(), second.end());
  const auto expected = Expected(all);
  nlohmann::json request = {{"features", {"agg:n", "agg:total", "latest:x"}},
                            {"entities", {{"user_id", nlohmann::json::array()}}}};
  for (const auto& [user, values] : expected) request["entities"]["user_id"].push_back(user);
  const auto got = testing::RawRequest(port, "POST", "/get-online-features",
                                       "Content-Type: application/json\r\n", request.dump());
  ASSERT_EQ(got.status, 200) << got.body;
  const auto body = nlohmann::json::parse(got.body);
  size_t row = 0;
  for (const auto& [user, values] : expected) {
    for (size_t f = 0; f < 3; ++f) {
      EXPECT_EQ(Value::Int64(body["results"][f + 1]["values"][row].get<int64_t>()).DebugString(),
                values[f])
          << "user " << user << " feature " << f;
    }
    ++row;
  }
  testing::StopProcess(*pid);
  EXPECT_NE(testing::ReadFileText(repo.dir.Join("serve.log")).find("stream consumer stopped"),
            std::string::npos);
}

}  // namespace
}  // namespace larder
