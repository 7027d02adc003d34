#include "orchestrate/schedule_runner.h"

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "orchestrate/store_executor.h"

namespace larder::orchestrate {
namespace {

Result<std::vector<Task>> PlanRegistered(Registry& registry, const std::string& project,
                                         const std::string& repo_root,
                                         const std::vector<std::string>& select) {
  LARDER_ASSIGN_OR_RETURN(FeatureRepo repo, registry.Load(project));
  repo.root = repo_root;  // paths in the definitions are relative to it
  LARDER_ASSIGN_OR_RETURN(std::vector<Task> all, PlanTasks(repo));
  LARDER_ASSIGN_OR_RETURN(std::vector<Task> tasks, SelectTasks(all, select));
  if (tasks.empty()) return NothingScheduled(project);
  return tasks;
}

TimestampMicros SystemNow() {
  using namespace std::chrono;
  return duration_cast<microseconds>(system_clock::now().time_since_epoch()).count();
}

void Add(SchedulerReport& total, const SchedulerReport& r) {
  total.succeeded += r.succeeded;
  total.failed += r.failed;
  total.retried += r.retried;
  total.upstream_failed += r.upstream_failed;
  total.already_done += r.already_done;
}

}  // namespace

struct ScheduleRunner::State {
  ScheduleRunnerOptions options;
  std::string project;
  std::string repo_root;
  std::unique_ptr<Registry> registry;        // the scheduler thread's
  std::unique_ptr<Registry> watch_registry;  // the watcher's
  std::unique_ptr<StoreExecutor> executor;
  std::vector<Task> first_plan;

  std::mutex mu;
  std::condition_variable cv;
  bool stop = false;        // guarded by mu
  bool replan = false;      // guarded by mu
  bool finished = false;    // guarded by mu
  Scheduler* current = nullptr;  // guarded by mu
  std::thread thread;
  std::thread watcher;
  Result<SchedulerReport> result = SchedulerReport{};

  void RunAll();
  void Watch(int64_t version);
};

ScheduleRunner::ScheduleRunner(std::unique_ptr<State> state) : state_(std::move(state)) {}

ScheduleRunner::~ScheduleRunner() {
  Stop();
  (void)Wait();
}

Result<std::unique_ptr<ScheduleRunner>> ScheduleRunner::Start(FeatureStore& store,
                                                              ScheduleRunnerOptions options) {
  auto state = std::make_unique<State>();
  state->options = std::move(options);
  state->project = store.config().project;
  state->repo_root = store.repo_root();
  RegistryOptions ro;
  ro.path = store.registry_path();
  LARDER_ASSIGN_OR_RETURN(state->registry, Registry::Open(ro));
  LARDER_ASSIGN_OR_RETURN(state->watch_registry, Registry::Open(ro));
  LARDER_ASSIGN_OR_RETURN(int64_t version, state->watch_registry->Version(state->project));
  LARDER_ASSIGN_OR_RETURN(state->first_plan,
                          PlanRegistered(*state->registry, state->project, state->repo_root,
                                         state->options.select));
  FeatureStoreOptions fo;
  fo.repo_dir = store.repo_root();
  fo.shared_online_store = state->options.online_store;
  LARDER_ASSIGN_OR_RETURN(state->executor, StoreExecutor::Open(std::move(fo)));
  State* s = state.get();
  s->thread = std::thread([s] { s->RunAll(); });
  if (!s->options.backfill && !s->options.once) {
    s->watcher = std::thread([s, version] { s->Watch(version); });
  }
  return std::unique_ptr<ScheduleRunner>(new ScheduleRunner(std::move(state)));
}

void ScheduleRunner::State::RunAll() {
  SchedulerReport total;
  std::vector<Task> tasks = std::move(first_plan);
  while (true) {
    SchedulerOptions so;
    so.project = project;
    so.concurrency = options.concurrency;
    so.log = options.log;
    so.metrics = options.metrics;
    Scheduler scheduler(tasks, registry.get(), executor.get(), so);
    {
      std::lock_guard lock(mu);
      if (stop) break;
      current = &scheduler;
      replan = false;
    }
    if (options.log) {
      std::string names;
      for (const Task& t : tasks) names += (names.empty() ? "" : ", ") + t.name + " (" +
                                           t.schedule.text() + ")";
      options.log((options.backfill ? "backfilling " : "scheduling ") + names);
    }
    Result<SchedulerReport> r =
        options.backfill ? scheduler.Backfill(options.backfill->start, options.backfill->end)
        : options.once   ? scheduler.Run(SystemNow())
                         : scheduler.Run();
    bool again = false;
    {
      std::lock_guard lock(mu);
      current = nullptr;
      again = replan && !stop;
    }
    if (!r.ok()) {
      result = r.status();
      break;
    }
    Add(total, *r);
    if (!again) break;
    Result<std::vector<Task>> next = PlanRegistered(*registry, project, repo_root, options.select);
    if (!next.ok()) {
      result = next.status();
      break;
    }
    tasks = std::move(*next);
  }
  if (result.ok()) result = total;
  std::lock_guard lock(mu);
  finished = true;
  cv.notify_all();
}

void ScheduleRunner::State::Watch(int64_t version) {
  std::unique_lock lock(mu);
  while (!stop && !finished) {
    cv.wait_for(lock, options.replan_interval, [this] { return stop || finished; });
    if (stop || finished) break;
    lock.unlock();
    Result<int64_t> now_version = watch_registry->Version(project);
    lock.lock();
    if (now_version.ok() && *now_version != version && current != nullptr) {
      version = *now_version;
      replan = true;
      if (options.log) options.log("the registry changed (version " + std::to_string(version) +
                                   "): re-planning after the running tasks finish");
      current->Stop();
    }
  }
}

void ScheduleRunner::Stop() {
  std::lock_guard lock(state_->mu);
  state_->stop = true;
  if (state_->current != nullptr) state_->current->Stop();
  state_->cv.notify_all();
}

Result<SchedulerReport> ScheduleRunner::Wait() {
  if (state_->thread.joinable()) state_->thread.join();
  {
    std::lock_guard lock(state_->mu);
    state_->finished = true;
    state_->cv.notify_all();
  }
  if (state_->watcher.joinable()) state_->watcher.join();
  return state_->result;
}

}  // namespace larder::orchestrate
