#include "support/dynalite_server.h"

#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

#include "support/redis_server.h"
#include "support/server_process.h"

namespace larder::testing {

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
  const std::string node = FindExecutable("node", {"/usr/bin", "/usr/local/bin"});
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
    LARDER_ASSIGN_OR_RETURN(server->pid_, SpawnProcess(std::move(args), server->LogPath()));
    const WaitOutcome outcome = WaitUntilAnswering(
        server->pid_, [&] { return AnswersHttp(server->port_); }, std::chrono::seconds(20));
    if (outcome == WaitOutcome::kAnswering) return server;
    if (outcome == WaitOutcome::kExited) server->pid_ = -1;  // reaped already
    last_error = std::string(outcome == WaitOutcome::kExited ? "dynalite exited"
                                                             : "dynalite did not answer") +
                 " on 127.0.0.1:" + std::to_string(server->port_) +
                 "; its output: " + ReadFileText(server->LogPath());
    // The destructor stops it; try another port.
  }
  return Status::IOError("cannot start " + node + " " + cli + ": " + last_error);
}

DynaliteServer::~DynaliteServer() { StopProcess(pid_); }

DynaliteServer* DynaliteServer::Shared(std::string* error) {
  return SharedServer<DynaliteServer>(error);
}

}  // namespace larder::testing
