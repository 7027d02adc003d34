// HttpServer: a small HTTP/1.1 server on Boost.Beast for the feature server.
//
//   HttpServerOptions options;
//   options.port = 6566;
//   auto server = HttpServer::Start(options, [](const HttpRequest& r) { ... });
//   ...
//   (*server)->Stop();   // stop accepting, finish in-flight requests, join
//
// Keep-alive connections; each request is read with a deadline (a slow or
// stalled client is dropped after options.read_timeout, without holding a
// worker: reads are asynchronous) and a body limit (a larger body gets 413
// and the connection is closed). With tls_cert_file and tls_key_file the
// port speaks HTTPS only (TLS 1.2 or newer); the handshake has the same
// deadline as a request.
//
// Connections are capped (max_connections): at the cap, a new connection
// closes the one of its worker that has waited longest for a request, or is
// refused (closed at once) when all of them are busy. When the process is
// out of file descriptors, accepting pauses briefly instead of retrying at
// once. Request bodies, and what handlers parse them into (RequestMemory),
// share one memory budget (max_inflight_bytes); a request that does not fit
// gets 503. check_head sees a request's head before its body is read.
//
// Threading: `workers` threads, each running its own event loop; accepted
// connections are dealt to them in turn, and a connection stays on its
// worker. The handler is called synchronously on a worker, so it must be
// thread-safe, and a slow handler delays the other connections of the same
// worker (not those of the others); handlers that may take seconds are
// moved off the workers by options.runs_long.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "larder/status.h"
#include "server/request_memory.h"

namespace larder::server {

struct HttpRequest {
  std::string method;  // "GET", "POST", ...
  std::string target;  // "/get-online-features" (with any query string)
  std::string body;
  // The Authorization header's value ("Bearer <token>"), empty when absent.
  // A request with two Authorization headers is refused with 400.
  std::string authorization;
  std::string request_id;  // unique per request in this process, for logs
  // The request's share of the memory budget; the handler takes from it
  // what parsing the body costs. Never null in a handler called by
  // HttpServer.
  RequestMemory* memory = nullptr;
};

struct HttpResponse {
  int status = 200;
  std::string body;
  std::string content_type = "application/json";
};

using HttpHandler = std::function<HttpResponse(const HttpRequest&)>;

// Counts what the server refused or closed on its own; rendered by
// ServerMetrics. Relaxed atomics: read them for monitoring only.
struct HttpServerCounters {
  std::atomic<int64_t> connections_open{0};
  // New connections closed at once: the cap was reached and no connection
  // of their worker was idle.
  std::atomic<uint64_t> refused_max_connections{0};
  // Accepts that failed for want of file descriptors (EMFILE, ENFILE,
  // ENOBUFS, ENOMEM); each one pauses accepting for a moment.
  std::atomic<uint64_t> accept_out_of_fds{0};
  // Idle connections closed to make room for a new one at the cap.
  std::atomic<uint64_t> idle_closed{0};
  // Requests answered 503 because the in-flight memory budget was used up,
  // and 413 because one request alone would pass its cap.
  std::atomic<uint64_t> memory_busy{0};
  std::atomic<uint64_t> memory_too_large{0};
};

// The default of HttpServerOptions::max_connections: half the soft limit on
// open files (RLIMIT_NOFILE; at least 1), leaving the other half to the
// stores, logs and TLS files.
size_t DefaultMaxConnections();

// The body of every error response: {"error": "<message>"} (invalid UTF-8
// in the message replaced).
std::string JsonErrorBody(std::string_view message);

struct HttpServerOptions {
  // Address to listen on. Default: 127.0.0.1 (loopback only).
  std::string host = "127.0.0.1";
  // 0 picks a free port (see HttpServer::port()). Default: 6566, Feast's.
  int port = 6566;
  // Worker threads. Default: 0 = one per hardware thread.
  int workers = 0;
  // Largest request body accepted. Default: 16 MiB.
  size_t max_body_bytes = 16u << 20;
  // Most connections open at once, at most the soft limit on open files.
  // See the top of this file for what happens at the cap. Default: 0 =
  // DefaultMaxConnections().
  size_t max_connections = 0;
  // Bytes of request bodies, and of what handlers parse them into, held at
  // once by all requests (RequestMemory). One request may hold at most
  // half; so it must be at least 2 * max_body_bytes. Default: 0 =
  // max(128 MiB, 4 * max_body_bytes).
  size_t max_inflight_bytes = 0;
  // Longest wait for a whole request on a connection (headers and body),
  // counted from the start of the request, however slowly it trickles in;
  // also the longest wait for a TLS handshake and for the client to take a
  // response. The connection is closed when it passes (checked every
  // read_timeout/10, at most every second). Default: 30 s.
  std::chrono::milliseconds read_timeout{30'000};
  // PEM files of the TLS certificate (chain) and its private key. Both set:
  // the port speaks HTTPS only; both empty (the default): plain HTTP. One
  // without the other, or a file that cannot be read or used, makes Start
  // fail with InvalidArgument naming the option or the path.
  std::string tls_cert_file;
  std::string tls_key_file;
  // Picks, by path (no query string), the requests whose handler may run
  // long (seconds: a materialization). Those run on a small pool of their
  // own threads, so that the worker's other connections are not held up;
  // Stop waits for them. Empty (the default): every handler runs on its
  // worker.
  std::function<bool(std::string_view path)> runs_long;
  // Called with a request's head (method, target, authorization; body
  // empty, memory null) once its headers are read, before the body is:
  // a response returned is sent instead of reading the body and calling
  // the handler, and the connection is then closed. May be empty.
  std::function<std::optional<HttpResponse>(const HttpRequest& head)> check_head;
  // Where the server counts refusals; not owned, must outlive the server;
  // may be null.
  HttpServerCounters* counters = nullptr;
  // Called with one line per event (request done, error); may be empty.
  std::function<void(const std::string&)> log;
};

class HttpServer {
 public:
  // Binds, listens and starts the workers. IOError naming host:port when
  // the address cannot be bound; InvalidArgument for a bad host or TLS
  // option (see HttpServerOptions).
  [[nodiscard]] static Result<std::unique_ptr<HttpServer>> Start(HttpServerOptions options,
                                                                 HttpHandler handler);
  // Stops (as Stop()).
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // The port listened on.
  int port() const;

  // Stops accepting, lets requests being handled finish and their responses
  // go out, closes idle connections, and joins the workers. Idempotent.
  void Stop();

 private:
  struct Impl;
  explicit HttpServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace larder::server
