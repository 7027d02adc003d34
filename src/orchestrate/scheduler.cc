#include "orchestrate/scheduler.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

namespace larder::orchestrate {
namespace {

constexpr TimestampMicros kNever = std::numeric_limits<TimestampMicros>::max();
// How long a task waits before asking again for an interval that another
// live process is running.
constexpr TimestampMicros kBusyPoll = 10 * Duration::kSecond;

TimestampMicros SystemNow() {
  using namespace std::chrono;
  return duration_cast<microseconds>(system_clock::now().time_since_epoch()).count();
}

std::string HostName() {
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) != 0) return "localhost";
  return host;
}

std::string_view TriggerName(Trigger t) { return t == Trigger::kBackfill ? "backfill" : "schedule"; }

// The newest interval of `s` ending at or before `now`, when one ends in
// the last five years.
std::optional<schedule::Interval> NewestDue(const schedule::Schedule& s, TimestampMicros now) {
  for (int64_t window : {Duration::kHour, Duration::kDay, 32 * Duration::kDay,
                         367 * Duration::kDay, 5 * 366 * Duration::kDay}) {
    std::vector<schedule::Interval> due = s.IntervalsEndingIn(now - window, now);
    if (!due.empty()) return due.back();
  }
  return std::nullopt;
}

// When the attempt after failed run `r` is due.
TimestampMicros RetryTime(const BatchSchedule& policy, const RunRecord& r) {
  return r.ended + (policy.retry_delay.micros << std::min(r.attempt - 1, 20));
}

}  // namespace

std::string ThisOwner() { return HostName() + ":" + std::to_string(getpid()); }

bool LocalOwnerGone(const std::string& owner) {
  const size_t colon = owner.rfind(':');
  if (colon == std::string::npos || owner.substr(0, colon) != HostName()) return false;
  char* end = nullptr;
  const long pid = std::strtol(owner.c_str() + colon + 1, &end, 10);
  if (end == owner.c_str() + colon + 1 || *end != '\0' || pid <= 0) return false;
  return kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH;
}

// One task's progress through its intervals.
struct TaskState {
  const Task* task = nullptr;
  // interval_end -> how it settled (success, failed, upstream_failed).
  std::map<TimestampMicros, RunStatus> settled;
  // The newest settled interval's end; unset when none settled.
  std::optional<TimestampMicros> resume_after;
  // The interval being worked on, and the attempts made at it.
  std::optional<schedule::Interval> current;
  TimestampMicros not_before = 0;  // a retry's (or a busy poll's) time
  bool running = false;
  // Backfill: the intervals still to run, oldest first.
  std::deque<schedule::Interval> queue;
};

struct Completion {
  TaskState* state;
  RunRecord run;
  Result<TaskOutput> output;
};

struct Scheduler::State {
  std::vector<Task> tasks;
  Registry* registry;
  TaskExecutor* executor;
  SchedulerOptions options;

  std::mutex mu;
  std::condition_variable wake;
  std::deque<Completion> done;  // guarded by mu
  std::atomic<bool> stop{false};
  // The worker of each running task (one run per task at a time).
  std::map<TaskState*, std::thread> workers;

  TimestampMicros Now() const { return options.now ? options.now() : SystemNow(); }
  void Log(const std::string& line) const {
    if (options.log) options.log(line);
  }
  // A run of `s`'s current interval, to claim.
  RunRecord NewRun(const TaskState& s, Trigger trigger) const {
    RunRecord run;
    run.task = s.task->name;
    run.interval_start = s.current->start;
    run.interval_end = s.current->end;
    run.trigger = std::string(TriggerName(trigger));
    run.owner = options.owner;
    run.started = Now();
    return run;
  }
  // Records a run's end in the registry and the metrics.
  Status Finish(const RunRecord& run, RunStatus status, int64_t rows, const std::string& error) {
    const TimestampMicros ended = Now();
    LARDER_RETURN_IF_ERROR(
        registry->FinishRun(options.project, run.id, status, rows, error, ended));
    if (options.metrics != nullptr) options.metrics->Finished(run.task, status, ended);
    return Status::OK();
  }
  bool Crash(std::string_view point) const {
    return options.crash_point && options.crash_point(point);
  }

  Result<std::vector<TaskState>> LoadStates();
  Result<SchedulerReport> Loop(Trigger trigger, TimestampMicros range_start,
                               TimestampMicros until);
  // Starts a run: claims it in the registry and hands it to a worker.
  // Returns false when the interval needs no run (already done).
  Result<bool> Dispatch(TaskState& s, Trigger trigger, TimestampMicros range_start,
                        SchedulerReport* report, int* running);
  Status Record(Completion& c, SchedulerReport* report);
  Status SettleUpstreamFailed(TaskState& s, Trigger trigger, const std::string& upstream,
                              SchedulerReport* report);
  void JoinWorkers();
};

Scheduler::Scheduler(std::vector<Task> tasks, Registry* registry, TaskExecutor* executor,
                     SchedulerOptions options)
    : state_(std::make_unique<State>()) {
  state_->tasks = std::move(tasks);
  state_->registry = registry;
  state_->executor = executor;
  if (options.owner.empty()) options.owner = ThisOwner();
  if (!options.owner_gone) options.owner_gone = LocalOwnerGone;
  options.concurrency = std::max(1, options.concurrency);
  state_->options = std::move(options);
}

Scheduler::~Scheduler() { state_->JoinWorkers(); }

void Scheduler::Stop() {
  state_->stop = true;
  std::lock_guard lock(state_->mu);
  state_->wake.notify_all();
}

void Scheduler::State::JoinWorkers() {
  for (auto& [state, t] : workers) {
    if (t.joinable()) t.join();
  }
  workers.clear();
}

Result<std::vector<TaskState>> Scheduler::State::LoadStates() {
  std::vector<TaskState> states;
  for (const Task& task : tasks) {
    TaskState s;
    s.task = &task;
    RunQuery q;
    q.task = task.name;
    LARDER_ASSIGN_OR_RETURN(std::vector<RunRecord> runs,
                            registry->Runs(options.project, q));
    // Oldest first, so the last row of an interval is its latest attempt.
    std::map<TimestampMicros, const RunRecord*> latest;
    for (const RunRecord& r : runs) latest[r.interval_end] = &r;
    for (const auto& [end, r] : latest) {
      if (r->status == RunStatus::kSuccess && options.metrics != nullptr) {
        options.metrics->SeedLastSuccess(task.name, r->ended);
      }
      if (IsSettled(r->status)) {
        s.settled[end] = r->status;
        s.resume_after = end;
      }
    }
    // An interval after the newest settled one that was started and not
    // settled (a retry due, or a run its process abandoned) comes first.
    for (const auto& [end, r] : latest) {
      if (!IsSettled(r->status) && (!s.resume_after || end > *s.resume_after)) {
        s.current = schedule::Interval{r->interval_start, r->interval_end};
        if (r->status == RunStatus::kUpForRetry) s.not_before = RetryTime(task.policy, *r);
        break;
      }
    }
    states.push_back(std::move(s));
  }
  return states;
}

Status Scheduler::State::SettleUpstreamFailed(TaskState& s, Trigger trigger,
                                              const std::string& upstream,
                                              SchedulerReport* report) {
  const RunRecord run = NewRun(s, trigger);
  Result<RunRecord> claimed = registry->StartRun(options.project, run, options.owner_gone);
  if (claimed.status().code() == StatusCode::kAlreadyExists) {
    s.settled[run.interval_end] = RunStatus::kSuccess;
  } else {
    LARDER_RETURN_IF_ERROR(claimed.status());
    LARDER_RETURN_IF_ERROR(
        Finish(*claimed, RunStatus::kUpstreamFailed, 0, upstream + " failed for the interval"));
    s.settled[run.interval_end] = RunStatus::kUpstreamFailed;
    ++report->upstream_failed;
    Log(s.task->name + " " + FormatIsoTimestamp(run.interval_end) + " upstream_failed (" +
        upstream + ")");
  }
  s.resume_after = std::max(s.resume_after.value_or(run.interval_end), run.interval_end);
  s.current.reset();
  return Status::OK();
}

Result<bool> Scheduler::State::Dispatch(TaskState& s, Trigger trigger,
                                        TimestampMicros range_start, SchedulerReport* report,
                                        int* running) {
  const RunRecord run = NewRun(s, trigger);
  Result<RunRecord> claimed = registry->StartRun(options.project, run, options.owner_gone);
  if (claimed.status().code() == StatusCode::kAlreadyExists) {
    s.settled[run.interval_end] = RunStatus::kSuccess;
    s.resume_after = std::max(s.resume_after.value_or(run.interval_end), run.interval_end);
    s.current.reset();
    ++report->already_done;
    return false;
  }
  if (claimed.status().code() == StatusCode::kBusy) {
    s.not_before = Now() + kBusyPoll;
    return false;
  }
  LARDER_RETURN_IF_ERROR(claimed.status());
  if (Crash("claimed")) return Status::Internal("stopped at crash point 'claimed'");
  s.running = true;
  ++*running;
  TaskRun task_run{s.task, *s.current, trigger, range_start, claimed->attempt};
  workers[&s] = std::thread([this, &s, task_run, record = *claimed]() mutable {
    Result<TaskOutput> output = executor->Execute(task_run);
    std::lock_guard lock(mu);
    done.push_back(Completion{&s, std::move(record), std::move(output)});
    wake.notify_all();
  });
  return true;
}

Status Scheduler::State::Record(Completion& c, SchedulerReport* report) {
  TaskState& s = *c.state;
  const BatchSchedule& policy = s.task->policy;
  const std::string when = FormatIsoTimestamp(c.run.interval_end);
  const TimestampMicros now = Now();
  if (c.output.ok()) {
    Status finished = Finish(c.run, RunStatus::kSuccess, c.output->rows, "");
    if (finished.code() == StatusCode::kAlreadyExists) {
      s.settled[c.run.interval_end] = RunStatus::kSuccess;
      s.resume_after = std::max(s.resume_after.value_or(c.run.interval_end), c.run.interval_end);
      s.current.reset();
      ++report->already_done;
      Log(s.task->name + " " + when + ": " + finished.message());
      return Status::OK();
    }
    LARDER_RETURN_IF_ERROR(finished);
    if (options.metrics != nullptr && c.output->newest_event > 0) {
      options.metrics->Materialized(s.task->name, c.output->newest_event);
    }
    s.settled[c.run.interval_end] = RunStatus::kSuccess;
    s.resume_after = std::max(s.resume_after.value_or(c.run.interval_end), c.run.interval_end);
    s.current.reset();
    ++report->succeeded;
    Log(s.task->name + " " + when + " success, " + std::to_string(c.output->rows) + " rows");
    return Status::OK();
  }
  const std::string error = c.output.status().message();
  if (c.run.attempt <= policy.retries) {
    LARDER_RETURN_IF_ERROR(Finish(c.run, RunStatus::kUpForRetry, 0, error));
    RunRecord failed = c.run;
    failed.ended = now;
    s.not_before = RetryTime(policy, failed);
    const int64_t delay = s.not_before - now;
    ++report->retried;
    Log(s.task->name + " " + when + " attempt " + std::to_string(c.run.attempt) +
        " failed, retrying in " + FormatDuration(Duration{delay}) + ": " + error);
    return Status::OK();
  }
  LARDER_RETURN_IF_ERROR(Finish(c.run, RunStatus::kFailed, 0, error));
  s.settled[c.run.interval_end] = RunStatus::kFailed;
  s.resume_after = std::max(s.resume_after.value_or(c.run.interval_end), c.run.interval_end);
  s.current.reset();
  ++report->failed;
  Log(s.task->name + " " + when + " failed after " + std::to_string(c.run.attempt) +
      " attempt(s): " + error);
  return Status::OK();
}

Result<SchedulerReport> Scheduler::State::Loop(Trigger trigger, TimestampMicros range_start,
                                               TimestampMicros until) {
  LARDER_ASSIGN_OR_RETURN(std::vector<TaskState> states, LoadStates());
  std::map<std::string, TaskState*> by_name;
  for (TaskState& s : states) by_name[s.task->name] = &s;
  if (trigger == Trigger::kBackfill) {
    for (TaskState& s : states) {
      s.current.reset();
      for (const schedule::Interval& iv : s.task->schedule.IntervalsEndingIn(range_start, until)) {
        auto it = s.settled.find(iv.end);
        if (it == s.settled.end() || it->second != RunStatus::kSuccess) s.queue.push_back(iv);
      }
    }
  }
  SchedulerReport report;
  int running = 0;
  Status failure;  // a registry error or a crash point: start nothing more
  while (true) {
    bool changed = false;
    // Record what finished.
    std::deque<Completion> finished;
    {
      std::lock_guard lock(mu);
      finished.swap(done);
    }
    for (Completion& c : finished) {
      --running;
      changed = true;
      workers.at(c.state).join();
      workers.erase(c.state);
      c.state->running = false;
      if (!failure.ok()) continue;
      if (Crash("executed")) {
        failure = Status::Internal("stopped at crash point 'executed'");
        continue;
      }
      Status recorded = Record(c, &report);
      if (!recorded.ok()) failure = recorded;
    }
    const bool stopping = stop || !failure.ok();
    if (stopping) {
      if (running == 0) break;
      std::unique_lock lock(mu);
      wake.wait(lock, [&] { return !done.empty(); });
      continue;
    }

    const TimestampMicros now = Now();
    TimestampMicros next_wake = kNever;
    for (TaskState& s : states) {
      if (s.running || !failure.ok()) continue;
      if (!s.current) {
        if (trigger == Trigger::kBackfill) {
          if (s.queue.empty()) continue;
          s.current = s.queue.front();
          s.queue.pop_front();
        } else if (!s.resume_after) {
          s.current = NewestDue(s.task->schedule, now);
          if (!s.current) {
            next_wake = std::min(next_wake, s.task->schedule.Next(now));
            continue;
          }
        } else {
          const TimestampMicros end = s.task->schedule.Next(*s.resume_after);
          if (end > now) {
            next_wake = std::min(next_wake, end);
            continue;
          }
          s.current = schedule::Interval{*s.resume_after, end};
          if (!s.task->policy.catchup) {
            std::optional<schedule::Interval> newest = NewestDue(s.task->schedule, now);
            if (newest && newest->end > end) s.current = newest;
          }
        }
        s.not_before = 0;
      }
      // Scheduling up to `until`: an interval ending later waits for another run.
      if (trigger == Trigger::kSchedule && s.current->end > until) continue;
      if (s.not_before > now) {
        next_wake = std::min(next_wake, s.not_before);
        continue;
      }
      // Upstream tasks over an interval ending at or after this one's end.
      std::string failed_upstream;
      bool ready = true;
      for (const std::string& up : s.task->upstream) {
        const TaskState& u = *by_name.at(up);
        auto it = u.settled.lower_bound(s.current->end);
        if (it == u.settled.end()) {
          ready = false;
        } else if (it->second != RunStatus::kSuccess) {
          failed_upstream = up;
        }
      }
      if (!failed_upstream.empty()) {
        failure = SettleUpstreamFailed(s, trigger, failed_upstream, &report);
        changed = true;
        continue;
      }
      if (!ready || running >= options.concurrency) continue;
      Result<bool> started = Dispatch(s, trigger, range_start, &report, &running);
      if (!started.ok()) {
        failure = started.status();
        continue;
      }
      if (*started || !s.current) {
        changed = true;  // started, or already done elsewhere: look again at once
      } else {
        next_wake = std::min(next_wake, s.not_before);  // busy elsewhere
      }
    }
    if (changed || !failure.ok()) continue;

    // Nothing to start now: wait for a run to finish or the next due time.
    if (options.advance_clock) {
      if (running > 0) {
        std::unique_lock lock(mu);
        wake.wait(lock, [&] { return !done.empty() || stop; });
        continue;
      }
      if (next_wake == kNever || next_wake > until) break;
      options.advance_clock(next_wake);
      continue;
    }
    if (running == 0 && (trigger == Trigger::kBackfill ? next_wake == kNever : now >= until)) {
      break;
    }
    const TimestampMicros wait = std::clamp<TimestampMicros>(
        next_wake == kNever ? Duration::kSecond : next_wake - now, 0, Duration::kSecond);
    std::unique_lock lock(mu);
    wake.wait_for(lock, std::chrono::microseconds(wait), [&] { return !done.empty() || stop; });
  }
  JoinWorkers();
  if (!failure.ok()) return failure;
  return report;
}

Result<SchedulerReport> Scheduler::Run(TimestampMicros until) {
  return state_->Loop(Trigger::kSchedule, 0, until);
}

Result<SchedulerReport> Scheduler::Backfill(TimestampMicros start, TimestampMicros end) {
  if (start >= end) return Status::InvalidArgument("backfill: --start must be before --end");
  return state_->Loop(Trigger::kBackfill, start, end);
}

}  // namespace larder::orchestrate
