#include "support/redis_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <sstream>
#include <thread>
#include <vector>

namespace larder::testing {
namespace {

std::string FindRedisServer() {
  std::vector<std::string> dirs;
  if (const char* path = std::getenv("PATH")) {
    std::stringstream ss(path);
    std::string d;
    while (std::getline(ss, d, ':')) {
      if (!d.empty()) dirs.push_back(d);
    }
  }
  dirs.push_back("/usr/bin");
  dirs.push_back("/usr/sbin");
  dirs.push_back("/usr/local/bin");
  for (const std::string& d : dirs) {
    std::string p = d + "/redis-server";
    if (access(p.c_str(), X_OK) == 0) return p;
  }
  return "";
}

sockaddr_in Loopback(int port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return addr;
}

// True when something on the port answers a PING with a RESP reply (+PONG, or
// -NOAUTH when a password is required).
bool Answers(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return false;
  sockaddr_in addr = Loopback(port);
  bool ok = false;
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) {
    timeval tv{1, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    const char ping[] = "PING\r\n";
    if (write(fd, ping, sizeof(ping) - 1) == static_cast<ssize_t>(sizeof(ping) - 1)) {
      char c = 0;
      ok = read(fd, &c, 1) == 1 && (c == '+' || c == '-');
    }
  }
  close(fd);
  return ok;
}

}  // namespace

std::string RedisServer::Call(const std::string& inline_command) const {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return "";
  sockaddr_in addr = Loopback(port_);
  std::string reply;
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) {
    timeval tv{5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    std::string out;
    if (!password_.empty()) out += "AUTH " + password_ + "\r\n";
    out += inline_command + "\r\n";
    if (write(fd, out.data(), out.size()) == static_cast<ssize_t>(out.size())) {
      // Read the AUTH reply line (if any) and the command's first line.
      int lines_wanted = password_.empty() ? 1 : 2;
      std::string buf;
      char c = 0;
      while (lines_wanted > 0 && read(fd, &c, 1) == 1) {
        buf += c;
        if (c == '\n') {
          if (--lines_wanted == 0) break;
          buf.clear();
        }
      }
      if (buf.size() > 1 && buf[0] == '$' && buf[1] != '-') {
        const size_t body = std::strtoul(buf.c_str() + 1, nullptr, 10) + 2;
        std::string rest(body, '\0');
        size_t got = 0;
        while (got < body) {
          const ssize_t k = read(fd, rest.data() + got, body - got);
          if (k <= 0) break;
          got += static_cast<size_t>(k);
        }
        buf += rest.substr(0, got);
      }
      reply = buf;
    }
  }
  close(fd);
  return reply;
}

int RedisServer::FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return 0;
  sockaddr_in addr = Loopback(0);
  int port = 0;
  socklen_t len = sizeof(addr);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  close(fd);
  return port;
}

Result<std::unique_ptr<RedisServer>> RedisServer::Start(const RedisServerOptions& options) {
  const std::string binary = FindRedisServer();
  if (binary.empty()) {
    return Status::FailedPrecondition(
        "redis-server is not installed (looked on PATH, /usr/bin, /usr/sbin, /usr/local/bin); "
        "the redis online store tests need a real server: run scripts/bootstrap.sh or "
        "`apt-get install redis-server`");
  }
  std::string last_error;
  for (int attempt = 0; attempt < 5; ++attempt) {
    std::unique_ptr<RedisServer> server(new RedisServer);
    server->port_ = FreePort();
    server->password_ = options.password;
    if (server->port_ == 0) return Status::IOError("cannot find a free loopback port");
    std::vector<std::string> args = {binary,
                                     "--port", std::to_string(server->port_),
                                     "--bind", "127.0.0.1",
                                     "--save", "",
                                     "--appendonly", "no",
                                     "--daemonize", "no",
                                     "--dir", server->dir_.path(),
                                     "--logfile", server->LogPath()};
    if (options.cluster) {
      server->bus_port_ = FreePort();
      for (const std::string& a :
           {std::string("--cluster-enabled"), std::string("yes"), std::string("--cluster-port"),
            std::to_string(server->bus_port_), std::string("--cluster-config-file"),
            server->dir_.Join("nodes.conf"), std::string("--cluster-node-timeout"),
            std::string("5000")}) {
        args.push_back(a);
      }
    }
    if (!options.password.empty()) {
      args.push_back("--requirepass");
      args.push_back(options.password);
    }
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    const pid_t pid = fork();
    if (pid < 0) return Status::IOError("fork failed");
    if (pid == 0) {
      // Dies with the test process, even when that one crashes.
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      execv(argv[0], argv.data());
      _exit(127);
    }
    server->pid_ = pid;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    bool up = false;
    bool exited = false;
    while (std::chrono::steady_clock::now() < deadline) {
      int status = 0;
      if (waitpid(pid, &status, WNOHANG) == pid) {
        exited = true;
        server->pid_ = -1;
        break;
      }
      if (Answers(server->port_)) {
        up = true;
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    if (up) return server;
    last_error = std::string(exited ? "redis-server exited" : "redis-server did not answer") +
                 " on 127.0.0.1:" + std::to_string(server->port_) +
                 "; its log: " + ReadFileText(server->LogPath());
    // The destructor stops it; try another port.
  }
  return Status::IOError("cannot start " + binary + ": " + last_error);
}

RedisServer::~RedisServer() {
  if (pid_ <= 0) return;
  kill(pid_, SIGTERM);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  kill(pid_, SIGKILL);
  int status = 0;
  waitpid(pid_, &status, 0);
}

RedisServer* RedisServer::Shared(std::string* error) {
  static std::mutex mu;
  static std::unique_ptr<RedisServer> server;  // stopped by static destruction
  static std::string start_error;
  std::lock_guard lock(mu);
  if (server == nullptr && start_error.empty()) {
    auto started = Start();
    if (started.ok()) {
      server = std::move(started).value();
    } else {
      start_error = started.status().ToString();
    }
  }
  if (server == nullptr) *error = start_error;
  return server.get();
}

Result<std::unique_ptr<RedisCluster>> RedisCluster::Start(int nodes) {
  std::unique_ptr<RedisCluster> cluster(new RedisCluster);
  for (int i = 0; i < nodes; ++i) {
    RedisServerOptions options;
    options.cluster = true;
    auto server = RedisServer::Start(options);
    if (!server.ok()) return server.status();
    cluster->servers_.push_back(std::move(server).value());
  }
  constexpr int kSlots = 16384;
  for (int i = 0; i < nodes; ++i) {
    const int lo = kSlots * i / nodes;
    const int hi = kSlots * (i + 1) / nodes - 1;
    std::string r = cluster->servers_[static_cast<size_t>(i)]->Call(
        "CLUSTER ADDSLOTSRANGE " + std::to_string(lo) + " " + std::to_string(hi));
    if (r != "+OK\r\n") return Status::IOError("CLUSTER ADDSLOTSRANGE failed: " + r);
  }
  for (int i = 1; i < nodes; ++i) {
    const RedisServer& s = *cluster->servers_[static_cast<size_t>(i)];
    std::string r = cluster->servers_[0]->Call("CLUSTER MEET 127.0.0.1 " +
                                               std::to_string(s.port()) + " " +
                                               std::to_string(s.bus_port()));
    if (r != "+OK\r\n") return Status::IOError("CLUSTER MEET failed: " + r);
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (true) {
    bool ok = true;
    for (const auto& s : cluster->servers_) {
      ok = ok && s->Call("CLUSTER INFO").find("cluster_state:ok") != std::string::npos;
    }
    // Every node must also know every other node's slots.
    for (const auto& s : cluster->servers_) {
      const std::string nodes_text = s->Call("CLUSTER NODES");
      for (const auto& other : cluster->servers_) {
        ok = ok && nodes_text.find(":" + std::to_string(other->port()) + "@") != std::string::npos;
      }
    }
    if (ok) break;
    if (std::chrono::steady_clock::now() > deadline) {
      return Status::IOError("the test Redis cluster did not reach cluster_state:ok in 30 s");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return cluster;
}

std::string RedisCluster::Seeds() const {
  std::string s;
  for (const auto& server : servers_) {
    s += (s.empty() ? "" : ",") + server->host() + ":" + std::to_string(server->port());
  }
  return s;
}

std::string RedisCluster::NodeId(size_t i) const {
  const std::string r = servers_[i]->Call("CLUSTER MYID");  // "$40\r\n<id>\r\n"
  const size_t start = r.find('\n');
  if (start == std::string::npos) return "";
  const size_t end = r.find('\r', start + 1);
  return r.substr(start + 1, end - start - 1);
}

}  // namespace larder::testing
