// The scheduler's logic on a simulated clock, with a fake executor (this is
// a unit test of our own logic; the real executor runs in
// tests/schedule_cli_test.cc) and the real SQLite registry for its history.
#include "orchestrate/scheduler.h"

#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include "support/test_util.h"

namespace larder::orchestrate {
namespace {

using ::larder::testing::TempDir;

constexpr int64_t kHour = Duration::kHour;
constexpr int64_t kDay = Duration::kDay;
// 2026-11-01T00:00:00Z.
constexpr TimestampMicros kStart = 1'793'491'200'000'000;

// The schedule `text`, which must parse.
schedule::Schedule ParsedSchedule(const std::string& text) {
  Result<schedule::Schedule> s = schedule::Schedule::Parse(text);
  if (!s.ok()) std::abort();
  return *s;
}

Task MakeTask(const std::string& name, const std::string& schedule,
              std::vector<std::string> upstream = {}, int retries = 2) {
  BatchSchedule policy;
  policy.batch_schedule = schedule;
  policy.retries = retries;
  policy.retry_delay = Duration{5 * Duration::kMinute};
  return Task{name,
              name.starts_with("model:") ? TaskKind::kModel : TaskKind::kView,
              name.substr(name.find(':') + 1),
              policy,
              ParsedSchedule(schedule),
              {},
              std::move(upstream),
              {}};
}

// Records every execution; fails where told to.
class FakeExecutor : public TaskExecutor {
 public:
  Result<TaskOutput> Execute(const TaskRun& run) override {
    {
      std::lock_guard lock(mu);
      const std::string key = run.task->name;
      if (!active.insert(key).second) twice_at_once = true;
      ++running;
      max_running = std::max(max_running, running);
      calls.push_back({key, run.interval.end});
    }
    if (work) work(run);
    std::lock_guard lock(mu);
    active.erase(run.task->name);
    --running;
    const auto key = std::make_pair(run.task->name, run.interval.end);
    if (fail_always.contains(key)) return Status::FailedPrecondition("data tests failed: injected");
    if (fail_once.contains(key) && !failed_before.contains(key)) {
      failed_before.insert(key);
      return Status::IOError("transient: injected");
    }
    applied.insert(key);
    return TaskOutput{1, run.interval.end - 1};
  }

  std::mutex mu;
  std::vector<std::pair<std::string, TimestampMicros>> calls;
  std::set<std::pair<std::string, TimestampMicros>> applied;  // the "store"
  std::set<std::pair<std::string, TimestampMicros>> fail_always, fail_once, failed_before;
  std::set<std::string> active;
  int running = 0;
  int max_running = 0;
  bool twice_at_once = false;
  std::function<void(const TaskRun&)> work;
};

class SchedulerTest : public ::testing::Test {
 protected:
  void SetUp() override { OpenRegistry("registry.db"); }

  void OpenRegistry(const std::string& file) {
    RegistryOptions ro;
    ro.path = dir_.Join(file);
    Result<std::unique_ptr<Registry>> opened = Registry::Open(ro);
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    registry_ = std::move(*opened);
    now_ = kStart;
  }

  SchedulerOptions Options(const std::string& owner = "test:1") {
    SchedulerOptions o;
    o.project = "p";
    o.concurrency = 2;
    o.now = [this] { return now_.load(); };
    o.advance_clock = [this](TimestampMicros t) { now_ = t; };
    o.owner = owner;
    o.owner_gone = [owner](const std::string& other) { return other != owner; };
    return o;
  }

  std::vector<RunRecord> History(const std::string& task = "") {
    RunQuery q;
    q.task = task;
    return *registry_->Runs("p", q);
  }

  // The interval ends of `task`'s successes, checking there is one each.
  std::vector<TimestampMicros> Successes(const std::string& task) {
    std::vector<TimestampMicros> ends;
    for (const RunRecord& r : History(task)) {
      if (r.status == RunStatus::kSuccess) ends.push_back(r.interval_end);
    }
    EXPECT_TRUE(std::is_sorted(ends.begin(), ends.end()));
    EXPECT_EQ(std::adjacent_find(ends.begin(), ends.end()), ends.end()) << task << ": a repeat";
    return ends;
  }

  static std::vector<TimestampMicros> Every(TimestampMicros first, TimestampMicros last,
                                            int64_t step) {
    std::vector<TimestampMicros> out;
    for (TimestampMicros t = first; t <= last; t += step) out.push_back(t);
    return out;
  }

  TempDir dir_;
  std::unique_ptr<Registry> registry_;
  std::atomic<TimestampMicros> now_;
  FakeExecutor executor_;
};

TEST_F(SchedulerTest, SimulatedMonthRunsEachIntervalOnceInOrder) {
  std::vector<Task> tasks = {MakeTask("model:m", "@daily"), MakeTask("view:daily", "@daily", {"model:m"}),
                             MakeTask("view:hourly", "@hourly")};
  Scheduler s(tasks, registry_.get(), &executor_, Options());
  const TimestampMicros end = kStart + 30 * kDay;
  Result<SchedulerReport> r = s.Run(end);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  // A first start runs the newest interval due (ending now), then each one.
  EXPECT_EQ(Successes("view:hourly"), Every(kStart, end, kHour));
  EXPECT_EQ(Successes("view:daily"), Every(kStart, end, kDay));
  EXPECT_EQ(Successes("model:m"), Every(kStart, end, kDay));
  EXPECT_EQ(r->succeeded, (30 * 24 + 1) + 2 * 31);
  EXPECT_EQ(r->failed + r->retried + r->upstream_failed, 0);
  EXPECT_FALSE(executor_.twice_at_once);
  // The daily view ran each interval after the model's.
  std::map<TimestampMicros, int> model_done;
  for (size_t i = 0; i < executor_.calls.size(); ++i) {
    const auto& [task, at] = executor_.calls[i];
    if (task == "model:m") model_done[at] = static_cast<int>(i);
    if (task == "view:daily") {
      ASSERT_TRUE(model_done.contains(at)) << FormatIsoTimestamp(at);
    }
  }
  for (const RunRecord& run : History()) {
    EXPECT_EQ(run.interval_end - run.interval_start, run.task == "view:hourly" ? kHour : kDay);
    EXPECT_EQ(run.trigger, "schedule");
  }
}

TEST_F(SchedulerTest, FailingDataTestBlocksOnlyItsDownstream) {
  const TimestampMicros bad_day = kStart + 10 * kDay;
  executor_.fail_always.insert({"model:m", bad_day});
  std::vector<Task> tasks = {MakeTask("model:m", "@daily", {}, 1),
                             MakeTask("view:daily", "@daily", {"model:m"}),
                             MakeTask("view:other", "@daily")};
  Scheduler s(tasks, registry_.get(), &executor_, Options());
  Result<SchedulerReport> r = s.Run(kStart + 20 * kDay);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->failed, 1);
  EXPECT_EQ(r->upstream_failed, 1);
  EXPECT_EQ(r->retried, 1);  // retries: 1
  std::vector<RunRecord> blocked = History("view:daily");
  int upstream_failed = 0;
  for (const RunRecord& run : blocked) {
    if (run.status == RunStatus::kUpstreamFailed) {
      ++upstream_failed;
      EXPECT_EQ(run.interval_end, bad_day);
      EXPECT_NE(run.error.find("model:m"), std::string::npos) << run.error;
    }
  }
  EXPECT_EQ(upstream_failed, 1);
  // The view never ran for the bad day, and ran every other day.
  for (const auto& [task, at] : executor_.calls) {
    EXPECT_FALSE(task == "view:daily" && at == bad_day);
  }
  EXPECT_EQ(Successes("view:daily").size(), 20u);  // 21 days, one blocked
  EXPECT_EQ(Successes("view:other"), Every(kStart, kStart + 20 * kDay, kDay));
  RunQuery failed;
  failed.status = RunStatus::kFailed;
  std::vector<RunRecord> f = *registry_->Runs("p", failed);
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].attempt, 2);
  EXPECT_NE(f[0].error.find("data tests failed"), std::string::npos);
}

TEST_F(SchedulerTest, TransientFailureIsRetriedAfterItsDelayAndSucceeds) {
  const TimestampMicros at = kStart + 3 * kHour;
  executor_.fail_once.insert({"view:hourly", at});
  Scheduler s({MakeTask("view:hourly", "@hourly")}, registry_.get(), &executor_, Options());
  Result<SchedulerReport> r = s.Run(kStart + 6 * kHour);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->retried, 1);
  EXPECT_EQ(r->failed, 0);
  EXPECT_EQ(Successes("view:hourly"), Every(kStart, kStart + 6 * kHour, kHour));
  RunQuery q;
  q.interval_end_from = at;
  q.interval_end_to = at + 1;
  std::vector<RunRecord> runs = *registry_->Runs("p", q);
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_EQ(runs[0].status, RunStatus::kUpForRetry);
  EXPECT_EQ(runs[0].attempt, 1);
  EXPECT_NE(runs[0].error.find("transient"), std::string::npos);
  EXPECT_EQ(runs[1].status, RunStatus::kSuccess);
  EXPECT_EQ(runs[1].attempt, 2);
  // The retry waited for retry_delay (5 minutes) after the failure.
  EXPECT_GE(runs[1].started - runs[0].ended, 5 * Duration::kMinute);
}

TEST_F(SchedulerTest, CatchesUpMissedIntervalsInOrderOrOnlyTheNewest) {
  for (bool catchup : {true, false}) {
    SCOPED_TRACE(catchup ? "catchup" : "no catchup");
    OpenRegistry(catchup ? "catchup.db" : "no_catchup.db");  // a fresh history
    now_ = kStart;
    executor_.calls.clear();
    Task t = MakeTask("view:hourly", "@hourly");
    t.policy.catchup = catchup;
    {
      Scheduler s({t}, registry_.get(), &executor_, Options());
      ASSERT_TRUE(s.Run(kStart).ok());
    }
    now_ = kStart + 5 * kHour + 30 * Duration::kMinute;  // down for five hours
    Scheduler s({t}, registry_.get(), &executor_, Options());
    ASSERT_TRUE(s.Run(now_).ok());
    if (catchup) {
      EXPECT_EQ(Successes("view:hourly"), Every(kStart, kStart + 5 * kHour, kHour));
    } else {
      EXPECT_EQ(Successes("view:hourly"),
                (std::vector<TimestampMicros>{kStart, kStart + 5 * kHour}));
      // The run after the gap covers only the newest interval.
      EXPECT_EQ(History().back().interval_start, kStart + 4 * kHour);
    }
  }
}

TEST_F(SchedulerTest, RunsAtMostConcurrencyTasksAndNeverOneTaskTwice) {
  std::vector<Task> tasks;
  for (int i = 0; i < 5; ++i) tasks.push_back(MakeTask("view:v" + std::to_string(i), "@hourly"));
  executor_.work = [](const TaskRun&) { std::this_thread::sleep_for(std::chrono::milliseconds(5)); };
  SchedulerOptions o = Options();
  o.concurrency = 2;
  Scheduler s(tasks, registry_.get(), &executor_, o);
  ASSERT_TRUE(s.Run(kStart + 10 * kHour).ok());
  EXPECT_EQ(executor_.max_running, 2);
  EXPECT_FALSE(executor_.twice_at_once);
  for (const Task& t : tasks) EXPECT_EQ(Successes(t.name).size(), 11u);
}

TEST_F(SchedulerTest, ATaskThatOverrunsItsIntervalIsNotStartedTwice) {
  // Each run takes 2.5 hours of an hourly schedule.
  executor_.work = [this](const TaskRun&) { now_ += 5 * kHour / 2; };
  Scheduler s({MakeTask("view:slow", "@hourly")}, registry_.get(), &executor_, Options());
  ASSERT_TRUE(s.Run(kStart + 24 * kHour).ok());
  EXPECT_FALSE(executor_.twice_at_once);
  // Every interval still runs, in order, one after the other.
  std::vector<TimestampMicros> ends = Successes("view:slow");
  ASSERT_GE(ends.size(), 9u);
  EXPECT_EQ(ends, Every(kStart, ends.back(), kHour));
  std::vector<RunRecord> runs = History("view:slow");
  for (size_t i = 1; i < runs.size(); ++i) EXPECT_GE(runs[i].started, runs[i - 1].ended);
}

TEST_F(SchedulerTest, KilledAtRandomPointsAndRestartedGivesTheSameHistoryAndStore) {
  const TimestampMicros end = kStart + 4 * kDay;
  std::vector<Task> tasks = {MakeTask("model:m", "@daily"), MakeTask("view:daily", "@daily", {"model:m"}),
                             MakeTask("view:hourly", "@hourly"), MakeTask("view:6h", "0 */6 * * *")};
  executor_.fail_once.insert({"view:hourly", kStart + 7 * kHour});

  // The uninterrupted run, in its own registry.
  TempDir clean_dir;
  RegistryOptions ro;
  ro.path = clean_dir.Join("registry.db");
  Result<std::unique_ptr<Registry>> opened = Registry::Open(ro);
  ASSERT_TRUE(opened.ok());
  std::unique_ptr<Registry> clean_registry = std::move(*opened);
  FakeExecutor clean_executor;
  clean_executor.fail_once = executor_.fail_once;
  {
    SchedulerOptions o = Options();
    std::atomic<TimestampMicros> clean_now = kStart;
    o.now = [&] { return clean_now.load(); };
    o.advance_clock = [&](TimestampMicros t) { clean_now = t; };
    Scheduler s(tasks, clean_registry.get(), &clean_executor, o);
    ASSERT_TRUE(s.Run(end).ok());
  }

  // Ten crashes at random crash points, each followed by a restart.
  std::mt19937 rng(7);
  int crashes = 0;
  for (int process = 1;; ++process) {
    SchedulerOptions o = Options("test:" + std::to_string(process));
    std::atomic<int> countdown = crashes < 10 ? std::uniform_int_distribution<int>(1, 40)(rng) : -1;
    o.crash_point = [&countdown](std::string_view) { return --countdown == 0; };
    Scheduler s(tasks, registry_.get(), &executor_, o);
    Result<SchedulerReport> r = s.Run(end);
    if (r.ok()) break;
    ASSERT_NE(r.status().message().find("crash point"), std::string::npos) << r.status().ToString();
    ++crashes;
  }
  EXPECT_EQ(crashes, 10);

  auto successes = [](Registry& registry) {
    std::set<std::pair<std::string, TimestampMicros>> out;
    const std::vector<RunRecord> runs = *registry.Runs("p", {});
    for (const RunRecord& r : runs) {
      if (r.status == RunStatus::kSuccess) {
        EXPECT_TRUE(out.insert({r.task, r.interval_end}).second);
      }
    }
    return out;
  };
  EXPECT_EQ(successes(*registry_), successes(*clean_registry));
  EXPECT_EQ(executor_.applied, clean_executor.applied);
  for (const Task& t : tasks) Successes(t.name);  // one success per interval
  // Each crash left its claimed run behind, abandoned by the next process.
  RunQuery abandoned;
  abandoned.status = RunStatus::kAbandoned;
  EXPECT_GE(registry_->Runs("p", abandoned)->size(), 1u);
}

TEST_F(SchedulerTest, BackfillRunsEveryIntervalOnceAndResumes) {
  std::vector<Task> tasks = {MakeTask("view:hourly", "@hourly"), MakeTask("view:daily", "@daily")};
  const TimestampMicros from = kStart;
  const TimestampMicros to = kStart + 3 * kDay;
  {
    SchedulerOptions o = Options("test:1");
    std::atomic<int> countdown = 30;
    o.crash_point = [&countdown](std::string_view) { return --countdown == 0; };
    Scheduler s(tasks, registry_.get(), &executor_, o);
    EXPECT_FALSE(s.Backfill(from, to).ok());
  }
  Scheduler s(tasks, registry_.get(), &executor_, Options("test:2"));
  Result<SchedulerReport> r = s.Backfill(from, to);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  // Intervals ending in (from, to].
  EXPECT_EQ(Successes("view:hourly"), Every(from + kHour, to, kHour));
  EXPECT_EQ(Successes("view:daily"), Every(from + kDay, to, kDay));
  for (const RunRecord& run : History()) EXPECT_EQ(run.trigger, "backfill");
  // A second backfill finds everything done.
  Scheduler again(tasks, registry_.get(), &executor_, Options("test:3"));
  Result<SchedulerReport> r2 = again.Backfill(from, to);
  ASSERT_TRUE(r2.ok());
  EXPECT_EQ(r2->succeeded, 0);
}

// Two processes backfill one range at once: each interval succeeds once,
// whether each sees the other alive (it waits for the other's runs) or,
// wrongly, gone (both may run an interval; the second success is refused
// and recorded abandoned).
TEST_F(SchedulerTest, TwoBackfillsAtOnceRunEachIntervalOnce) {
  for (bool presumed_gone : {false, true}) {
    SCOPED_TRACE(presumed_gone ? "each presumes the other gone" : "each sees the other alive");
    OpenRegistry(presumed_gone ? "gone.db" : "alive.db");
    std::vector<Task> tasks = {MakeTask("view:hourly", "@hourly"), MakeTask("view:daily", "@daily")};
    executor_.work = [](const TaskRun&) { std::this_thread::sleep_for(std::chrono::milliseconds(2)); };
    // Two processes: their own registry connections and owners, one history.
    RegistryOptions ro;
    ro.path = dir_.Join(presumed_gone ? "gone.db" : "alive.db");
    Result<std::unique_ptr<Registry>> second = Registry::Open(ro);
    ASSERT_TRUE(second.ok());
    Result<SchedulerReport> a = SchedulerReport{};
    Result<SchedulerReport> b = SchedulerReport{};
    {
      SchedulerOptions o1 = Options("host:1");
      SchedulerOptions o2 = Options("host:2");
      if (!presumed_gone) {
        o1.owner_gone = o2.owner_gone = [](const std::string&) { return false; };
      }
      Scheduler one(tasks, registry_.get(), &executor_, o1);
      Scheduler two(tasks, second->get(), &executor_, o2);
      std::thread t1([&] { a = one.Backfill(kStart, kStart + 2 * kDay); });
      std::thread t2([&] { b = two.Backfill(kStart, kStart + 2 * kDay); });
      t1.join();
      t2.join();
    }
    ASSERT_TRUE(a.ok()) << a.status().ToString();
    ASSERT_TRUE(b.ok()) << b.status().ToString();
    EXPECT_EQ(a->succeeded + b->succeeded, 48 + 2);
    EXPECT_EQ(Successes("view:hourly"), Every(kStart + kHour, kStart + 2 * kDay, kHour));
    EXPECT_EQ(Successes("view:daily"), Every(kStart + kDay, kStart + 2 * kDay, kDay));
  }
}

TEST_F(SchedulerTest, AnIntervalThatALiveProcessRunsIsNotStartedAgain) {
  RunRecord run;
  run.task = "view:hourly";
  run.interval_start = kStart - kHour;
  run.interval_end = kStart;
  run.owner = "other:1";
  run.trigger = "backfill";
  ASSERT_TRUE(registry_->StartRun("p", run, [](const std::string&) { return false; }).ok());
  // Still alive: Busy, and the scheduler polls instead of running it.
  Result<RunRecord> again = registry_->StartRun("p", run, [](const std::string&) { return false; });
  EXPECT_EQ(again.status().code(), StatusCode::kBusy);
  SchedulerOptions o = Options();
  o.owner_gone = [](const std::string&) { return false; };
  Scheduler s({MakeTask("view:hourly", "@hourly")}, registry_.get(), &executor_, o);
  ASSERT_TRUE(s.Run(kStart + 30 * Duration::kMinute).ok());
  EXPECT_TRUE(executor_.calls.empty());
  // Gone: abandoned, and the next attempt is 1 again (abandoned runs do not count).
  Result<RunRecord> taken = registry_->StartRun("p", run, [](const std::string&) { return true; });
  ASSERT_TRUE(taken.ok());
  EXPECT_EQ(taken->attempt, 1);
  ASSERT_TRUE(registry_->FinishRun("p", taken->id, RunStatus::kSuccess, 3, "", kStart).ok());
  EXPECT_EQ(registry_->StartRun("p", run, [](const std::string&) { return true; }).status().code(),
            StatusCode::kAlreadyExists);
  EXPECT_EQ(History()[0].status, RunStatus::kAbandoned);
}

}  // namespace
}  // namespace larder::orchestrate
