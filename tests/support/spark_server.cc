#include "support/spark_server.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "support/redis_server.h"
#include "support/server_process.h"

extern char** environ;

namespace larder::testing {
namespace {

constexpr auto kStartTimeout = std::chrono::seconds(120);
constexpr auto kStopTimeout = std::chrono::seconds(20);
// The pyspark that scripts/spark.sh installs; its jars hold the server.
constexpr char kSparkVersion[] = "4.3.0";

// The pyspark package directory of third_party/spark_venv (SPARK_HOME);
// empty when it is not installed.
std::string FindSparkHome() {
  namespace fs = std::filesystem;
  const fs::path lib = fs::path(SourceDir()) / "third_party/spark_venv/lib";
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(lib, ec)) {
    const fs::path home = entry.path() / "site-packages/pyspark";
    const fs::path jar =
        home / "jars" / (std::string("spark-connect_2.13-") + kSparkVersion + ".jar");
    if (fs::exists(jar, ec) && fs::exists(home / "bin/spark-submit", ec)) return home.string();
  }
  return "";
}

// The JAVA_HOME to run Spark with: Debian's Java 17 when it is there (Spark
// 4 supports 17 and 21; a newer default JVM may not work), else $JAVA_HOME,
// else the one of java on the PATH. Empty when there is none.
std::string FindJavaHome() {
  namespace fs = std::filesystem;
  std::error_code ec;
  const std::string debian17 = "/usr/lib/jvm/java-17-openjdk-amd64";
  if (access((debian17 + "/bin/java").c_str(), X_OK) == 0) return debian17;
  if (const char* home = std::getenv("JAVA_HOME"); home != nullptr && *home != '\0') {
    if (access((std::string(home) + "/bin/java").c_str(), X_OK) == 0) return home;
  }
  const std::string java = FindExecutable("java", {"/usr/bin"});
  if (java.empty()) return "";
  const fs::path real = fs::canonical(java, ec);
  if (ec) return "";
  return real.parent_path().parent_path().string();
}

// Starts `argv` in `dir` as the leader of a new process group, with
// `overrides` ("NAME=value") added to the environment and its output in
// `log`. The child gets SIGKILL when the test process dies, unless
// `outlive_parent`.
Result<pid_t> SpawnGroup(std::vector<std::string> argv, std::vector<std::string> overrides,
                         const std::string& dir, const std::string& log, bool outlive_parent) {
  // Everything is built before fork: only async-signal-safe calls between
  // fork and exec.
  std::vector<std::string> env_strings = std::move(overrides);
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string entry(*e);
    const std::string name = entry.substr(0, entry.find('='));
    bool overridden = false;
    for (size_t i = 0; i < env_strings.size() && !overridden; ++i) {
      overridden = env_strings[i].starts_with(name + "=");
    }
    if (!overridden) env_strings.push_back(entry);
  }
  std::vector<char*> args;
  for (std::string& a : argv) args.push_back(a.data());
  args.push_back(nullptr);
  std::vector<char*> env;
  for (std::string& e : env_strings) env.push_back(e.data());
  env.push_back(nullptr);
  const pid_t pid = fork();
  if (pid < 0) return Status::IOError("fork failed");
  if (pid == 0) {
    setpgid(0, 0);
    if (!outlive_parent) prctl(PR_SET_PDEATHSIG, SIGKILL);
    const int null_in = open("/dev/null", O_RDONLY);
    if (null_in >= 0) {
      dup2(null_in, 0);
      close(null_in);
    }
    if (chdir(dir.c_str()) != 0) _exit(126);
    const int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
      close(fd);
    }
    execve(args[0], args.data(), env.data());
    _exit(127);
  }
  setpgid(pid, pid);  // also here, so that the group exists before we may signal it
  return pid;
}

// Stops the process group `pgid` and reaps its leader: SIGTERM (Spark shuts
// down its context and the metastore), then SIGKILL.
void StopGroup(pid_t pgid) {
  if (pgid <= 0) return;
  kill(-pgid, SIGTERM);
  const auto deadline = std::chrono::steady_clock::now() + kStopTimeout;
  bool reaped = false;
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (waitpid(pgid, &status, WNOHANG) == pgid) {
      reaped = true;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  kill(-pgid, SIGKILL);  // whatever of the group is left
  if (!reaped) {
    int status = 0;
    waitpid(pgid, &status, 0);
  }
}

}  // namespace

Result<std::unique_ptr<SparkServer>> SparkServer::Start(bool outlive_parent) {
  const std::string home = FindSparkHome();
  if (home.empty()) {
    return Status::FailedPrecondition("pyspark " + std::string(kSparkVersion) +
                                      " (the Spark Connect server) is not installed "
                                      "in " +
                                      SourceDir() +
                                      "/third_party/spark_venv; the Spark tests need it: run "
                                      "scripts/spark.sh install");
  }
  const std::string java_home = FindJavaHome();
  if (java_home.empty()) {
    return Status::FailedPrecondition(
        "java is not installed (looked in /usr/lib/jvm/java-17-openjdk-amd64, $JAVA_HOME, on "
        "PATH and in /usr/bin); Spark needs Java 17 or newer: run scripts/bootstrap.sh");
  }
  std::string last_error;
  for (int attempt = 0; attempt < 3; ++attempt) {
    std::unique_ptr<SparkServer> server(new SparkServer);
    server->port_ = RedisServer::FreePort();
    if (server->port_ == 0) return Status::IOError("cannot find a free loopback port");
    const std::string dir = server->dir_.path();
    // Spark's own logging: warnings and errors only.
    server->dir_.Write("conf/log4j2.properties",
                       "appender.console.type=Console\n"
                       "appender.console.name=console\n"
                       "appender.console.target=SYSTEM_ERR\n"
                       "appender.console.layout.type=PatternLayout\n"
                       "appender.console.layout.pattern=%d{HH:mm:ss} %p %c{1}: %m%n\n"
                       "rootLogger.level=warn\n"
                       "rootLogger.appenderRef.console.ref=console\n");
    std::vector<std::string> argv = {
        home + "/bin/spark-submit",
        "--class",
        "org.apache.spark.sql.connect.service.SparkConnectServer",
        "--name",
        "larder-test-spark-connect",
        "--master",
        "local[2]",
        "--driver-memory",
        "1g",
        "--driver-java-options",
        "-Dderby.system.home=" + dir + " -Dderby.stream.error.file=" + dir + "/derby.log",
        "--conf",
        "spark.connect.grpc.binding.address=127.0.0.1",
        "--conf",
        "spark.connect.grpc.binding.port=" + std::to_string(server->port_),
        "--conf",
        "spark.sql.catalogImplementation=hive",
        "--conf",
        "spark.sql.warehouse.dir=" + server->WarehouseDir(),
        "--conf",
        "spark.hadoop.javax.jdo.option.ConnectionURL=jdbc:derby:;databaseName=" + dir +
            "/metastore_db;create=true",
        "--conf",
        "spark.ui.enabled=false",
        // The workshop's spark_conf asks for this static setting; a session
        // can only check it (SparkOfflineStore).
        "--conf",
        "spark.eventLog.enabled=false",
        // Small data: a few shuffle partitions keep the tests quick.
        "--conf",
        "spark.sql.shuffle.partitions=4",
    };
    std::vector<std::string> env = {
        "SPARK_HOME=" + home,
        "SPARK_CONF_DIR=" + server->dir_.Join("conf"),
        "JAVA_HOME=" + java_home,
        "SPARK_LOCAL_IP=127.0.0.1",
        "SPARK_LOCAL_DIRS=" + server->dir_.Join("local"),
    };
    LARDER_ASSIGN_OR_RETURN(server->pid_,
                            SpawnGroup(std::move(argv), std::move(env), dir, server->LogPath(),
                                       outlive_parent));
    // Spark binds the gRPC port once its session is up: ready when it accepts.
    const WaitOutcome outcome = WaitUntilAnswering(
        server->pid_,
        [&] {
          const int fd = ConnectLoopback(server->port_, /*receive_timeout_seconds=*/1);
          if (fd < 0) return false;
          close(fd);
          return true;
        },
        kStartTimeout);
    if (outcome == WaitOutcome::kAnswering) return server;
    if (outcome == WaitOutcome::kExited) {
      kill(-server->pid_, SIGKILL);  // the leader is reaped; end the rest of its group
      server->pid_ = -1;
    }
    last_error = std::string(outcome == WaitOutcome::kExited ? "the server exited"
                                                             : "the server did not answer") +
                 " on 127.0.0.1:" + std::to_string(server->port_) +
                 "; its output: " + ReadFileText(server->LogPath());
    if (outcome == WaitOutcome::kTimedOut) break;  // not a port clash: do not wait again
  }
  return Status::IOError("cannot start a Spark Connect server from " + home + " with " + java_home +
                         ": " + last_error);
}

SparkServer::~SparkServer() { StopGroup(pid_); }

Status SparkServer::Detach(const std::string& state_file) {
  std::ofstream out(state_file, std::ios::trunc);
  out << port_ << " " << pid_ << " " << dir_.path() << "\n";
  out.close();
  if (!out) return Status::IOError("cannot write " + state_file);
  dir_.Keep();
  pid_ = -1;
  return Status::OK();
}

namespace {

struct DetachedState {
  int port = 0;
  pid_t pid = -1;
  std::string dir;
};

Result<DetachedState> ReadDetachedState(const std::string& state_file) {
  std::ifstream in(state_file);
  DetachedState state;
  if (!(in >> state.port >> state.pid >> state.dir) || state.port <= 0) {
    return Status::NotFound("no Spark Connect server is recorded in " + state_file +
                            " (the spark_server fixture did not start one; see its output)");
  }
  return state;
}

}  // namespace

Status SparkServer::StopDetached(const std::string& state_file) {
  std::error_code ec;
  if (!std::filesystem::exists(state_file, ec)) return Status::OK();
  Result<DetachedState> state = ReadDetachedState(state_file);
  if (state.ok()) {
    // Not our child: signal the group, then wait for its leader to go.
    kill(-state->pid, SIGTERM);
    const auto deadline = std::chrono::steady_clock::now() + kStopTimeout;
    while (kill(state->pid, 0) == 0 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    kill(-state->pid, SIGKILL);
    std::filesystem::remove_all(state->dir, ec);
  }
  std::filesystem::remove(state_file, ec);
  return state.status();
}

Result<std::unique_ptr<SparkServer>> SparkServer::Attach(const std::string& state_file) {
  LARDER_ASSIGN_OR_RETURN(DetachedState state, ReadDetachedState(state_file));
  std::unique_ptr<SparkServer> server(new SparkServer);
  server->port_ = state.port;
  server->attached_dir_ = state.dir;
  return server;
}

SparkServer* SparkServer::Shared(std::string* error) {
  if (const char* state = std::getenv("LARDER_TEST_SPARK_STATE"); state != nullptr && *state) {
    static std::mutex mu;
    static std::unique_ptr<SparkServer> attached;
    static std::string attach_error;
    std::lock_guard lock(mu);
    if (attached == nullptr && attach_error.empty()) {
      Result<std::unique_ptr<SparkServer>> found = Attach(state);
      if (found.ok()) {
        attached = std::move(found).value();
      } else {
        attach_error = found.status().ToString();
      }
    }
    if (attached == nullptr) *error = attach_error;
    return attached.get();
  }
  return SharedServer<SparkServer>(error);
}

}  // namespace larder::testing
