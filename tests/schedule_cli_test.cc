// `larder schedule`, `larder backfill` and `larder runs` on a small repo, run
// as a user would: real processes, the embedded stores, SIGTERM and SIGKILL.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <map>
#include <thread>

#include "larder/registry.h"
#include "support/serve_fixture.h"
#include "support/server_process.h"
#include "support/test_util.h"

namespace larder {
namespace {

using ::larder::testing::CommandResult;
using ::larder::testing::RunLarder;
using ::larder::testing::TempDir;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr int kUsers = 5;
// 2026-11-01T00:00:00Z: the events cover the 30 days after it.
constexpr TimestampMicros kFirst = 1'793'491'200'000'000;
constexpr const char* kStart = "2026-11-01T00:00:00Z";
constexpr const char* kEnd = "2026-12-01T00:00:00Z";

std::string Definitions(const std::string& view_schedule, const std::string& model_keys) {
  return "entities:\n"
         "  - {name: user, join_keys: [user_id], value_type: Int64}\n"
         "data_sources:\n"
         "  - {name: events, type: file, path: events.csv, timestamp_field: ts}\n"
         "  - {name: scores, type: model, model: scores, timestamp_field: ts}\n"
         "feature_views:\n"
         "  - name: raw\n"
         "    entities: [user]\n"
         "    source: events\n"
         "    schema: [{name: score, dtype: Int64}]\n" +
         view_schedule +
         "  - name: scored\n"
         "    entities: [user]\n"
         "    source: scores\n"
         "    schema: [{name: doubled, dtype: Int64}]\n"
         "models:\n"
         "  - name: scores\n" +
         model_keys +
         "    columns:\n"
         "      - name: doubled\n"
         "        tests: [not_null]\n";
}

// A repo whose events are one per user every six hours over 30 days.
void WriteRepo(const TempDir& dir, const std::string& view_schedule = "    batch_schedule: '@daily'\n",
               const std::string& model_keys = "    batch_schedule: '@daily'\n",
               const std::string& doubled = "score * 2") {
  dir.Write("feature_store.yaml",
            "project: sched\n"
            "registry: data/registry.db\n"
            "online_store: {type: rocksdb, path: data/online}\n"
            "offline_store: {type: duckdb, path: data/offline.duckdb}\n");
  std::string csv = "user_id,score,ts\n";
  for (int step = 0; step < 30 * 4; ++step) {
    for (int user = 1; user <= kUsers; ++user) {
      const TimestampMicros at = kFirst + step * 6 * Duration::kHour + user * Duration::kMinute;
      std::string ts = FormatIsoTimestamp(at);
      ts[10] = ' ';
      ts.pop_back();  // "2026-11-01 00:01:00"
      csv += std::to_string(user) + "," + std::to_string((step * 7 + user * 13) % 100) + "," + ts +
             "\n";
    }
  }
  dir.Write("events.csv", csv);
  dir.Write("defs.yaml", Definitions(view_schedule, model_keys));
  dir.Write("models/scores.sql",
            "SELECT user_id, ts, CAST(" + doubled + " AS BIGINT) AS doubled FROM {{ source('events') }}\n");
}

// Every user's online values.
std::string OnlineValues(const std::string& c) {
  std::string all;
  for (int user = 1; user <= kUsers; ++user) {
    CommandResult r = RunLarder(c + "online --features raw:score,scored:doubled --entity user_id=" +
                                std::to_string(user) + " --now " + kEnd);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    all += r.out;
  }
  return all;
}

// The successful runs per task in `repo`'s registry.
std::map<std::string, std::vector<TimestampMicros>> Successes(const std::string& repo) {
  RegistryOptions ro;
  ro.path = repo + "/data/registry.db";
  auto registry = Registry::Open(ro);
  EXPECT_TRUE(registry.ok());
  std::map<std::string, std::vector<TimestampMicros>> out;
  RunQuery q;
  q.status = RunStatus::kSuccess;
  const std::vector<RunRecord> runs = *(*registry)->Runs("sched", q);
  for (const RunRecord& r : runs) out[r.task].push_back(r.interval_end);
  return out;
}

size_t CountSuccesses(const std::string& repo) {
  size_t n = 0;
  for (const auto& [task, ends] : Successes(repo)) n += ends.size();
  return n;
}

// Starts `larder -c repo ARGS...` as a child process.
pid_t StartLarder(const std::string& repo, std::vector<std::string> args, const std::string& log) {
  std::vector<std::string> argv = {LARDER_BINARY, "-c", repo};
  argv.insert(argv.end(), args.begin(), args.end());
  Result<pid_t> pid = larder::testing::SpawnProcess(argv, log);
  EXPECT_TRUE(pid.ok()) << pid.status().ToString();
  return pid.ok() ? *pid : -1;
}

// Waits up to `seconds` for `done`.
bool WaitFor(const std::function<bool()>& done, int seconds) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return done();
}

int Reap(pid_t pid) {
  int status = 0;
  waitpid(pid, &status, 0);
  return status;
}

TEST(ScheduleCli, PlanShowsScheduleChangesAndRefusesCycles) {
  TempDir dir;
  WriteRepo(dir);
  const std::string c = "-c " + dir.path() + " ";
  ASSERT_EQ(RunLarder(c + "apply").exit_code, 0);
  dir.Write("defs.yaml", Definitions("    batch_schedule: '@hourly'\n    retries: 5\n",
                                     ""));
  CommandResult plan = RunLarder(c + "plan");
  ASSERT_EQ(plan.exit_code, 0) << plan.err;
  EXPECT_THAT(plan.out, HasSubstr("Updated feature view raw: batch_schedule @daily -> @hourly; "
                                  "retries 2 -> 5"));
  EXPECT_THAT(plan.out, HasSubstr("Updated sql model scores: batch_schedule @daily -> (none)"));

  dir.Write("models/loop_a.sql", "SELECT * FROM {{ ref('loop_b') }}\n");
  dir.Write("models/loop_b.sql", "SELECT * FROM {{ ref('loop_a') }}\n");
  plan = RunLarder(c + "plan");
  EXPECT_EQ(plan.exit_code, 1);
  EXPECT_THAT(plan.err, HasSubstr("models/loop_a.sql:1: SQL models form a dependency cycle: "
                                  "loop_a -> loop_b -> loop_a"));
}

TEST(ScheduleCli, BackfillKilledAndResumedEqualsACleanOneAndAMaterialize) {
  TempDir clean, killed, full;
  for (const TempDir* d : {&clean, &killed, &full}) {
    WriteRepo(*d);
    ASSERT_EQ(RunLarder("-c " + d->path() + " apply").exit_code, 0);
  }
  const std::string range = std::string("--start ") + kStart + " --end " + kEnd;
  CommandResult r = RunLarder("-c " + clean.path() + " backfill " + range);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("90 interval(s) succeeded, 0 failed"));

  // Killed once at least 10 intervals landed, then rerun to the end.
  pid_t pid = StartLarder(killed.path(), {"backfill", "--start", kStart, "--end", kEnd},
                          killed.Join("backfill.log"));
  ASSERT_TRUE(WaitFor([&] { return CountSuccesses(killed.path()) >= 10; }, 60));
  ASSERT_EQ(::kill(pid, SIGKILL), 0);
  EXPECT_TRUE(WIFSIGNALED(Reap(pid)));
  const size_t before = CountSuccesses(killed.path());
  ASSERT_LT(before, 90u) << "the backfill finished before the kill";
  r = RunLarder("-c " + killed.path() + " backfill " + range);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr(std::to_string(90 - before) + " interval(s) succeeded"));

  // The same runs: each daily interval once per task.
  for (const TempDir* d : {&clean, &killed}) {
    std::map<std::string, std::vector<TimestampMicros>> s = Successes(d->path());
    ASSERT_EQ(s.size(), 3u);
    for (const auto& [task, ends] : s) {
      ASSERT_EQ(ends.size(), 30u) << task;
      for (size_t i = 0; i < ends.size(); ++i) {
        EXPECT_EQ(ends[i], kFirst + static_cast<int64_t>(i + 1) * Duration::kDay) << task;
      }
    }
  }
  // The same store as a clean backfill and as one materialization.
  ASSERT_EQ(RunLarder("-c " + full.path() + " run").exit_code, 0);
  r = RunLarder("-c " + full.path() + " materialize " + kStart + " " + kEnd);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string expected = OnlineValues("-c " + full.path() + " ");
  EXPECT_THAT(expected, HasSubstr("PRESENT"));
  EXPECT_THAT(expected, Not(HasSubstr("NOT_FOUND")));
  EXPECT_EQ(OnlineValues("-c " + clean.path() + " "), expected);
  EXPECT_EQ(OnlineValues("-c " + killed.path() + " "), expected);
}

TEST(ScheduleCli, AFailingDataTestStopsTheMaterializationAfterIt) {
  TempDir dir;
  // Every doubled score is NULL: the model's not_null test fails.
  WriteRepo(dir, "", "    batch_schedule: '@daily'\n    retries: 0\n", "NULL");
  const std::string c = "-c " + dir.path() + " ";
  ASSERT_EQ(RunLarder(c + "apply").exit_code, 0);
  CommandResult r = RunLarder(c + "backfill --start 2026-11-01T00:00:00Z --end 2026-11-03T00:00:00Z");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.out, HasSubstr("0 interval(s) succeeded, 2 failed, 2 blocked by a failed upstream"));
  CommandResult runs = RunLarder(c + "runs --failed");
  ASSERT_EQ(runs.exit_code, 0) << runs.err;
  EXPECT_THAT(runs.out, HasSubstr("model:scores 2026-11-02T00:00:00Z attempt 1: data tests "
                                  "failed: scores.doubled not_null"));
  runs = RunLarder(c + "runs --view scored");
  EXPECT_THAT(runs.out, HasSubstr("upstream_failed"));
  // The view was never materialized.
  CommandResult online = RunLarder(c + "online --features scored:doubled --entity user_id=1");
  EXPECT_THAT(online.out, HasSubstr("NOT_FOUND"));
}

TEST(ScheduleCli, RunsOnTheWallClockStopsOnSigtermAndResumesAfterSigkill) {
  TempDir dir;
  WriteRepo(dir, "    batch_schedule: 1s\n", "");
  const std::string c = "-c " + dir.path() + " ";
  ASSERT_EQ(RunLarder(c + "apply").exit_code, 0);
  auto ends = [&] { return Successes(dir.path())["view:raw"]; };

  pid_t pid = StartLarder(dir.path(), {"schedule"}, dir.Join("schedule1.log"));
  ASSERT_TRUE(WaitFor([&] { return ends().size() >= 3; }, 30));
  ASSERT_EQ(::kill(pid, SIGTERM), 0);
  int status = Reap(pid);
  ASSERT_TRUE(WIFEXITED(status)) << status;
  EXPECT_EQ(WEXITSTATUS(status), 0) << larder::testing::ReadFileText(dir.Join("schedule1.log"));
  EXPECT_THAT(larder::testing::ReadFileText(dir.Join("schedule1.log")),
              HasSubstr("finishing running tasks"));

  pid = StartLarder(dir.path(), {"schedule"}, dir.Join("schedule2.log"));
  const size_t had = ends().size();
  ASSERT_TRUE(WaitFor([&] { return ends().size() >= had + 2; }, 30));
  ::kill(pid, SIGKILL);
  Reap(pid);
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));  // down for a while
  pid = StartLarder(dir.path(), {"schedule"}, dir.Join("schedule3.log"));
  const size_t had2 = ends().size();
  ASSERT_TRUE(WaitFor([&] { return ends().size() >= had2 + 3; }, 30));
  ::kill(pid, SIGTERM);
  Reap(pid);

  // One success per second from the first to the last: nothing twice, no gap.
  std::vector<TimestampMicros> e = ends();
  ASSERT_GE(e.size(), 8u);
  for (size_t i = 1; i < e.size(); ++i) {
    EXPECT_EQ(e[i] - e[i - 1], Duration::kSecond) << i;
  }
  CommandResult runs = RunLarder(c + "runs --view raw --limit 3");
  EXPECT_THAT(runs.out, HasSubstr("view:raw"));
  EXPECT_THAT(runs.out, HasSubstr("success"));
}

TEST(ScheduleCli, RefusesWhatItCannotDo) {
  TempDir dir;
  WriteRepo(dir, "", "");
  const std::string c = "-c " + dir.path() + " ";
  ASSERT_EQ(RunLarder(c + "apply").exit_code, 0);
  CommandResult r = RunLarder(c + "schedule --once");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("project 'sched' schedules nothing: give a model or an online "
                               "feature view a `batch_schedule`"));
  r = RunLarder(c + "backfill --start 2026-11-02 --end 2026-11-01");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("--start must be before --end"));
  r = RunLarder(c + "backfill --start yesterday --end 2026-11-01");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("bad --start `yesterday`"));
  r = RunLarder(c + "runs --status done");
  EXPECT_EQ(r.exit_code, 2);
  WriteRepo(dir);
  ASSERT_EQ(RunLarder(c + "apply").exit_code, 0);
  r = RunLarder(c + "backfill --start 2026-11-01 --end 2026-11-02 --select nope");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("--select: 'nope' is not a scheduled view or model (scheduled: "
                               "model:scores, view:raw, view:scored)"));
}

TEST(ScheduleCli, ServeScheduleRunsTheSchedulerAndReportsItInMetrics) {
  TempDir dir;
  WriteRepo(dir, "    batch_schedule: 1s\n", "");
  ASSERT_EQ(RunLarder("-c " + dir.path() + " apply").exit_code, 0);
  const std::string log = dir.Join("serve.log");
  pid_t pid = StartLarder(dir.path(), {"serve", "--schedule", "--port", "0"}, log);
  int port = 0;
  ASSERT_TRUE(WaitFor(
      [&] {
        const std::string text = larder::testing::ReadFileText(log);
        const size_t at = text.find("http://127.0.0.1:");
        if (at == std::string::npos) return false;
        port = std::atoi(text.c_str() + at + 17);
        return port > 0;
      },
      30))
      << larder::testing::ReadFileText(log);
  std::string metrics;
  // A series' value; -1 when it is not there.
  auto value = [&metrics](const std::string& series) {
    const size_t at = metrics.find(series + " ");
    return at == std::string::npos ? -1.0 : std::atof(metrics.c_str() + at + series.size() + 1);
  };
  const bool ran = WaitFor(
      [&] {
        metrics = larder::testing::RawRequest(port, "GET", "/metrics").body;
        return value("larder_schedule_runs_total{task=\"view:raw\",status=\"success\"}") >= 2;
      },
      30);
  ::kill(pid, SIGTERM);
  const int status = Reap(pid);
  ASSERT_TRUE(ran) << metrics << larder::testing::ReadFileText(log);
  EXPECT_GE(value("larder_schedule_seconds_since_success{task=\"view:raw\"}"), 0.0) << metrics;
  EXPECT_LT(value("larder_schedule_seconds_since_success{task=\"view:raw\"}"), 10.0) << metrics;
  // The events end on 2026-11-30: the view's data is days old.
  EXPECT_GT(value("larder_view_data_freshness_seconds{view=\"raw\"}"), 86400.0) << metrics;
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << larder::testing::ReadFileText(log);
  EXPECT_THAT(larder::testing::ReadFileText(log), HasSubstr("larder serve: scheduler stopped"));
}

}  // namespace
}  // namespace larder
