// `larder airflow-dag` end to end: the DAGs it writes for a small repo are
// parsed and run by Airflow 3.3.2 (`airflow dags test`, no scheduler), and
// the online values they leave equal those of `larder materialize` over the
// same windows in a fresh copy of the repo. Needs the venv of
// scripts/airflow_venv.sh (scripts/test.sh makes it); skipped without it.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "support/test_util.h"

namespace larder {
namespace {

using ::larder::testing::CommandResult;
using ::larder::testing::RunCommand;
using ::larder::testing::RunLarder;
using ::larder::testing::SourceDir;
using ::larder::testing::TempDir;
using ::testing::HasSubstr;
using ::testing::Not;

namespace fs = std::filesystem;

// `text` as one single-quoted shell word.
std::string Sh(const std::string& text) {
  std::string out = "'";
  for (char c : text) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// A model built daily from raw events, a view of its output (daily, after
// the model's tests), and a view of the raw events on a 1-day duration with
// a day of lookback (its own DAG). No retries: a failure fails at once.
void WriteRepo(const TempDir& tmp, const std::string& dir) {
  tmp.Write(dir + "/" + "feature_store.yaml",
            "project: airflow_it\n"
            "registry: data/registry.db\n"
            "online_store: {type: rocksdb, path: data/online_store}\n"
            "offline_store: {type: duckdb, path: data/offline_store.duckdb}\n");
  tmp.Write(dir + "/" + "entities.yaml",
            "entities:\n  - {name: user, join_keys: [user_id], value_type: Int64}\n");
  tmp.Write(dir + "/" + "sources.yaml",
            "data_sources:\n"
            "  - {name: events, type: file, path: data/events.csv, timestamp_field: ts}\n"
            "  - {name: doubled_source, type: model, model: doubled, timestamp_field: ts}\n");
  // 2026-01-01 is the interval; user 4 and user 1's first row fall in the
  // day of lookback; user 3's row is after the interval.
  tmp.Write(dir + "/" + "data/events.csv",
            "user_id,ts,amount\n"
            "1,2025-12-31 12:00:00,5\n"
            "4,2025-12-31 06:00:00,4\n"
            "1,2026-01-01 10:00:00,7\n"
            "2,2026-01-01 23:00:00,3\n"
            "3,2026-01-02 01:00:00,9\n");
  tmp.Write(dir + "/" + "models/doubled.sql",
            "{{ config(materialized='table') }}\n"
            "SELECT user_id, ts, CAST(amount * 2 AS BIGINT) AS doubled "
            "FROM {{ source('events') }}\n");
  tmp.Write(dir + "/" + "models/models.yaml",
            "models:\n"
            "  - name: doubled\n"
            "    batch_schedule: '@daily'\n"
            "    retries: 0\n"
            "    columns:\n"
            "      - {name: user_id, tests: [not_null]}\n");
  tmp.Write(dir + "/" + "views.yaml",
            "feature_views:\n"
            "  - name: user_doubled\n"
            "    entities: [user]\n"
            "    schema: [{name: doubled, dtype: Int64}]\n"
            "    source: doubled_source\n"
            "    batch_schedule: '@daily'\n"
            "    retries: 0\n"
            "  - name: user_amounts\n"
            "    entities: [user]\n"
            "    schema: [{name: amount, dtype: Int64}]\n"
            "    source: events\n"
            "    batch_schedule: 1d\n"
            "    materialization_lookback: 1d\n"
            "    retries: 0\n");
}

// The online values of users 1..4 (JSON, one line each).
std::string OnlineValues(const std::string& repo) {
  std::string all;
  for (int user = 1; user <= 4; ++user) {
    CommandResult r = RunLarder("-c " + Sh(repo) +
                                " online --features user_doubled:doubled,user_amounts:amount "
                                "--entity user_id=" +
                                std::to_string(user) + " --now 2026-01-02T00:00:00Z");
    EXPECT_EQ(r.exit_code, 0) << r.err;
    all += r.out;
  }
  return all;
}

// Paths that bash, Python and Jinja would each misread unquoted.
constexpr const char* kRepo = "repo it's $HOME {{ ds }}";

class AirflowCli : public ::testing::Test {
 protected:
  void SetUp() override {
    airflow_ = SourceDir() + "/third_party/airflow_venv/bin/airflow";
    if (!fs::exists(airflow_)) {
      GTEST_SKIP() << "no Airflow venv at " << airflow_
                   << ": create it with scripts/airflow_venv.sh (scripts/test.sh does)";
    }
    repo_ = tmp_.Join(kRepo);
    dags_ = tmp_.Join("dags");
    WriteRepo(tmp_, kRepo);
  }

  // Runs `args` with the venv's airflow in a fresh AIRFLOW_HOME, with
  // SQLite, no examples, and the generated DAGs.
  CommandResult Airflow(const std::string& args) {
    const std::string env = "env AIRFLOW_HOME=" + Sh(tmp_.Join("airflow_home")) +
                            " AIRFLOW__CORE__LOAD_EXAMPLES=False"
                            " AIRFLOW__CORE__DAGS_FOLDER=" +
                            Sh(dags_) + " ";
    return RunCommand(env + Sh(airflow_) + " " + args);
  }

  TempDir tmp_;
  std::string airflow_;
  std::string repo_;
  std::string dags_;
};

TEST_F(AirflowCli, GeneratedDagsRunAndMaterializeLikeLarder) {
  const std::string c = "-c " + Sh(repo_) + " ";
  CommandResult r = RunLarder(c + "apply");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // A manual run (as `dags test` makes) gets no tasks when its logical date
  // precedes start_date, so start with the interval.
  r = RunLarder(c + "airflow-dag --out " + Sh(dags_) + " --start-date 2026-01-01");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "Wrote " + dags_ +
                       "/larder_airflow_it_daily.py (DAG larder_airflow_it_daily)\n"
                       "Wrote " +
                       dags_ + "/larder_airflow_it_every_1d.py (DAG larder_airflow_it_every_1d)\n");

  r = Airflow("db migrate");
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  r = Airflow("dags list-import-errors --local");
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_THAT(r.out, HasSubstr("No data found")) << r.err;

  // The daily interval [2026-01-01, 2026-01-02): the run ending at midnight.
  r = Airflow("dags test larder_airflow_it_daily 2026-01-02T00:00:00+00:00");
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_THAT(r.out + r.err, HasSubstr(" run --select doubled"));
  EXPECT_THAT(r.out + r.err, HasSubstr(" test --select doubled"));
  EXPECT_THAT(r.out + r.err, HasSubstr(" materialize 2026-01-01T00:00:00+00:00 "
                                       "2026-01-02T00:00:00+00:00 --views user_doubled"));
  // The 1-day duration's DAG, with a day of lookback before the interval.
  r = Airflow("dags test larder_airflow_it_every_1d 2026-01-02T00:00:00+00:00");
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_THAT(r.out + r.err, HasSubstr(" materialize 2025-12-31T00:00:00+00:00 "
                                       "2026-01-02T00:00:00+00:00 --views user_amounts"));
  const std::string via_airflow = OnlineValues(repo_);

  // The same windows by hand, in a fresh copy.
  const std::string fresh = tmp_.Join("fresh");
  WriteRepo(tmp_, "fresh");
  const std::string f = "-c " + Sh(fresh) + " ";
  ASSERT_EQ(RunLarder(f + "apply").exit_code, 0);
  ASSERT_EQ(RunLarder(f + "run --select doubled").exit_code, 0);
  r = RunLarder(f + "materialize 2026-01-01T00:00:00Z 2026-01-02T00:00:00Z --views user_doubled");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = RunLarder(f + "materialize 2025-12-31T00:00:00Z 2026-01-02T00:00:00Z --views user_amounts");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string by_hand = OnlineValues(fresh);
  EXPECT_EQ(via_airflow, by_hand);

  // And those are the interval's rows: user 1's latest in the day (7, so
  // 14 doubled); user 4 only through the lookback; user 3 after the end.
  EXPECT_THAT(via_airflow, HasSubstr("\"values\":[14]"));
  EXPECT_THAT(via_airflow, HasSubstr("\"values\":[7]"));
  EXPECT_THAT(via_airflow, HasSubstr("\"values\":[4]"));
  EXPECT_THAT(via_airflow, Not(HasSubstr("\"values\":[18]")));
  EXPECT_THAT(via_airflow, Not(HasSubstr("\"values\":[9]")));
}

TEST_F(AirflowCli, RefusesAFileAndReplacesOnlyItsOwnFiles) {
  const std::string c = "-c " + Sh(repo_) + " ";
  ASSERT_EQ(RunLarder(c + "apply").exit_code, 0);
  tmp_.Write("dags_file", "x");
  CommandResult r = RunLarder(c + "airflow-dag --out " + Sh(tmp_.Join("dags_file")));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("exists and is not a directory"));
  EXPECT_EQ(RunLarder(c + "airflow-dag").exit_code, 2);

  // A stale file of this project goes; another project's, or a hand-written
  // file named like one, stays.
  ASSERT_EQ(RunLarder(c + "airflow-dag --out " + Sh(dags_)).exit_code, 0);
  fs::copy_file(dags_ + "/larder_airflow_it_daily.py", dags_ + "/larder_airflow_it_hourly.py");
  tmp_.Write("dags/larder_airflow_it_mine.py", "# my own DAG\n");
  tmp_.Write("dags/larder_other_daily.py", "# another project\n");
  r = RunLarder(c + "airflow-dag --out " + Sh(dags_) + " --select user_amounts");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("Wrote " + dags_ + "/larder_airflow_it_every_1d.py"));
  EXPECT_THAT(r.out, HasSubstr("Removed stale " + dags_ + "/larder_airflow_it_daily.py\n"));
  EXPECT_THAT(r.out, HasSubstr("Removed stale " + dags_ + "/larder_airflow_it_hourly.py\n"));
  EXPECT_THAT(r.err, HasSubstr("left " + dags_ + "/larder_airflow_it_mine.py"));
  EXPECT_TRUE(fs::exists(dags_ + "/larder_airflow_it_mine.py"));
  EXPECT_TRUE(fs::exists(dags_ + "/larder_other_daily.py"));
  EXPECT_FALSE(fs::exists(dags_ + "/larder_airflow_it_daily.py"));

  // The DAGs run this binary on this repo unless told otherwise.
  const std::string text = testing::ReadFileText(dags_ + "/larder_airflow_it_every_1d.py");
  EXPECT_THAT(text, HasSubstr(fs::canonical(LARDER_BINARY).string()));
  r = RunLarder(c + "airflow-dag --out " + Sh(dags_) + " --larder larder --start-date 2025-06-01");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string bare = testing::ReadFileText(dags_ + "/larder_airflow_it_daily.py");
  EXPECT_THAT(bare, HasSubstr("LARDER = \"larder -c "));
  EXPECT_THAT(bare, HasSubstr("start_date=datetime(2025, 6, 1, 0, 0, 0, tzinfo=timezone.utc)"));
}

TEST(AirflowCliErrors, NothingScheduled) {
  TempDir tmp;
  tmp.Write("feature_store.yaml", "project: quiet\n");
  tmp.Write("entities.yaml",
            "entities:\n  - {name: user, join_keys: [user_id], value_type: Int64}\n");
  const std::string c = "-c " + Sh(tmp.path()) + " ";
  ASSERT_EQ(RunLarder(c + "apply").exit_code, 0);
  CommandResult r = RunLarder(c + "airflow-dag --out " + Sh(tmp.Join("dags")));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("project 'quiet' schedules nothing"));
  EXPECT_FALSE(fs::exists(tmp.Join("dags")));
}

}  // namespace
}  // namespace larder
