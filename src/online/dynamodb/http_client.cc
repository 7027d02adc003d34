#include "online/dynamodb/http_client.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdlib>
#include <cstring>

namespace larder::online {
namespace {

using Clock = std::chrono::steady_clock;

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

bool ContainsIgnoreCase(std::string_view haystack, std::string_view needle) {
  for (size_t i = 0; i + needle.size() <= haystack.size(); ++i) {
    if (EqualsIgnoreCase(haystack.substr(i, needle.size()), needle)) return true;
  }
  return false;
}

std::string Errno(int err) { return std::strerror(err); }

// One connection: a socket (non-blocking) and, for https, its TLS session.
struct Conn {
  int fd = -1;
  SSL* ssl = nullptr;
};

void CloseConn(Conn& c) {
  if (c.ssl != nullptr) SSL_free(c.ssl);
  if (c.fd >= 0) close(c.fd);
  c = Conn{};
}

// OpenSSL's queued errors as text (and clears them).
std::string SslErrors() {
  std::string out;
  while (const unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    out += (out.empty() ? "" : "; ") + std::string(buf);
  }
  return out.empty() ? "unknown TLS error" : out;
}

// Waits until `fd` is readable (or writable); IOError on a timeout.
Status WaitFor(int fd, short events, int timeout_ms, const char* what) {
  pollfd p{fd, events, 0};
  const int r = poll(&p, 1, timeout_ms);
  if (r < 0) return Status::IOError("poll: " + Errno(errno));
  if (r == 0) {
    return Status::IOError(std::string(what) + " within " + std::to_string(timeout_ms) + " ms");
  }
  return Status::OK();
}

// Waits as a TLS call that returned `rc` asks (SSL_ERROR_WANT_READ or
// _WRITE); false when it asked for something else (then `*error` is set).
bool WaitForTls(const Conn& c, int rc, int timeout_ms, const char* what, Status* error) {
  const int err = SSL_get_error(c.ssl, rc);
  if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
    *error = WaitFor(c.fd, err == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, timeout_ms, what);
    return error->ok();
  }
  *error = Status::IOError(std::string("TLS: ") + SslErrors());
  return false;
}

// Reads a response from one connection, with a deadline per wait.
class ResponseReader {
 public:
  ResponseReader(const Conn& conn, int timeout_ms) : conn_(conn), timeout_ms_(timeout_ms) {}

  // Whether any byte arrived (a stale pooled connection yields none).
  bool got_any() const { return got_any_; }
  // Whether the peer closed or reset the connection (not a timeout).
  bool peer_closed() const { return peer_closed_; }
  // Bytes after the response (pipelining is not used; then do not reuse).
  bool has_leftover() const { return pos_ < buf_.size(); }

  // Reads more bytes into the buffer. "eof" (ok, *eof) when the peer closed.
  Status Fill(bool* eof) {
    *eof = false;
    char chunk[16384];
    if (conn_.ssl != nullptr) return FillTls(chunk, sizeof chunk, eof);
    LARDER_RETURN_IF_ERROR(WaitFor(conn_.fd, POLLIN, timeout_ms_, "no response"));
    const ssize_t n = recv(conn_.fd, chunk, sizeof(chunk), 0);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) return Status::OK();
      peer_closed_ = errno == ECONNRESET;
      return Status::IOError("read: " + Errno(errno));
    }
    if (n == 0) {
      *eof = true;
      peer_closed_ = true;
      return Status::OK();
    }
    got_any_ = true;
    buf_.append(chunk, static_cast<size_t>(n));
    return Status::OK();
  }

  Status FillTls(char* chunk, size_t size, bool* eof) {
    while (true) {
      ERR_clear_error();
      const int n = SSL_read(conn_.ssl, chunk, static_cast<int>(size));
      if (n > 0) {
        got_any_ = true;
        buf_.append(chunk, static_cast<size_t>(n));
        return Status::OK();
      }
      const int err = SSL_get_error(conn_.ssl, n);
      if (err == SSL_ERROR_ZERO_RETURN || (err == SSL_ERROR_SYSCALL && ERR_peek_error() == 0)) {
        // A close_notify, or (SSL_OP_IGNORE_UNEXPECTED_EOF) a bare close or reset.
        *eof = true;
        peer_closed_ = true;
        return Status::OK();
      }
      Status waited;
      if (!WaitForTls(conn_, n, timeout_ms_, "no response", &waited)) return waited;
    }
  }

  // A line ending in CRLF (returned without it).
  Status Line(std::string* line) {
    while (true) {
      const size_t end = buf_.find("\r\n", pos_);
      if (end != std::string::npos) {
        line->assign(buf_, pos_, end - pos_);
        pos_ = end + 2;
        return Status::OK();
      }
      if (buf_.size() - pos_ > (1u << 20)) return Status::IOError("response line too long");
      bool eof = false;
      LARDER_RETURN_IF_ERROR(Fill(&eof));
      if (eof) return Status::IOError("connection closed in the middle of a response");
    }
  }

  Status Bytes(size_t n, std::string* out) {
    while (buf_.size() - pos_ < n) {
      bool eof = false;
      LARDER_RETURN_IF_ERROR(Fill(&eof));
      if (eof) return Status::IOError("connection closed in the middle of a response body");
    }
    out->append(buf_, pos_, n);
    pos_ += n;
    return Status::OK();
  }

  Status UntilClose(std::string* out) {
    while (true) {
      bool eof = false;
      LARDER_RETURN_IF_ERROR(Fill(&eof));
      if (eof) break;
    }
    out->append(buf_, pos_, std::string::npos);
    pos_ = buf_.size();
    return Status::OK();
  }

 private:
  const Conn& conn_;
  int timeout_ms_;
  bool got_any_ = false;
  bool peer_closed_ = false;
  std::string buf_;
  size_t pos_ = 0;
};

Result<size_t> ParseSize(std::string_view text, int base) {
  size_t v = 0;
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v, base);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty()) {
    return Status::IOError("malformed length '" + std::string(text) + "' in the response");
  }
  return v;
}

// Reads one response. `*keep_alive`: the connection may be reused.
Status ReadResponse(ResponseReader& in, HttpResponse* response, bool* keep_alive) {
  std::string line;
  do {  // skip interim 1xx responses
    LARDER_RETURN_IF_ERROR(in.Line(&line));
    // "HTTP/1.1 200 OK"
    if (line.size() < 12 || !line.starts_with("HTTP/1.")) {
      return Status::IOError("malformed status line '" + line.substr(0, 64) + "'");
    }
    auto status = ParseSize(std::string_view(line).substr(9, 3), 10);
    if (!status.ok()) return Status::IOError("malformed status line '" + line.substr(0, 64) + "'");
    response->status = static_cast<int>(*status);
    *keep_alive = line[7] == '1';
    response->headers.clear();
    while (true) {
      LARDER_RETURN_IF_ERROR(in.Line(&line));
      if (line.empty()) break;
      const size_t colon = line.find(':');
      if (colon == std::string::npos) {
        return Status::IOError("malformed header line in the response");
      }
      std::string value = line.substr(colon + 1);
      const size_t first = value.find_first_not_of(" \t");
      value = first == std::string::npos ? "" : value.substr(first);
      while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.pop_back();
      response->headers.emplace_back(line.substr(0, colon), std::move(value));
    }
  } while (response->status >= 100 && response->status < 200);

  const std::string_view connection = response->Header("Connection");
  if (ContainsIgnoreCase(connection, "close")) *keep_alive = false;
  if (ContainsIgnoreCase(connection, "keep-alive")) *keep_alive = true;
  response->body.clear();
  if (ContainsIgnoreCase(response->Header("Transfer-Encoding"), "chunked")) {
    while (true) {
      LARDER_RETURN_IF_ERROR(in.Line(&line));
      std::string_view size_text = line;
      size_text = size_text.substr(0, size_text.find(';'));
      LARDER_ASSIGN_OR_RETURN(size_t size, ParseSize(size_text, 16));
      if (size == 0) {
        do {  // trailers, up to the empty line
          LARDER_RETURN_IF_ERROR(in.Line(&line));
        } while (!line.empty());
        break;
      }
      LARDER_RETURN_IF_ERROR(in.Bytes(size, &response->body));
      LARDER_RETURN_IF_ERROR(in.Line(&line));
      if (!line.empty()) return Status::IOError("malformed chunk in the response");
    }
  } else if (const std::string_view length = response->Header("Content-Length"); !length.empty()) {
    LARDER_ASSIGN_OR_RETURN(size_t size, ParseSize(length, 10));
    LARDER_RETURN_IF_ERROR(in.Bytes(size, &response->body));
  } else if (response->status == 204 || response->status == 304) {
    // no body
  } else {
    *keep_alive = false;
    LARDER_RETURN_IF_ERROR(in.UntilClose(&response->body));
  }
  if (in.has_leftover()) *keep_alive = false;
  return Status::OK();
}

Status SendAll(const Conn& c, std::string_view data, int timeout_ms) {
  while (c.ssl != nullptr && !data.empty()) {
    ERR_clear_error();
    const int n = SSL_write(c.ssl, data.data(), static_cast<int>(data.size()));
    if (n > 0) {
      data.remove_prefix(static_cast<size_t>(n));
      continue;
    }
    Status waited;
    if (!WaitForTls(c, n, timeout_ms, "send timed out", &waited)) return waited;
  }
  const int fd = c.fd;
  while (!data.empty()) {
    const ssize_t n = send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        pollfd p{fd, POLLOUT, 0};
        const int r = poll(&p, 1, timeout_ms);
        if (r == 0) {
          return Status::IOError("send timed out after " + std::to_string(timeout_ms) + " ms");
        }
        if (r < 0) return Status::IOError("poll: " + Errno(errno));
        continue;
      }
      return Status::IOError("send: " + Errno(errno));
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return Status::OK();
}

}  // namespace

std::string HttpUrl::HostHeader() const {
  const bool v6 = host.find(':') != std::string::npos;
  const std::string h = v6 ? "[" + host + "]" : host;
  return port == (tls ? 443 : 80) ? h : h + ":" + std::to_string(port);
}

std::string AwsCaBundle() {
  const char* v = std::getenv("AWS_CA_BUNDLE");
  return v == nullptr ? "" : v;
}

Result<HttpUrl> ParseHttpUrl(std::string_view url) {
  HttpUrl out;
  if (url.starts_with("https://")) {
    out.tls = true;
    out.port = 443;
  } else if (!url.starts_with("http://")) {
    return Status::InvalidArgument("'" + std::string(url) +
                                   "' is not an http(s)://host[:port] URL");
  }
  std::string_view rest = url.substr(out.tls ? 8 : 7);
  const size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  if (slash != std::string_view::npos) out.path = std::string(rest.substr(slash));
  std::string_view port_text;
  if (authority.starts_with("[")) {  // [v6]:port
    const size_t close = authority.find(']');
    if (close == std::string_view::npos) {
      return Status::InvalidArgument("'" + std::string(url) + "': unterminated IPv6 address");
    }
    out.host = std::string(authority.substr(1, close - 1));
    std::string_view after = authority.substr(close + 1);
    if (after.starts_with(":")) port_text = after.substr(1);
    else if (!after.empty()) {
      return Status::InvalidArgument("'" + std::string(url) + "' is not an http(s)://host[:port] URL");
    }
  } else {
    const size_t colon = authority.rfind(':');
    out.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) port_text = authority.substr(colon + 1);
  }
  if (out.host.empty() || out.host.find('@') != std::string::npos) {
    return Status::InvalidArgument("'" + std::string(url) + "': no host (http(s)://host[:port])");
  }
  if (!port_text.empty() || authority.ends_with(":")) {
    int port = 0;
    auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (ec != std::errc() || end != port_text.data() + port_text.size() || port < 1 ||
        port > 65535) {
      return Status::InvalidArgument("'" + std::string(url) + "': the port is not in [1, 65535]");
    }
    out.port = port;
  }
  return out;
}

std::string_view HttpResponse::Header(std::string_view name) const {
  for (const auto& [n, v] : headers) {
    if (EqualsIgnoreCase(n, name)) return v;
  }
  return {};
}

struct HttpClient::Connection : Conn {};

// The TLS context of an https client: the trusted CAs and the protocol
// floor; or why it could not be made (reported by each Post).
struct HttpClient::Tls {
  SSL_CTX* ctx = nullptr;
  std::string error;
  ~Tls() {
    if (ctx != nullptr) SSL_CTX_free(ctx);
  }
};

HttpClient::HttpClient(HttpUrl url, HttpClientOptions options)
    : url_(std::move(url)), options_(std::move(options)) {
  if (!url_.tls) return;
  tls_ = std::make_unique<Tls>();
  ERR_clear_error();
  tls_->ctx = SSL_CTX_new(TLS_client_method());
  if (tls_->ctx == nullptr) {
    tls_->error = "cannot create a TLS context: " + SslErrors();
    return;
  }
  SSL_CTX_set_min_proto_version(tls_->ctx, TLS1_2_VERSION);
  // A server that closes without close_notify ends a response like a
  // plain close does (then Content-Length or chunking decide).
  SSL_CTX_set_options(tls_->ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
  SSL_CTX_set_verify(tls_->ctx, SSL_VERIFY_PEER, nullptr);
  const bool loaded =
      options_.ca_file.empty()
          ? SSL_CTX_set_default_verify_paths(tls_->ctx) == 1
          : SSL_CTX_load_verify_locations(tls_->ctx, options_.ca_file.c_str(), nullptr) == 1;
  if (!loaded) {
    tls_->error = "cannot load the trusted certificates " +
                  (options_.ca_file.empty() ? std::string("of the system")
                                            : "from '" + options_.ca_file + "'") +
                  ": " + SslErrors();
  }
}

HttpClient::~HttpClient() {
  for (Connection& c : idle_) CloseConn(c);
}

Status HttpClient::Error(std::string_view what, std::string_view detail) const {
  return Status::IOError(url_.Address() + ": " + std::string(what) + ": " + std::string(detail));
}

Result<HttpClient::Connection> HttpClient::Connect() const {
  if (tls_ != nullptr && !tls_->error.empty()) return Error("https", tls_->error);
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  const std::string port = std::to_string(url_.port);
  const int gai = getaddrinfo(url_.host.c_str(), port.c_str(), &hints, &found);
  if (gai != 0) return Error("cannot resolve the host", gai_strerror(gai));
  std::string last = "no address";
  for (addrinfo* a = found; a != nullptr; a = a->ai_next) {
    const int fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) {
      last = Errno(errno);
      continue;
    }
    const int flags = fcntl(fd, F_GETFL, 0);
    fcntl(fd, F_SETFL, flags | O_NONBLOCK);
    int rc = connect(fd, a->ai_addr, a->ai_addrlen);
    if (rc != 0 && errno == EINPROGRESS) {
      pollfd p{fd, POLLOUT, 0};
      const int r = poll(&p, 1, options_.connect_timeout_ms);
      if (r == 0) {
        last = "timed out after " + std::to_string(options_.connect_timeout_ms) + " ms";
        close(fd);
        continue;
      }
      int err = 0;
      socklen_t len = sizeof(err);
      getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
      rc = err == 0 ? 0 : -1;
      errno = err;
    }
    if (rc != 0) {
      last = Errno(errno);
      close(fd);
      continue;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    freeaddrinfo(found);
    Connection conn;
    conn.fd = fd;
    if (tls_ != nullptr) {
      Status handshake = Handshake(*tls_, conn);
      if (!handshake.ok()) {
        CloseConn(conn);
        return Error("TLS handshake", handshake.message());
      }
    }
    return conn;
  }
  freeaddrinfo(found);
  return Error("cannot connect", last);
}

Status HttpClient::Handshake(const Tls& tls, Connection& conn) const {
  ERR_clear_error();
  conn.ssl = SSL_new(tls.ctx);
  if (conn.ssl == nullptr) return Status::IOError(SslErrors());
  SSL_set_fd(conn.ssl, conn.fd);
  // The name the certificate must carry: an IP address, or a host name
  // (also sent as SNI).
  in6_addr ip{};
  const bool is_ip = inet_pton(AF_INET, url_.host.c_str(), &ip) == 1 ||
                     inet_pton(AF_INET6, url_.host.c_str(), &ip) == 1;
  X509_VERIFY_PARAM* param = SSL_get0_param(conn.ssl);
  if (is_ip) {
    X509_VERIFY_PARAM_set1_ip_asc(param, url_.host.c_str());
  } else {
// OpenSSL's SSL_set_tlsext_host_name macro casts in C style.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wold-style-cast"
    SSL_set_tlsext_host_name(conn.ssl, url_.host.c_str());
#pragma GCC diagnostic pop
    SSL_set1_host(conn.ssl, url_.host.c_str());
  }
  while (true) {
    ERR_clear_error();
    const int rc = SSL_connect(conn.ssl);
    if (rc == 1) return Status::OK();
    const long verify = SSL_get_verify_result(conn.ssl);
    if (verify != X509_V_OK) {
      return Status::IOError(std::string("the server's certificate is not trusted: ") +
                             X509_verify_cert_error_string(verify) +
                             " (trusted: " +
                             (options_.ca_file.empty() ? "the system's CAs"
                                                       : "'" + options_.ca_file + "'") +
                             "; AWS_CA_BUNDLE names another file)");
    }
    Status waited;
    if (!WaitForTls(conn, rc, options_.connect_timeout_ms, "no TLS handshake", &waited)) {
      return waited;
    }
  }
}

Result<HttpResponse> HttpClient::Post(std::string_view path, const HttpHeaders& headers,
                                      std::string_view body) {
  std::string request = "POST " + std::string(path) + " HTTP/1.1\r\n";
  bool has_host = false;
  for (const auto& [name, value] : headers) {
    has_host = has_host || EqualsIgnoreCase(name, "host");
    request += name + ": " + value + "\r\n";
  }
  if (!has_host) request += "Host: " + url_.HostHeader() + "\r\n";
  request += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n";
  request += body;

  while (true) {
    Connection conn;
    {
      std::lock_guard lock(mu_);
      if (!idle_.empty()) {
        conn = idle_.back();
        idle_.pop_back();
      }
    }
    const bool reused = conn.fd >= 0;
    if (!reused) {
      LARDER_ASSIGN_OR_RETURN(conn, Connect());
    }
    HttpResponse response;
    ResponseReader reader(conn, options_.io_timeout_ms);
    bool keep_alive = false;
    bool send_failed = false;
    Status s = SendAll(conn, request, options_.io_timeout_ms);
    if (s.ok()) {
      s = ReadResponse(reader, &response, &keep_alive);
    } else {
      send_failed = true;
    }
    if (s.ok()) {
      bool pooled = false;
      if (keep_alive) {
        std::lock_guard lock(mu_);
        if (idle_.size() < options_.max_idle) {
          idle_.push_back(conn);
          pooled = true;
        }
      }
      if (!pooled) CloseConn(conn);
      return response;
    }
    CloseConn(conn);
    // A pooled connection the server had closed (idle timeout): nothing was
    // answered, so the request was not processed. The other idle connections
    // are as old: drop them all, and send once more on a new connection.
    if (reused && !reader.got_any() && (send_failed || reader.peer_closed())) {
      std::vector<Connection> stale;
      {
        std::lock_guard lock(mu_);
        stale.swap(idle_);
      }
      for (Connection& old : stale) CloseConn(old);
      continue;
    }
    return Error("POST " + std::string(path), s.message());
  }
}

}  // namespace larder::online
