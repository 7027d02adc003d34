// Kafka through librdkafka (Debian's librdkafka-dev): a consumer in a group
// whose partitions start where the caller says (its own checkpoints, not
// the group's committed offsets), and a producer with topic creation for
// `larder demo-stream` and the tests. Plaintext brokers only.
//
//   KafkaConsumerOptions o{.bootstrap_servers = "127.0.0.1:9092", .topic = "t",
//                          .group_id = "g"};
//   auto consumer = KafkaConsumer::Open(o, start_offsets);  // checks the topic exists
//   auto messages = (*consumer)->Poll(10000, std::chrono::milliseconds(200));
//
// Not thread-safe: one thread polls, and the assignment callback runs inside
// Poll on that thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "larder/status.h"

namespace larder::stream {

// Offsets a partition may start from besides a real one.
inline constexpr int64_t kKafkaOffsetBeginning = -2;
inline constexpr int64_t kKafkaOffsetEnd = -1;

struct KafkaConsumerOptions {
  std::string bootstrap_servers;
  std::string topic;
  std::string group_id;
  // Static group membership (Kafka's group.instance.id): a consumer that
  // restarts under the same id gets its partitions back at once, with no
  // rebalance, instead of after the session timeout. Empty: dynamic.
  std::string group_instance_id;
  // Where a partition restarts when its offset is out of range: "earliest"
  // or "latest".
  std::string offset_reset = "earliest";
  // How long the group waits for a silent member before its partitions move.
  int session_timeout_ms = 10000;
  // How long Open waits for the brokers to answer.
  std::chrono::milliseconds connect_timeout{10000};
};

// One message as polled; `value` lives until the next Poll.
struct KafkaMessage {
  std::string_view value;
  int32_t partition = 0;
  int64_t offset = 0;
  int64_t timestamp_ms = 0;  // the broker's or producer's timestamp; 0 when none
};

class KafkaConsumer {
 public:
  // Given the partitions just assigned, the offset each starts from (a real
  // offset, kKafkaOffsetBeginning or kKafkaOffsetEnd). An error stops the
  // consumer: Poll returns it.
  using StartOffsets = std::function<Result<std::map<int32_t, int64_t>>(const std::vector<int32_t>&)>;

  // Connects, checks that the topic exists (NotFound otherwise; IOError when
  // no broker answers within connect_timeout), and joins the group.
  static Result<std::unique_ptr<KafkaConsumer>> Open(const KafkaConsumerOptions& options,
                                                     StartOffsets start_offsets);
  // Leaves the group (its partitions move to the other members at once).
  ~KafkaConsumer();
  KafkaConsumer(const KafkaConsumer&) = delete;
  KafkaConsumer& operator=(const KafkaConsumer&) = delete;

  // Up to `max` messages, waiting at most `timeout` for the first. Broker
  // connection trouble is retried underneath and shows as no messages;
  // other errors are returned.
  Result<std::vector<KafkaMessage>> Poll(size_t max, std::chrono::milliseconds timeout);

  // Whether the group has given this consumer an assignment yet (maybe
  // empty), and the partitions it holds.
  bool joined() const { return joined_; }
  const std::vector<int32_t>& partitions() const { return partitions_; }

  // The partition's low and high watermarks, asked of its leader.
  Result<std::pair<int64_t, int64_t>> Watermarks(int32_t partition,
                                                 std::chrono::milliseconds timeout);

  // The group's committed offsets of `partitions` (those that have one).
  // Usable inside StartOffsets.
  Result<std::map<int32_t, int64_t>> Committed(const std::vector<int32_t>& partitions,
                                               std::chrono::milliseconds timeout);

  // The partition's high watermark as last seen by this consumer's fetches
  // (no request); -1 when not known yet.
  int64_t CachedHighWatermark(int32_t partition) const;

  // Records `next_offsets` (partition -> next offset to read) as the group's
  // committed offsets, for Kafka's own lag tools, without waiting. Larder
  // starts from its checkpoints, not from these.
  void CommitAsync(const std::map<int32_t, int64_t>& next_offsets);

  // The last error librdkafka logged, for messages; empty when none.
  std::string LastLogged() const;

 private:
  struct Impl;
  explicit KafkaConsumer(std::unique_ptr<Impl> impl);

  std::unique_ptr<Impl> impl_;
  bool joined_ = false;
  std::vector<int32_t> partitions_;
};

struct KafkaProducerOptions {
  std::string bootstrap_servers;
  // How long a message may wait to be batched with others (linger.ms).
  int linger_ms = 5;
};

class KafkaProducer {
 public:
  static Result<std::unique_ptr<KafkaProducer>> Open(const KafkaProducerOptions& options);
  ~KafkaProducer();
  KafkaProducer(const KafkaProducer&) = delete;
  KafkaProducer& operator=(const KafkaProducer&) = delete;

  // Creates `topic` with `partitions` partitions (-1: the brokers' default
  // count; the brokers' default replication) and returns once every
  // partition has a leader. AlreadyExists when it exists.
  Status CreateTopic(const std::string& topic, int partitions, std::chrono::milliseconds timeout);

  // How many brokers the cluster's metadata lists (0 while a starting
  // broker has not registered); IOError when none answers.
  Result<int> Brokers(std::chrono::milliseconds timeout);

  // The topic's partition count; NotFound when it does not exist.
  Result<int> PartitionCount(const std::string& topic, std::chrono::milliseconds timeout);

  // Queues a message for `partition` (-1: by the key's hash, or any when
  // the key is empty; an empty key is sent as none). Waits while the local
  // queue is full. Messages are acknowledged by every replica, and retries
  // keep a partition's order (idempotent producer). Delivery errors are
  // reported by Flush.
  Status Produce(const std::string& topic, int32_t partition, std::string_view key,
                 std::string_view value);

  // Waits until every queued message is delivered; the first delivery error,
  // or IOError when the timeout passes first.
  Status Flush(std::chrono::milliseconds timeout);

 private:
  struct Impl;
  explicit KafkaProducer(std::unique_ptr<Impl> impl);

  std::unique_ptr<Impl> impl_;
};

}  // namespace larder::stream
