#include "support/dynalite_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <mutex>
#include <sstream>
#include <thread>
#include <vector>

#include "support/redis_server.h"

namespace larder::testing {
namespace {

std::string FindOnPath(const std::string& name) {
  std::vector<std::string> dirs;
  if (const char* path = std::getenv("PATH")) {
    std::stringstream ss(path);
    std::string d;
    while (std::getline(ss, d, ':')) {
      if (!d.empty()) dirs.push_back(d);
    }
  }
  dirs.push_back("/usr/bin");
  dirs.push_back("/usr/local/bin");
  for (const std::string& d : dirs) {
    std::string p = d + "/" + name;
    if (access(p.c_str(), X_OK) == 0) return p;
  }
  return "";
}

// True when something on the port answers an HTTP request with a status line.
bool Answers(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok = false;
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) {
    timeval tv{1, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    const char request[] = "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    if (write(fd, request, sizeof(request) - 1) == static_cast<ssize_t>(sizeof(request) - 1)) {
      char buf[5] = {};
      ok = read(fd, buf, sizeof(buf)) == 5 && std::string(buf, 5) == "HTTP/";
    }
  }
  close(fd);
  return ok;
}

}  // namespace

void DynaliteServer::SetFakeCredentials() {
  setenv("AWS_ACCESS_KEY_ID", "AKIDLARDERTEST", /*overwrite=*/0);
  setenv("AWS_SECRET_ACCESS_KEY", "larder-test-secret", 0);
  setenv("AWS_REGION", "us-east-1", 0);
}

Result<std::unique_ptr<DynaliteServer>> DynaliteServer::Start() {
  const std::string cli = SourceDir() + "/third_party/node/node_modules/dynalite/cli.js";
  if (access(cli.c_str(), R_OK) != 0) {
    return Status::FailedPrecondition(
        "dynalite is not installed (" + cli +
        " is missing); the dynamodb online store tests need it: run scripts/bootstrap.sh");
  }
  const std::string node = FindOnPath("node");
  if (node.empty()) {
    return Status::FailedPrecondition(
        "node is not installed (looked on PATH, /usr/bin, /usr/local/bin); dynalite needs "
        "Node.js >= 20: see scripts/bootstrap.sh");
  }
  std::string last_error;
  for (int attempt = 0; attempt < 5; ++attempt) {
    std::unique_ptr<DynaliteServer> server(new DynaliteServer);
    server->port_ = RedisServer::FreePort();
    if (server->port_ == 0) return Status::IOError("cannot find a free loopback port");
    std::vector<std::string> args = {node,
                                     cli,
                                     "--host", "127.0.0.1",
                                     "--port", std::to_string(server->port_),
                                     "--createTableMs", "0",
                                     "--deleteTableMs", "0",
                                     "--updateTableMs", "0"};
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    const std::string log = server->LogPath();
    const pid_t pid = fork();
    if (pid < 0) return Status::IOError("fork failed");
    if (pid == 0) {
      // Dies with the test process, even when that one crashes.
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      const int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      if (fd >= 0) {
        dup2(fd, 1);
        dup2(fd, 2);
        close(fd);
      }
      execv(argv[0], argv.data());
      _exit(127);
    }
    server->pid_ = pid;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
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
    last_error = std::string(exited ? "dynalite exited" : "dynalite did not answer") +
                 " on 127.0.0.1:" + std::to_string(server->port_) +
                 "; its output: " + ReadFileText(server->LogPath());
    // The destructor stops it; try another port.
  }
  return Status::IOError("cannot start " + node + " " + cli + ": " + last_error);
}

DynaliteServer::~DynaliteServer() {
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

DynaliteServer* DynaliteServer::Shared(std::string* error) {
  static std::mutex mu;
  static std::unique_ptr<DynaliteServer> server;  // stopped by static destruction
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

}  // namespace larder::testing
