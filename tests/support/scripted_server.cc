#include "support/scripted_server.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <string>
#include <utility>

namespace larder::testing {

ScriptedServer::ScriptedServer(std::vector<Response> script, bool close_each)
    : script_(std::move(script)), close_each_(close_each) {
  fd_ = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  EXPECT_EQ(bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  EXPECT_EQ(listen(fd_, 16), 0);
  getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.sin_port);
  thread_ = std::thread([this] { Serve(); });
}

ScriptedServer::~ScriptedServer() {
  shutdown(fd_, SHUT_RDWR);
  close(fd_);
  thread_.join();
}

void ScriptedServer::Serve() {
  while (true) {
    const int c = accept(fd_, nullptr, nullptr);
    if (c < 0) return;
    ++connections_;
    std::string buf;
    bool open = true;
    while (open) {
      size_t end;
      while ((end = buf.find("\r\n\r\n")) == std::string::npos) {
        char chunk[4096];
        const ssize_t n = read(c, chunk, sizeof(chunk));
        if (n <= 0) {
          open = false;
          break;
        }
        buf.append(chunk, static_cast<size_t>(n));
      }
      if (!open) break;
      const std::string head = buf.substr(0, end);
      buf.erase(0, end + 4);
      Request req;
      size_t length = 0;
      for (size_t pos = 0; pos < head.size();) {
        size_t eol = head.find("\r\n", pos);
        if (eol == std::string::npos) eol = head.size();
        const std::string line = head.substr(pos, eol - pos);
        pos = eol + 2;
        std::string lower = line;
        std::transform(lower.begin(), lower.end(), lower.begin(),
                       [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
        if (lower.starts_with("content-length:")) length = std::stoul(line.substr(15));
        if (lower.starts_with("x-amz-target:")) req.target = line.substr(line.find('.') + 1);
      }
      while (buf.size() < length) {
        char chunk[4096];
        const ssize_t n = read(c, chunk, sizeof(chunk));
        if (n <= 0) break;
        buf.append(chunk, static_cast<size_t>(n));
      }
      req.body = buf.substr(0, length);
      buf.erase(0, length);
      requests_.push_back(req);
      const Response r = next_ < script_.size() ? script_[next_++] : Response{500, "{}", false};
      std::string out = "HTTP/1.1 " + std::to_string(r.status) + " X\r\n" +
                        "Content-Type: application/x-amz-json-1.0\r\n";
      if (r.chunked) {
        out += "Transfer-Encoding: chunked\r\n\r\n";
        const size_t half = r.body.size() / 2;
        for (const std::string& part : {r.body.substr(0, half), r.body.substr(half)}) {
          char size[32];
          std::snprintf(size, sizeof(size), "%zx", part.size());
          if (!part.empty()) out += std::string(size) + ";ext=1\r\n" + part + "\r\n";
        }
        out += "0\r\n\r\n";
      } else {
        out += "Content-Length: " + std::to_string(r.body.size()) + "\r\n\r\n" + r.body;
      }
      if (write(c, out.data(), out.size()) != static_cast<ssize_t>(out.size())) break;
      if (close_each_) break;
    }
    close(c);
  }
}

}  // namespace larder::testing
