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
#include "offline/duckdb/duckdb_connection.h"
#include "stream/kinesis/kinesis_client.h"
#include "support/kinesalite_server.h"
#include "support/redis_server.h"
#include "support/serve_fixture.h"
#include "support/server_process.h"
#include "support/test_util.h"

namespace larder {
namespace {

using ::larder::testing::KinesaliteServer;
using ::larder::testing::TempDir;

constexpr int64_t kMin = 60'000'000;
constexpr int64_t kHour = 60 * kMin;
constexpr int64_t kDay = 24 * kHour;

TimestampMicros Now() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string Iso(TimestampMicros t) {
  const time_t secs = static_cast<time_t>(t / 1'000'000);
  struct tm tm {};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%06lldZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<long long>(t % 1'000'000));
  return buf;
}

struct Good {
  int64_t user;
  TimestampMicros time;
  int64_t x;
};

// A repo whose views read the kinesis source `events_stream` of `stream`.
struct Repo {
  TempDir dir;
  Repo(const std::string& endpoint, const std::string& stream) {
    dir.Write("feature_store.yaml",
              "project: st\nregistry: data/registry.db\nprovider: local\n"
              "online_store: {type: rocksdb, path: data/online}\n"
              "offline_store: {type: duckdb, path: data/offline.duckdb}\n");
    dir.Write("repo.yaml",
              "entities:\n  - {name: user, join_keys: [user_id], value_type: Int64}\n"
              "data_sources:\n"
              "  - {name: events, type: file, path: data/events.parquet, timestamp_field: ts}\n"
              "  - name: events_stream\n    type: kinesis\n    stream_name: " + stream +
              "\n    region: us-east-1\n    endpoint_url: " + endpoint +
              "\n    timestamp_field: event_time\n    field_mapping: {uid: user_id}\n"
              "    batch_source: events\n"
              "feature_views:\n"
              "  - name: agg\n    entities: [user]\n    source: events_stream\n"
              "    aggregation_interval: 10m\n    aggregations:\n"
              "      - {column: x, function: count, time_window: 1d, name: n}\n"
              "      - {column: x, function: sum, time_window: 1d, name: total}\n"
              "  - name: latest\n    entities: [user]\n    source: events_stream\n"
              "    schema: [{name: x, dtype: Int64}]\n");
    dir.Write("data/.keep", "");
    auto conn = duckdb::Connection::Open(":memory:");
    EXPECT_TRUE(conn.ok());
    EXPECT_TRUE((*conn)->Execute("COPY (SELECT 1::BIGINT AS user_id, TIMESTAMP '2000-01-01' AS ts, "
                                 "1::BIGINT AS x WHERE false) TO " +
                                     duckdb::QuoteLiteral(dir.Join("data/events.parquet")) +
                                     " (FORMAT parquet)",
                                 "test")
                    .ok());
    auto fs = Open();
    auto applied = fs->Apply();
    EXPECT_TRUE(applied.ok()) << applied.status().ToString();
  }
  std::unique_ptr<FeatureStore> Open() {
    FeatureStoreOptions o;
    o.repo_dir = dir.path();
    auto fs = FeatureStore::Open(o);
    EXPECT_TRUE(fs.ok()) << fs.status().ToString();
    return fs.ok() ? std::move(*fs) : nullptr;
  }
  // (n, total, latest x) per user, read online at `t`.
  std::map<int64_t, std::vector<std::string>> Online(const std::vector<int64_t>& users,
                                                     TimestampMicros t) {
    auto fs = Open();
    OnlineFeaturesRequest req;
    req.features = {"agg:n", "agg:total", "latest:x"};
    for (int64_t u : users) req.entity_rows["user_id"].push_back(Value::Int64(u));
    OnlineReadOptions options;
    options.clock = [t] { return t; };
    auto got = fs->GetOnlineFeatures(req, options);
    EXPECT_TRUE(got.ok()) << got.status().ToString();
    std::map<int64_t, std::vector<std::string>> out;
    if (!got.ok()) return out;
    for (size_t i = 0; i < users.size(); ++i) {
      for (const OnlineFeatureColumn& c : got->columns) {
        if (c.name != "user_id") out[users[i]].push_back(c.values[i].DebugString());
      }
    }
    return out;
  }
  std::vector<std::vector<Value>> Query(const std::string& sql,
                                        std::vector<ValueType> types) {
    // A consumer just killed may hold the file's lock for a moment longer.
    auto conn = duckdb::Connection::Open(dir.Join("data/offline.duckdb"));
    for (int i = 0; i < 100 && !conn.ok() && conn.status().code() == StatusCode::kBusy; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      conn = duckdb::Connection::Open(dir.Join("data/offline.duckdb"));
    }
    EXPECT_TRUE(conn.ok()) << conn.status().ToString();
    if (!conn.ok()) return {};
    auto rows = (*conn)->QueryValues(sql, "test", types);
    EXPECT_TRUE(rows.ok()) << rows.status().ToString();
    return rows.ok() ? *rows : std::vector<std::vector<Value>>{};
  }
};

// The expected (n, total, latest x) per user, as the online reads print them.
std::map<int64_t, std::vector<std::string>> Expected(const std::vector<Good>& good) {
  std::map<int64_t, int64_t> n, total;
  std::map<int64_t, Good> latest;
  for (const Good& g : good) {
    ++n[g.user];
    total[g.user] += g.x;
    if (!latest.contains(g.user) || latest[g.user].time < g.time) latest[g.user] = g;
  }
  std::map<int64_t, std::vector<std::string>> out;
  for (const auto& [user, count] : n) {
    out[user] = {Value::Int64(count).DebugString(), Value::Int64(total[user]).DebugString(),
                 Value::Int64(latest[user].x).DebugString()};
  }
  return out;
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
    const std::string json = "{\"uid\": " + std::to_string(g.user) + ", \"event_time\": \"" +
                             Iso(g.time) + "\", \"x\": " + std::to_string(g.x) + "}";
    entries.push_back({std::to_string(g.user), json});
    if (duplicates && rng() % 4 == 0) entries.push_back({std::to_string(g.user), json});
  }
  for (const std::string& b : bad) entries.push_back({"bad", b});
  auto put = client.PutRecords(stream, entries);
  ASSERT_TRUE(put.ok()) << put.status().ToString();
  ASSERT_EQ(put->failed, 0u);
}

std::vector<Good> GoodEvents(std::mt19937_64& rng, TimestampMicros base, int count, int offset) {
  std::vector<Good> out;
  for (int i = 0; i < count; ++i) {
    out.push_back({1 + static_cast<int64_t>(rng() % 7),
                   base + kHour + (offset + i) * 37 * 1'000'000LL + static_cast<int64_t>(rng() % 1000),
                   static_cast<int64_t>(rng() % 100) - 20});
  }
  return out;
}

const std::vector<std::string> kBad = {
    "{\"uid\": 1, \"event_time\": ",                                     // malformed JSON
    "{\"uid\": 2, \"x\": 5}",                                            // no event time
    "{\"uid\": 3, \"event_time\": \"2024-01-01T00:00:00Z\", \"x\": \"many\"}",  // wrong type
    "{\"event_time\": \"2024-01-01T00:00:00Z\", \"x\": 1}",             // no join key
    "{\"uid\": 4, \"event_time\": \"2024-01-01T00:00:00Z\", \"x\": 1, \"pad\": \"" +
        std::string(70'000, 'p') + "\"}",  // oversized: over max_record_bytes below
};

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

  // A second run starts at the checkpoints: nothing to read, nothing changes.
  fs = repo.Open();
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
                         "{\"uid\": " + std::to_string(g.user) + ", \"event_time\": \"" +
                             Iso(g.time) + "\", \"x\": " + std::to_string(g.x) + "}"});
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
