#include "server/line_log.h"

#include <gtest/gtest.h>

#include <sstream>
#include <thread>
#include <vector>

namespace larder::server {
namespace {

TEST(LineLog, WritesEveryLineInOrderByTheEnd) {
  std::ostringstream out;
  {
    LineLog log(out, std::chrono::milliseconds(5));
    for (int i = 0; i < 1000; ++i) log.Add("line " + std::to_string(i));
  }
  std::istringstream in(out.str());
  std::string line;
  for (int i = 0; i < 1000; ++i) {
    ASSERT_TRUE(std::getline(in, line));
    EXPECT_EQ(line, "line " + std::to_string(i));
  }
  EXPECT_FALSE(std::getline(in, line));
}

TEST(LineLog, FlushWritesWhatWasAdded) {
  std::ostringstream out;
  LineLog log(out, std::chrono::hours(1));
  log.Add("first");
  log.Flush();
  EXPECT_EQ(out.str(), "first\n");
}

TEST(LineLog, ManyWritersLoseNothing) {
  std::ostringstream out;
  {
    LineLog log(out, std::chrono::milliseconds(1));
    std::vector<std::thread> writers;
    for (int t = 0; t < 4; ++t) {
      writers.emplace_back([&log, t] {
        for (int i = 0; i < 5000; ++i) log.Add("w" + std::to_string(t));
      });
    }
    for (auto& w : writers) w.join();
  }
  size_t lines = 0;
  for (char c : out.str()) lines += c == '\n';
  EXPECT_EQ(lines, 20000u);
}

}  // namespace
}  // namespace larder::server
