// `larder stream` against a real Kafka broker (KRaft, from Maven Central's
// jars): records become online window aggregates, latest rows and offline
// history; bad records become dead letters; partitions spread over the
// consumers of a group; a consumer killed at random points and restarted
// ends with the state of one clean run.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "larder/feature_store.h"
#include "stream/kafka/kafka_client.h"
#include "support/kafka_server.h"
#include "support/redis_server.h"
#include "support/server_process.h"
#include "support/stream_test_repo.h"

namespace larder {
namespace {

using ::larder::testing::KafkaServer;
using ::larder::testing::StreamEvent;
using ::larder::testing::StreamTestRepo;

constexpr auto kTimeout = std::chrono::seconds(20);

struct Repo : StreamTestRepo {
  Repo(const KafkaServer& server, const std::string& topic)
      : StreamTestRepo(testing::KafkaSourceYaml(server.bootstrap_servers(), topic)) {}
};

std::unique_ptr<stream::KafkaProducer> Producer(const KafkaServer& server) {
  auto producer = stream::KafkaProducer::Open({.bootstrap_servers = server.bootstrap_servers()});
  EXPECT_TRUE(producer.ok()) << producer.status().ToString();
  return producer.ok() ? std::move(*producer) : nullptr;
}

// Sends `events` (shuffled, each sent twice when `duplicates` and the dice
// say so) and then `bad`, spread over the partitions by user, and waits
// until the broker has them all.
void Send(stream::KafkaProducer& producer, const std::string& topic,
          std::vector<StreamEvent> events, const std::vector<std::string>& bad,
          std::mt19937_64& rng, bool duplicates) {
  std::shuffle(events.begin(), events.end(), rng);
  for (const StreamEvent& e : events) {
    const std::string json = testing::StreamRecordJson(e);
    ASSERT_TRUE(producer.Produce(topic, -1, std::to_string(e.user), json).ok());
    if (duplicates && rng() % 4 == 0) {
      ASSERT_TRUE(producer.Produce(topic, -1, std::to_string(e.user), json).ok());
    }
  }
  for (const std::string& b : bad) ASSERT_TRUE(producer.Produce(topic, -1, "bad", b).ok());
  Status flushed = producer.Flush(kTimeout);
  ASSERT_TRUE(flushed.ok()) << flushed.ToString();
}

TimestampMicros Base() {
  const int64_t tile = 10 * testing::kStreamMinute;
  return (testing::NowMicros() - testing::kStreamDay) / tile * tile;
}

const std::vector<int64_t> kUsers = {1, 2, 3, 4, 5, 6, 7};

TEST(KafkaStream, RecordsLandOnlineAndOfflineAndBadOnesAreDeadLetters) {
  std::string error;
  KafkaServer* server = KafkaServer::Shared(&error);
  ASSERT_NE(server, nullptr) << error;
  auto producer = Producer(*server);
  ASSERT_NE(producer, nullptr);
  ASSERT_TRUE(producer->CreateTopic("events_a", 3, kTimeout).ok());
  Repo repo(*server, "events_a");
  std::mt19937_64 rng(1);
  const TimestampMicros base = Base();
  const std::vector<StreamEvent> good = testing::StreamEvents(rng, base, 300, 0);
  Send(*producer, "events_a", good, testing::BadStreamRecords(), rng, /*duplicates=*/true);

  StreamOptions options;
  options.until_idle = true;
  options.records_per_call = 64;
  options.poll_interval = std::chrono::milliseconds(100);
  options.max_record_bytes = 64 << 10;
  auto fs = repo.Open();
  auto done = fs->Stream(options);
  ASSERT_TRUE(done.ok()) << done.status().ToString();
  EXPECT_EQ(done->dead_letters, 5);
  EXPECT_GE(done->records, 305);
  EXPECT_EQ(done->shards.size(), 3u) << "every partition has records";
  fs.reset();
  EXPECT_EQ(repo.Online(kUsers, base + testing::kStreamDay), testing::ExpectedOnline(good));
  EXPECT_EQ(repo.OfflineRows(), 300);  // each good event once, duplicates and all
  auto dead = repo.Query("SELECT reason FROM larder_stream_dead_letters ORDER BY reason",
                         {{ScalarType::kString}});
  ASSERT_EQ(dead.size(), 5u);
  std::string reasons;
  for (const auto& r : dead) reasons += r[0].string_value() + "\n";
  for (const char* says : {"not valid JSON", "missing field `event_time`", "many", "user_id",
                           "over the limit"}) {
    EXPECT_NE(reasons.find(says), std::string::npos) << says << " in\n" << reasons;
  }
  auto partitions = repo.Query(
      "SELECT count(*)::BIGINT FROM larder_stream_checkpoints WHERE source = 'events_stream'",
      {{ScalarType::kInt64}});
  ASSERT_EQ(partitions.size(), 1u);
  EXPECT_EQ(partitions[0][0].int64_value(), 3);

  // A second run starts after the checkpoints: nothing to read.
  fs = repo.Open();
  done = fs->Stream(options);
  ASSERT_TRUE(done.ok()) << done.status().ToString();
  EXPECT_EQ(done->records, 0);
  // New records: only they are read.
  const std::vector<StreamEvent> more = testing::StreamEvents(rng, base, 40, 300);
  Send(*producer, "events_a", more, {}, rng, /*duplicates=*/false);
  done = fs->Stream(options);
  ASSERT_TRUE(done.ok()) << done.status().ToString();
  EXPECT_EQ(done->records, 40);
  fs.reset();
  std::vector<StreamEvent> all = good;
  all.insert(all.end(), more.begin(), more.end());
  EXPECT_EQ(repo.Online(kUsers, base + testing::kStreamDay), testing::ExpectedOnline(all));
  EXPECT_EQ(repo.OfflineRows(), 340);
}

TEST(KafkaStream, BadBrokersTopicsAndFlagsAreClearErrors) {
  std::string error;
  KafkaServer* server = KafkaServer::Shared(&error);
  ASSERT_NE(server, nullptr) << error;
  StreamOptions options;
  options.until_idle = true;
  {
    Repo repo(*server, "no_such_topic");
    auto fs = repo.Open();
    auto done = fs->Stream(options);
    ASSERT_FALSE(done.ok());
    EXPECT_EQ(done.status().code(), StatusCode::kNotFound) << done.status().ToString();
    EXPECT_NE(done.status().message().find("kafka source 'events_stream'"), std::string::npos)
        << done.status().ToString();
    EXPECT_NE(done.status().message().find("topic 'no_such_topic' does not exist"),
              std::string::npos)
        << done.status().ToString();
    StreamOptions sharded = options;
    sharded.shard_count = 2;
    done = fs->Stream(sharded);
    ASSERT_FALSE(done.ok());
    EXPECT_NE(done.status().message().find("spread by its consumer group"), std::string::npos)
        << done.status().ToString();
  }
  {
    // Nothing listens there.
    StreamTestRepo repo(testing::KafkaSourceYaml(
        "127.0.0.1:" + std::to_string(testing::RedisServer::FreePort()), "t"));
    auto fs = repo.Open();
    const auto start = std::chrono::steady_clock::now();
    auto done = fs->Stream(options);
    ASSERT_FALSE(done.ok());
    EXPECT_EQ(done.status().code(), StatusCode::kIOError) << done.status().ToString();
    EXPECT_NE(done.status().message().find("no Kafka broker at 127.0.0.1:"), std::string::npos)
        << done.status().ToString();
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(30));
  }
}

// Two `larder stream` processes in one group share the partitions, as two
// nodes would (docs/stream.md, "On a cluster"): each has its own copy of the
// repo and offline store, both write one Redis, the source goes `to:
// online`. Each reads some partitions, together they read all, and the
// online values are one clean run's.
TEST(KafkaStream, PartitionsSpreadOverTheConsumersOfAGroup) {
  std::string error;
  KafkaServer* server = KafkaServer::Shared(&error);
  ASSERT_NE(server, nullptr) << error;
  auto redis = testing::RedisServer::Start();
  ASSERT_TRUE(redis.ok()) << redis.status().ToString();
  auto producer = Producer(*server);
  ASSERT_NE(producer, nullptr);
  ASSERT_TRUE(producer->CreateTopic("events_g", 4, kTimeout).ok());
  const std::string source = testing::KafkaSourceYaml(server->bootstrap_servers(), "events_g",
                                                      "online");
  const std::string online =
      "{type: redis, connection_string: '127.0.0.1:" + std::to_string((*redis)->port()) + "'}";
  StreamTestRepo node_a(source, online), node_b(source, online);
  std::mt19937_64 rng(5);
  const TimestampMicros base = Base();
  const std::vector<StreamEvent> first = testing::StreamEvents(rng, base, 200, 0);
  const std::vector<StreamEvent> second = testing::StreamEvents(rng, base, 200, 200);
  Send(*producer, "events_g", first, {}, rng, /*duplicates=*/false);

  std::vector<pid_t> consumers;
  for (StreamTestRepo* node : {&node_a, &node_b}) {
    auto pid = testing::SpawnProcess({LARDER_BINARY, "-c", node->dir.path(), "stream", "--poll-ms",
                                      "100"},
                                     node->dir.Join("stream.log"));
    ASSERT_TRUE(pid.ok()) << pid.status().ToString();
    consumers.push_back(*pid);
  }
  // Once both have joined, records sent now go to both.
  std::this_thread::sleep_for(std::chrono::seconds(4));
  Send(*producer, "events_g", second, {}, rng, /*duplicates=*/false);
  std::vector<StreamEvent> all = first;
  all.insert(all.end(), second.begin(), second.end());
  const auto expected = testing::ExpectedOnline(all);
  for (int i = 0; i < 200 && node_a.Online(kUsers, base + testing::kStreamDay) != expected; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  std::set<int> partitions_seen;
  int readers = 0;
  for (size_t c = 0; c < consumers.size(); ++c) {
    ::kill(consumers[c], SIGTERM);
    int status = 0;
    ASSERT_EQ(::waitpid(consumers[c], &status, 0), consumers[c]);
    const std::string log = testing::ReadFileText((c == 0 ? node_a : node_b).dir.Join("stream.log"));
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << log;
    // "  events_stream 2: 57 records, ..." for each partition it read.
    bool read_some = false;
    for (int p = 0; p < 4; ++p) {
      const std::string line = "events_stream " + std::to_string(p) + ": ";
      const size_t at = log.find(line);
      if (at != std::string::npos && log.compare(at + line.size(), 2, "0 ") != 0) {
        partitions_seen.insert(p);
        read_some = true;
      }
    }
    readers += read_some ? 1 : 0;
  }
  EXPECT_EQ(readers, 2) << "both consumers of the group read records";
  EXPECT_EQ(partitions_seen.size(), 4u);
  EXPECT_EQ(node_a.Online(kUsers, base + testing::kStreamDay), expected);
  EXPECT_EQ(node_b.Online(kUsers, base + testing::kStreamDay), expected);
}

TEST(KafkaStream, KilledConsumersRestartWithNothingLostOrCountedTwice) {
  std::string error;
  KafkaServer* server = KafkaServer::Shared(&error);
  ASSERT_NE(server, nullptr) << error;
  auto producer = Producer(*server);
  ASSERT_NE(producer, nullptr);
  ASSERT_TRUE(producer->CreateTopic("events_k", 3, kTimeout).ok());
  Repo repo(*server, "events_k");
  std::mt19937_64 rng(2);
  const TimestampMicros base = Base();
  // 2,000 events 37 s apart: all within the day that the windows read.
  const std::vector<StreamEvent> first = testing::StreamEvents(rng, base, 1000, 0);
  const std::vector<StreamEvent> second = testing::StreamEvents(rng, base, 1000, 1000);
  Send(*producer, "events_k", first, {testing::BadStreamRecords()[0]}, rng, /*duplicates=*/true);

  // Small passes make a replay take many checkpoints (seconds); a static
  // member id gives each restart its partitions back soon. A run ends only
  // after two empty polls of 1.6 s each, so every run outlasts its kill
  // delay whatever the machine's speed; kills land while joining, during
  // the replay and after it.
  const std::string command = std::string(LARDER_BINARY) + " -c " + repo.dir.path() +
                              " stream --until-idle --records-per-call 2 --poll-ms 1600"
                              " --consumer-id k >/dev/null 2>&1";
  std::uniform_int_distribution<int> delay_ms(300, 1500);
  int kills = 0, mid_replay = 0;
  for (int round = 0; round < 30; ++round) {
    if (round == 15) Send(*producer, "events_k", second, {}, rng, /*duplicates=*/true);
    const std::string timed =
        "timeout -s KILL " + std::to_string(delay_ms(rng) / 1000.0) + " " + command;
    const int rc = std::system(timed.c_str());
    ASSERT_TRUE(WIFEXITED(rc)) << timed;
    if (WEXITSTATUS(rc) == 0) continue;  // caught up before the kill
    ASSERT_EQ(WEXITSTATUS(rc), 137) << "not a kill: " << timed;
    ++kills;
    const int64_t n = repo.OfflineRows();
    if (n > 0 && n < (round < 15 ? 1000 : 2000)) ++mid_replay;
  }
  EXPECT_GE(kills, 20) << "the consumer was killed too rarely to test restarts";
  EXPECT_GE(mid_replay, 5) << "too few kills fell in the middle of the replay";
  ASSERT_EQ(std::system(command.c_str()), 0) << command;

  std::vector<StreamEvent> all = first;
  all.insert(all.end(), second.begin(), second.end());
  EXPECT_EQ(repo.Online(kUsers, base + testing::kStreamDay), testing::ExpectedOnline(all));
  EXPECT_EQ(repo.OfflineRows(), 2000);
  auto dead = repo.Query("SELECT count(*)::BIGINT FROM larder_stream_dead_letters",
                         {{ScalarType::kInt64}});
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_EQ(dead[0][0].int64_value(), 1);
}

}  // namespace
}  // namespace larder
