// A real dynalite (a DynamoDB-compatible server on Node.js) for tests:
// started on a free loopback port with its in-memory store and instant
// table creation and deletion, and stopped on destruction.
//
//   auto server = DynaliteServer::Start();
//   ASSERT_TRUE(server.ok()) << server.status().ToString();
//   StoreConfig config{"dynamodb", {{"endpoint_url", (*server)->endpoint_url()}}};
//
// dynalite is installed by scripts/bootstrap.sh into
// third_party/node/node_modules/dynalite and run with `node` from PATH. When
// either is missing, Start fails with a message saying how to install it:
// tests that need DynamoDB fail, they never skip.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>

#include "larder/status.h"
#include "support/test_util.h"

namespace larder::testing {

class DynaliteServer {
 public:
  // Starts a server and waits (up to 20 s) until it answers HTTP. Retries on
  // another port when the chosen one was taken meanwhile.
  [[nodiscard]] static Result<std::unique_ptr<DynaliteServer>> Start();

  // Stops the server: SIGTERM, then SIGKILL after 5 s.
  ~DynaliteServer();
  DynaliteServer(const DynaliteServer&) = delete;
  DynaliteServer& operator=(const DynaliteServer&) = delete;

  int port() const { return port_; }
  // "http://127.0.0.1:<port>", for online_store.endpoint_url.
  std::string endpoint_url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  // The server's output (stdout and stderr), for failure messages.
  std::string LogPath() const { return dir_.Join("dynalite.log"); }

  // One server shared by every test of this process that asks for it,
  // started on first use and stopped at exit. Null (with `*error` set) when
  // it cannot start.
  static DynaliteServer* Shared(std::string* error);

  // Sets fake AWS credentials and a region in this process' environment
  // (dynalite checks the form of the signature, not its value), unless
  // credentials are already set.
  static void SetFakeCredentials();

 private:
  DynaliteServer() = default;

  TempDir dir_;
  int port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace larder::testing
