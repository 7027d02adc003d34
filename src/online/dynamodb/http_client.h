// A small blocking HTTP/1.1 client over POSIX sockets, with TLS through
// OpenSSL for https:// URLs, for the JSON APIs of AWS (DynamoDB, Kinesis).
// TLS connections verify the server's certificate chain (the system's CAs,
// or the options' ca_file) and its name (SNI and host name check), TLS 1.2
// or newer.
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

#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "larder/status.h"

namespace larder::online {

// A parsed http(s)://host[:port] URL. A path after the authority is kept.
struct HttpUrl {
  std::string host;
  int port = 80;  // 443 for https without a port
  bool tls = false;
  std::string path = "/";
  // "host:port", for messages.
  std::string Address() const { return host + ":" + std::to_string(port); }
  // The Host header: "host" for the scheme's default port, else "host:port".
  std::string HostHeader() const;
};

// InvalidArgument for anything but http(s)://host[:port][/path].
[[nodiscard]] Result<HttpUrl> ParseHttpUrl(std::string_view url);

struct HttpClientOptions {
  // Time to establish a TCP connection. Default: 5000 ms.
  int connect_timeout_ms = 5000;
  // Longest wait for the next bytes of a response (and to send a request).
  // Default: 60000 ms.
  int io_timeout_ms = 60000;
  // Idle connections kept for reuse; more are closed. Default: 64.
  size_t max_idle = 64;
  // https: a PEM file of the certificate authorities to trust, in place of
  // the system's (AWS's AWS_CA_BUNDLE). Empty: the system's.
  std::string ca_file;
};

// The CA bundle that AWS clients trust besides the system's: $AWS_CA_BUNDLE,
// or "".
std::string AwsCaBundle();

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
  // HTTP status is a response; only transport failures (connect, TLS
  // handshake or verification, send, timeout, malformed response) are
  // IOError.
  [[nodiscard]] Result<HttpResponse> Post(std::string_view path, const HttpHeaders& headers,
                                          std::string_view body);

  const HttpUrl& url() const { return url_; }

 private:
  struct Tls;
  struct Connection;

  Result<Connection> Connect() const;
  Status Handshake(const Tls& tls, Connection& conn) const;
  Status Error(std::string_view what, std::string_view detail) const;

  const HttpUrl url_;
  const HttpClientOptions options_;
  std::unique_ptr<Tls> tls_;  // for https: the TLS context, or its setup error
  std::mutex mu_;
  std::vector<Connection> idle_;  // guarded by mu_
};

}  // namespace larder::online
