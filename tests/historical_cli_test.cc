// `larder historical` on the book-recommendation example, run as a user would.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include "support/test_util.h"

namespace larder {
namespace {

using ::larder::testing::CommandResult;
using ::larder::testing::RunLarder;
using ::larder::testing::TempDir;
using ::testing::HasSubstr;
using ::testing::Not;

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
  EXPECT_THAT(r.out, HasSubstr("(16 columns)"));  // 3 of the entity rows, 13 features
  EXPECT_TRUE(std::filesystem::exists(out));
}

// The entity query is one SELECT that can change nothing: the ways out of
// the parentheses it was once wrapped in, and other statements, fail with a
// clear error, leave the model table in place and write no file.
TEST_F(HistoricalCli, EntitySqlCannotChangeTheStore) {
  CommandResult run = RunLarder(c_ + "run");
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const std::string db = repo_ + "/data/offline_store.duckdb";
  const std::string x_csv = tmp_.Join("x.csv");
  const std::string row = "SELECT 1 AS user_id, TIMESTAMP '2022-01-01' AS event_timestamp";
  struct Attempt {
    std::string sql;
    std::string error;
  };
  const std::vector<Attempt> attempts = {
      {row + "); DROP TABLE bucketed_age; SELECT (1", "syntax error"},
      {row + "); COPY (SELECT 42) TO '" + x_csv + "'; SELECT (1", "syntax error"},
      {row + "); DETACH larder_offline; ATTACH '" + db +
           "' AS o2; DROP TABLE o2.bucketed_age; SELECT (1",
       "syntax error"},
      {row + "; DROP TABLE bucketed_age", "holds 2 statements"},
      {row + "; COPY (SELECT 42) TO '" + x_csv + "'", "holds 2 statements"},
      {"DETACH larder_offline; ATTACH '" + db + "' AS o2; DROP TABLE o2.bucketed_age; " +
           row,
       "holds 4 statements"},
      {"DROP TABLE bucketed_age", "is a DROP statement; give one SELECT statement"},
      {"COPY (SELECT 42) TO '" + x_csv + "'", "is a COPY statement"},
  };
  const std::string out = tmp_.Join("train.csv");
  for (const Attempt& a : attempts) {
    SCOPED_TRACE(a.sql);
    CommandResult r = RunLarder(c_ + "historical --entity-sql \"" + a.sql +
                                "\" --features user_age_features:bucketed_age "
                                "--output " + out);
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_THAT(r.err, HasSubstr("entity SQL"));
    EXPECT_THAT(r.err, HasSubstr(a.error));
  }
  EXPECT_FALSE(std::filesystem::exists(x_csv));
  EXPECT_FALSE(std::filesystem::exists(out));
  // The model table is still there: a training set from it still works.
  CommandResult r = RunLarder(c_ + "historical --entity-sql \"" + row +
                              " -- a comment at the end\" --features "
                              "user_age_features:bucketed_age --output " + out);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("Wrote 1 rows (3 columns)"));
}

// Entity tables that cannot be used are reported in the user's terms, not
// with the SQL Larder generated.
TEST_F(HistoricalCli, BadEntityTablesAreExplained) {
  const std::string out = tmp_.Join("x.csv");
  tmp_.Write("header_only.csv", "user_id,isbn,event_timestamp\n");
  CommandResult r = RunLarder(c_ + "historical --entities " + tmp_.Join("header_only.csv") +
                              " --features user_features:country --output " + out);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("header_only.csv has no rows"));
  EXPECT_THAT(r.err, Not(HasSubstr("VARCHAR")));

  tmp_.Write("bad_time.csv",
             "user_id,event_timestamp\n1,2023-06-01 00:00:00\n2,not-a-time\n");
  r = RunLarder(c_ + "historical --entities " + tmp_.Join("bad_time.csv") +
                " --features user_features:country --output " + out);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("bad_time.csv: row 2 (after the header): column `event_timestamp` "
                               "holds 'not-a-time', which is not a timestamp"));
  EXPECT_THAT(r.err, Not(HasSubstr("LINE")));
  EXPECT_THAT(r.err, Not(HasSubstr("__larder")));

  r = RunLarder(c_ + "historical --entity-sql \"SELECT 1 AS user_id, 'not-a-time' AS "
                "event_timestamp\" --features user_features:country --output " + out);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("entity SQL: row 1: column `event_timestamp` holds 'not-a-time'"));
  EXPECT_THAT(r.err, Not(HasSubstr("LINE")));
  EXPECT_FALSE(std::filesystem::exists(out));
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
