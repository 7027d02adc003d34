#include "orchestrate/store_executor.h"

#include <algorithm>

namespace larder::orchestrate {
namespace {

// "data tests failed: bucketed_age.user_id unique (3 rows), ..."
std::string DescribeFailures(const TestReport& report) {
  std::string text;
  for (const DataTestResult& r : report.results) {
    if (r.passed()) continue;
    text += text.empty() ? "" : ", ";
    text += r.model + (r.column.empty() ? "" : "." + r.column) + " " + r.test;
    text += r.error.empty() ? " (" + std::to_string(r.failing_rows) + " rows)" : " (" + r.error + ")";
  }
  return "data tests failed: " + text;
}

}  // namespace

Result<std::unique_ptr<StoreExecutor>> StoreExecutor::Open(FeatureStoreOptions options) {
  LARDER_RETURN_IF_ERROR(FeatureStore::Open(options).status());
  return std::unique_ptr<StoreExecutor>(new StoreExecutor(std::move(options)));
}

Result<std::unique_ptr<FeatureStore>> StoreExecutor::Borrow() {
  std::lock_guard lock(pool_mu_);
  if (!pool_.empty()) {
    std::unique_ptr<FeatureStore> store = std::move(pool_.back());
    pool_.pop_back();
    ++in_use_;
    return store;
  }
  if (options_.shared_online_store == nullptr) {
    LARDER_ASSIGN_OR_RETURN(std::unique_ptr<FeatureStore> first, FeatureStore::Open(options_));
    LARDER_ASSIGN_OR_RETURN(options_.shared_online_store, first->SharedOnlineStore());
    ++in_use_;
    return first;
  }
  LARDER_ASSIGN_OR_RETURN(std::unique_ptr<FeatureStore> store, FeatureStore::Open(options_));
  ++in_use_;
  return store;
}

void StoreExecutor::Return(std::unique_ptr<FeatureStore> store) {
  std::lock_guard lock(pool_mu_);
  pool_.push_back(std::move(store));
  if (--in_use_ == 0 && !online_given_) {
    pool_.clear();
    options_.shared_online_store.reset();
  }
}

Result<TaskOutput> StoreExecutor::Execute(const TaskRun& run) {
  LARDER_ASSIGN_OR_RETURN(std::unique_ptr<FeatureStore> store, Borrow());
  Result<TaskOutput> output = ExecuteOn(*store, run);
  Return(std::move(store));
  return output;
}

Result<TaskOutput> StoreExecutor::ExecuteOn(FeatureStore& store, const TaskRun& run) {
  const Task& task = *run.task;
  for (const DbtBuild& dbt : task.dbt_builds) {
    std::lock_guard lock(models_mu_);
    LARDER_RETURN_IF_ERROR(RunDbtBuild(dbt));
  }
  if (!task.models.empty()) {
    std::lock_guard lock(models_mu_);
    RunOptions build;
    build.select = task.models;
    build.clock = options_.clock;
    LARDER_RETURN_IF_ERROR(store.Run(build).status());
    TestOptions test;
    test.select = task.models;
    test.clock = options_.clock;
    LARDER_ASSIGN_OR_RETURN(TestReport report, store.TestModels(test));
    if (report.failed() > 0) return Status::FailedPrecondition(DescribeFailures(report));
  }
  if (task.kind == TaskKind::kModel) return TaskOutput{};
  MaterializeOptions m;
  m.views = {task.object};
  Result<MaterializeReport> report = Status::OK();
  if (run.trigger == Trigger::kBackfill) {
    const TimestampMicros start =
        std::max(run.range_start, run.interval.start - task.policy.materialization_lookback.micros);
    report = store.Materialize(start, run.interval.end, m);
  } else {
    m.lookback = task.policy.materialization_lookback;
    report = store.MaterializeIncremental(run.interval.end, m);
  }
  LARDER_RETURN_IF_ERROR(report.status());
  TaskOutput out;
  for (const MaterializedView& v : report->views) {
    out.rows += v.written;
    out.newest_event = std::max(out.newest_event, v.newest_event);
  }
  return out;
}

}  // namespace larder::orchestrate
