// What a scheduler has done, for Prometheus (`larder serve --schedule`'s
// /metrics): runs finished per task and status, and the time since each
// task's last success, and for views the age of the newest event time they
// materialized. Thread-safe.
#pragma once

#include <map>
#include <mutex>
#include <string>

#include "larder/registry.h"

namespace larder::orchestrate {

class SchedulerMetrics {
 public:
  // A run of `task` finished as `status` at `ended`.
  void Finished(const std::string& task, RunStatus status, TimestampMicros ended);
  // A run of `task` materialized rows whose newest event time is `newest`.
  void Materialized(const std::string& task, TimestampMicros newest);
  // The task's last success before this process started (from the history).
  void SeedLastSuccess(const std::string& task, TimestampMicros ended);

  // The text exposition at `now`.
  std::string Render(TimestampMicros now) const;

 private:
  mutable std::mutex mu_;
  std::map<std::string, std::map<RunStatus, int64_t>> finished_;
  std::map<std::string, TimestampMicros> last_success_;
  std::map<std::string, TimestampMicros> newest_event_;
};

}  // namespace larder::orchestrate
