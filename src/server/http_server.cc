#include "server/http_server.h"

#include <openssl/ssl.h>
#include <sys/resource.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <cerrno>
#include <charconv>
#include <fstream>
#include <limits>
#include <list>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>
#include <type_traits>
#include <vector>

namespace larder::server {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

constexpr uint32_t kHeaderLimit = 64 * 1024;
// Longest time a refused request's connection is drained (Session::Drain).
constexpr auto kDrainTime = std::chrono::seconds(5);
// How long accepting pauses after it failed for want of file descriptors.
constexpr auto kAcceptBackoff = std::chrono::milliseconds(100);
// A request body's string, and the read buffer, keep their capacity for the
// connection's next request only up to this size; larger ones are freed.
constexpr size_t kKeptBodyCapacity = 64 * 1024;
// Threads for handlers that run long (HttpServerOptions::runs_long): two, so
// that one long request does not queue another behind it.
constexpr int kLongHandlerThreads = 2;

// Appends the decimal digits of `n`.
void AppendNumber(std::string& out, uint64_t n) {
  char digits[24];
  const auto end = std::to_chars(digits, digits + sizeof digits, n).ptr;
  out.append(digits, end);
}

// Parses one request straight into an HttpRequest: the method, the target,
// the Authorization header and the body, nothing else (Beast's own
// request_parser would allocate every header field). Content-Length,
// chunked bodies, keep-alive and the limits are basic_parser's.
//
// Once the headers are in, before any of the body is taken, it asks
// `check_head` (when set) and takes the body's length from `memory`; a
// refusal stops the parse, with the response to send in refusal().
class RequestParser : public http::basic_parser<true> {
 public:
  using HeadCheck = std::function<std::optional<HttpResponse>(const HttpRequest&)>;

  RequestParser(HttpRequest* request, const HeadCheck* check_head, RequestMemory* memory)
      : request_(request), check_head_(check_head), memory_(memory) {}

  unsigned version() const { return version_; }
  // The response that stopped the parse, if one did.
  std::optional<HttpResponse>& refusal() { return refusal_; }
  // kGranted unless the memory budget refused the body.
  RequestMemory::Grant memory_refusal() const { return memory_refusal_; }

 private:
  void on_request_impl(http::verb, beast::string_view method, beast::string_view target,
                       int version, beast::error_code&) override {
    request_->method.assign(method.data(), method.size());
    request_->target.assign(target.data(), target.size());
    version_ = static_cast<unsigned>(version);
  }

  void on_response_impl(int, beast::string_view, int, beast::error_code& ec) override {
    ec = http::error::bad_version;  // unreachable for a request parser
  }

  void on_field_impl(http::field name, beast::string_view, beast::string_view value,
                     beast::error_code& ec) override {
    if (name != http::field::authorization) return;
    if (seen_authorization_) {
      ec = http::error::bad_field;
      return;
    }
    seen_authorization_ = true;
    request_->authorization.assign(value.data(), value.size());
  }

  void on_header_impl(beast::error_code& ec) override {
    if (check_head_ != nullptr && *check_head_) {
      if (std::optional<HttpResponse> response = (*check_head_)(*request_)) {
        refusal_ = std::move(response);
        ec = http::error::bad_value;
        return;
      }
    }
    // The length was already checked against the body limit.
    const boost::optional<uint64_t> length = content_length();
    if (length && *length > 0) Take(static_cast<size_t>(*length), ec);
  }

  void on_body_init_impl(const boost::optional<uint64_t>& content_length,
                         beast::error_code&) override {
    if (content_length) request_->body.reserve(static_cast<size_t>(*content_length));
  }

  // Takes `bytes` of the memory budget, or refuses the request.
  void Take(size_t bytes, beast::error_code& ec) {
    memory_refusal_ = memory_->Take(bytes);
    switch (memory_refusal_) {
      case RequestMemory::Grant::kGranted:
        return;
      case RequestMemory::Grant::kTooLarge:
        refusal_ = HttpResponse{413, JsonErrorBody("request body over the limit of " +
                                                   std::to_string(memory_->cap()) +
                                                   " bytes of memory per request")};
        break;
      case RequestMemory::Grant::kBusy:
        refusal_ = HttpResponse{
            503, JsonErrorBody("the server is holding its limit of " +
                               std::to_string(memory_->pool_limit()) +
                               " bytes of request bodies being read and parsed; retry later")};
        break;
    }
    ec = http::error::bad_value;
  }

  size_t on_body_impl(beast::string_view body, beast::error_code&) override {
    request_->body.append(body.data(), body.size());
    return body.size();
  }

  void on_chunk_header_impl(uint64_t, beast::string_view, beast::error_code&) override {}

  size_t on_chunk_body_impl(uint64_t, beast::string_view body, beast::error_code& ec) override {
    Take(body.size(), ec);
    if (ec) return 0;
    request_->body.append(body.data(), body.size());
    return body.size();
  }

  void on_finish_impl(beast::error_code&) override {}

  HttpRequest* request_;
  const HeadCheck* check_head_;
  RequestMemory* memory_;
  std::optional<HttpResponse> refusal_;
  RequestMemory::Grant memory_refusal_ = RequestMemory::Grant::kGranted;
  unsigned version_ = 11;
  bool seen_authorization_ = false;
};

// The TLS context for the options, or InvalidArgument naming what is wrong.
Result<std::unique_ptr<ssl::context>> MakeTlsContext(const HttpServerOptions& options) {
  if (options.tls_cert_file.empty() != options.tls_key_file.empty()) {
    return Status::InvalidArgument(
        options.tls_cert_file.empty()
            ? "tls_cert_file: missing (tls_key_file is set; give both or neither)"
            : "tls_key_file: missing (tls_cert_file is set; give both or neither)");
  }
  auto context = std::make_unique<ssl::context>(ssl::context::tls_server);
  context->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                       ssl::context::no_sslv3 | ssl::context::no_tlsv1 |
                       ssl::context::no_tlsv1_1 | ssl::context::single_dh_use);
  for (const std::string* path : {&options.tls_cert_file, &options.tls_key_file}) {
    if (!std::ifstream(*path).good()) {
      return Status::InvalidArgument("cannot read TLS file '" + *path + "'");
    }
  }
  beast::error_code ec;
  context->use_certificate_chain_file(options.tls_cert_file, ec);
  if (ec) {
    return Status::InvalidArgument("tls_cert_file '" + options.tls_cert_file +
                                   "': not a PEM certificate (" + ec.message() + ")");
  }
  context->use_private_key_file(options.tls_key_file, ssl::context::pem, ec);
  if (ec) {
    return Status::InvalidArgument("tls_key_file '" + options.tls_key_file +
                                   "': not a PEM private key (" + ec.message() + ")");
  }
  if (SSL_CTX_check_private_key(context->native_handle()) != 1) {
    return Status::InvalidArgument("tls_key_file '" + options.tls_key_file +
                                   "' does not match the certificate in '" +
                                   options.tls_cert_file + "'");
  }
  return context;
}

}  // namespace

size_t DefaultMaxConnections() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY) return 1 << 16;
  return std::max<size_t>(1, static_cast<size_t>(limit.rlim_cur) / 2);
}

std::string JsonErrorBody(std::string_view message) {
  return nlohmann::json{{"error", message}}.dump(-1, ' ', false,
                                                 nlohmann::json::error_handler_t::replace);
}

struct Worker;

// What a worker needs of its sessions. Every member is used on the worker's
// thread only.
struct SessionBase {
  virtual ~SessionBase() = default;
  // Closes the connection if it is waiting for (or reading) a request.
  virtual void CloseIfReading() = 0;
  // Closes the connection: its deadline has passed.
  virtual void Abort() = 0;
  // True while it waits for a request of which nothing has come yet.
  virtual bool Idle() const = 0;

  // When the pending handshake, read or write must be done by; max when
  // none is pending.
  Clock::time_point deadline = Clock::time_point::max();
  std::list<SessionBase*>::iterator position;  // in Worker::sessions
};

// Shared by the server, its workers and their sessions; read-only once the
// workers run, but for the atomics.
struct ServerState {
  HttpServerOptions options;
  HttpHandler handler;
  // Runs the handler for requests options.runs_long picks, off the workers'
  // event loops; null when runs_long is empty.
  std::unique_ptr<asio::thread_pool> long_pool;
  std::unique_ptr<ssl::context> tls;  // null for plain HTTP
  HttpServerCounters own_counters;     // used when options.counters is null
  HttpServerCounters* counters = &own_counters;
  size_t max_connections = 0;                   // options' or the default
  size_t max_inflight_bytes = 0;                // options' or the default
  std::atomic<size_t> inflight_bytes{0};        // held by RequestMemory
  std::atomic<uint64_t> next_request_id{1};
  std::atomic<bool> stopping{false};
};

// One thread with its own event loop and its connections. Nothing here is
// locked: everything but `io` (whose post is thread-safe) is touched on the
// worker's thread only, or after it has been joined.
struct Worker {
  explicit Worker(std::shared_ptr<ServerState> s) : state(std::move(s)) {
    const auto timeout = state->options.read_timeout;
    sweep_every = std::clamp<Clock::duration>(timeout / 10, std::chrono::milliseconds(1),
                                              std::chrono::seconds(1));
  }
  // Pending handlers (only after an abnormal stop) are destroyed with `io`
  // and may end sessions: they must not touch the timer by then.
  ~Worker() { destroying = true; }

  void Add(SessionBase* session) {
    sessions.push_front(session);
    session->position = sessions.begin();
  }

  void Remove(SessionBase* session) {
    sessions.erase(session->position);
    if (stopping && sessions.empty() && !destroying) sweeper.cancel();
  }

  // Closes the sessions whose deadline has passed, every sweep_every, until
  // the worker stops and has no sessions left (then run() returns).
  void Sweep() {
    if (stopping && sessions.empty()) return;
    sweeper.expires_after(sweep_every);
    sweeper.async_wait([this](beast::error_code ec) {
      if (ec == asio::error::operation_aborted && stopping) return;
      const Clock::time_point now = Clock::now();
      for (auto it = sessions.begin(); it != sessions.end();) {
        SessionBase* session = *it++;  // Abort may not end it at once, but may later
        if (session->deadline <= now) {
          session->deadline = Clock::time_point::max();
          session->Abort();
        }
      }
      Sweep();
    });
  }

  // Closes the connection that has waited longest for a request; false when
  // none is idle.
  bool CloseOneIdle() {
    for (auto it = sessions.rbegin(); it != sessions.rend(); ++it) {
      if ((*it)->Idle()) {
        (*it)->Abort();
        return true;
      }
    }
    return false;
  }

  // On the worker's thread: no more requests on kept-alive connections.
  void BeginStop() {
    stopping = true;
    for (auto it = sessions.begin(); it != sessions.end();) (*it++)->CloseIfReading();
    if (sessions.empty()) sweeper.cancel();
  }

  std::shared_ptr<ServerState> state;
  Clock::duration sweep_every;
  bool stopping = false;
  bool destroying = false;
  std::list<SessionBase*> sessions;  // declared before io: outlives its handlers
  asio::io_context io{1};
  asio::steady_timer sweeper{io};
  // Where sessions' Drain reads bytes to throw away (their reads run one at
  // a time on this thread, and the bytes are never looked at).
  std::array<char, 16384> scrap;
  std::thread thread;
};

namespace {

// One connection over Stream (tcp::socket, or beast::ssl_stream over one):
// [TLS handshake,] read a request, handle it, write the response, repeat
// while the client keeps the connection alive. Runs on its worker's thread.
template <typename Stream>
class Session : public SessionBase, public std::enable_shared_from_this<Session<Stream>> {
 public:
  static constexpr bool kTls = !std::is_same_v<Stream, tcp::socket>;

  Session(tcp::socket socket, Worker* worker)
      : stream_(MakeStream(std::move(socket), *worker->state)),
        worker_(worker),
        state_(worker->state.get()),
        memory_(&state_->inflight_bytes, state_->max_inflight_bytes,
                state_->max_inflight_bytes / 2) {
    worker_->Add(this);
  }
  // The accept loop counted the connection in before making the session.
  ~Session() override {
    worker_->Remove(this);
    state_->counters->connections_open.fetch_sub(1, std::memory_order_relaxed);
  }

  void Start() {
    beast::error_code ec;
    Socket().set_option(tcp::no_delay(true), ec);
    if constexpr (kTls) {
      deadline = Clock::now() + state_->options.read_timeout;
      reading_ = true;
      stream_.async_handshake(ssl::stream_base::server,
                              [self = this->shared_from_this()](beast::error_code e) {
                                self->reading_ = false;
                                self->deadline = Clock::time_point::max();
                                if (e) return self->Close();
                                self->Read();
                              });
    } else {
      Read();
    }
  }

  void CloseIfReading() override {
    if (reading_) Abort();
  }

  void Abort() override {
    aborted_ = true;
    beast::error_code ec;
    Socket().cancel(ec);
  }

  bool Idle() const override {
    return reading_ && !aborted_ && buffer_.size() == 0 &&
           (!parser_.has_value() || !parser_->got_some());
  }

 private:
  static Stream MakeStream(tcp::socket socket, ServerState& state) {
    if constexpr (kTls) {
      return Stream(std::move(socket), *state.tls);
    } else {
      (void)state;
      return socket;
    }
  }

  tcp::socket& Socket() { return beast::get_lowest_layer(stream_); }

  void Read() {
    if (worker_->stopping) return Close();
    request_.authorization.clear();
    request_.memory = nullptr;
    if (request_.body.capacity() > kKeptBodyCapacity) {
      std::string().swap(request_.body);
    } else {
      request_.body.clear();
    }
    if (buffer_.capacity() > kKeptBodyCapacity) buffer_.shrink_to_fit();
    parser_.emplace(&request_, &state_->options.check_head, &memory_);
    parser_->body_limit(state_->options.max_body_bytes);
    parser_->header_limit(kHeaderLimit);
    deadline = Clock::now() + state_->options.read_timeout;
    reading_ = true;
    http::async_read(stream_, buffer_, *parser_,
                     [self = this->shared_from_this()](beast::error_code ec, size_t) {
                       self->OnRead(ec);
                     });
  }

  void OnRead(beast::error_code ec) {
    reading_ = false;
    deadline = Clock::time_point::max();
    if (std::optional<HttpResponse>& refusal = parser_->refusal()) {
      // Refused from its head or for memory: the rest of the body is not
      // read, so the connection cannot go on.
      memory_.ReleaseAll();
      switch (parser_->memory_refusal()) {
        case RequestMemory::Grant::kBusy:
          state_->counters->memory_busy.fetch_add(1, std::memory_order_relaxed);
          break;
        case RequestMemory::Grant::kTooLarge:
          state_->counters->memory_too_large.fetch_add(1, std::memory_order_relaxed);
          break;
        case RequestMemory::Grant::kGranted:
          break;
      }
      response_ = std::move(*refusal);
      refusal.reset();
      return Reply(response_.status, std::move(response_.body), response_.content_type,
                   /*keep_alive=*/false, parser_->version(), /*drain=*/true);
    }
    if (ec == http::error::end_of_stream || ec == asio::error::operation_aborted ||
        ec == asio::error::connection_reset || ec == asio::error::eof ||
        ec == ssl::error::stream_truncated) {
      return Close();
    }
    if (ec == http::error::body_limit) {
      return Reply(413,
                   JsonErrorBody("request body over the limit of " +
                                 std::to_string(state_->options.max_body_bytes) + " bytes"),
                   "application/json", /*keep_alive=*/false, 11, /*drain=*/true);
    }
    if (ec) {
      return Reply(400, JsonErrorBody("malformed HTTP request: " + ec.message()),
                   "application/json", false, 11);
    }
    request_.request_id.clear();
    AppendNumber(request_.request_id, state_->next_request_id.fetch_add(1));
    const auto start = Clock::now();
    const std::string_view path =
        std::string_view(request_.target).substr(0, request_.target.find('?'));
    if (state_->long_pool != nullptr && state_->options.runs_long(path)) {
      // Off the event loop, so that this worker's other connections go on;
      // the work guard keeps the worker running (and Stop waiting) until
      // the response is back on its thread. The session does nothing else
      // meanwhile: no read is pending and its deadline is off.
      asio::post(*state_->long_pool, [self = this->shared_from_this(), start,
                                      guard = asio::make_work_guard(worker_->io)]() mutable {
        HttpResponse response = self->Call();
        asio::post(self->worker_->io, [self, start, guard = std::move(guard),
                                       response = std::move(response)]() mutable {
          self->response_ = std::move(response);
          self->Respond(start);
        });
      });
      return;
    }
    response_ = Call();
    Respond(start);
  }

  // The handler's response to request_; a throwing handler gives 500. The
  // request's memory is given back once the handler returns.
  HttpResponse Call() {
    request_.memory = &memory_;
    HttpResponse response;
    try {
      response = state_->handler(request_);
    } catch (const std::exception& e) {
      if (state_->options.log) {
        state_->options.log("request_id=" + request_.request_id + " internal error: " + e.what());
      }
      response = {500, JsonErrorBody("internal error; see the server log for request_id " +
                                     request_.request_id)};
    }
    request_.memory = nullptr;
    memory_.ReleaseAll();
    return response;
  }

  // Logs response_ and sends it.
  void Respond(Clock::time_point start) {
    if (state_->options.log) Log(std::chrono::duration<double, std::milli>(Clock::now() - start));
    Reply(response_.status, std::move(response_.body), response_.content_type,
          parser_->keep_alive(), parser_->version());
  }

  void Log(std::chrono::duration<double, std::milli> ms) {
    std::string line;
    line.reserve(64 + request_.target.size());
    line.append("request_id=").append(request_.request_id);
    line.append(" method=").append(request_.method);
    line.append(" path=").append(request_.target);
    line.append(" status=");
    AppendNumber(line, static_cast<uint64_t>(response_.status));
    // As std::to_string would write it ("%f"), without its vsnprintf.
    char digits[64];
    const auto end = std::to_chars(digits, digits + sizeof digits, ms.count(),
                                   std::chars_format::fixed, 6).ptr;
    line.append(" ms=").append(digits, end);
    state_->options.log(line);
  }

  // Writes the status line, the headers and the body with one write. With
  // `drain` (a request refused before its body was read), the connection
  // then ends as Drain says.
  void Reply(int status, std::string body, std::string_view content_type, bool keep_alive,
             unsigned version, bool drain = false) {
    keep_alive = keep_alive && !state_->stopping.load(std::memory_order_relaxed);
    body_ = std::move(body);
    header_.clear();
    header_.append(version == 10 ? "HTTP/1.0 " : "HTTP/1.1 ");
    AppendNumber(header_, static_cast<uint64_t>(status));
    header_.push_back(' ');
    const beast::string_view reason = http::obsolete_reason(static_cast<http::status>(status));
    header_.append(reason.data(), reason.size());
    header_.append("\r\nServer: larder\r\nContent-Type: ");
    header_.append(content_type);
    header_.append("\r\nContent-Length: ");
    AppendNumber(header_, body_.size());
    if (!keep_alive) {
      header_.append("\r\nConnection: close");
    } else if (version == 10) {
      header_.append("\r\nConnection: keep-alive");
    }
    header_.append("\r\n\r\n");
    const std::array<asio::const_buffer, 2> buffers{asio::buffer(header_), asio::buffer(body_)};
    deadline = Clock::now() + state_->options.read_timeout;
    asio::async_write(stream_, buffers,
                      [self = this->shared_from_this(), keep_alive, drain](
                          beast::error_code ec, size_t) {
                        self->deadline = Clock::time_point::max();
                        if (!ec && drain) return self->Drain();
                        if (ec || !keep_alive) return self->Close();
                        self->Read();
                      });
  }

  // Ends a connection whose request was refused while the client may still
  // be sending its body: the client gets end of stream after the response,
  // and what it still sends is read and thrown away (up to max_body_bytes,
  // for at most kDrainTime), so that a client that writes its whole body
  // before reading still reads the response instead of a reset. Holds no
  // memory beyond the worker's one scrap buffer.
  void Drain() {
    Close();
    reading_ = true;  // so that Stop ends it at once
    deadline = Clock::now() + std::min<Clock::duration>(kDrainTime, state_->options.read_timeout);
    DrainSome();
  }

  void DrainSome() {
    Socket().async_read_some(asio::buffer(worker_->scrap),
                             [self = this->shared_from_this()](beast::error_code ec, size_t n) {
                               self->drained_ += n;
                               if (ec || self->drained_ > self->state_->options.max_body_bytes) {
                                 self->deadline = Clock::time_point::max();
                                 return;  // the socket closes with the session
                               }
                               self->DrainSome();
                             });
  }

  // Ends the connection: no more sends (the socket closes with the session,
  // when no operation holds it any more).
  void Close() {
    beast::error_code ec;
    Socket().shutdown(tcp::socket::shutdown_send, ec);
  }

  Stream stream_;
  Worker* worker_;
  ServerState* state_;
  beast::flat_buffer buffer_;
  RequestMemory memory_;  // this connection's request's share of the budget
  std::optional<RequestParser> parser_;
  HttpRequest request_;    // reused: its strings keep their (small) capacity
  HttpResponse response_;  // reused as well
  std::string header_;     // of the response being written
  std::string body_;       // of the response being written
  bool reading_ = false;   // in a handshake or waiting for a request
  bool aborted_ = false;   // Abort was called
  size_t drained_ = 0;     // bytes thrown away by Drain
};

using PlainSession = Session<tcp::socket>;
using TlsSession = Session<beast::ssl_stream<tcp::socket>>;

}  // namespace

struct HttpServer::Impl {
  std::shared_ptr<ServerState> state;
  std::vector<std::unique_ptr<Worker>> workers;
  std::optional<tcp::acceptor> acceptor;      // on workers[0]
  std::optional<asio::steady_timer> backoff;  // on workers[0], for the accept loop
  size_t next_worker = 0;                     // used by the accept loop only
  std::once_flag stopped;
  int port = 0;

  // Accepts on workers[0] and deals the connections to the workers in turn.
  // Out of file descriptors, the pending connection stays in the listen
  // backlog and accepting pauses for kAcceptBackoff (retrying at once would
  // spin: the error repeats until a descriptor is freed).
  void Accept() {
    Worker* target = workers[next_worker].get();
    next_worker = (next_worker + 1) % workers.size();
    acceptor->async_accept(target->io, [this, target](beast::error_code ec, tcp::socket socket) {
      if (ec == asio::error::operation_aborted) return;  // closed by Stop
      if (state->stopping.load()) return;
      if (OutOfDescriptors(ec)) {
        state->counters->accept_out_of_fds.fetch_add(1, std::memory_order_relaxed);
        backoff->expires_after(kAcceptBackoff);
        backoff->async_wait([this](beast::error_code e) {
          if (!e && !state->stopping.load()) Accept();
        });
        return;
      }
      if (!ec) Admit(target, std::move(socket));
      Accept();
    });
  }

  static bool OutOfDescriptors(const beast::error_code& ec) {
    if (ec.category() != asio::error::get_system_category()) return false;
    const int e = ec.value();
    return e == EMFILE || e == ENFILE || e == ENOBUFS || e == ENOMEM;
  }

  // Starts a session for `socket` on `target`. At the cap, the worker first
  // closes its longest-idle connection; with none idle, the new connection
  // is closed at once.
  void Admit(Worker* target, tcp::socket socket) {
    HttpServerCounters& counters = *state->counters;
    const bool at_cap = static_cast<size_t>(counters.connections_open.fetch_add(
                            1, std::memory_order_relaxed)) >= state->max_connections;
    asio::post(target->io, [target, at_cap, s = std::move(socket)]() mutable {
      HttpServerCounters& c = *target->state->counters;
      if (at_cap) {
        if (!target->CloseOneIdle()) {
          c.connections_open.fetch_sub(1, std::memory_order_relaxed);
          c.refused_max_connections.fetch_add(1, std::memory_order_relaxed);
          beast::error_code ignored;
          s.close(ignored);
          return;
        }
        c.idle_closed.fetch_add(1, std::memory_order_relaxed);
      }
      if (target->state->tls) {
        std::make_shared<TlsSession>(std::move(s), target)->Start();
      } else {
        std::make_shared<PlainSession>(std::move(s), target)->Start();
      }
    });
  }
};

Result<std::unique_ptr<HttpServer>> HttpServer::Start(HttpServerOptions options,
                                                      HttpHandler handler) {
  auto impl = std::make_unique<Impl>();
  impl->state = std::make_shared<ServerState>();
  if (!options.tls_cert_file.empty() || !options.tls_key_file.empty()) {
    LARDER_ASSIGN_OR_RETURN(impl->state->tls, MakeTlsContext(options));
  }
  const std::string where = options.host + ":" + std::to_string(options.port);
  beast::error_code ec;
  const asio::ip::address address = asio::ip::make_address(options.host, ec);
  if (ec) return Status::InvalidArgument("--host: '" + options.host + "' is not an IP address");
  const int workers = options.workers > 0
                          ? options.workers
                          : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  rlimit files{};
  const size_t file_limit = getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur != RLIM_INFINITY
                                ? static_cast<size_t>(files.rlim_cur)
                                : std::numeric_limits<size_t>::max();
  if (options.max_connections > file_limit) {
    return Status::InvalidArgument(
        "--max-connections " + std::to_string(options.max_connections) +
        ": over the limit on open files of this process (" + std::to_string(file_limit) +
        ", ulimit -n); lower it or raise the limit");
  }
  impl->state->max_connections =
      options.max_connections > 0 ? options.max_connections : DefaultMaxConnections();
  const size_t body = options.max_body_bytes;
  const size_t inflight_default = std::max<size_t>(128u << 20, 4 * body);
  if (options.max_inflight_bytes > 0 && options.max_inflight_bytes / 2 < body) {
    return Status::InvalidArgument(
        "--max-inflight-bytes " + std::to_string(options.max_inflight_bytes) +
        ": must be at least twice max_request_bytes (" + std::to_string(body) +
        "), since one request may hold at most half of it");
  }
  impl->state->max_inflight_bytes =
      options.max_inflight_bytes > 0 ? options.max_inflight_bytes : inflight_default;
  if (options.counters != nullptr) impl->state->counters = options.counters;
  impl->state->options = std::move(options);
  impl->state->handler = std::move(handler);
  if (impl->state->options.runs_long) {
    impl->state->long_pool = std::make_unique<asio::thread_pool>(kLongHandlerThreads);
  }
  for (int i = 0; i < workers; ++i) impl->workers.push_back(std::make_unique<Worker>(impl->state));

  const tcp::endpoint endpoint{address, static_cast<unsigned short>(impl->state->options.port)};
  tcp::acceptor& acceptor = impl->acceptor.emplace(impl->workers[0]->io);
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return Status::IOError("cannot listen on " + where + ": " + ec.message());
  impl->port = acceptor.local_endpoint().port();
  impl->backoff.emplace(impl->workers[0]->io);
  impl->Accept();
  for (auto& worker : impl->workers) {
    worker->Sweep();
    worker->thread = std::thread([w = worker.get()] { w->io.run(); });
  }
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
}

HttpServer::HttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

HttpServer::~HttpServer() {
  Stop();
  impl_->acceptor.reset();  // before its worker's io_context
  impl_->backoff.reset();
}

int HttpServer::port() const { return impl_->port; }

void HttpServer::Stop() {
  std::call_once(impl_->stopped, [this] {
    impl_->state->stopping.store(true);
    // No new connections; sessions finish the request in hand (their reply
    // says Connection: close) and then end; connections waiting for a
    // request are closed. Each worker returns when its last session ends.
    asio::post(impl_->workers[0]->io, [this] {
      beast::error_code ec;
      impl_->acceptor->close(ec);
      impl_->backoff->cancel();
    });
    for (auto& worker : impl_->workers) {
      asio::post(worker->io, [w = worker.get()] { w->BeginStop(); });
    }
    for (auto& worker : impl_->workers) worker->thread.join();
    if (impl_->state->long_pool != nullptr) impl_->state->long_pool->join();
  });
}

}  // namespace larder::server
