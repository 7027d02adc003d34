#include "support/kafka_server.h"

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
constexpr std::chrono::milliseconds kClientTimeout{30000};

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
    std::unique_ptr<stream::KafkaProducer> client;
    const WaitOutcome outcome = WaitUntilAnswering(
        server->pid_,
        [&] {
          if (client == nullptr) {
            const int fd = ConnectLoopback(server->port_, /*receive_timeout_seconds=*/1);
            if (fd < 0) return false;
            close(fd);
            auto made = server->Producer();
            if (!made.ok()) return false;
            client = std::move(made).value();
          }
          const Result<int> brokers = client->Brokers(std::chrono::milliseconds(500));
          return brokers.ok() && *brokers > 0;
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

Result<std::unique_ptr<stream::KafkaProducer>> KafkaServer::Producer() const {
  return stream::KafkaProducer::Open({.bootstrap_servers = bootstrap_servers(), .linger_ms = 5});
}

Status KafkaServer::CreateTopic(const std::string& topic, int partitions) {
  LARDER_ASSIGN_OR_RETURN(auto producer, Producer());
  return producer->CreateTopic(topic, partitions, kClientTimeout);
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
  LARDER_ASSIGN_OR_RETURN(auto producer, Producer());
  for (const KafkaRecord& record : records) {
    LARDER_RETURN_IF_ERROR(producer->Produce(topic, partition, record.key, record.value));
  }
  return producer->Flush(kClientTimeout);
}

KafkaServer* KafkaServer::Shared(std::string* error) { return SharedServer<KafkaServer>(error); }

}  // namespace larder::testing
