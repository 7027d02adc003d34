// `larder demo-data`'s timeline and `larder version`, run as a user would.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <ctime>
#include <memory>
#include <string>

#include "offline/duckdb/duckdb_connection.h"
#include "support/test_util.h"

namespace larder {
namespace {

using ::larder::testing::CommandResult;
using ::larder::testing::ReadFileText;
using ::larder::testing::RunLarder;
using ::larder::testing::SourceDir;
using ::larder::testing::TempDir;
using ::testing::HasSubstr;

// The seconds since 1970-01-01 UTC of the first and last rating in DIR.
std::pair<int64_t, int64_t> RatingSpan(const std::string& dir) {
  auto conn = duckdb::Connection::Open(":memory:");
  EXPECT_TRUE(conn.ok()) << conn.status().ToString();
  if (!conn.ok()) return {0, 0};
  auto v = (*conn)->QueryScalar(
      "SELECT epoch(min(rating_timestamp))::BIGINT || ' ' || epoch(max(rating_timestamp))::BIGINT "
      "FROM read_parquet(" + duckdb::QuoteLiteral(dir + "/ratings.parquet") + ")",
      "ratings");
  EXPECT_TRUE(v.ok() && v->has_value());
  if (!v.ok() || !v->has_value()) return {0, 0};
  const std::string& text = **v;
  size_t space = text.find(' ');
  return {std::stoll(text.substr(0, space)), std::stoll(text.substr(space + 1))};
}

// By default the timeline ends at the start of the current UTC day, so that
// online reads judged against today's clock find values within their ttl.
TEST(DemoDataCli, TimelineEndsTodayByDefault) {
  TempDir tmp;
  const int64_t before = std::chrono::duration_cast<std::chrono::seconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
  CommandResult r = RunLarder("demo-data --scale 0.01 --out " + tmp.Join("raw"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const int64_t after = std::chrono::duration_cast<std::chrono::seconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
  auto [first, last] = RatingSpan(tmp.Join("raw"));
  const int64_t day = 86'400;
  const int64_t end_lo = before - before % day;
  const int64_t end_hi = after - after % day;  // a run across midnight
  EXPECT_LT(last, end_hi) << r.out;
  EXPECT_GE(last, end_lo - 7 * day) << r.out;  // ~9 ratings a day at this scale
  EXPECT_GE(first, end_lo - 1096 * day) << r.out;
  std::time_t t = static_cast<std::time_t>(end_lo);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char today[32];
  std::strftime(today, sizeof today, "%Y-%m-%dT00:00:00Z", &tm);
  if (end_lo == end_hi) {
    EXPECT_THAT(r.out, HasSubstr(std::string("(before ") + today + ")"));
  }
}

TEST(DemoDataCli, EndChoosesTheTimeline) {
  TempDir tmp;
  CommandResult r =
      RunLarder("demo-data --scale 0.01 --end 2023-01-01T00:00:00Z --out " + tmp.Join("raw"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("(before 2023-01-01T00:00:00Z)"));
  auto [first, last] = RatingSpan(tmp.Join("raw"));
  EXPECT_GE(first, 1'577'836'800);  // 2020-01-01
  EXPECT_LT(last, 1'672'531'200);   // 2023-01-01
}

TEST(DemoDataCli, RefusesABadEnd) {
  TempDir tmp;
  for (const char* end : {"yesterday", "2023-01-01T00:00:00.5Z", "1900-01-01"}) {
    CommandResult r = RunLarder(std::string("demo-data --scale 0.001 --end ") + end + " --out " +
                                tmp.Join("raw"));
    EXPECT_NE(r.exit_code, 0) << end;
    EXPECT_THAT(r.err, HasSubstr("end")) << end;
  }
}

// The version comes from the file VERSION, the one place it is written.
TEST(VersionCli, PrintsTheVersionFile) {
  std::string version = ReadFileText(SourceDir() + "/VERSION");
  while (!version.empty() && (version.back() == '\n' || version.back() == ' ')) version.pop_back();
  ASSERT_FALSE(version.empty());
  CommandResult r = RunLarder("version");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out, "larder " + version + "\n");
  CommandResult flag = RunLarder("--version");
  EXPECT_EQ(flag.exit_code, 0);
  EXPECT_EQ(flag.out, r.out);
  EXPECT_THAT(RunLarder("--help").out, HasSubstr("version"));
}

}  // namespace
}  // namespace larder
