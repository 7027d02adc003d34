#include "orchestrate/scheduler_metrics.h"

#include <algorithm>
#include <cstdio>

namespace larder::orchestrate {
namespace {

std::string Seconds(int64_t micros) {
  char value[32];
  std::snprintf(value, sizeof value, "%.3f", static_cast<double>(micros) / 1e6);
  return value;
}

}  // namespace

void SchedulerMetrics::Finished(const std::string& task, RunStatus status,
                                TimestampMicros ended) {
  std::lock_guard lock(mu_);
  ++finished_[task][status];
  if (status == RunStatus::kSuccess) {
    TimestampMicros& last = last_success_[task];
    last = std::max(last, ended);
  }
}

void SchedulerMetrics::Materialized(const std::string& task, TimestampMicros newest) {
  std::lock_guard lock(mu_);
  TimestampMicros& n = newest_event_[task];
  n = std::max(n, newest);
}

void SchedulerMetrics::SeedLastSuccess(const std::string& task, TimestampMicros ended) {
  std::lock_guard lock(mu_);
  TimestampMicros& last = last_success_[task];
  last = std::max(last, ended);
}

std::string SchedulerMetrics::Render(TimestampMicros now) const {
  std::lock_guard lock(mu_);
  std::string out =
      "# HELP larder_schedule_runs_total Runs of scheduled tasks finished by this process, by "
      "task (view:NAME or model:NAME) and status.\n"
      "# TYPE larder_schedule_runs_total counter\n";
  for (const auto& [task, counts] : finished_) {
    for (const auto& [status, n] : counts) {
      out += "larder_schedule_runs_total{task=\"" + task + "\",status=\"" +
             std::string(RunStatusName(status)) + "\"} " + std::to_string(n) + "\n";
    }
  }
  out +=
      "# HELP larder_schedule_seconds_since_success Seconds since the task's last successful "
      "run ended: for a view, its last scheduled materialization.\n"
      "# TYPE larder_schedule_seconds_since_success gauge\n";
  for (const auto& [task, ended] : last_success_) {
    out += "larder_schedule_seconds_since_success{task=\"" + task + "\"} " + Seconds(now - ended) +
           "\n";
  }
  out +=
      "# HELP larder_view_data_freshness_seconds Now minus the newest event time that the "
      "view's scheduled runs in this process materialized.\n"
      "# TYPE larder_view_data_freshness_seconds gauge\n";
  for (const auto& [task, newest] : newest_event_) {
    out += "larder_view_data_freshness_seconds{view=\"" + task.substr(task.find(':') + 1) +
           "\"} " + Seconds(now - newest) + "\n";
  }
  return out;
}

}  // namespace larder::orchestrate
