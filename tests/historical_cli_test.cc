// `larder historical` on the book-recommendation example, run as a user would.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "support/test_util.h"

namespace larder {
namespace {

using ::larder::testing::CommandResult;
using ::larder::testing::RunLarder;
using ::larder::testing::TempDir;
using ::testing::HasSubstr;

class HistoricalCli : public ::testing::Test {
 protected:
  void SetUp() override {
    repo_ = tmp_.Join("repo");
    ASSERT_EQ(RunLarder("init " + repo_ + " --template book_recs").exit_code, 0);
    c_ = "-c " + repo_ + " ";
    CommandResult gen = RunLarder(c_ + "demo-data --scale 0.01 --end 2023-01-01T00:00:00Z");
    ASSERT_EQ(gen.exit_code, 0) << gen.err;
    CommandResult apply = RunLarder(c_ + "apply");
    ASSERT_EQ(apply.exit_code, 0) << apply.err;
    // Three entity rows: a known user and book, a duplicate of it, and a
    // user and book that never occur, with an offset timestamp.
    tmp_.Write("entities.csv",
               "user_id,isbn,event_timestamp\n"
               "1,0000000000,2023-06-01 00:00:00+00:00\n"
               "1,0000000000,2023-06-01 00:00:00+00:00\n"
               "999999,nope,2023-06-01 02:00:00+02:00\n");
  }

  TempDir tmp_;
  std::string repo_;
  std::string c_;
};

TEST_F(HistoricalCli, WritesTrainingDataFromFileViews) {
  std::string out = tmp_.Join("train.csv");
  CommandResult r = RunLarder(c_ + "historical --entities " + tmp_.Join("entities.csv") +
                              " --features user_features:country,book_features:language" +
                              " --full-feature-names --output " + out);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("Wrote 3 rows (5 columns) to " + out));
  std::string text = ::larder::testing::ReadFileText(out);
  EXPECT_THAT(text, HasSubstr("user_id,isbn,event_timestamp,user_features__country,"
                              "book_features__language\n"));
  // The unknown entity gets empty (NULL) features; its time is in UTC.
  EXPECT_THAT(text, HasSubstr("999999,nope,2023-06-01 00:00:00+00,,\n"));
}

TEST_F(HistoricalCli, ModelViewsNeedRunFirst) {
  std::string out = tmp_.Join("train.parquet");
  CommandResult r = RunLarder(c_ + "historical --entities " + tmp_.Join("entities.csv") +
                              " --feature-service model_v4 --output " + out);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("run `larder run` first"));

  CommandResult run = RunLarder(c_ + "run");
  ASSERT_EQ(run.exit_code, 0) << run.err;
  std::string sql = "\"SELECT user_id, isbn, rating_timestamp AS event_timestamp FROM "
                    "read_parquet('" + repo_ + "/data/raw/ratings.parquet')\"";
  r = RunLarder(c_ + "historical --entity-sql " + sql + " --feature-service model_v4 --output " +
                out);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("(14 columns)"));
  EXPECT_TRUE(std::filesystem::exists(out));
}

TEST_F(HistoricalCli, BadInputIsAnError) {
  CommandResult r = RunLarder(c_ + "historical --features user_features:country --output x.csv");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("--entities FILE or --entity-sql SQL"));
  r = RunLarder(c_ + "historical --entities " + tmp_.Join("entities.csv") +
                " --features user_features:nope --output " + tmp_.Join("x.csv"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("feature view 'user_features' has no feature 'nope'"));
  tmp_.Write("nokey.csv", "isbn,event_timestamp\n0000000000,2023-01-01 00:00:00\n");
  r = RunLarder(c_ + "historical --entities " + tmp_.Join("nokey.csv") +
                " --features user_features:country --output " + tmp_.Join("x.csv"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("no join key column `user_id`"));
  EXPECT_THAT(r.err, HasSubstr("nokey.csv"));
}

}  // namespace
}  // namespace larder
