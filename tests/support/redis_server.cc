#include "support/redis_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <cstdlib>
#include <filesystem>
#include <thread>
#include <utility>
#include <vector>

#include "support/server_process.h"

namespace larder::testing {
namespace {

// True when something on the port answers a PING with a RESP reply (+PONG, or
// -NOAUTH when a password is required).
bool Answers(int port) {
  const int fd = ConnectLoopback(port, /*receive_timeout_seconds=*/1);
  if (fd < 0) return false;
  const char ping[] = "PING\r\n";
  bool ok = false;
  if (write(fd, ping, sizeof(ping) - 1) == static_cast<ssize_t>(sizeof(ping) - 1)) {
    char c = 0;
    ok = read(fd, &c, 1) == 1 && (c == '+' || c == '-');
  }
  close(fd);
  return ok;
}

}  // namespace

std::string RedisServer::Call(const std::string& inline_command) const {
  const int fd = ConnectLoopback(port_, /*receive_timeout_seconds=*/5);
  if (fd < 0) return "";
  std::string out;
  if (!password_.empty()) out += "AUTH " + password_ + "\r\n";
  out += inline_command + "\r\n";
  std::string reply;
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
  close(fd);
  return reply;
}

int RedisServer::FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return 0;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = 0;  // the kernel picks
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
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
  const std::string binary =
      FindExecutable("redis-server", {"/usr/bin", "/usr/sbin", "/usr/local/bin"});
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
    LARDER_ASSIGN_OR_RETURN(server->pid_, SpawnProcess(std::move(args), /*output_log=*/""));
    const WaitOutcome outcome = WaitUntilAnswering(
        server->pid_, [&] { return Answers(server->port_); }, std::chrono::seconds(10));
    if (outcome == WaitOutcome::kAnswering) return server;
    if (outcome == WaitOutcome::kExited) server->pid_ = -1;  // reaped already
    last_error = std::string(outcome == WaitOutcome::kExited ? "redis-server exited"
                                                             : "redis-server did not answer") +
                 " on 127.0.0.1:" + std::to_string(server->port_) +
                 "; its log: " + ReadFileText(server->LogPath());
    // The destructor stops it; try another port.
  }
  return Status::IOError("cannot start " + binary + ": " + last_error);
}

RedisServer::~RedisServer() { StopProcess(pid_); }

RedisServer* RedisServer::Shared(std::string* error) { return SharedServer<RedisServer>(error); }

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
