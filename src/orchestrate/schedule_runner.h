// A scheduler or backfill running in the background on one feature store:
// what `larder schedule`, `larder backfill` and `larder serve --schedule`
// run. It plans the tasks from the registered definitions and, while
// scheduling, re-plans when `larder apply` changes them (the scheduler
// stops between runs and starts again: its state is in the registry).
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "larder/feature_store.h"
#include "orchestrate/scheduler.h"

namespace larder::orchestrate {

struct ScheduleRunnerOptions {
  // Tasks to run (views, models or task names) and those they wait for;
  // empty: every scheduled task.
  std::vector<std::string> select;
  int concurrency = 2;
  // Set: backfill the intervals ending in (start, end], then finish.
  std::optional<schedule::Interval> backfill;
  // Scheduling only: run the intervals due now, then finish.
  bool once = false;
  // How often the registry is checked for a new apply. Default: 2 s.
  std::chrono::milliseconds replan_interval{2000};
  std::function<void(const std::string& line)> log;
  // The online store to write, already open (the feature server's); unset:
  // opened for each burst of runs and closed between them.
  std::shared_ptr<OnlineStore> online_store;
  // Counts what the schedulers finish. Not owned; may be null.
  SchedulerMetrics* metrics = nullptr;
};

class ScheduleRunner {
 public:
  // Plans and starts. FailedPrecondition when nothing is scheduled (or
  // selected); the registry's and the store's errors.
  static Result<std::unique_ptr<ScheduleRunner>> Start(FeatureStore& store,
                                                       ScheduleRunnerOptions options);
  ~ScheduleRunner();

  // Asks it to finish: running tasks complete, nothing new starts.
  void Stop();
  // Waits until it finished; the counts of every scheduler it ran.
  Result<SchedulerReport> Wait();

 private:
  struct State;
  explicit ScheduleRunner(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace larder::orchestrate
