// `larder push` as a user runs it: pushed rows reach training data and online reads.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "support/test_util.h"

namespace larder {
namespace {

using ::larder::testing::CommandResult;
using ::larder::testing::RunLarder;
using ::larder::testing::TempDir;
using ::testing::HasSubstr;

TEST(PushCli, PushedRowsReachTrainingData) {
  TempDir tmp;
  std::string repo = tmp.Join("repo");
  ASSERT_EQ(RunLarder("init " + repo).exit_code, 0);
  tmp.Write("repo/push.yaml",
            "data_sources:\n"
            "  - {name: user_stats_push, type: push, batch_source: user_stats_source}\n"
            "feature_views:\n"
            "  - name: pushed_stats\n    entities: [user]\n    source: user_stats_push\n"
            "    schema: [{name: books_read, dtype: Int64}]\n");
  std::string c = "-c " + repo + " ";
  ASSERT_EQ(RunLarder(c + "apply").exit_code, 0);
  tmp.Write("rows.csv",
            "user_id,books_read,event_timestamp,created\n"
            "1002,40,2024-03-01 00:00:00,2024-03-01 00:00:00\n");
  CommandResult push = RunLarder(c + "push user_stats_push " + tmp.Join("rows.csv"));
  ASSERT_EQ(push.exit_code, 0) << push.err;
  EXPECT_THAT(push.out, HasSubstr("Pushed 1 row(s) to user_stats_push"));

  tmp.Write("entities.csv",
            "user_id,event_timestamp\n1002,2024-02-01 00:00:00\n1002,2024-03-02 00:00:00\n");
  CommandResult hist = RunLarder(c + "historical --entities " + tmp.Join("entities.csv") +
                                 " --features pushed_stats:books_read --output " +
                                 tmp.Join("out.csv"));
  ASSERT_EQ(hist.exit_code, 0) << hist.err;
  std::string text = ::larder::testing::ReadFileText(tmp.Join("out.csv"));
  // Before the push's timestamp the batch file's value; after it, the pushed one.
  EXPECT_THAT(text, HasSubstr("1002,2024-02-01 00:00:00+00,3\n"));
  EXPECT_THAT(text, HasSubstr("1002,2024-03-02 00:00:00+00,40\n"));

  tmp.Write("bad.csv", "user_id,books_read,event_timestamp\n1002,lots,2024-03-01 00:00:00\n");
  CommandResult bad = RunLarder(c + "push user_stats_push " + tmp.Join("bad.csv"));
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_THAT(bad.err, HasSubstr("bad.csv: column `books_read`: 1 row(s) cannot be read as BIGINT"));
  EXPECT_EQ(RunLarder(c + "push user_stats_push " + tmp.Join("rows.csv") + " --to sideways").exit_code,
            2);

  // Online: the views reading the source serve the pushed row.
  push = RunLarder(c + "push user_stats_push " + tmp.Join("rows.csv") + " --to online");
  ASSERT_EQ(push.exit_code, 0) << push.err;
  EXPECT_THAT(push.out, HasSubstr("pushed_stats: 1 written, 0 skipped"));
  CommandResult online = RunLarder(c + "online --features pushed_stats:books_read "
                                       "--entity user_id=1002 --now 2024-03-02T00:00:00Z");
  ASSERT_EQ(online.exit_code, 0) << online.err;
  EXPECT_THAT(online.out, HasSubstr("\"values\":[40]"));
  bad = RunLarder(c + "push user_stats_push " + tmp.Join("bad.csv") + " --to online_and_offline");
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_THAT(bad.err, HasSubstr("df.books_read[0]"));
  EXPECT_EQ(RunLarder(c + "push user_stats " + tmp.Join("rows.csv")).exit_code, 1);
}

}  // namespace
}  // namespace larder
