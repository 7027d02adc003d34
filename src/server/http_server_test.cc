// HttpServer on port 0 with a trivial handler: deadlines against stalled and
// trickling clients, TLS, the body limit, keep-alive and the Authorization
// header.
#include "server/http_server.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include "support/test_util.h"

namespace larder::server {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// Answers "method|target|authorization|body".
HttpResponse Echo(const HttpRequest& r) {
  return {200, r.method + "|" + r.target + "|" + r.authorization + "|" + r.body, "text/plain"};
}

std::unique_ptr<HttpServer> StartServer(HttpServerOptions options, HttpHandler handler = Echo) {
  options.port = 0;
  auto server = HttpServer::Start(std::move(options), std::move(handler));
  EXPECT_TRUE(server.ok()) << server.status().ToString();
  return server.ok() ? std::move(server).value() : nullptr;
}

// A blocking TCP connection to 127.0.0.1:port, closed on destruction.
class Connection {
 public:
  explicit Connection(int port) : fd_(socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  }
  ~Connection() { close(fd_); }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  bool connected() const { return connected_; }

  bool Send(std::string_view data) {
    return send(fd_, data.data(), data.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(data.size());
  }

  // Bytes received within `timeout`: a positive count, 0 at end of stream,
  // -1 on an error (a reset), -2 when nothing came in time.
  ssize_t Receive(std::string* out, milliseconds timeout) {
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(timeout.count())) == 0) return -2;
    char buf[4096];
    const ssize_t n = recv(fd_, buf, sizeof buf, 0);
    if (n > 0) out->append(buf, static_cast<size_t>(n));
    return n;
  }

  // One whole response (headers and Content-Length body), or what came
  // before the stream ended or `timeout` passed.
  std::string ReadResponse(milliseconds timeout = milliseconds(2000)) {
    const auto until = Clock::now() + timeout;
    for (;;) {
      const size_t header_end = pending_.find("\r\n\r\n");
      if (header_end != std::string::npos) {
        const size_t at = pending_.find("Content-Length: ");
        const size_t length = at < header_end ? std::stoul(pending_.substr(at + 16)) : 0;
        if (pending_.size() >= header_end + 4 + length) {
          std::string response = pending_.substr(0, header_end + 4 + length);
          pending_.erase(0, response.size());
          return response;
        }
      }
      const auto left = std::chrono::duration_cast<milliseconds>(until - Clock::now());
      if (left.count() <= 0 || Receive(&pending_, left) <= 0) return std::exchange(pending_, "");
    }
  }

  // Waits up to `timeout` for the server to end the connection: true when
  // it did (end of stream or reset), false when it stayed open.
  bool ClosedByServerWithin(milliseconds timeout) {
    const auto until = Clock::now() + timeout;
    std::string ignored;
    for (;;) {
      const auto left = std::chrono::duration_cast<milliseconds>(until - Clock::now());
      if (left.count() <= 0) return false;
      const ssize_t n = Receive(&ignored, left);
      if (n == 0 || n == -1) return true;
      if (n == -2) return false;
    }
  }

 private:
  int fd_;
  bool connected_ = false;
  std::string pending_;
};

std::string Body(const std::string& response) {
  const size_t at = response.find("\r\n\r\n");
  return at == std::string::npos ? "" : response.substr(at + 4);
}

const char kGet[] = "GET /ping HTTP/1.1\r\nHost: x\r\n\r\n";

TEST(HttpServer, StalledClientDoesNotBlockOthersAndIsClosedAtTheDeadline) {
  HttpServerOptions options;
  options.workers = 1;
  options.read_timeout = milliseconds(300);
  auto server = StartServer(options);
  ASSERT_NE(server, nullptr);

  Connection stalled(server->port());
  ASSERT_TRUE(stalled.connected());
  const auto stalled_since = Clock::now();
  ASSERT_TRUE(stalled.Send("POST /slow HTTP/1.1\r\nHost: x\r\nContent-Le"));

  Connection other(server->port());
  ASSERT_TRUE(other.connected());
  for (int i = 0; i < 5; ++i) {
    const auto sent = Clock::now();
    ASSERT_TRUE(other.Send(kGet));
    const std::string response = other.ReadResponse(milliseconds(1000));
    EXPECT_THAT(response, StartsWith("HTTP/1.1 200 OK\r\n"));
    EXPECT_EQ(Body(response), "GET|/ping||");
    EXPECT_LT(Clock::now() - sent, milliseconds(200)) << "request " << i;  // not after the stall
  }

  EXPECT_TRUE(stalled.ClosedByServerWithin(milliseconds(2000)));
  const auto stalled_for = Clock::now() - stalled_since;
  EXPECT_GE(stalled_for, milliseconds(290));
  EXPECT_LT(stalled_for, milliseconds(1500));

  // The worker is still there for others (`other`, idle as long, has been
  // closed too: waiting for the next request counts against the deadline).
  Connection fresh(server->port());
  ASSERT_TRUE(fresh.Send(kGet));
  EXPECT_THAT(fresh.ReadResponse(), StartsWith("HTTP/1.1 200 OK\r\n"));
}

TEST(HttpServer, SlowlorisIsCutOffAtTheDeadlineOfTheWholeRequest) {
  HttpServerOptions options;
  options.workers = 1;
  options.read_timeout = milliseconds(300);
  auto server = StartServer(options);
  ASSERT_NE(server, nullptr);

  Connection slow(server->port());
  ASSERT_TRUE(slow.connected());
  const std::string request = "GET /ping HTTP/1.1\r\nHost: x\r\nX-Padding: " +
                              std::string(100, 'a') + "\r\n\r\n";
  const auto start = Clock::now();
  bool closed = false;
  // One byte every 40 ms: each well within the deadline, the whole request
  // (about 5 s) far beyond it.
  for (char c : request) {
    if (!slow.Send(std::string_view(&c, 1)) || slow.ClosedByServerWithin(milliseconds(40))) {
      closed = true;
      break;
    }
  }
  const auto elapsed = Clock::now() - start;
  EXPECT_TRUE(closed);
  EXPECT_GE(elapsed, milliseconds(290));
  EXPECT_LT(elapsed, milliseconds(1500));  // the whole request would take 5 s
}

TEST(HttpServer, KeepAliveReusesTheConnectionAndPassesAuthorization) {
  std::atomic<int> log_lines{0};
  HttpServerOptions options;
  options.workers = 2;
  options.log = [&log_lines](const std::string& line) {
    EXPECT_THAT(line, HasSubstr("status=200"));
    ++log_lines;
  };
  auto server = StartServer(options);
  ASSERT_NE(server, nullptr);

  Connection c(server->port());
  ASSERT_TRUE(c.connected());
  for (int i = 0; i < 3; ++i) {
    const std::string body = "{\"n\":" + std::to_string(i) + "}";
    ASSERT_TRUE(c.Send("POST /get-online-features?x=1 HTTP/1.1\r\nHost: x\r\n"
                       "Authorization: Bearer s3cret\r\nContent-Type: application/json\r\n"
                       "Content-Length: " +
                       std::to_string(body.size()) + "\r\n\r\n" + body));
    const std::string response = c.ReadResponse();
    EXPECT_THAT(response, StartsWith("HTTP/1.1 200 OK\r\n"));
    EXPECT_THAT(response, HasSubstr("Content-Type: text/plain\r\n"));
    EXPECT_THAT(response, ::testing::Not(HasSubstr("Connection: close")));
    EXPECT_EQ(Body(response), "POST|/get-online-features?x=1|Bearer s3cret|" + body);
  }
  // Without the header the field is empty (not the previous request's).
  ASSERT_TRUE(c.Send(kGet));
  EXPECT_EQ(Body(c.ReadResponse()), "GET|/ping||");
  // Two requests in one send (pipelined) get two responses, in order.
  ASSERT_TRUE(c.Send("GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n"));
  EXPECT_EQ(Body(c.ReadResponse()), "GET|/a||");
  EXPECT_EQ(Body(c.ReadResponse()), "GET|/b||");
  // Connection: close is honoured.
  ASSERT_TRUE(c.Send("GET /c HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
  const std::string last = c.ReadResponse();
  EXPECT_THAT(last, HasSubstr("Connection: close\r\n"));
  EXPECT_TRUE(c.ClosedByServerWithin(milliseconds(1000)));
  EXPECT_EQ(log_lines.load(), 7);
}

TEST(HttpServer, HttpOneZeroClosesUnlessKeptAlive) {
  auto server = StartServer({});
  ASSERT_NE(server, nullptr);
  Connection c(server->port());
  ASSERT_TRUE(c.Send("GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
  const std::string kept = c.ReadResponse();
  EXPECT_THAT(kept, StartsWith("HTTP/1.0 200 OK\r\n"));
  EXPECT_THAT(kept, HasSubstr("Connection: keep-alive\r\n"));
  ASSERT_TRUE(c.Send("GET /b HTTP/1.0\r\n\r\n"));
  EXPECT_EQ(Body(c.ReadResponse()), "GET|/b||");
  EXPECT_TRUE(c.ClosedByServerWithin(milliseconds(1000)));
}

TEST(HttpServer, BodyOverTheLimitGets413AndTheConnectionCloses) {
  HttpServerOptions options;
  options.max_body_bytes = 100;
  auto server = StartServer(options);
  ASSERT_NE(server, nullptr);

  Connection ok(server->port());
  ASSERT_TRUE(ok.Send("POST /p HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n" +
                      std::string(100, 'b')));
  EXPECT_THAT(ok.ReadResponse(), StartsWith("HTTP/1.1 200 OK\r\n"));

  Connection big(server->port());
  ASSERT_TRUE(big.Send("POST /p HTTP/1.1\r\nHost: x\r\nContent-Length: 101\r\n\r\n" +
                       std::string(101, 'b')));
  const std::string response = big.ReadResponse();
  EXPECT_THAT(response, StartsWith("HTTP/1.1 413 Payload Too Large\r\n"));
  EXPECT_THAT(response, HasSubstr("Connection: close\r\n"));
  EXPECT_THAT(Body(response), HasSubstr("over the limit of 100 bytes"));
  EXPECT_TRUE(big.ClosedByServerWithin(milliseconds(1000)));

  // Chunked bodies count too.
  Connection chunked(server->port());
  ASSERT_TRUE(chunked.Send("POST /p HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                           "64\r\n" +
                           std::string(100, 'c') + "\r\n5\r\nddddd\r\n0\r\n\r\n"));
  EXPECT_THAT(chunked.ReadResponse(), StartsWith("HTTP/1.1 413 "));
}

TEST(HttpServer, MalformedRequestsGet400) {
  auto server = StartServer({});
  ASSERT_NE(server, nullptr);
  Connection garbage(server->port());
  ASSERT_TRUE(garbage.Send("NOT HTTP AT ALL\r\n\r\n"));
  EXPECT_THAT(garbage.ReadResponse(), StartsWith("HTTP/1.1 400 Bad Request\r\n"));

  Connection twice(server->port());
  ASSERT_TRUE(twice.Send(
      "GET / HTTP/1.1\r\nAuthorization: Bearer a\r\nAuthorization: Bearer b\r\n\r\n"));
  EXPECT_THAT(twice.ReadResponse(), StartsWith("HTTP/1.1 400 Bad Request\r\n"));
}

TEST(HttpServer, HandlerExceptionGets500WithItsTextOnlyInTheLog) {
  std::mutex mu;
  std::string log;
  HttpServerOptions options;
  options.log = [&](const std::string& line) {
    std::lock_guard lock(mu);
    log += line + "\n";
  };
  auto server = StartServer(options, [](const HttpRequest&) -> HttpResponse {
    throw std::runtime_error("boom in /srv/secret/file");
  });
  ASSERT_NE(server, nullptr);
  Connection c(server->port());
  ASSERT_TRUE(c.Send(kGet));
  const std::string response = c.ReadResponse();
  EXPECT_THAT(response, StartsWith("HTTP/1.1 500 Internal Server Error\r\n"));
  EXPECT_EQ(Body(response),
            "{\"error\":\"internal error; see the server log for request_id 1\"}");
  server->Stop();
  EXPECT_THAT(log, HasSubstr("request_id=1 internal error: boom in /srv/secret/file"));
}

TEST(HttpServer, HeadCheckRefusesBeforeTheBodyIsRead) {
  std::atomic<int> handled{0};
  HttpServerOptions options;
  options.check_head = [](const HttpRequest& head) -> std::optional<HttpResponse> {
    EXPECT_TRUE(head.body.empty());
    if (head.authorization != "Bearer ok") return HttpResponse{401, JsonErrorBody("token")};
    return std::nullopt;
  };
  auto server = StartServer(options, [&handled](const HttpRequest& r) {
    ++handled;
    return Echo(r);
  });
  ASSERT_NE(server, nullptr);
  // Announces a 10 MB body and sends none of it: the answer comes anyway.
  Connection refused(server->port());
  ASSERT_TRUE(refused.Send("POST /p HTTP/1.1\r\nHost: x\r\nContent-Length: 10000000\r\n\r\n"));
  const std::string response = refused.ReadResponse(milliseconds(2000));
  EXPECT_THAT(response, StartsWith("HTTP/1.1 401 Unauthorized\r\n"));
  EXPECT_THAT(response, HasSubstr("Connection: close\r\n"));
  EXPECT_TRUE(refused.ClosedByServerWithin(milliseconds(1000)));
  EXPECT_EQ(handled.load(), 0);

  Connection allowed(server->port());
  ASSERT_TRUE(allowed.Send("POST /p HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ok\r\n"
                           "Content-Length: 2\r\n\r\nhi"));
  EXPECT_EQ(Body(allowed.ReadResponse()), "POST|/p|Bearer ok|hi");
  EXPECT_EQ(handled.load(), 1);
}

TEST(HttpServer, BodiesOverTheInflightBudgetGet503) {
  HttpServerCounters counters;
  HttpServerOptions options;
  options.max_body_bytes = 1000;
  options.max_inflight_bytes = 2000;
  options.counters = &counters;
  options.workers = 2;
  auto server = StartServer(options, [](const HttpRequest& r) {
    // A handler may take more for what it parses, up to the request's cap.
    EXPECT_EQ(r.memory->Take(2000), RequestMemory::Grant::kTooLarge);
    return Echo(r);
  });
  ASSERT_NE(server, nullptr);
  const std::string head = "POST /p HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n";
  // Two bodies being read hold the whole budget...
  Connection a(server->port()), b(server->port());
  ASSERT_TRUE(a.Send(head + "aaa"));
  ASSERT_TRUE(b.Send(head + "bbb"));
  std::this_thread::sleep_for(milliseconds(200));
  // ... so a third is refused from its head, and its connection closed.
  Connection c(server->port());
  ASSERT_TRUE(c.Send("POST /p HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n0123456789"));
  const std::string busy = c.ReadResponse();
  EXPECT_THAT(busy, StartsWith("HTTP/1.1 503 Service Unavailable\r\n"));
  EXPECT_THAT(busy, HasSubstr("Connection: close\r\n"));
  EXPECT_THAT(Body(busy), HasSubstr("limit of 2000 bytes of request bodies"));
  EXPECT_EQ(counters.memory_busy.load(), 1u);
  // Once a body is read and handled, its memory is free again.
  ASSERT_TRUE(a.Send(std::string(997, 'a')));
  EXPECT_THAT(a.ReadResponse(), StartsWith("HTTP/1.1 200 OK\r\n"));
  Connection d(server->port());
  ASSERT_TRUE(d.Send("POST /p HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n0123456789"));
  EXPECT_EQ(Body(d.ReadResponse()), "POST|/p||0123456789");
  // Chunked bodies are taken chunk by chunk (b holds 1000, f 10).
  Connection f(server->port());
  ASSERT_TRUE(f.Send("POST /p HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n01234"));
  std::this_thread::sleep_for(milliseconds(100));
  Connection e(server->port());
  ASSERT_TRUE(e.Send("POST /p HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                     "3e8\r\n" + std::string(1000, 'e') + "\r\n0\r\n\r\n"));
  EXPECT_THAT(e.ReadResponse(), StartsWith("HTTP/1.1 503 "));
  EXPECT_EQ(counters.memory_busy.load(), 2u);
}

TEST(HttpServer, BadMemoryAndConnectionOptionsAreRefused) {
  HttpServerOptions options;
  options.port = 0;
  options.max_body_bytes = 1000;
  options.max_inflight_bytes = 1999;
  auto server = HttpServer::Start(options, Echo);
  ASSERT_FALSE(server.ok());
  EXPECT_THAT(server.status().message(), HasSubstr("at least twice max_request_bytes"));
  rlimit files{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &files), 0);
  if (files.rlim_cur != RLIM_INFINITY) {
    options.max_inflight_bytes = 0;
    options.max_connections = static_cast<size_t>(files.rlim_cur) + 1;
    server = HttpServer::Start(options, Echo);
    ASSERT_FALSE(server.ok());
    EXPECT_THAT(server.status().message(), HasSubstr("over the limit on open files"));
  }
}

TEST(HttpServer, AtTheConnectionCapAnIdleConnectionMakesRoom) {
  HttpServerCounters counters;
  HttpServerOptions options;
  options.workers = 1;
  options.max_connections = 2;
  options.counters = &counters;
  auto server = StartServer(options);
  ASSERT_NE(server, nullptr);
  Connection idle_old(server->port());
  std::this_thread::sleep_for(milliseconds(50));
  Connection busy(server->port());
  ASSERT_TRUE(busy.Send("GET /slow HTTP/1.1\r\n"));  // a request begun, not finished
  std::this_thread::sleep_for(milliseconds(100));
  EXPECT_EQ(counters.connections_open.load(), 2);
  // A third connection closes the idle one and is served.
  Connection fresh(server->port());
  ASSERT_TRUE(fresh.Send(kGet));
  EXPECT_EQ(Body(fresh.ReadResponse()), "GET|/ping||");
  EXPECT_TRUE(idle_old.ClosedByServerWithin(milliseconds(1000)));
  EXPECT_EQ(counters.idle_closed.load(), 1u);
  // With every connection busy, a new one is closed at once.
  ASSERT_TRUE(fresh.Send("GET /slow HTTP/1.1\r\n"));
  std::this_thread::sleep_for(milliseconds(100));
  Connection refused(server->port());
  EXPECT_TRUE(refused.ClosedByServerWithin(milliseconds(1000)));
  EXPECT_EQ(counters.refused_max_connections.load(), 1u);
  // The busy ones go on.
  ASSERT_TRUE(busy.Send("Host: x\r\n\r\n"));
  EXPECT_EQ(Body(busy.ReadResponse()), "GET|/slow||");
}

// CPU seconds (user + system) this process has used.
double ProcessCpuSeconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
         static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

TEST(HttpServer, OutOfFileDescriptorsPausesAcceptingInsteadOfSpinning) {
  HttpServerCounters counters;
  HttpServerOptions options;
  options.workers = 1;
  options.counters = &counters;
  auto server = StartServer(options);
  ASSERT_NE(server, nullptr);
  const int port = server->port();
  int ready[2];
  ASSERT_EQ(pipe(ready), 0);
  // Leave the server a few free descriptors: connections past them find
  // the process out of descriptors.
  rlimit saved{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &saved), 0);
  // (A new descriptor takes the lowest free number below the limit.)
  const auto open = std::distance(std::filesystem::directory_iterator("/proc/self/fd"),
                                  std::filesystem::directory_iterator());
  rlimit low = saved;
  low.rlim_cur = static_cast<rlim_t>(open + 6);
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &low), 0);
  // The clients live in a child process, with descriptors of its own.
  const pid_t child = fork();
  if (child == 0) {
    setrlimit(RLIMIT_NOFILE, &saved);
    for (int i = 0; i < 40; ++i) {
      const int fd = socket(AF_INET, SOCK_STREAM, 0);
      sockaddr_in addr{};
      addr.sin_family = AF_INET;
      addr.sin_port = htons(static_cast<uint16_t>(port));
      addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) _exit(1);
    }
    (void)!write(ready[1], "x", 1);
    pause();
    _exit(0);
  }
  ASSERT_GT(child, 0);
  char byte = 0;
  ASSERT_EQ(read(ready[0], &byte, 1), 1);
  std::this_thread::sleep_for(milliseconds(300));
  const double before = ProcessCpuSeconds();
  std::this_thread::sleep_for(milliseconds(1500));
  const double used = ProcessCpuSeconds() - before;
  EXPECT_LT(used, 0.1) << "the accept loop spins";
  EXPECT_GT(counters.accept_out_of_fds.load(), 0u);
  // Once descriptors are free again, the server accepts and answers.
  kill(child, SIGKILL);
  waitpid(child, nullptr, 0);
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &saved), 0);
  close(ready[0]);
  close(ready[1]);
  const auto deadline = Clock::now() + std::chrono::seconds(5);
  std::string answer;
  while (Clock::now() < deadline) {
    Connection c(port);
    if (c.connected() && c.Send(kGet)) answer = Body(c.ReadResponse(milliseconds(500)));
    if (answer == "GET|/ping||") break;
    std::this_thread::sleep_for(milliseconds(50));
  }
  EXPECT_EQ(answer, "GET|/ping||");
}

TEST(HttpServer, StopFinishesTheRequestInHandAndClosesIdleConnections) {
  std::atomic<bool> in_handler{false};
  auto server = StartServer({}, [&in_handler](const HttpRequest& r) {
    in_handler = true;
    std::this_thread::sleep_for(milliseconds(300));
    return Echo(r);
  });
  ASSERT_NE(server, nullptr);
  Connection idle(server->port());
  Connection busy(server->port());
  ASSERT_TRUE(busy.Send(kGet));
  while (!in_handler) std::this_thread::sleep_for(milliseconds(5));
  const auto start = Clock::now();
  server->Stop();
  EXPECT_LT(Clock::now() - start, milliseconds(2000));
  const std::string response = busy.ReadResponse();
  EXPECT_THAT(response, StartsWith("HTTP/1.1 200 OK\r\n"));
  EXPECT_THAT(response, HasSubstr("Connection: close\r\n"));
  EXPECT_TRUE(idle.ClosedByServerWithin(milliseconds(100)));
  Connection refused(server->port());
  EXPECT_FALSE(refused.connected());
}

// A handler picked by runs_long runs off the worker's event loop: with one
// worker, a request still gets answered while a long one is in progress,
// and Stop waits for the long one's response to go out.
TEST(HttpServer, LongHandlersDoNotHoldUpTheWorker) {
  HttpServerOptions options;
  options.workers = 1;
  options.runs_long = [](std::string_view path) { return path == "/slow"; };
  std::atomic<bool> slow_started{false};
  auto server = StartServer(options, [&slow_started](const HttpRequest& r) {
    if (r.target == "/slow") {
      slow_started = true;
      std::this_thread::sleep_for(milliseconds(1500));
    }
    return Echo(r);
  });
  ASSERT_NE(server, nullptr);
  Connection slow(server->port());
  ASSERT_TRUE(slow.Send("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n"));
  while (!slow_started) std::this_thread::sleep_for(milliseconds(5));
  Connection fast(server->port());
  const auto start = Clock::now();
  ASSERT_TRUE(fast.Send("GET /fast HTTP/1.1\r\nHost: x\r\n\r\n"));
  EXPECT_THAT(Body(fast.ReadResponse()), StartsWith("GET|/fast|"));
  EXPECT_LT(Clock::now() - start, milliseconds(700));
  std::thread stopper([&server] { server->Stop(); });
  EXPECT_THAT(Body(slow.ReadResponse(milliseconds(5000))), StartsWith("GET|/slow|"));
  stopper.join();
}

// --- TLS ----------------------------------------------------------------------

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

class HttpServerTls : public ::testing::Test {
 protected:
  void SetUp() override {
    cert_ = tmp_.Join("cert.pem");
    key_ = tmp_.Join("key.pem");
    const std::string command =
        "openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=localhost -keyout " + key_ +
        " -out " + cert_ + " >/dev/null 2>&1";
    ASSERT_EQ(std::system(command.c_str()), 0) << command;
  }

  // POSTs over HTTPS, verifying the server against cert_; the response body.
  std::string HttpsPost(int port, const std::string& body) {
    asio::io_context io;
    asio::ssl::context context(asio::ssl::context::tls_client);
    context.load_verify_file(cert_);
    context.set_verify_mode(asio::ssl::verify_peer);
    beast::ssl_stream<beast::tcp_stream> stream(io, context);
    beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(5));
    beast::get_lowest_layer(stream).connect(
        asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"),
                                static_cast<unsigned short>(port)));
    stream.handshake(asio::ssl::stream_base::client);
    http::request<http::string_body> request{http::verb::post, "/secure", 11};
    request.set(http::field::host, "localhost");
    request.set(http::field::authorization, "Bearer tls-token");
    request.body() = body;
    request.prepare_payload();
    http::write(stream, request);
    beast::flat_buffer buffer;
    http::response<http::string_body> response;
    http::read(stream, buffer, response);
    EXPECT_EQ(response.result_int(), 200);
    return response.body();
  }

  testing::TempDir tmp_;
  std::string cert_;
  std::string key_;
};

TEST_F(HttpServerTls, ServesHttpsAndSurvivesPlainHttp) {
  HttpServerOptions options;
  options.tls_cert_file = cert_;
  options.tls_key_file = key_;
  options.read_timeout = milliseconds(500);
  auto server = StartServer(options);
  ASSERT_NE(server, nullptr);
  EXPECT_EQ(HttpsPost(server->port(), "hello"), "POST|/secure|Bearer tls-token|hello");

  Connection plain(server->port());
  ASSERT_TRUE(plain.Send(kGet));
  const std::string answer = plain.ReadResponse(milliseconds(1000));
  EXPECT_THAT(answer, ::testing::Not(StartsWith("HTTP/")));
  EXPECT_TRUE(plain.ClosedByServerWithin(milliseconds(1000)));

  // A client that never starts the handshake is closed at the deadline.
  Connection silent(server->port());
  const auto start = Clock::now();
  EXPECT_TRUE(silent.ClosedByServerWithin(milliseconds(2000)));
  EXPECT_GE(Clock::now() - start, milliseconds(450));

  EXPECT_EQ(HttpsPost(server->port(), "again"), "POST|/secure|Bearer tls-token|again");
}

TEST_F(HttpServerTls, BadOptionsAreInvalidArguments) {
  const auto start = [](std::string cert, std::string key) {
    HttpServerOptions options;
    options.port = 0;
    options.tls_cert_file = std::move(cert);
    options.tls_key_file = std::move(key);
    return HttpServer::Start(options, Echo).status();
  };
  Status s = start(cert_, "");
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("tls_key_file"));
  s = start("", key_);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("tls_cert_file"));

  const std::string missing = tmp_.Join("no-such-cert.pem");
  s = start(missing, key_);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr(missing));

  const std::string junk = tmp_.Join("junk.pem");
  std::ofstream(junk) << "not a certificate\n";
  s = start(junk, key_);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr(junk));
  s = start(cert_, junk);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr(junk));
  // A key that is not the certificate's.
  const std::string other_key = tmp_.Join("other.pem");
  ASSERT_EQ(std::system(("openssl genrsa -out " + other_key + " 2048 >/dev/null 2>&1").c_str()),
            0);
  s = start(cert_, other_key);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr(other_key));
}

}  // namespace
}  // namespace larder::server
