// A fixture for tests of `larder serve`: the book-recommendation example at a
// small scale, materialized, and the real binary serving it on a free port.
#pragma once

#include <gtest/gtest.h>
#include <sys/types.h>

#include <memory>
#include <string>

#include "online/dynamodb/http_client.h"
#include "support/test_util.h"

namespace larder::testing {

// True when GET /health on the port answers 200.
bool Healthy(int port);

// Sends `method path` with `headers` ("Name: value\r\n" lines) on a fresh
// connection that the server closes after answering; returns the status
// (0 on a transport error) and the body.
struct RawResponse {
  int status = 0;
  std::string body;
};
RawResponse RawRequest(int port, const std::string& method, const std::string& path,
                       const std::string& headers = "", const std::string& body = "");

// Sends `head` (a request line and headers, maybe part of a body) on a
// fresh connection and returns all the server sends back until it ends the
// connection or 5 s pass without a byte ("" when nothing accepts).
std::string ReplyToHead(int port, const std::string& head);

class ServeFixture : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  // Starts `larder serve` on a free port and waits until it is healthy. The
  // server holds the RocksDB store: `larder online` cannot run meanwhile.
  void StartServer();
  // Stops the server with SIGTERM and waits for it.
  void StopServer();

  // POSTs `body` as JSON with the extra `headers`.
  online::HttpResponse Post(const std::string& path, const std::string& body,
                            const online::HttpHeaders& headers = {});

  TempDir tmp_;
  std::string repo_;
  std::string c_;  // "-c <repo> "
  int port_ = 0;
  pid_t pid_ = -1;
  std::unique_ptr<online::HttpClient> client_;
};

}  // namespace larder::testing
