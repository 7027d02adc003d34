// `larder push` as a user runs it: pushed rows reach training data and online reads.
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <iostream>
#include <thread>

#include "larder/feature_store.h"
#include "offline/duckdb/duckdb_connection.h"
#include "offline/source_relation.h"
#include "support/test_util.h"

namespace larder {
namespace {

using ::larder::testing::CommandResult;
using ::larder::testing::RunLarder;
using ::larder::testing::TempDir;
using ::testing::HasSubstr;

// A repo (`larder init`) with push source user_stats_push feeding the online
// view pushed_stats (books_read, no ttl), applied. Returns "-c <repo> ".
std::string PushRepo(const TempDir& tmp) {
  std::string repo = tmp.Join("repo");
  EXPECT_EQ(RunLarder("init " + repo).exit_code, 0);
  tmp.Write("repo/push.yaml",
            "data_sources:\n"
            "  - {name: user_stats_push, type: push, batch_source: user_stats_source}\n"
            "feature_views:\n"
            "  - name: pushed_stats\n    entities: [user]\n    source: user_stats_push\n"
            "    schema: [{name: books_read, dtype: Int64}]\n");
  std::string c = "-c " + repo + " ";
  EXPECT_EQ(RunLarder(c + "apply").exit_code, 0);
  return c;
}

TEST(PushCli, PushedRowsReachTrainingData) {
  TempDir tmp;
  const std::string c = PushRepo(tmp);
  tmp.Write("rows.csv",
            "user_id,books_read,event_timestamp,created\n"
            "1002,40,2024-03-01 00:00:00,2024-03-01 00:00:00\n");
  CommandResult push =
      RunLarder(c + "push user_stats_push " + tmp.Join("rows.csv") + " --to offline");
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
  CommandResult bad = RunLarder(c + "push user_stats_push " + tmp.Join("bad.csv") + " --to offline");
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

TEST(PushCli, DefaultTargetIsOnlineAsInFeast) {
  TempDir tmp;
  const std::string c = PushRepo(tmp);
  tmp.Write("rows.csv", "user_id,books_read,event_timestamp\n1002,41,2024-03-01 00:00:00\n");
  CommandResult push = RunLarder(c + "push user_stats_push " + tmp.Join("rows.csv"));
  ASSERT_EQ(push.exit_code, 0) << push.err;
  EXPECT_THAT(push.out, HasSubstr("(online); pushed_stats: 1 written, 0 skipped."));
  EXPECT_THAT(push.out, ::testing::Not(HasSubstr("offline")));
  EXPECT_THAT(RunLarder(c + "push --help").out, HasSubstr("(default: online)"));
}

TEST(PushCli, RefusesEventTimesFarInTheFuture) {
  TempDir tmp;
  const std::string c = PushRepo(tmp);
  // Row 2 (counting data rows from 1) would pin user 1002 for ever.
  tmp.Write("rows.csv",
            "user_id,books_read,event_timestamp\n1001,1,2024-03-01 00:00:00\n"
            "1002,2,9999-12-31 00:00:00\n");
  for (const char* to : {"offline", "online", "online_and_offline"}) {
    CommandResult push =
        RunLarder(c + "push user_stats_push " + tmp.Join("rows.csv") + " --to " + to);
    EXPECT_EQ(push.exit_code, 1) << to;
    EXPECT_THAT(push.err, HasSubstr("event time 9999-12-31")) << to;
    EXPECT_THAT(push.err, HasSubstr("push_max_future_skew")) << to;
    EXPECT_THAT(push.err, HasSubstr(std::string(to) == "offline" ? "column `event_timestamp`, row 2"
                                                                 : "df.event_timestamp[1]"))
        << to;
  }
  // The skew is a feature_store.yaml setting; bad values are refused.
  const std::string yaml = ::larder::testing::ReadFileText(tmp.Join("repo/feature_store.yaml"));
  tmp.Write("repo/feature_store.yaml", yaml + "push_max_future_skew: 100000000d\n");
  tmp.Write("rows.csv", "user_id,books_read,event_timestamp\n1002,2,9999-12-31 00:00:00\n");
  CommandResult push = RunLarder(c + "push user_stats_push " + tmp.Join("rows.csv"));
  EXPECT_EQ(push.exit_code, 0) << push.err;
  tmp.Write("repo/feature_store.yaml", yaml + "push_max_future_skew: soon\n");
  push = RunLarder(c + "push user_stats_push " + tmp.Join("rows.csv"));
  EXPECT_EQ(push.exit_code, 1);
  EXPECT_THAT(push.err, HasSubstr("push_max_future_skew"));
  EXPECT_THAT(push.err, HasSubstr("bad duration 'soon'"));
}

// The limit is now (an injected clock) plus push_max_future_skew, inclusive,
// for pushes (online and offline, rows and files) and online writes.
TEST(PushCli, FutureLimitFollowsTheInjectedClockAndSkew) {
  TempDir tmp;
  PushRepo(tmp);
  const std::string yaml = ::larder::testing::ReadFileText(tmp.Join("repo/feature_store.yaml"));
  tmp.Write("repo/feature_store.yaml", yaml + "push_max_future_skew: 6h\n");
  FeatureStoreOptions options;
  options.repo_dir = tmp.Join("repo");
  TimestampMicros now = 0;
  ASSERT_TRUE(ParseIsoTimestamp("2024-06-01T00:00:00Z", &now));
  options.clock = [now] { return now; };
  auto store = FeatureStore::Open(options);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  auto rows = [](const std::string& time) {
    return ColumnTable{{"user_id", {Value::Int64(1002)}},
                       {"books_read", {Value::Int64(1)}},
                       {"event_timestamp", {Value::String(time)}}};
  };
  for (PushTarget to : {PushTarget::kOnline, PushTarget::kOffline}) {
    auto at_limit = (*store)->Push("user_stats_push", rows("2024-06-01T06:00:00Z"), to);
    EXPECT_TRUE(at_limit.ok()) << at_limit.status().ToString();
    auto past = (*store)->Push("user_stats_push", rows("2024-06-01T06:00:01Z"), to);
    ASSERT_FALSE(past.ok());
    EXPECT_EQ(past.status().code(), StatusCode::kInvalidArgument);
    EXPECT_THAT(past.status().message(),
                HasSubstr("df.event_timestamp[0]: event time 2024-06-01T06:00:01Z is later than "
                          "now plus push_max_future_skew (6h), 2024-06-01 06:00:00"));
  }
  auto write = (*store)->WriteToOnlineStore("pushed_stats", rows("2024-06-02"));
  EXPECT_EQ(write.status().code(), StatusCode::kInvalidArgument);
  tmp.Write("late.csv", "user_id,books_read,event_timestamp\n1002,1,2024-06-01 07:00:00\n");
  auto file = (*store)->PushFile("user_stats_push", tmp.Join("late.csv"), PushTarget::kOffline);
  EXPECT_EQ(file.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(file.status().message(), HasSubstr("column `event_timestamp`, row 1"));
}

TEST(PushCli, OnlineDeleteRemovesTheRecordUntilTheNextWrite) {
  TempDir tmp;
  const std::string c = PushRepo(tmp);
  tmp.Write("rows.csv", "user_id,books_read,event_timestamp\n1002,41,2024-03-01 00:00:00\n"
                        "1001,7,2024-03-01 00:00:00\n");
  ASSERT_EQ(RunLarder(c + "push user_stats_push " + tmp.Join("rows.csv")).exit_code, 0);
  const std::string read =
      c + "online --features pushed_stats:books_read --entity user_id=1002 --now 2024-03-02";
  EXPECT_THAT(RunLarder(read).out, HasSubstr("\"values\":[41]"));

  CommandResult del = RunLarder(c + "online-delete --entity user_id=1002");
  ASSERT_EQ(del.exit_code, 0) << del.err;
  // Every online view keyed by user: the pushed view and the template's.
  EXPECT_THAT(del.out, HasSubstr("Deleted the online records of 1 entity row(s) from"));
  EXPECT_THAT(del.out, HasSubstr("pushed_stats"));
  EXPECT_THAT(RunLarder(read).out, HasSubstr("\"values\":[null],\"statuses\":[\"NOT_FOUND\"]"));
  EXPECT_THAT(RunLarder(c + "online --features pushed_stats:books_read --entity user_id=1001 "
                            "--now 2024-03-02")
                  .out,
              HasSubstr("\"values\":[7]"));

  // No tombstone: an older row pushed later lands.
  tmp.Write("old.csv", "user_id,books_read,event_timestamp\n1002,5,2024-01-01 00:00:00\n");
  ASSERT_EQ(RunLarder(c + "push user_stats_push " + tmp.Join("old.csv")).exit_code, 0);
  EXPECT_THAT(RunLarder(read).out, HasSubstr("\"values\":[5]"));

  del = RunLarder(c + "online-delete --entity user_id=1002 --views pushed_stats");
  ASSERT_EQ(del.exit_code, 0) << del.err;
  EXPECT_THAT(del.out, HasSubstr("from pushed_stats."));
  del = RunLarder(c + "online-delete --entity user_id=abc");
  EXPECT_EQ(del.exit_code, 1);
  EXPECT_THAT(del.err, HasSubstr("entities.user_id[0]"));
  del = RunLarder(c + "online-delete --entity isbn=1 --views pushed_stats");
  EXPECT_EQ(del.exit_code, 1);
  EXPECT_THAT(del.err, HasSubstr("view 'pushed_stats' has join keys (user_id)"));
  EXPECT_EQ(RunLarder(c + "online-delete").exit_code, 2);
}

// --- A push killed with SIGKILL, then retried ---------------------------------

constexpr int kCrashRows = 10'000;

// kCrashRows rows for users 100000.., books_read = row + offset, at 2024-03-01
// plus `hour` hours.
std::string CrashRows(int offset, int hour) {
  std::string csv = "user_id,books_read,event_timestamp\n";
  for (int i = 0; i < kCrashRows; ++i) {
    csv += std::to_string(100000 + i) + "," + std::to_string(i + offset) + ",2024-03-01 " +
           (hour < 10 ? "0" : "") + std::to_string(hour) + ":00:00\n";
  }
  return csv;
}

// Starts the crash writer on `file`; returns its pid.
pid_t StartPushWriter(const std::string& repo, const std::string& file, bool pause) {
  std::string a0 = LARDER_PUSH_CRASH_WRITER, a1 = repo, a2 = "user_stats_push", a3 = file,
              a4 = "--pause-after-offline";
  char* argv[] = {a0.data(), a1.data(), a2.data(), a3.data(), pause ? a4.data() : nullptr,
                  nullptr};
  pid_t pid = fork();
  if (pid == 0) {
    int devnull = open("/dev/null", O_WRONLY);
    dup2(devnull, 1);
    execv(a0.c_str(), argv);
    _exit(127);
  }
  return pid;
}

// The offline push table's rows and distinct rows.
std::pair<int64_t, int64_t> OfflineRows(const std::string& repo) {
  auto conn = duckdb::Connection::Open(repo + "/data/offline_store.duckdb");
  EXPECT_TRUE(conn.ok()) << conn.status().ToString();
  if (!conn.ok()) return {-1, -1};
  const std::string table = offline::PushTableName("user_stats_push");
  auto exists = (*conn)->QueryScalar(
      "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'push__user_stats_push'", "test");
  if (!exists.ok() || !*exists || **exists == "0") return {0, 0};
  auto n = (*conn)->QueryScalar("SELECT count(*) FROM " + table, "test");
  auto d = (*conn)->QueryScalar("SELECT count(*) FROM (SELECT DISTINCT * FROM " + table + ")",
                                "test");
  EXPECT_TRUE(n.ok() && d.ok());
  return {n.ok() && *n ? std::stoll(**n) : -1, d.ok() && *d ? std::stoll(**d) : -1};
}

// How many of the crash users serve books_read == row + offset online.
int OnlineMatches(const std::string& repo, int offset) {
  FeatureStoreOptions options;
  options.repo_dir = repo;
  auto store = FeatureStore::Open(options);
  EXPECT_TRUE(store.ok()) << store.status().ToString();
  if (!store.ok()) return -1;
  OnlineFeaturesRequest request;
  request.features = {"pushed_stats:books_read"};
  auto& ids = request.entity_rows["user_id"];
  for (int i = 0; i < kCrashRows; ++i) ids.push_back(Value::Int64(100000 + i));
  auto response = (*store)->GetOnlineFeatures(request);
  EXPECT_TRUE(response.ok()) << response.status().ToString();
  if (!response.ok()) return -1;
  int matches = 0;
  for (const auto& column : response->columns) {
    if (column.name != "books_read") continue;
    for (int i = 0; i < kCrashRows; ++i) {
      const Value& v = column.values[i];
      matches += !v.is_null() && v.int64_value() == i + offset ? 1 : 0;
    }
  }
  return matches;
}

// Waits until the crash writer says its offline append committed.
bool WaitForOfflineAppend(const std::string& repo, std::chrono::milliseconds limit) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (!std::filesystem::exists(repo + "/offline_done")) {
    if (std::chrono::steady_clock::now() > end) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

TEST(PushCli, KilledPushConvergesWhenRetried) {
  TempDir tmp;
  const std::string c = PushRepo(tmp);
  const std::string repo = tmp.Join("repo");

  // 1. Killed exactly between the offline append and the online writes: the
  // rows are offline only. A retry appends nothing offline and lands online.
  tmp.Write("rows0.csv", CrashRows(0, 0));
  const auto started = std::chrono::steady_clock::now();
  pid_t pid = StartPushWriter(repo, tmp.Join("rows0.csv"), /*pause=*/true);
  ASSERT_GT(pid, 0);
  ASSERT_TRUE(WaitForOfflineAppend(repo, std::chrono::seconds(60)));
  const auto to_offline = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - started);
  ASSERT_EQ(::kill(pid, SIGKILL), 0);
  int wstatus = 0;
  ASSERT_EQ(waitpid(pid, &wstatus, 0), pid);
  ASSERT_TRUE(WIFSIGNALED(wstatus));
  EXPECT_EQ(OfflineRows(repo), std::make_pair(int64_t{kCrashRows}, int64_t{kCrashRows}));
  EXPECT_EQ(OnlineMatches(repo, 0), 0);
  CommandResult retry =
      RunLarder(c + "push user_stats_push " + tmp.Join("rows0.csv") + " --to online_and_offline");
  ASSERT_EQ(retry.exit_code, 0) << retry.err;
  EXPECT_THAT(retry.out, HasSubstr("0 appended offline (the others were already stored)"));
  EXPECT_THAT(retry.out, HasSubstr("pushed_stats: 10000 written"));
  EXPECT_EQ(OfflineRows(repo), std::make_pair(int64_t{kCrashRows}, int64_t{kCrashRows}));
  EXPECT_EQ(OnlineMatches(repo, 0), kCrashRows);

  // 2. Killed at other points: early, half-way to the offline commit, and as
  // soon as the offline append committed (during the online writes), then
  // retried: each batch is offline exactly once and served online.
  int64_t expected_offline = kCrashRows;
  for (int k = 1; k <= 4; ++k) {
    const std::string file = tmp.Join("rows" + std::to_string(k) + ".csv");
    tmp.Write("rows" + std::to_string(k) + ".csv", CrashRows(1000 * k, k));
    std::filesystem::remove(repo + "/offline_done");
    pid = StartPushWriter(repo, file, /*pause=*/false);
    ASSERT_GT(pid, 0);
    if (k == 1) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    if (k == 2) std::this_thread::sleep_for(to_offline / 2);
    if (k >= 3) WaitForOfflineAppend(repo, std::chrono::seconds(60));
    if (k == 4) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    ::kill(pid, SIGKILL);  // it may have finished: then the retry has nothing to do
    ASSERT_EQ(waitpid(pid, &wstatus, 0), pid);
    // Where the kill landed depends on the machine's speed; say it.
    std::cout << "kill " << k << ": "
              << (!WIFSIGNALED(wstatus) ? "the push had finished"
                  : std::filesystem::exists(repo + "/offline_done")
                      ? "after the offline append"
                      : "before the offline append committed")
              << "; " << OfflineRows(repo).first - expected_offline << " rows appended offline, "
              << OnlineMatches(repo, 1000 * k) << " online\n";
    retry = RunLarder(c + "push user_stats_push " + file + " --to online_and_offline");
    ASSERT_EQ(retry.exit_code, 0) << retry.err;
    expected_offline += kCrashRows;
    EXPECT_EQ(OfflineRows(repo), std::make_pair(expected_offline, expected_offline)) << k;
    EXPECT_EQ(OnlineMatches(repo, 1000 * k), kCrashRows) << k;
  }
}

}  // namespace
}  // namespace larder
