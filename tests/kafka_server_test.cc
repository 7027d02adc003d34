// The Kafka test broker (tests/support/kafka_server.h): topics it creates
// take records it produces, and a plain librdkafka consumer group reads
// them back; two brokers run side by side.
#include "support/kafka_server.h"

#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>

#include <chrono>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace larder::testing {
namespace {

struct Consumed {
  int partition = -1;
  std::string key;
  std::string value;
};

// Reads `topic` from its earliest offsets in a consumer group of its own
// until `count` records arrived or 30 s passed; what it read so far, with
// a test failure on errors.
std::vector<Consumed> ConsumeFromEarliest(const KafkaServer& server, const std::string& topic,
                                          size_t count) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char errstr[512];
  for (const auto& [name, value] : std::map<std::string, std::string>{
           {"bootstrap.servers", server.bootstrap_servers()},
           {"group.id", "kafka-server-test-" + topic},
           {"auto.offset.reset", "earliest"}}) {
    EXPECT_EQ(rd_kafka_conf_set(conf, name.c_str(), value.c_str(), errstr, sizeof(errstr)),
              RD_KAFKA_CONF_OK)
        << name << ": " << errstr;
  }
  rd_kafka_t* consumer = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
  if (consumer == nullptr) {
    rd_kafka_conf_destroy(conf);
    ADD_FAILURE() << "cannot create a consumer: " << errstr;
    return {};
  }
  rd_kafka_poll_set_consumer(consumer);
  rd_kafka_topic_partition_list_t* topics = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(topics, topic.c_str(), RD_KAFKA_PARTITION_UA);
  EXPECT_EQ(rd_kafka_subscribe(consumer, topics), RD_KAFKA_RESP_ERR_NO_ERROR);
  rd_kafka_topic_partition_list_destroy(topics);

  std::vector<Consumed> consumed;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (consumed.size() < count && std::chrono::steady_clock::now() < deadline) {
    rd_kafka_message_t* message = rd_kafka_consumer_poll(consumer, 100);
    if (message == nullptr) continue;
    if (message->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      consumed.push_back(
          {message->partition,
           std::string(static_cast<const char*>(message->key), message->key_len),
           std::string(static_cast<const char*>(message->payload), message->len)});
    } else if (message->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      ADD_FAILURE() << "consuming " << topic << ": " << rd_kafka_message_errstr(message);
    }
    rd_kafka_message_destroy(message);
  }
  rd_kafka_consumer_close(consumer);
  rd_kafka_destroy(consumer);
  return consumed;
}

KafkaServer* Shared() {
  std::string error;
  KafkaServer* server = KafkaServer::Shared(&error);
  EXPECT_NE(server, nullptr) << error;
  return server;
}

TEST(KafkaServer, KeyedRecordsComeBackInOrderPerPartition) {
  KafkaServer* server = Shared();
  ASSERT_NE(server, nullptr);
  Status s = server->CreateTopic("keyed", 3);
  ASSERT_TRUE(s.ok()) << s.ToString();
  std::vector<KafkaRecord> records;
  for (int i = 0; i < 100; ++i) {
    records.push_back({"user-" + std::to_string(i % 10), std::to_string(i)});
  }
  s = server->ProduceKeyed("keyed", -1, records);
  ASSERT_TRUE(s.ok()) << s.ToString();

  const std::vector<Consumed> consumed = ConsumeFromEarliest(*server, "keyed", records.size());
  ASSERT_EQ(consumed.size(), records.size()) << "broker log: " << server->LogPath();
  std::map<std::string, int> partition_of_key;
  std::map<int, int> last_value_of_partition;
  std::set<std::string> values;
  for (const Consumed& c : consumed) {
    values.insert(c.value);
    // One key, one partition; within a partition, the order produced.
    auto [it, first] = partition_of_key.emplace(c.key, c.partition);
    EXPECT_EQ(it->second, c.partition) << c.key;
    auto [last, none] = last_value_of_partition.emplace(c.partition, -1);
    EXPECT_LT(last->second, std::stoi(c.value)) << "partition " << c.partition;
    last->second = std::stoi(c.value);
  }
  EXPECT_EQ(values.size(), records.size());
  EXPECT_EQ(last_value_of_partition.size(), 3u) << "ten keys should reach all three partitions";
}

TEST(KafkaServer, ProducesToTheChosenPartition) {
  KafkaServer* server = Shared();
  ASSERT_NE(server, nullptr);
  Status s = server->CreateTopic("chosen", 3);
  ASSERT_TRUE(s.ok()) << s.ToString();
  s = server->Produce("chosen", 2, {"first", "second"});
  ASSERT_TRUE(s.ok()) << s.ToString();

  const std::vector<Consumed> consumed = ConsumeFromEarliest(*server, "chosen", 2);
  ASSERT_EQ(consumed.size(), 2u);
  EXPECT_EQ(consumed[0].value, "first");
  EXPECT_EQ(consumed[1].value, "second");
  EXPECT_EQ(consumed[0].partition, 2);
  EXPECT_EQ(consumed[1].partition, 2);
  EXPECT_EQ(consumed[0].key, "");  // no key
}

TEST(KafkaServer, RefusesATopicThatExistsAndAPartitionThatDoesNot) {
  KafkaServer* server = Shared();
  ASSERT_NE(server, nullptr);
  Status s = server->CreateTopic("twice", 1);
  ASSERT_TRUE(s.ok()) << s.ToString();
  s = server->CreateTopic("twice", 1);
  EXPECT_EQ(s.code(), StatusCode::kAlreadyExists) << s.ToString();
  s = server->Produce("twice", 5, {"lost"});
  EXPECT_EQ(s.code(), StatusCode::kIOError) << s.ToString();
}

// A second broker gets ports of its own, and its num.partitions.
TEST(KafkaServer, TwoBrokersRunSideBySide) {
  KafkaServer* shared = Shared();
  ASSERT_NE(shared, nullptr);
  auto second = KafkaServer::Start(/*partitions_default=*/2);
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_NE((*second)->port(), shared->port());

  for (KafkaServer* server : {shared, second->get()}) {
    Status s = server->CreateTopic("side-by-side", -1);
    ASSERT_TRUE(s.ok()) << s.ToString();
    s = server->Produce("side-by-side", -1, {server->bootstrap_servers()});
    ASSERT_TRUE(s.ok()) << s.ToString();
  }
  for (KafkaServer* server : {shared, second->get()}) {
    const std::vector<Consumed> consumed = ConsumeFromEarliest(*server, "side-by-side", 1);
    ASSERT_EQ(consumed.size(), 1u);
    EXPECT_EQ(consumed[0].value, server->bootstrap_servers());
  }
  // The second broker's default is 2 partitions, the shared one's 1.
  Status s = (*second)->Produce("side-by-side", 1, {"on the second partition"});
  EXPECT_TRUE(s.ok()) << s.ToString();
  s = shared->Produce("side-by-side", 1, {"no second partition"});
  EXPECT_FALSE(s.ok());
}

}  // namespace
}  // namespace larder::testing
