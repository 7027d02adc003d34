// A scripted HTTP server for client tests (the dynamodb online store, the
// Kinesis client).
#pragma once

#include <atomic>
#include <string>
#include <thread>
#include <vector>

namespace larder::testing {

// An HTTP server on a loopback port that answers each request with the next
// scripted response, whatever it asks, and records the requests' targets
// and bodies. For what a real server will not do on demand: throttle, fail,
// leave keys unprocessed, close kept-alive connections.
class ScriptedServer {
 public:
  struct Response {
    int status = 200;
    std::string body = "{}";
    bool chunked = false;
  };
  struct Request {
    std::string target;  // X-Amz-Target
    std::string body;
  };

  // `close_each`: close every connection after one response (without
  // saying so), as a server whose keep-alive timeout passed.
  explicit ScriptedServer(std::vector<Response> script, bool close_each = false);
  ~ScriptedServer();
  ScriptedServer(const ScriptedServer&) = delete;
  ScriptedServer& operator=(const ScriptedServer&) = delete;

  std::string endpoint_url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  const std::vector<Request>& requests() const { return requests_; }  // after the calls
  int connections() const { return connections_; }

 private:
  void Serve();

  std::vector<Response> script_;
  bool close_each_;
  size_t next_ = 0;
  std::vector<Request> requests_;
  std::atomic<int> connections_{0};
  int fd_ = -1;
  int port_ = 0;
  std::thread thread_;
};

}  // namespace larder::testing
