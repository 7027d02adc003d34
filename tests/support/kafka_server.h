// A real Apache Kafka broker for tests: one node in KRaft mode (broker and
// controller in one JVM) on free loopback ports, with its data in its own
// temporary directory, and stopped on destruction. Topics are created
// explicitly (auto-creation is off), records produced synchronously.
//
//   auto server = KafkaServer::Start();
//   ASSERT_TRUE(server.ok()) << server.status().ToString();
//   ASSERT_TRUE((*server)->CreateTopic("ratings", 3).ok());
//   ASSERT_TRUE((*server)->Produce("ratings", -1, {"{\"user_id\": 1}"}).ok());
//   options.bootstrap_servers = (*server)->bootstrap_servers();
//
// The broker's jars are installed by scripts/bootstrap.sh (scripts/kafka.sh
// install) into third_party/kafka/lib and run with Java 17 or newer:
// $JAVA_HOME/bin/java, else java on PATH or in /usr/bin. When either is
// missing, Start fails with a message saying how to install it: tests that
// need Kafka fail, they never skip. Each server is a JVM of about 300 MB
// that starts in about 1.5 s (3 s without the class archive that the
// install makes); share one (Shared()) where tests can.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "larder/status.h"
#include "stream/kafka/kafka_client.h"
#include "support/test_util.h"

namespace larder::testing {

// One record to produce. An empty key is sent as no key (null).
struct KafkaRecord {
  std::string key;
  std::string value;
};

class KafkaServer {
 public:
  // Formats fresh storage and starts a broker, then waits (up to 60 s) until
  // it answers a metadata request naming itself as a broker.
  // `partitions_default` is the broker's num.partitions. Retries on other
  // ports when the broker exits at once (a port taken meanwhile).
  [[nodiscard]] static Result<std::unique_ptr<KafkaServer>> Start(int partitions_default = 1);

  // Stops the broker (SIGTERM, then SIGKILL after 5 s) and deletes its data.
  ~KafkaServer();
  KafkaServer(const KafkaServer&) = delete;
  KafkaServer& operator=(const KafkaServer&) = delete;

  int port() const { return port_; }
  // "127.0.0.1:<port>", for a client's bootstrap.servers.
  std::string bootstrap_servers() const { return "127.0.0.1:" + std::to_string(port_); }
  // The broker's output (warnings and errors), for failure messages.
  std::string LogPath() const { return dir_.Join("kafka.log"); }

  // Creates `topic` with `partitions` partitions (with -1, the broker's
  // num.partitions; replication factor 1) and waits until the broker's
  // metadata shows every partition with a leader, so that producers and
  // consumers can use it at once. AlreadyExists when the topic exists;
  // IOError on other failures. Thread-safe (each call has its own client).
  [[nodiscard]] Status CreateTopic(const std::string& topic, int partitions);

  // Produces `values` (without keys) to `topic`, in order, to `partition`,
  // or with -1 to partitions the client picks. Returns once every record is
  // acknowledged by the broker (acks=all); IOError naming the first failed
  // delivery otherwise. Thread-safe.
  [[nodiscard]] Status Produce(const std::string& topic, int partition,
                               const std::vector<std::string>& values);
  // As Produce, with keys: with partition -1, records of one key go to one
  // partition (librdkafka's default partitioner, consistent_random).
  [[nodiscard]] Status ProduceKeyed(const std::string& topic, int partition,
                                    const std::vector<KafkaRecord>& records);

  // One server shared by every test of this process that asks for it,
  // started on first use (with the defaults) and stopped at exit. Null (with
  // `*error` set) when it cannot start.
  static KafkaServer* Shared(std::string* error);

 private:
  // A producer (and admin client) of this broker.
  Result<std::unique_ptr<stream::KafkaProducer>> Producer() const;

  KafkaServer() = default;
  // Writes the broker's configuration and log4j settings into dir_.
  void WriteConfig(int partitions_default) const;

  TempDir dir_;
  int port_ = 0;
  int controller_port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace larder::testing
