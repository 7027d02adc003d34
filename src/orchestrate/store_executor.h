// The TaskExecutor of `larder schedule` and `larder backfill`: runs a task's
// work on the feature store, in this process.
//
//   model task: build the task's models (`larder run --select`), then run
//               their data tests (`larder test`); a failing test fails it.
//   view task:  the same for the unscheduled models it reads, then
//               materialize the view alone: a scheduled run incrementally
//               to the interval's end, from its watermark less the view's
//               materialization_lookback; a backfill over
//               [max(range start, interval start - lookback), interval end).
//
// Each worker thread gets its own FeatureStore (they are not thread-safe);
// all share one online store. Model builds are serialised: they write the
// one offline database, and a model may be read by several tasks. Between
// runs (no run in progress) the stores are closed, unless the online store
// was given (`serve --schedule` shares the server's): an idle scheduler
// holds no database open and little memory.
#pragma once

#include <memory>
#include <mutex>
#include <vector>

#include "larder/feature_store.h"
#include "orchestrate/scheduler.h"

namespace larder::orchestrate {

class StoreExecutor final : public TaskExecutor {
 public:
  // Checks that the repo opens (FeatureStore::Open(options)). The online
  // store is options.shared_online_store when set, else opened by the first
  // run and closed when no run is left.
  static Result<std::unique_ptr<StoreExecutor>> Open(FeatureStoreOptions options);

  Result<TaskOutput> Execute(const TaskRun& run) override;

 private:
  explicit StoreExecutor(FeatureStoreOptions options)
      : options_(std::move(options)), online_given_(options_.shared_online_store != nullptr) {}
  // A FeatureStore no other thread uses, from the pool or new (opening the
  // online store first when none is open). Counts a run in progress.
  Result<std::unique_ptr<FeatureStore>> Borrow();
  // Gives it back; the last run out closes the stores.
  void Return(std::unique_ptr<FeatureStore> store);
  Result<TaskOutput> ExecuteOn(FeatureStore& store, const TaskRun& run);

  FeatureStoreOptions options_;  // shared_online_store: the open online store, if any
  const bool online_given_;
  std::mutex pool_mu_;
  std::vector<std::unique_ptr<FeatureStore>> pool_;  // guarded by pool_mu_
  int in_use_ = 0;                                   // guarded by pool_mu_
  std::mutex models_mu_;  // held while models build and test
};

}  // namespace larder::orchestrate
