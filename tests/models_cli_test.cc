// `larder run` and `larder test` on small repos, run as a user would.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <thread>
#include <utility>
#include <vector>

#include "offline/duckdb/duckdb_connection.h"
#include "support/test_util.h"

namespace larder {
namespace {

using ::larder::testing::CommandResult;
using ::larder::testing::RunLarder;
using ::larder::testing::TempDir;
using ::testing::HasSubstr;
using ::testing::Not;

class ModelsCli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_.Write("feature_store.yaml", "project: models_cli\n");
    dir_.Write("sources.yaml",
               "data_sources:\n"
               "  - name: events\n"
               "    type: file\n"
               "    path: data/events.csv\n"
               "    timestamp_field: ts\n");
    WriteEvents("1,2024-01-01 00:00:00,10\n2,2024-01-02 00:00:00,20\n3,2024-01-03 00:00:00,30\n");
    dir_.Write("models/clean.sql",
               "{{ config(materialized='view') }}\n"
               "SELECT id, ts, v FROM {{ source('events') }}\n");
    dir_.Write("models/totals.sql", "SELECT count(*) AS n, sum(v) AS s FROM {{ ref('clean') }}\n");
  }

  void WriteEvents(const std::string& rows) { dir_.Write("data/events.csv", "id,ts,v\n" + rows); }

  CommandResult Larder(const std::string& args) {
    return RunLarder("-c " + dir_.path() + " " + args);
  }

  TempDir dir_;
};

TEST_F(ModelsCli, HelpListsRunAndTest) {
  CommandResult r = RunLarder("--help");
  EXPECT_THAT(r.out, HasSubstr("run "));
  EXPECT_THAT(r.out, HasSubstr("test "));
  r = RunLarder("run --help");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_THAT(r.out, HasSubstr("--select NAMES"));
  EXPECT_THAT(r.out, HasSubstr("--full-refresh"));
  EXPECT_EQ(RunLarder("run --bogus").exit_code, 2);
}

TEST_F(ModelsCli, RunBuildsInDependencyOrderWithProgress) {
  CommandResult r = Larder("run");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  size_t view = r.out.find("OK built view clean in ");
  size_t table = r.out.find("OK built table totals (1 row) in ");
  EXPECT_NE(view, std::string::npos) << r.out;
  EXPECT_NE(table, std::string::npos) << r.out;
  EXPECT_LT(view, table);
  EXPECT_THAT(r.out, HasSubstr("Built 2 models in "));
  EXPECT_TRUE(std::filesystem::exists(dir_.Join("data/offline_store.duckdb")));

  r = Larder("run --select totals");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, Not(HasSubstr("clean")));
  EXPECT_THAT(r.out, HasSubstr("Built 1 model in "));
}

TEST_F(ModelsCli, IncrementalAndFullRefresh) {
  dir_.Write("models/inc.sql",
             "{{ config(materialized='incremental', unique_key='id', event_time='ts', "
             "lookback='1d') }}\n"
             "SELECT id, ts, v FROM {{ source('events') }}\n"
             "{% if is_incremental() %}WHERE ts > {{ incremental_lower_bound() }}{% endif %}\n");
  CommandResult r = Larder("run --select inc");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("OK built incremental inc (3 rows)"));
  WriteEvents("1,2024-01-01 00:00:00,10\n2,2024-01-02 00:00:00,20\n3,2024-01-03 00:00:00,30\n"
              "4,2024-01-02 12:00:00,40\n");
  r = Larder("run --select inc");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out,
              HasSubstr("OK merged 2 rows into incremental inc (1 replaced); 4 rows in all"));
  r = Larder("run --select inc --full-refresh");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("OK built incremental inc (4 rows)"));
}

TEST_F(ModelsCli, DataTestsPassAndFail) {
  dir_.Write("models/models.yaml",
             "models:\n"
             "  - name: clean\n"
             "    columns:\n"
             "      - name: id\n"
             "        tests: [not_null, unique, {accepted_values: {values: ['1']}}]\n"
             "  - name: totals\n"
             "    columns:\n"
             "      - name: n\n"
             "        tests: [{accepted_range: {min_value: 1, max_value: 3}}]\n");
  CommandResult r = Larder("test");
  EXPECT_EQ(r.exit_code, 1);  // nothing built yet
  EXPECT_THAT(r.out, HasSubstr("ERROR clean.id not_null: model clean has not been built"));

  ASSERT_EQ(Larder("run").exit_code, 0);
  r = Larder("test");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.out, HasSubstr("PASS clean.id not_null (0 failing rows)"));
  EXPECT_THAT(r.out, HasSubstr("PASS clean.id unique (0 failing rows)"));
  EXPECT_THAT(r.out, HasSubstr("FAIL clean.id accepted_values (2 failing rows)"));
  EXPECT_THAT(r.out, HasSubstr("PASS totals.n accepted_range (0 failing rows)"));
  EXPECT_THAT(r.err, HasSubstr("Error: 1 of 4 data test(s) failed:"));
  EXPECT_THAT(r.err, HasSubstr("model clean, column id, test accepted_values: 2 failing rows "
                               "(models/models.yaml:5)"));

  r = Larder("test --select totals");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("All 1 data test(s) passed."));
  EXPECT_THAT(r.out, Not(HasSubstr("clean")));
}

TEST_F(ModelsCli, ErrorsNameTheModels) {
  CommandResult r = Larder("run --select nope");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("no SQL model 'nope'"));

  dir_.Write("models/clean.sql", "SELECT * FROM {{ ref('totals') }}\n");
  r = Larder("run");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("dependency cycle: clean -> totals -> clean"));

  dir_.Write("models/clean.sql", "SELECT *\nFROM {{ ref('missing_model') }}\n");
  r = Larder("run");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err,
              HasSubstr("models/clean.sql:2: model 'clean' refs unknown model 'missing_model'"));

  dir_.Write("models/clean.sql", "SELECT *\nFROM {{ var('x') }}\n");
  r = Larder("run");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("models/clean.sql:2: model 'clean': unsupported template "
                               "expression `{{ var('x') }}`"));

  dir_.Write("models/clean.sql", "SELECT no_such_column FROM {{ source('events') }}\n");
  r = Larder("run");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("model clean (models/clean.sql)"));
}

// A model file with more than one statement: nothing runs, the file and line
// of the second statement are named, and the store is unchanged.
TEST_F(ModelsCli, ModelWithSeveralStatementsIsRefused) {
  ASSERT_EQ(Larder("run").exit_code, 0);
  const std::vector<std::pair<std::string, std::string>> refused = {
      {"SELECT 1 AS x;\nDROP TABLE totals;\nSELECT 1 AS x\n",
       "models/evil.sql:2: model 'evil' holds 3 statements; give only one SELECT statement"},
      {"DROP TABLE totals\n", "models/evil.sql:1: model 'evil' is a DROP statement"},
  };
  for (const auto& [sql, error] : refused) {
    dir_.Write("models/evil.sql", sql);
    CommandResult r = Larder("run");
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_THAT(r.out, Not(HasSubstr("OK built table evil")));
    EXPECT_THAT(r.err, HasSubstr(error));
  }

  auto conn = duckdb::Connection::Open(dir_.Join("data/offline_store.duckdb"));
  ASSERT_TRUE(conn.ok()) << conn.status().ToString();
  auto totals = (*conn)->QueryScalar("SELECT n FROM totals", "totals");
  ASSERT_TRUE(totals.ok()) << totals.status().ToString();
  EXPECT_EQ(totals->value_or(""), "3");
  auto evil = (*conn)->QueryScalar(
      "SELECT count(*) FROM information_schema.tables WHERE table_name = 'evil'", "evil");
  ASSERT_TRUE(evil.ok());
  EXPECT_EQ(evil->value_or(""), "0");
}

// Kills `larder run` at several points; each time the offline store must hold
// either the old or the new version of every model, never a half-built one,
// and a final run must end in the same state as an uninterrupted one.
TEST_F(ModelsCli, KilledRunLeavesNoHalfBuiltModels) {
  dir_.Write("models/big.sql", "SELECT i, i * 2 AS j FROM range(3000000) t(i) ORDER BY j DESC\n");
  dir_.Write("models/inc.sql",
             "{{ config(materialized='incremental', unique_key='id', event_time='ts', "
             "lookback='2d') }}\n"
             "SELECT id, ts, v FROM {{ source('events') }}\n"
             "{% if is_incremental() %}WHERE ts > {{ incremental_lower_bound() }}{% endif %}\n");
  ASSERT_EQ(Larder("run").exit_code, 0);
  dir_.Write("models/big.sql", "SELECT i, i * 2 AS j FROM range(4000000) t(i) ORDER BY j DESC\n");
  WriteEvents("1,2024-01-01 00:00:00,10\n2,2024-01-02 00:00:00,20\n3,2024-01-03 00:00:00,30\n"
              "4,2024-01-02 12:00:00,40\n");

  auto check = [&](const std::string& when, bool final_state) {
    // The killed process may take a moment to release its file lock.
    auto conn = duckdb::Connection::Open(dir_.Join("data/offline_store.duckdb"));
    for (int i = 0; i < 100 && !conn.ok() && conn.status().code() == StatusCode::kBusy; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      conn = duckdb::Connection::Open(dir_.Join("data/offline_store.duckdb"));
    }
    ASSERT_TRUE(conn.ok()) << when << ": " << conn.status().ToString();
    auto big = (*conn)->QueryScalar("SELECT count(*) FROM big", "big");
    ASSERT_TRUE(big.ok()) << when;
    auto inc = (*conn)->QueryScalar("SELECT count(*) || '/' || count(DISTINCT id) FROM inc", "inc");
    ASSERT_TRUE(inc.ok()) << when;
    if (final_state) {
      EXPECT_EQ(**big, "4000000") << when;
      EXPECT_EQ(**inc, "4/4") << when;
    } else {
      EXPECT_TRUE(**big == "3000000" || **big == "4000000") << when << ": " << **big;
      EXPECT_TRUE(**inc == "3/3" || **inc == "4/4") << when << ": " << **inc;
    }
  };
  for (const char* delay : {"0.05", "0.2", "0.4", "0.7", "1.0", "1.5"}) {
    std::string cmd = std::string("timeout --foreground -s KILL ") + delay + " " + LARDER_BINARY + " -c " +
                      dir_.path() + " run >/dev/null 2>&1";
    (void)std::system(cmd.c_str());
    check(std::string("killed after ") + delay + "s", false);
  }
  CommandResult r = Larder("run");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  check("after a full run", true);
}

}  // namespace
}  // namespace larder
