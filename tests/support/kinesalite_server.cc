#include "support/kinesalite_server.h"

#include <unistd.h>

#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "support/redis_server.h"
#include "support/server_process.h"

namespace larder::testing {

Result<std::unique_ptr<KinesaliteServer>> KinesaliteServer::Start() { return StartWith("", ""); }

Result<std::unique_ptr<KinesaliteServer>> KinesaliteServer::StartTls(const std::string& key_file,
                                                                     const std::string& cert_file) {
  return StartWith(key_file, cert_file);
}

Result<std::unique_ptr<KinesaliteServer>> KinesaliteServer::StartWith(
    const std::string& key_file, const std::string& cert_file) {
  const std::string module = SourceDir() + "/third_party/node/node_modules/kinesalite";
  const std::string launcher = SourceDir() + "/tests/support/kinesalite_launcher.js";
  if (access((module + "/index.js").c_str(), R_OK) != 0) {
    return Status::FailedPrecondition(
        "kinesalite is not installed (" + module +
        "/index.js is missing); the Kinesis client tests need it: run scripts/bootstrap.sh");
  }
  const std::string node = FindExecutable("node", {"/usr/bin", "/usr/local/bin"});
  if (node.empty()) {
    return Status::FailedPrecondition(
        "node is not installed (looked on PATH, /usr/bin, /usr/local/bin); kinesalite needs "
        "Node.js: see scripts/bootstrap.sh");
  }
  std::string last_error;
  for (int attempt = 0; attempt < 5; ++attempt) {
    std::unique_ptr<KinesaliteServer> server(new KinesaliteServer);
    server->port_ = RedisServer::FreePort();
    if (server->port_ == 0) return Status::IOError("cannot find a free loopback port");
    std::vector<std::string> args = {node, launcher, module, std::to_string(server->port_)};
    server->tls_ = !key_file.empty();
    if (server->tls_) {
      args.push_back(key_file);
      args.push_back(cert_file);
    }
    LARDER_ASSIGN_OR_RETURN(server->pid_, SpawnProcess(std::move(args), server->LogPath()));
    const WaitOutcome outcome = WaitUntilAnswering(
        server->pid_,
        [&] {
          if (!server->tls_) return AnswersHttp(server->port_);
          const int fd = ConnectLoopback(server->port_, 1);
          if (fd >= 0) ::close(fd);
          return fd >= 0;
        },
        std::chrono::seconds(20));
    if (outcome == WaitOutcome::kAnswering) return server;
    if (outcome == WaitOutcome::kExited) server->pid_ = -1;  // reaped already
    last_error = std::string(outcome == WaitOutcome::kExited ? "kinesalite exited"
                                                             : "kinesalite did not answer") +
                 " on 127.0.0.1:" + std::to_string(server->port_) +
                 "; its output: " + ReadFileText(server->LogPath());
    // The destructor stops it; try another port.
  }
  return Status::IOError("cannot start " + node + " " + launcher + ": " + last_error);
}

KinesaliteServer::~KinesaliteServer() { StopProcess(pid_); }

KinesaliteServer* KinesaliteServer::Shared(std::string* error) {
  return SharedServer<KinesaliteServer>(error);
}

}  // namespace larder::testing
