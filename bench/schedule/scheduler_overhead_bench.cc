// The scheduler's own cost per task run: planning the next interval,
// claiming it in the registry (one write transaction), handing it to a
// worker and recording its end (another). The tasks do nothing, so all the
// time measured is the scheduler's. The registry is the real SQLite file.
//
//   larder_bench_schedule_overhead [--tasks N] [--days D] [--concurrency C]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "orchestrate/scheduler.h"
#include "support/test_util.h"

namespace larder::orchestrate {
namespace {

class NoOpExecutor : public TaskExecutor {
 public:
  Result<TaskOutput> Execute(const TaskRun&) override { return TaskOutput{}; }
};

// The schedule `text`, which must parse.
schedule::Schedule ParsedSchedule(const std::string& text) {
  Result<schedule::Schedule> s = schedule::Schedule::Parse(text);
  if (!s.ok()) std::abort();
  return *s;
}

int Main(int argc, char** argv) {
  int tasks = 8;
  int days = 7;
  int concurrency = 2;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--tasks") == 0) tasks = std::atoi(argv[i + 1]);
    if (std::strcmp(argv[i], "--days") == 0) days = std::atoi(argv[i + 1]);
    if (std::strcmp(argv[i], "--concurrency") == 0) concurrency = std::atoi(argv[i + 1]);
  }
  larder::testing::TempDir dir;
  RegistryOptions ro;
  ro.path = dir.Join("registry.db");
  Result<std::unique_ptr<Registry>> opened = Registry::Open(ro);
  if (!opened.ok()) {
    std::fprintf(stderr, "registry: %s\n", opened.status().ToString().c_str());
    return 1;
  }
  std::unique_ptr<Registry> registry = std::move(*opened);
  std::vector<Task> plan;
  for (int t = 0; t < tasks; ++t) {
    BatchSchedule policy;
    policy.batch_schedule = "@hourly";
    plan.push_back(Task{"view:v" + std::to_string(t), TaskKind::kView, "v" + std::to_string(t),
                        policy, ParsedSchedule("@hourly"), {}, {}, {}});
  }
  // 2026-11-01T00:00:00Z on a simulated clock.
  std::atomic<TimestampMicros> now = 1'793'491'200'000'000;
  const TimestampMicros until = now + days * Duration::kDay;
  SchedulerOptions o;
  o.project = "bench";
  o.concurrency = concurrency;
  o.now = [&now] { return now.load(); };
  o.advance_clock = [&now](TimestampMicros t) { now = t; };
  NoOpExecutor executor;
  Scheduler scheduler(plan, registry.get(), &executor, o);
  const auto t0 = std::chrono::steady_clock::now();
  Result<SchedulerReport> report = scheduler.Run(until);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (!report.ok()) {
    std::fprintf(stderr, "scheduler: %s\n", report.status().ToString().c_str());
    return 1;
  }
  const double runs = static_cast<double>(report->succeeded);
  std::printf("tasks %d, %d simulated days of @hourly, concurrency %d: %.0f runs in %.2f s\n",
              tasks, days, concurrency, runs, seconds);
  std::printf("scheduler overhead per task run: %.3f ms (registry claim + record, planning, "
              "hand-off)\n",
              seconds * 1e3 / runs);
  return 0;
}

}  // namespace
}  // namespace larder::orchestrate

int main(int argc, char** argv) { return larder::orchestrate::Main(argc, argv); }
