// A real kinesalite (a Kinesis-compatible server on Node.js) for tests:
// started on a free loopback port with its in-memory store, streams created,
// updated and deleted at once, and stopped on destruction.
//
//   auto server = KinesaliteServer::Start();
//   ASSERT_TRUE(server.ok()) << server.status().ToString();
//   options.endpoint_url = (*server)->endpoint_url();
//
// kinesalite is installed by scripts/bootstrap.sh into
// third_party/node/node_modules/kinesalite and run with `node` from PATH
// through tests/support/kinesalite_launcher.js (which listens on 127.0.0.1
// only and survives clients that disconnect mid-request). When node or the
// package is missing, Start fails with a message saying how to install it:
// tests that need Kinesis fail, they never skip.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>

#include "larder/status.h"
#include "support/test_util.h"

namespace larder::testing {

class KinesaliteServer {
 public:
  // Starts a server and waits (up to 20 s) until it answers HTTP. Retries on
  // another port when the chosen one was taken meanwhile.
  [[nodiscard]] static Result<std::unique_ptr<KinesaliteServer>> Start();

  // The same, serving HTTPS with the PEM key and certificate given
  // (endpoint_url() is then https://...). Waits until a TCP connection is
  // accepted.
  [[nodiscard]] static Result<std::unique_ptr<KinesaliteServer>> StartTls(
      const std::string& key_file, const std::string& cert_file);

  // Stops the server: SIGTERM, then SIGKILL after 5 s.
  ~KinesaliteServer();
  KinesaliteServer(const KinesaliteServer&) = delete;
  KinesaliteServer& operator=(const KinesaliteServer&) = delete;

  int port() const { return port_; }
  // "http://127.0.0.1:<port>" (https:// when serving TLS).
  std::string endpoint_url() const {
    return (tls_ ? "https://127.0.0.1:" : "http://127.0.0.1:") + std::to_string(port_);
  }
  // The server's output (stdout and stderr), for failure messages.
  std::string LogPath() const { return dir_.Join("kinesalite.log"); }

  // One server shared by every test of this process that asks for it,
  // started on first use and stopped at exit. Null (with `*error` set) when
  // it cannot start.
  static KinesaliteServer* Shared(std::string* error);

 private:
  KinesaliteServer() = default;

  static Result<std::unique_ptr<KinesaliteServer>> StartWith(const std::string& key_file,
                                                              const std::string& cert_file);

  TempDir dir_;
  bool tls_ = false;
  int port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace larder::testing
