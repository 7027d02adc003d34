#include "support/kafka_server.h"

#include <librdkafka/rdkafka.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "common/base64.h"
#include "support/redis_server.h"
#include "support/server_process.h"

namespace larder::testing {
namespace {

constexpr auto kStartTimeout = std::chrono::seconds(60);
// How long CreateTopic and Produce wait for the broker.
constexpr int kClientTimeoutMs = 30000;

struct ClientDeleter {
  void operator()(rd_kafka_t* rk) const { rd_kafka_destroy(rk); }
};
using Client = std::unique_ptr<rd_kafka_t, ClientDeleter>;

struct MetadataDeleter {
  void operator()(const rd_kafka_metadata_t* md) const { rd_kafka_metadata_destroy(md); }
};
using Metadata = std::unique_ptr<const rd_kafka_metadata_t, MetadataDeleter>;

// What a producer's delivery reports said (served by rd_kafka_poll and
// rd_kafka_flush on the producing thread).
struct Deliveries {
  size_t delivered = 0;
  size_t failed = 0;
  std::string first_error;
};

void OnDelivery(rd_kafka_t*, const rd_kafka_message_t* message, void* opaque) {
  auto* deliveries = static_cast<Deliveries*>(opaque);
  if (message->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
    ++deliveries->delivered;
  } else if (deliveries->failed++ == 0) {
    deliveries->first_error = std::string(rd_kafka_err2str(message->err)) + " (partition " +
                              std::to_string(message->partition) + ")";
  }
}

// A producer handle (which also serves metadata and admin requests) of
// `bootstrap_servers`. It logs nothing: its errors reach the callers as
// results. Producers report deliveries to `deliveries` when not null.
Result<Client> NewProducer(const std::string& bootstrap_servers, Deliveries* deliveries) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char errstr[512];
  const std::pair<const char*, std::string> settings[] = {
      {"bootstrap.servers", bootstrap_servers},
      {"acks", "all"},
      // Retries keep the order: a new topic's partition may refuse the first
      // records for a moment after metadata names its leader.
      {"enable.idempotence", "true"},
      {"message.timeout.ms", std::to_string(kClientTimeoutMs)},
      // The broker may still be starting: retry connections quickly.
      {"reconnect.backoff.ms", "20"},
      {"reconnect.backoff.max.ms", "200"},
  };
  for (const auto& [name, value] : settings) {
    if (rd_kafka_conf_set(conf, name, value.c_str(), errstr, sizeof(errstr)) !=
        RD_KAFKA_CONF_OK) {
      rd_kafka_conf_destroy(conf);
      return Status::Internal(std::string("librdkafka setting ") + name + ": " + errstr);
    }
  }
  rd_kafka_conf_set_log_cb(conf, [](const rd_kafka_t*, int, const char*, const char*) {});
  if (deliveries != nullptr) {
    rd_kafka_conf_set_opaque(conf, deliveries);
    rd_kafka_conf_set_dr_msg_cb(conf, OnDelivery);
  }
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
  if (rk == nullptr) {
    rd_kafka_conf_destroy(conf);  // rd_kafka_new owns it only on success
    return Status::Internal(std::string("cannot create a librdkafka producer: ") + errstr);
  }
  return Client(rk);
}

// The metadata of every topic, or null when the broker did not answer
// within `timeout_ms`.
Metadata FetchMetadata(rd_kafka_t* rk, int timeout_ms) {
  const rd_kafka_metadata_t* md = nullptr;
  if (rd_kafka_metadata(rk, /*all_topics=*/1, nullptr, &md, timeout_ms) !=
      RD_KAFKA_RESP_ERR_NO_ERROR) {
    return nullptr;
  }
  return Metadata(md);
}

// True when `md` shows `topic` with `partitions` partitions (with -1, any
// number), each led.
bool TopicReady(const rd_kafka_metadata_t& md, const std::string& topic, int partitions) {
  for (int t = 0; t < md.topic_cnt; ++t) {
    const rd_kafka_metadata_topic_t& entry = md.topics[t];
    if (entry.topic != topic) continue;
    if (entry.err != RD_KAFKA_RESP_ERR_NO_ERROR || entry.partition_cnt == 0 ||
        (partitions >= 0 && entry.partition_cnt != partitions)) {
      return false;
    }
    return std::all_of(entry.partitions, entry.partitions + entry.partition_cnt,
                       [](const rd_kafka_metadata_partition_t& p) {
                         return p.err == RD_KAFKA_RESP_ERR_NO_ERROR && p.leader >= 0;
                       });
  }
  return false;
}

// A new cluster id, as `kafka-storage random-uuid` makes one: 16 random
// bytes in unpadded base64url, not starting with '-' (which the command
// line would take for an option).
std::string RandomClusterId() {
  std::random_device random;
  std::string id;
  do {
    std::string bytes(16, '\0');
    for (char& b : bytes) b = static_cast<char>(random() & 0xff);
    id = Base64Encode(bytes);
    id.erase(id.find_last_not_of('=') + 1);
    std::replace(id.begin(), id.end(), '+', '-');
    std::replace(id.begin(), id.end(), '/', '_');
  } while (id[0] == '-');
  return id;
}

// The java to run the broker with; empty when there is none.
std::string FindJava() {
  if (const char* home = std::getenv("JAVA_HOME"); home != nullptr && *home != '\0') {
    const std::string java = std::string(home) + "/bin/java";
    if (access(java.c_str(), X_OK) == 0) return java;
  }
  return FindExecutable("java", {"/usr/bin"});
}

// Runs `argv` to its end, with its output in `output_log`; IOError with that
// output when it fails.
Status RunToCompletion(std::vector<std::string> argv, const std::string& output_log) {
  LARDER_ASSIGN_OR_RETURN(pid_t pid, SpawnProcess(std::move(argv), output_log));
  int status = 0;
  if (waitpid(pid, &status, 0) != pid) return Status::IOError("waitpid failed");
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return Status::OK();
  return Status::IOError("exit status " + std::to_string(status) +
                         "; its output: " + ReadFileText(output_log));
}

}  // namespace

void KafkaServer::WriteConfig(int partitions_default) const {
  const std::string port = std::to_string(port_);
  const std::string controller = "127.0.0.1:" + std::to_string(controller_port_);
  dir_.Write("server.properties",
             "process.roles=broker,controller\n"
             "node.id=1\n"
             "controller.quorum.voters=1@" + controller + "\n"
             "controller.listener.names=CONTROLLER\n"
             "listeners=PLAINTEXT://127.0.0.1:" + port + ",CONTROLLER://" + controller + "\n"
             "advertised.listeners=PLAINTEXT://127.0.0.1:" + port + "\n"
             "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT\n"
             "inter.broker.listener.name=PLAINTEXT\n"
             "log.dirs=" + dir_.Join("data") + "\n"
             "num.partitions=" + std::to_string(partitions_default) + "\n"
             "auto.create.topics.enable=false\n"
             "offsets.topic.replication.factor=1\n"
             "transaction.state.log.replication.factor=1\n"
             "transaction.state.log.min.isr=1\n"
             "share.coordinator.state.topic.replication.factor=1\n"
             "share.coordinator.state.topic.min.isr=1\n"
             "min.insync.replicas=1\n"
             "group.initial.rebalance.delay.ms=0\n");
  dir_.Write("log4j2.properties",
             "appender.out.type=Console\n"
             "appender.out.name=OUT\n"
             "appender.out.layout.type=PatternLayout\n"
             "appender.out.layout.pattern=[%d] %p %m (%c)%n\n"
             "rootLogger.level=WARN\n"
             "rootLogger.appenderRef.out.ref=OUT\n");
}

Result<std::unique_ptr<KafkaServer>> KafkaServer::Start(int partitions_default) {
  const std::string kafka_dir = SourceDir() + "/third_party/kafka";
  if (access((kafka_dir + "/.version").c_str(), R_OK) != 0) {
    return Status::FailedPrecondition(
        "the Kafka broker's jars are not installed (" + kafka_dir +
        "/.version is missing); the Kafka tests need them: run scripts/bootstrap.sh");
  }
  const std::string archive = kafka_dir + "/kafka.jsa";
  const std::string java = FindJava();
  if (java.empty()) {
    return Status::FailedPrecondition(
        "java is not installed (looked in $JAVA_HOME/bin, on PATH and in /usr/bin); the Kafka "
        "broker needs Java 17 or newer: run scripts/bootstrap.sh");
  }
  std::string last_error;
  for (int attempt = 0; attempt < 3; ++attempt) {
    std::unique_ptr<KafkaServer> server(new KafkaServer);
    server->port_ = RedisServer::FreePort();
    do {
      server->controller_port_ = RedisServer::FreePort();
    } while (server->controller_port_ == server->port_);
    if (server->port_ == 0 || server->controller_port_ == 0) {
      return Status::IOError("cannot find a free loopback port");
    }
    server->WriteConfig(partitions_default);
    // A small heap and a quick start: the serial collector and C1 alone
    // (enough for tests' loads) start the broker in about 2.5 s rather than
    // 3, and the class archive that scripts/kafka.sh makes brings that to
    // about 1.4 s, in 60 MB less memory. A JVM other than the one that made
    // the archive ignores it.
    std::vector<std::string> jvm = {
        java,
        "-Xmx384m",
        "-XX:+UseSerialGC",
        "-XX:TieredStopAtLevel=1",
        "-XX:-UsePerfData",
        "-Djava.awt.headless=true",
        "-Dlog4j2.configurationFile=" + server->dir_.Join("log4j2.properties")};
    if (access(archive.c_str(), R_OK) == 0) jvm.push_back("-XX:SharedArchiveFile=" + archive);
    jvm.push_back("-cp");
    jvm.push_back(kafka_dir + "/lib/*");
    const std::string config = server->dir_.Join("server.properties");

    std::vector<std::string> format = jvm;
    for (const std::string& a : {std::string("kafka.tools.StorageTool"), std::string("format"),
                                 std::string("-t"), RandomClusterId(), std::string("-c"), config}) {
      format.push_back(a);
    }
    LARDER_RETURN_IF_ERROR(RunToCompletion(std::move(format), server->dir_.Join("format.log"))
                               .WithContext("formatting the broker's storage with " + java));

    std::vector<std::string> broker = jvm;
    broker.push_back("kafka.Kafka");
    broker.push_back(config);
    LARDER_ASSIGN_OR_RETURN(server->pid_, SpawnProcess(std::move(broker), server->LogPath()));
    // Ready once the broker lists itself in a metadata response: it then
    // has registered with its controller and is not fenced. The client is
    // made once the port accepts, so that its reconnect backoff has not
    // grown meanwhile.
    Client client;
    const WaitOutcome outcome = WaitUntilAnswering(
        server->pid_,
        [&] {
          if (client == nullptr) {
            const int fd = ConnectLoopback(server->port_, /*receive_timeout_seconds=*/1);
            if (fd < 0) return false;
            close(fd);
            auto made = NewProducer(server->bootstrap_servers(), nullptr);
            if (!made.ok()) return false;
            client = std::move(made).value();
          }
          Metadata md = FetchMetadata(client.get(), /*timeout_ms=*/500);
          return md != nullptr && md->broker_cnt > 0;
        },
        kStartTimeout);
    if (outcome == WaitOutcome::kAnswering) return server;
    if (outcome == WaitOutcome::kExited) server->pid_ = -1;  // reaped already
    last_error = std::string(outcome == WaitOutcome::kExited ? "the broker exited"
                                                             : "the broker did not answer") +
                 " on " + server->bootstrap_servers() + "; its output: " +
                 ReadFileText(server->LogPath());
    if (outcome == WaitOutcome::kTimedOut) break;  // not a port clash: do not wait again
    // The destructor stops it; try other ports.
  }
  return Status::IOError("cannot start a Kafka broker with " + java + ": " + last_error);
}

KafkaServer::~KafkaServer() { StopProcess(pid_); }

Status KafkaServer::CreateTopic(const std::string& topic, int partitions) {
  LARDER_ASSIGN_OR_RETURN(Client client, NewProducer(bootstrap_servers(), nullptr));
  char errstr[512];
  rd_kafka_NewTopic_t* new_topic = rd_kafka_NewTopic_new(topic.c_str(), partitions,
                                                         /*replication_factor=*/1, errstr,
                                                         sizeof(errstr));
  if (new_topic == nullptr) {
    return Status::InvalidArgument("topic " + topic + ": " + errstr);
  }
  rd_kafka_AdminOptions_t* options =
      rd_kafka_AdminOptions_new(client.get(), RD_KAFKA_ADMIN_OP_CREATETOPICS);
  // The broker answers once the controller has created the topic.
  rd_kafka_AdminOptions_set_operation_timeout(options, kClientTimeoutMs, errstr, sizeof(errstr));
  rd_kafka_AdminOptions_set_request_timeout(options, kClientTimeoutMs, errstr, sizeof(errstr));
  rd_kafka_queue_t* queue = rd_kafka_queue_new(client.get());
  rd_kafka_CreateTopics(client.get(), &new_topic, 1, options, queue);
  rd_kafka_event_t* event = rd_kafka_queue_poll(queue, kClientTimeoutMs + 5000);
  Status status;
  if (event == nullptr) {
    status = Status::IOError("creating topic " + topic + " timed out");
  } else if (rd_kafka_event_error(event) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    status = Status::IOError("creating topic " + topic + ": " +
                             rd_kafka_event_error_string(event));
  } else {
    size_t count = 0;
    const rd_kafka_topic_result_t** results =
        rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(event), &count);
    for (size_t i = 0; i < count && status.ok(); ++i) {
      const rd_kafka_resp_err_t err = rd_kafka_topic_result_error(results[i]);
      if (err == RD_KAFKA_RESP_ERR_NO_ERROR) continue;
      const char* message = rd_kafka_topic_result_error_string(results[i]);
      const std::string text =
          "topic " + topic + ": " + (message != nullptr ? message : rd_kafka_err2str(err));
      status = err == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS ? Status::AlreadyExists(text)
                                                              : Status::IOError(text);
    }
  }
  if (event != nullptr) rd_kafka_event_destroy(event);
  rd_kafka_queue_destroy(queue);
  rd_kafka_AdminOptions_destroy(options);
  rd_kafka_NewTopic_destroy(new_topic);
  LARDER_RETURN_IF_ERROR(status);

  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(kClientTimeoutMs);
  while (std::chrono::steady_clock::now() < deadline) {
    Metadata md = FetchMetadata(client.get(), /*timeout_ms=*/1000);
    if (md != nullptr && TopicReady(*md, topic, partitions)) return Status::OK();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return Status::IOError("topic " + topic +
                         " was created, but its partitions have no leaders after " +
                         std::to_string(kClientTimeoutMs / 1000) + " s");
}

Status KafkaServer::Produce(const std::string& topic, int partition,
                            const std::vector<std::string>& values) {
  std::vector<KafkaRecord> records;
  records.reserve(values.size());
  for (const std::string& v : values) records.push_back({"", v});
  return ProduceKeyed(topic, partition, records);
}

Status KafkaServer::ProduceKeyed(const std::string& topic, int partition,
                                 const std::vector<KafkaRecord>& records) {
  Deliveries deliveries;
  LARDER_ASSIGN_OR_RETURN(Client client, NewProducer(bootstrap_servers(), &deliveries));
  // -1 is RD_KAFKA_PARTITION_UA (whose macro is an old-style cast).
  const int32_t target = partition < 0 ? -1 : partition;
  struct TopicDeleter {
    void operator()(rd_kafka_topic_t* rkt) const { rd_kafka_topic_destroy(rkt); }
  };
  // Destroyed before the client (declared after it).
  const std::unique_ptr<rd_kafka_topic_t, TopicDeleter> handle(
      rd_kafka_topic_new(client.get(), topic.c_str(), nullptr));
  if (handle == nullptr) {
    return Status::IOError("producing to " + topic + ": " +
                           rd_kafka_err2str(rd_kafka_last_error()));
  }
  for (const KafkaRecord& record : records) {
    // No key is a null pointer, not an empty key.
    while (rd_kafka_produce(handle.get(), target, RD_KAFKA_MSG_F_COPY,
                            const_cast<char*>(record.value.data()), record.value.size(),
                            record.key.empty() ? nullptr : record.key.data(), record.key.size(),
                            nullptr) != 0) {
      const rd_kafka_resp_err_t err = rd_kafka_last_error();
      if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
        return Status::IOError("producing to " + topic + ": " + rd_kafka_err2str(err));
      }
      rd_kafka_poll(client.get(), 100);  // serve delivery reports to make room
    }
    rd_kafka_poll(client.get(), 0);
  }
  if (rd_kafka_flush(client.get(), kClientTimeoutMs + 5000) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return Status::IOError("producing to " + topic + ": records still unacknowledged after " +
                           std::to_string(kClientTimeoutMs / 1000 + 5) + " s");
  }
  if (deliveries.failed > 0 || deliveries.delivered != records.size()) {
    return Status::IOError("producing to " + topic + ": " + std::to_string(deliveries.failed) +
                           " of " + std::to_string(records.size()) +
                           " records failed, the first with " + deliveries.first_error);
  }
  return Status::OK();
}

KafkaServer* KafkaServer::Shared(std::string* error) { return SharedServer<KafkaServer>(error); }

}  // namespace larder::testing
