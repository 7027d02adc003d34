#include "support/serve_fixture.h"

#include <unistd.h>

#include <chrono>

#include "support/redis_server.h"
#include "support/server_process.h"

namespace larder::testing {

bool Healthy(int port) { return RawRequest(port, "GET", "/health").status == 200; }

RawResponse RawRequest(int port, const std::string& method, const std::string& path,
                       const std::string& headers, const std::string& body) {
  const std::string reply =
      ReplyToHead(port, method + " " + path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" +
                            headers + "Content-Length: " + std::to_string(body.size()) +
                            "\r\n\r\n" + body);
  RawResponse out;
  if (reply.size() < 12 || !reply.starts_with("HTTP/1.1 ")) return out;
  out.status = std::stoi(reply.substr(9, 3));
  const size_t end = reply.find("\r\n\r\n");
  if (end != std::string::npos) out.body = reply.substr(end + 4);
  return out;
}

std::string ReplyToHead(int port, const std::string& head) {
  const int fd = ConnectLoopback(port, 5);
  if (fd < 0) return "";
  std::string reply;
  if (write(fd, head.data(), head.size()) == static_cast<ssize_t>(head.size())) {
    char buf[4096];
    ssize_t n = 0;
    while ((n = read(fd, buf, sizeof buf)) > 0) reply.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  return reply;
}

void ServeFixture::SetUp() {
  repo_ = tmp_.Join("repo");
  ASSERT_EQ(RunLarder("init " + repo_ + " --template book_recs").exit_code, 0);
  c_ = "-c " + repo_ + " ";
  for (const char* step : {"demo-data --scale 0.01 --end 2023-01-01T00:00:00Z", "apply", "run",
                           "materialize-incremental 2023-01-01T00:00:00Z"}) {
    CommandResult r = RunLarder(c_ + step);
    ASSERT_EQ(r.exit_code, 0) << step << ": " << r.err;
  }
}

void ServeFixture::TearDown() { StopServer(); }

void ServeFixture::StartServer() {
  port_ = RedisServer::FreePort();
  auto pid = SpawnProcess(
      {LARDER_BINARY, "serve", "-c", repo_, "--port", std::to_string(port_), "--workers", "2"},
      tmp_.Join("serve.log"));
  ASSERT_TRUE(pid.ok()) << pid.status().ToString();
  pid_ = *pid;
  auto outcome =
      WaitUntilAnswering(pid_, [this] { return Healthy(port_); }, std::chrono::seconds(20));
  ASSERT_EQ(outcome, WaitOutcome::kAnswering) << ReadFileText(tmp_.Join("serve.log"));
  auto url = online::ParseHttpUrl("http://127.0.0.1:" + std::to_string(port_));
  ASSERT_TRUE(url.ok());
  client_ = std::make_unique<online::HttpClient>(*url, online::HttpClientOptions{});
}

void ServeFixture::StopServer() {
  client_.reset();
  StopProcess(pid_);
  pid_ = -1;
}

online::HttpResponse ServeFixture::Post(const std::string& path, const std::string& body,
                                        const online::HttpHeaders& headers) {
  online::HttpHeaders all = headers;
  all.emplace_back("Content-Type", "application/json");
  auto r = client_->Post(path, all, body);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? *r : online::HttpResponse{};
}

}  // namespace larder::testing
