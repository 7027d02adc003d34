// The scheduler: runs each task (orchestrate/task_plan.h) once per interval
// of its schedule, with retries, a concurrency limit and a run history in
// the registry (`larder schedule`, `larder backfill`; docs/orchestration.md).
//
// Intervals. A task's interval [start, end) is due at `end`, as in Airflow.
// Each task runs its intervals one at a time, oldest first, so a task that
// overruns its interval is never started twice. Tasks run independently,
// up to `concurrency` at once; a task waits for its upstream tasks to
// succeed over an interval ending at or after its own interval's end, and is
// recorded `upstream_failed` (without running) when that interval of an
// upstream task failed.
//
// Catch-up. Where a task starts is read from the history: after the newest
// interval that settled (succeeded or failed for good). The intervals due
// since then all run, in order, or only the newest when the task's catchup
// is false. A task that never ran starts with the newest interval due.
//
// Restarts. Only the registry is durable. A run left `running` by a process
// that died is marked abandoned and its interval runs again; a success is
// never repeated (Registry::StartRun refuses it), so a restart neither runs an
// interval twice to completion nor skips one. On Stop() no new run starts and
// the running ones finish.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "larder/registry.h"
#include "larder/status.h"
#include "orchestrate/scheduler_metrics.h"
#include "orchestrate/task_plan.h"
#include "schedule/schedule.h"

namespace larder::orchestrate {

// How a run is asked for.
enum class Trigger { kSchedule, kBackfill };

// What one run of a task over an interval is given.
struct TaskRun {
  const Task* task = nullptr;
  schedule::Interval interval;
  Trigger trigger = Trigger::kSchedule;
  // kBackfill: the start of the backfilled range (materialization never
  // reaches before it).
  TimestampMicros range_start = 0;
  int attempt = 1;
};

// What a run did.
struct TaskOutput {
  int64_t rows = 0;                 // records written online
  TimestampMicros newest_event = 0; // the newest event time materialized; 0: none
};

// Does the work of a run (the real one is StoreExecutor). Called from worker
// threads, several at once (never twice at once for one task). Returns what
// it did, or the error that failed the run.
class TaskExecutor {
 public:
  virtual ~TaskExecutor() = default;
  virtual Result<TaskOutput> Execute(const TaskRun& run) = 0;
};

struct SchedulerOptions {
  std::string project;
  // Runs at most this many tasks at once. REQUIRES: >= 1. Default: 2.
  int concurrency = 2;
  // The time. Default: the system clock.
  std::function<TimestampMicros()> now;
  // A simulated clock: called with the next time the scheduler waits for,
  // when no run is in progress, to move the clock there. The scheduler then
  // never sleeps (tests run a month in seconds). Default: unset (wall clock).
  std::function<void(TimestampMicros)> advance_clock;
  // This process, as recorded in the runs' owner: "HOST:PID" by default.
  std::string owner;
  // Whether a running row's owner has gone. Default: an owner on this host
  // whose process no longer exists; owners on other hosts are never gone.
  std::function<bool(const std::string& owner)> owner_gone;
  // Progress lines ("view:x 2026-12-07T10:00:00Z success 120 rows"). May be
  // empty.
  std::function<void(const std::string& line)> log;
  // Test seam (as RocksDB's sync points): called at named points of a run
  // ("claimed", "executed"); returning true makes the scheduler return at
  // once (Internal, naming the point), leaving the registry as a killed
  // process would.
  std::function<bool(std::string_view point)> crash_point;
  // Counts what finishes. Not owned; may be null.
  SchedulerMetrics* metrics = nullptr;
};

// The interval counts of a Run or Backfill.
struct SchedulerReport {
  int64_t succeeded = 0;
  int64_t failed = 0;           // failed for good
  int64_t retried = 0;          // attempts that failed and were retried
  int64_t upstream_failed = 0;
  int64_t already_done = 0;     // skipped: another run had succeeded
};

class Scheduler {
 public:
  // REQUIRES: registry and executor outlive the Scheduler.
  Scheduler(std::vector<Task> tasks, Registry* registry, TaskExecutor* executor,
            SchedulerOptions options);
  ~Scheduler();

  // Runs due intervals until Stop() (or, with a simulated clock, until the
  // clock passes `until`). Errors: the registry's; Internal at a crash point.
  Result<SchedulerReport> Run(TimestampMicros until = std::numeric_limits<TimestampMicros>::max());

  // Runs every interval of the tasks that ends in (start, end], oldest first
  // per task (a backfill), whatever the tasks' catchup, skipping those that
  // already succeeded. Failed ones are retried per policy; retry delays are
  // waited for. Idempotent and resumable.
  Result<SchedulerReport> Backfill(TimestampMicros start, TimestampMicros end);

  // Asks Run or Backfill to return: no run starts after this; running ones
  // finish. Safe from any thread (not from a signal handler: set a flag and
  // call it from a thread).
  void Stop();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// "HOST:PID" of this process.
std::string ThisOwner();
// Whether `owner` ("HOST:PID") is a process of this host that no longer runs.
bool LocalOwnerGone(const std::string& owner);

}  // namespace larder::orchestrate
