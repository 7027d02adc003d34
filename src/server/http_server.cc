#include "server/http_server.h"

#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/version.hpp>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <thread>
#include <vector>

namespace larder::server {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

}  // namespace

std::string JsonErrorBody(std::string_view message) {
  return nlohmann::json{{"error", message}}.dump(-1, ' ', false,
                                                 nlohmann::json::error_handler_t::replace);
}

// What Stop needs of a session.
struct SessionBase {
  virtual ~SessionBase() = default;
  // Closes the connection if it is waiting for a request (not mid-request).
  virtual void StopIfIdle() = 0;
};

// Shared by the server and its sessions.
struct ServerState {
  std::mutex mu;  // guards sessions
  std::vector<std::weak_ptr<SessionBase>> sessions;

  HttpServerOptions options;
  HttpHandler handler;
  std::atomic<uint64_t> next_request_id{1};
  std::atomic<bool> stopping{false};

  void Log(const std::string& line) const {
    if (options.log) options.log(line);
  }

  void Register(const std::shared_ptr<SessionBase>& session) {
    std::lock_guard lock(mu);
    std::erase_if(sessions, [](const auto& w) { return w.expired(); });
    sessions.push_back(session);
  }
};

namespace {

// One connection: read a request, handle it, write the response, repeat
// while the client keeps the connection alive.
class Session : public SessionBase, public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, std::shared_ptr<ServerState> state)
      : stream_(std::move(socket)), state_(std::move(state)) {}

  void StopIfIdle() override {
    asio::dispatch(stream_.get_executor(), [self = shared_from_this()] {
      if (self->reading_) self->stream_.cancel();
    });
  }

  void Start() {
    asio::dispatch(stream_.get_executor(),
                   beast::bind_front_handler(&Session::Read, shared_from_this()));
  }

 private:
  void Read() {
    if (state_->stopping.load()) return Close();
    parser_.emplace();
    parser_->body_limit(state_->options.max_body_bytes);
    parser_->header_limit(64 * 1024);
    stream_.expires_after(state_->options.read_timeout);
    reading_ = true;
    http::async_read(stream_, buffer_, *parser_,
                     beast::bind_front_handler(&Session::OnRead, shared_from_this()));
  }

  void OnRead(beast::error_code ec, size_t) {
    reading_ = false;
    if (ec == http::error::end_of_stream || ec == asio::error::operation_aborted ||
        ec == beast::error::timeout || ec == asio::error::connection_reset ||
        ec == asio::error::eof) {
      return Close();
    }
    if (ec == http::error::body_limit) {
      return Reply(413, JsonErrorBody("request body over the limit of " +
                                  std::to_string(state_->options.max_body_bytes) + " bytes"),
                   /*keep_alive=*/false, 11);
    }
    if (ec) {
      return Reply(400, JsonErrorBody("malformed HTTP request: " + ec.message()), false, 11);
    }
    http::request<http::string_body> req = parser_->release();
    HttpRequest request;
    request.method = std::string(req.method_string());
    request.target = std::string(req.target());
    request.body = std::move(req.body());
    request.request_id = std::to_string(state_->next_request_id.fetch_add(1));
    const auto start = std::chrono::steady_clock::now();
    HttpResponse response;
    try {
      response = state_->handler(request);
    } catch (const std::exception& e) {
      response = {500, JsonErrorBody(std::string("internal error: ") + e.what())};
    }
    const double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
            .count();
    if (state_->options.log) {
      state_->Log("request_id=" + request.request_id + " method=" + request.method +
                  " path=" + request.target + " status=" + std::to_string(response.status) +
                  " ms=" + std::to_string(ms));
    }
    Reply(response.status, std::move(response.body), req.keep_alive(), req.version(),
          std::move(response.content_type));
  }

  void Reply(int status, std::string body, bool keep_alive, unsigned version,
             std::string content_type = "application/json") {
    auto res = std::make_shared<http::response<http::string_body>>(
        static_cast<http::status>(status), version);
    res->set(http::field::server, "larder");
    res->set(http::field::content_type, content_type);
    res->keep_alive(keep_alive && !state_->stopping.load());
    res->body() = std::move(body);
    res->prepare_payload();
    response_ = res;
    http::async_write(stream_, *res,
                      beast::bind_front_handler(&Session::OnWrite, shared_from_this(),
                                                res->keep_alive()));
  }

  void OnWrite(bool keep_alive, beast::error_code ec, size_t) {
    response_.reset();
    if (ec || !keep_alive) return Close();
    Read();
  }

  void Close() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::shared_ptr<ServerState> state_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::shared_ptr<void> response_;  // kept alive during the write
  bool reading_ = false;             // waiting for a request (on the strand)
};

}  // namespace

struct HttpServer::Impl {
  std::shared_ptr<ServerState> state;
  asio::io_context io;
  tcp::acceptor acceptor{io};
  std::vector<std::thread> workers;
  std::once_flag stopped;
  int port = 0;

  void Accept() {
    acceptor.async_accept(asio::make_strand(io), [this](beast::error_code ec, tcp::socket socket) {
      if (ec) {
        if (ec == asio::error::operation_aborted) return;  // closed by Stop
      } else {
        auto session = std::make_shared<Session>(std::move(socket), state);
        state->Register(session);
        session->Start();
      }
      if (!state->stopping.load()) Accept();
    });
  }
};

Result<std::unique_ptr<HttpServer>> HttpServer::Start(HttpServerOptions options,
                                                      HttpHandler handler) {
  auto impl = std::make_unique<Impl>();
  impl->state = std::make_shared<ServerState>();
  const std::string where = options.host + ":" + std::to_string(options.port);
  beast::error_code ec;
  const asio::ip::address address = asio::ip::make_address(options.host, ec);
  if (ec) return Status::InvalidArgument("--host: '" + options.host + "' is not an IP address");
  const tcp::endpoint endpoint{address, static_cast<unsigned short>(options.port)};
  impl->acceptor.open(endpoint.protocol(), ec);
  if (!ec) impl->acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) impl->acceptor.bind(endpoint, ec);
  if (!ec) impl->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return Status::IOError("cannot listen on " + where + ": " + ec.message());
  impl->port = impl->acceptor.local_endpoint().port();
  int workers = options.workers > 0 ? options.workers
                                    : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  impl->state->options = std::move(options);
  impl->state->handler = std::move(handler);
  impl->Accept();
  for (int i = 0; i < workers; ++i) {
    impl->workers.emplace_back([io = &impl->io] { io->run(); });
  }
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
}

HttpServer::HttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

HttpServer::~HttpServer() { Stop(); }

int HttpServer::port() const { return impl_->port; }

void HttpServer::Stop() {
  std::call_once(impl_->stopped, [this] {
    impl_->state->stopping.store(true);
    // No new connections; sessions finish the request in hand (their reply
    // says Connection: close) and then end; idle keep-alive reads end at
    // their deadline at the latest.
    asio::post(impl_->io, [this] {
      beast::error_code ec;
      impl_->acceptor.close(ec);
    });
    {
      std::lock_guard lock(impl_->state->mu);
      for (const auto& weak : impl_->state->sessions) {
        if (auto session = weak.lock()) session->StopIfIdle();
      }
    }
    for (auto& t : impl_->workers) t.join();
  });
}

}  // namespace larder::server
