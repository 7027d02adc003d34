// `type: dbt` sources against a real dbt-duckdb project: `dbt build` makes
// a table and a view over a seed, and a Larder repo reads them through
// plan, apply, historical, materialize and online, compared with the same
// seed read as a file source. Needs third_party/dbt_venv
// (scripts/dbt_venv.sh, which scripts/test.sh runs).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <memory>

#include <nlohmann/json.hpp>

#include "support/test_util.h"

namespace larder {
namespace {

namespace fs = std::filesystem;
using ::larder::testing::CommandResult;
using ::larder::testing::RunLarder;
using ::larder::testing::TempDir;
using ::testing::HasSubstr;

std::string DbtBinary() { return ::larder::testing::SourceDir() + "/third_party/dbt_venv/bin/dbt"; }

class DbtSource : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!fs::exists(DbtBinary())) return;
    // Larder and dbt would otherwise read another profile.
    unsetenv("DBT_PROFILES_DIR");
    unsetenv("DBT_TARGET");
    tmp_ = new TempDir;
    tmp_->Write("dbt/dbt_project.yml",
                "name: larder_shop\nversion: '1.0'\nprofile: larder_shop\n");
    tmp_->Write("dbt/profiles.yml",
                "larder_shop:\n  target: dev\n  outputs:\n"
                "    dev: {type: duckdb, path: warehouse.duckdb, threads: 1}\n");
    tmp_->Write("dbt/seeds/events.csv",
                "user_id,event_ts,amount\n"
                "1,2023-01-01 00:00:00,1.5\n"
                "1,2023-01-03 00:00:00,2.5\n"
                "2,2023-01-02 00:00:00,4.0\n");
    tmp_->Write("dbt/models/user_amounts.sql",
                "{{ config(materialized='table') }}\n"
                "select cast(user_id as bigint) as user_id, cast(event_ts as timestamp) as "
                "event_ts, cast(amount as double) * 2 as amount2 from {{ ref('events') }}\n");
    tmp_->Write("dbt/models/user_bonus.sql",
                "{{ config(materialized='view') }}\n"
                "select user_id, event_ts, amount2 + 1 as amount3 from {{ ref('user_amounts') }}\n");
    std::string cmd = "cd " + tmp_->Join("dbt") +
                      " && DO_NOT_TRACK=1 DBT_SEND_ANONYMOUS_USAGE_STATS=false " + DbtBinary() +
                      " build --profiles-dir . > " + tmp_->Join("dbt.log") + " 2>&1";
    dbt_status_ = std::system(cmd.c_str());

    tmp_->Write("repo/feature_store.yaml", "project: dbt_shop\n");
    tmp_->Write("repo/definitions.yaml",
                "entities:\n"
                "  - {name: user, join_keys: [user_id], value_type: Int64}\n"
                "data_sources:\n"
                "  - name: amounts_dbt\n"
                "    type: dbt\n"
                "    project_dir: ../dbt\n"
                "    model: user_amounts\n"
                "    timestamp_field: event_ts\n"
                "  - name: bonus_dbt\n"
                "    type: dbt\n"
                "    project_dir: ../dbt\n"
                "    model: user_bonus\n"
                "    timestamp_field: event_ts\n"
                "    field_mapping: {amount3: bonus}\n"
                "  - name: events_file\n"
                "    type: file\n"
                "    path: ../dbt/seeds/events.csv\n"
                "    timestamp_field: event_ts\n"
                "feature_views:\n"
                "  - name: amounts\n"
                "    entities: [user]\n"
                "    source: amounts_dbt\n"
                "    schema: [{name: amount2, dtype: Float64}]\n"
                "  - name: bonus\n"
                "    entities: [user]\n"
                "    source: bonus_dbt\n"
                "    schema: [{name: bonus, dtype: Float64}]\n"
                "  - name: amount_sum\n"
                "    entities: [user]\n"
                "    source: amounts_dbt\n"
                "    aggregations: [{column: amount2, function: sum, time_window: 30d}]\n"
                "  - name: raw\n"
                "    entities: [user]\n"
                "    source: events_file\n"
                "    schema: [{name: amount, dtype: Float64}]\n");
    tmp_->Write("entities.csv",
                "user_id,event_timestamp\n"
                "1,2023-01-02 12:00:00+00:00\n"
                "1,2023-01-05 00:00:00+00:00\n"
                "2,2023-01-05 00:00:00+00:00\n");
  }
  static void TearDownTestSuite() {
    delete tmp_;
    tmp_ = nullptr;
  }

  void SetUp() override {
    if (!fs::exists(DbtBinary())) {
      GTEST_SKIP() << "no dbt at " << DbtBinary() << "; create it with scripts/dbt_venv.sh";
    }
    ASSERT_EQ(dbt_status_, 0) << "dbt build failed:\n"
                              << ::larder::testing::ReadFileText(tmp_->Join("dbt.log"));
    c_ = "-c " + tmp_->Join("repo") + " ";
  }

  static TempDir* tmp_;
  static int dbt_status_;
  std::string c_;
};

TempDir* DbtSource::tmp_ = nullptr;
int DbtSource::dbt_status_ = -1;

TEST_F(DbtSource, PlanApplyHistoricalMaterializeAndOnline) {
  CommandResult plan = RunLarder(c_ + "plan");
  ASSERT_EQ(plan.exit_code, 0) << plan.err;
  CommandResult apply = RunLarder(c_ + "apply");
  ASSERT_EQ(apply.exit_code, 0) << apply.err;

  // Point-in-time values: the table is amount * 2, the view that plus 1,
  // beside the seed read directly; and a window sum over the table.
  std::string out = tmp_->Join("train.csv");
  CommandResult hist = RunLarder(c_ + "historical --entities " + tmp_->Join("entities.csv") +
                                 " --features amounts:amount2,bonus:bonus,raw:amount,amount_sum:amount2_sum_30d"
                                 " --output " +
                                 out);
  ASSERT_EQ(hist.exit_code, 0) << hist.err;
  std::string text = ::larder::testing::ReadFileText(out);
  EXPECT_THAT(text, HasSubstr("user_id,event_timestamp,amount2,bonus,amount,amount2_sum_30d\n"));
  EXPECT_THAT(text, HasSubstr("1,2023-01-02 12:00:00+00,3.0,4.0,1.5,3.0\n"));
  EXPECT_THAT(text, HasSubstr("1,2023-01-05 00:00:00+00,5.0,6.0,2.5,8.0\n"));
  EXPECT_THAT(text, HasSubstr("2,2023-01-05 00:00:00+00,8.0,9.0,4.0,8.0\n"));

  CommandResult mat =
      RunLarder(c_ + "materialize 2023-01-01T00:00:00Z 2023-01-10T00:00:00Z");
  ASSERT_EQ(mat.exit_code, 0) << mat.err;
  CommandResult online = RunLarder(c_ + "online --features amounts:amount2,bonus:bonus,raw:amount "
                                        "--entity user_id=1 --now 2023-01-10T00:00:00Z");
  ASSERT_EQ(online.exit_code, 0) << online.err;
  nlohmann::json j = nlohmann::json::parse(online.out, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << online.out;
  EXPECT_EQ(j["results"][1]["values"][0], 5.0) << online.out;
  EXPECT_EQ(j["results"][2]["values"][0], 6.0) << online.out;
  EXPECT_EQ(j["results"][3]["values"][0], 2.5) << online.out;
  EXPECT_EQ(j["results"][1]["statuses"][0], "PRESENT") << online.out;
  CommandResult sum = RunLarder(c_ + "online --features amount_sum:amount2_sum_30d --entity "
                                     "user_id=1 --now 2023-01-10T00:00:00Z");
  ASSERT_EQ(sum.exit_code, 0) << sum.err;
  j = nlohmann::json::parse(sum.out, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << sum.out;
  EXPECT_EQ(j["results"][1]["values"][0], 8.0) << sum.out;
}

TEST_F(DbtSource, StaleAndMissingManifestsAreRefused) {
  const std::string manifest = tmp_->Join("dbt/target/manifest.json");
  const std::string sql = tmp_->Join("dbt/models/user_bonus.sql");
  auto written = fs::last_write_time(manifest);
  CommandResult apply = RunLarder(c_ + "apply");
  ASSERT_EQ(apply.exit_code, 0) << apply.err;

  fs::last_write_time(sql, written + std::chrono::seconds(60));
  CommandResult stale = RunLarder(c_ + "plan");
  fs::last_write_time(sql, written - std::chrono::seconds(60));
  EXPECT_EQ(stale.exit_code, 1);
  EXPECT_THAT(stale.err, HasSubstr("data source 'bonus_dbt': field `model`"));
  EXPECT_THAT(stale.err, HasSubstr(manifest + " (written "));
  EXPECT_THAT(stale.err, HasSubstr("is stale: it is older than " + sql));

  fs::rename(manifest, manifest + ".moved");
  CommandResult missing = RunLarder(c_ + "plan");
  CommandResult hist = RunLarder(c_ + "historical --entities " + tmp_->Join("entities.csv") +
                                 " --features amounts:amount2 --output " +
                                 tmp_->Join("never.csv"));
  fs::rename(manifest + ".moved", manifest);
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_THAT(missing.err, HasSubstr("dbt manifest " + manifest + " does not exist; run `dbt "
                                     "compile` or `dbt run` in " + tmp_->Join("dbt")));
  // A registered view fails the same way when the manifest goes away.
  EXPECT_EQ(hist.exit_code, 1);
  EXPECT_THAT(hist.err, HasSubstr("does not exist; run `dbt compile` or `dbt run` in"));
}

// A scheduled view over a dbt source with dbt_executable: each backfilled
// interval runs `dbt build --select MODEL+` first, so a changed model reaches
// the online store; a dbt that cannot run fails the run, naming it.
TEST(DbtSchedule, ABackfillRunsDbtBuildBeforeMaterializing) {
  if (!fs::exists(DbtBinary())) {
    GTEST_SKIP() << "no dbt at " << DbtBinary() << "; create it with scripts/dbt_venv.sh";
  }
  unsetenv("DBT_PROFILES_DIR");
  unsetenv("DBT_TARGET");
  setenv("DO_NOT_TRACK", "1", 1);
  TempDir tmp;
  tmp.Write("dbt/dbt_project.yml", "name: sched_shop\nversion: '1.0'\nprofile: sched_shop\n");
  tmp.Write("dbt/profiles.yml",
            "sched_shop:\n  target: dev\n  outputs:\n"
            "    dev: {type: duckdb, path: warehouse.duckdb, threads: 1}\n");
  tmp.Write("dbt/seeds/events.csv",
            "user_id,event_ts,amount\n1,2023-01-01 00:00:00,1.5\n1,2023-01-03 00:00:00,2.5\n");
  tmp.Write("dbt/models/user_amounts.sql",
            "{{ config(materialized='table') }}\n"
            "select cast(user_id as bigint) as user_id, cast(event_ts as timestamp) as event_ts, "
            "cast(amount as double) * 2 as amount2 from {{ ref('events') }}\n");
  const std::string build = "cd " + tmp.Join("dbt") + " && " + DbtBinary() +
                            " build --profiles-dir . > " + tmp.Join("dbt.log") + " 2>&1";
  ASSERT_EQ(std::system(build.c_str()), 0) << ::larder::testing::ReadFileText(tmp.Join("dbt.log"));
  auto repo = [&](const std::string& dbt) {
    tmp.Write("repo/feature_store.yaml", "project: dbt_sched\n");
    tmp.Write("repo/definitions.yaml",
              "entities:\n"
              "  - {name: user, join_keys: [user_id], value_type: Int64}\n"
              "data_sources:\n"
              "  - {name: amounts_dbt, type: dbt, project_dir: ../dbt, model: user_amounts,\n"
              "     timestamp_field: event_ts, dbt_executable: '" + dbt + "'}\n"
              "feature_views:\n"
              "  - name: amounts\n"
              "    entities: [user]\n"
              "    source: amounts_dbt\n"
              "    schema: [{name: amount2, dtype: Float64}]\n"
              "    batch_schedule: '@daily'\n"
              "    retries: 0\n");
  };
  repo(DbtBinary());
  const std::string c = "-c " + tmp.Join("repo") + " ";
  CommandResult apply = RunLarder(c + "apply");
  ASSERT_EQ(apply.exit_code, 0) << apply.err;
  // The model changes after the last dbt build: only a new build shows it.
  tmp.Write("dbt/models/user_amounts.sql",
            "{{ config(materialized='table') }}\n"
            "select cast(user_id as bigint) as user_id, cast(event_ts as timestamp) as event_ts, "
            "cast(amount as double) * 3 as amount2 from {{ ref('events') }}\n");
  CommandResult backfill =
      RunLarder(c + "backfill --start 2023-01-01T00:00:00Z --end 2023-01-04T00:00:00Z");
  ASSERT_EQ(backfill.exit_code, 0) << backfill.err;
  EXPECT_THAT(backfill.out, HasSubstr("3 interval(s) succeeded, 0 failed"));
  CommandResult online = RunLarder(c + "online --features amounts:amount2 --entity user_id=1");
  ASSERT_EQ(online.exit_code, 0) << online.err;
  nlohmann::json j = nlohmann::json::parse(online.out, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << online.out;
  EXPECT_EQ(j["results"][1]["values"][0], 7.5) << online.out;  // 2.5 * 3

  repo(tmp.Join("no/such/dbt"));
  ASSERT_EQ(RunLarder(c + "apply").exit_code, 0);
  backfill = RunLarder(c + "backfill --start 2023-01-04T00:00:00Z --end 2023-01-05T00:00:00Z");
  EXPECT_EQ(backfill.exit_code, 1);
  CommandResult runs = RunLarder(c + "runs --failed");
  EXPECT_THAT(runs.out, HasSubstr("dbt build --select user_amounts+ in "));
  EXPECT_THAT(runs.out, HasSubstr("cannot run `" + tmp.Join("no/such/dbt") + "`"));
}

}  // namespace
}  // namespace larder
