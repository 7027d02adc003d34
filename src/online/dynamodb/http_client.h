// A small blocking HTTP/1.1 client over POSIX sockets, for the JSON APIs of
// the dynamodb online store. Plain http:// only: there is no TLS (an https://
// URL is refused with a message saying so).
//
//   auto url = ParseHttpUrl("http://127.0.0.1:8000");
//   HttpClient client(*url, {});
//   auto response = client.Post("/", {{"Content-Type", "application/json"}}, body);
//
// Requests carry a Content-Length body; responses may use Content-Length,
// chunked transfer encoding, or end at connection close. Connections are
// kept alive and pooled: a call takes an idle connection (or opens one) and
// gives it back when the response was complete and the server did not ask to
// close. A pooled connection that the server closed meanwhile is detected
// (no response byte before EOF or a reset) and the request is sent once more
// on a fresh connection.
//
// Thread safety: Post may be called from many threads at once; each call
// uses its own connection. Errors are IOError naming host:port.
#pragma once

#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "larder/status.h"

namespace larder::online {

// A parsed http://host[:port] URL. A path after the authority is kept.
struct HttpUrl {
  std::string host;
  int port = 80;
  std::string path = "/";
  // "host:port", for messages.
  std::string Address() const { return host + ":" + std::to_string(port); }
  // The Host header: "host" for port 80, else "host:port".
  std::string HostHeader() const;
};

// InvalidArgument for anything but http://host[:port][/path] (https://
// included, with a message that TLS is not supported).
[[nodiscard]] Result<HttpUrl> ParseHttpUrl(std::string_view url);

struct HttpClientOptions {
  // Time to establish a TCP connection. Default: 5000 ms.
  int connect_timeout_ms = 5000;
  // Longest wait for the next bytes of a response (and to send a request).
  // Default: 60000 ms.
  int io_timeout_ms = 60000;
  // Idle connections kept for reuse; more are closed. Default: 64.
  size_t max_idle = 64;
};

using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

struct HttpResponse {
  int status = 0;
  HttpHeaders headers;  // names as sent by the server
  std::string body;
  // The first header named `name` (case-insensitive); "" when absent.
  std::string_view Header(std::string_view name) const;
};

class HttpClient {
 public:
  HttpClient(HttpUrl url, HttpClientOptions options);
  ~HttpClient();  // closes the idle connections
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Sends POST `path` with `headers` (Host is added when missing;
  // Content-Length always) and `body`, and reads the whole response. Any
  // HTTP status is a response; only transport failures (connect, send,
  // timeout, malformed response) are IOError.
  [[nodiscard]] Result<HttpResponse> Post(std::string_view path, const HttpHeaders& headers,
                                          std::string_view body);

  const HttpUrl& url() const { return url_; }

 private:
  Result<int> Connect() const;
  Status Error(std::string_view what, std::string_view detail) const;

  const HttpUrl url_;
  const HttpClientOptions options_;
  std::mutex mu_;
  std::vector<int> idle_;  // guarded by mu_
};

}  // namespace larder::online
