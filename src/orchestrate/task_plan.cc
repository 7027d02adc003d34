#include "orchestrate/task_plan.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>

#include "transform/model_graph.h"

namespace larder::orchestrate {
namespace {

std::string ModelTask(const std::string& model) { return "model:" + model; }
std::string ViewTask(const std::string& view) { return "view:" + view; }

// The model whose output holds a view's rows: its source's, or for a push
// or stream source, its batch source's. Empty when none.
std::string ModelOfView(const FeatureRepo& repo, const FeatureView& view) {
  const DataSource* source = repo.FindDataSource(view.source);
  if (source != nullptr && ReceivesRows(source->kind)) {
    source = repo.FindDataSource(source->batch_source);
  }
  return source != nullptr && source->kind == DataSourceKind::kModel ? source->model : "";
}

// From `roots`, walks upstream through unscheduled models: they are built
// by this task (returned in dependency order), and the scheduled models
// reached are the task's upstream tasks.
void Collect(const transform::ModelGraph& graph, const FeatureRepo& repo,
             const std::vector<std::string>& roots, Task* task) {
  std::set<std::string> built;
  std::set<std::string> waits;
  std::vector<std::string> stack = roots;
  while (!stack.empty()) {
    std::string model = std::move(stack.back());
    stack.pop_back();
    const SqlModel* m = repo.FindModel(model);
    const bool own_task = task->kind == TaskKind::kModel && model == task->object;
    if (m != nullptr && m->schedule.scheduled() && !own_task) {
      waits.insert(ModelTask(model));
      continue;
    }
    if (!built.insert(model).second) continue;
    auto up = graph.upstream.find(model);
    if (up != graph.upstream.end()) stack.insert(stack.end(), up->second.begin(), up->second.end());
  }
  for (const std::string& model : graph.order) {
    if (built.contains(model)) task->models.push_back(model);
  }
  task->upstream.assign(waits.begin(), waits.end());
}

// `path` relative to the repo root unless absolute.
std::string InRepo(const FeatureRepo& repo, const std::string& path) {
  return std::filesystem::path(path).is_absolute() ? path
                                                   : (std::filesystem::path(repo.root) / path).string();
}

// A program: a bare name stays one (PATH finds it); a path is made absolute.
std::string ResolvedExecutable(const FeatureRepo& repo, const std::string& program) {
  return program.find('/') == std::string::npos ? program : InRepo(repo, program);
}

}  // namespace

Result<std::vector<Task>> PlanTasks(const FeatureRepo& repo) {
  transform::ModelGraph graph;
  if (!repo.models.empty()) {
    LARDER_ASSIGN_OR_RETURN(graph, transform::BuildModelGraph(repo));
  }
  std::vector<Task> tasks;
  auto add = [&](TaskKind kind, const std::string& object, const BatchSchedule& policy,
                 const std::vector<std::string>& roots) -> Status {
    const std::string name = kind == TaskKind::kModel ? ModelTask(object) : ViewTask(object);
    Result<schedule::TimeZone> zone = schedule::TimeZone::Load(policy.timezone);
    if (!zone.ok()) {
      return Status::InvalidArgument(name + ": schedule_timezone: " + zone.status().message());
    }
    Result<schedule::Schedule> parsed = schedule::Schedule::Parse(policy.batch_schedule, *zone);
    if (!parsed.ok()) {
      return Status::InvalidArgument(name + ": batch_schedule: " + parsed.status().message());
    }
    Task task{name, kind, object, policy, *parsed, {}, {}, {}};
    Collect(graph, repo, roots, &task);
    tasks.push_back(std::move(task));
    return Status::OK();
  };
  std::vector<const SqlModel*> models;
  for (const SqlModel& m : repo.models) models.push_back(&m);
  std::sort(models.begin(), models.end(),
            [](const SqlModel* a, const SqlModel* b) { return a->name < b->name; });
  for (const SqlModel* m : models) {
    if (m->schedule.scheduled()) {
      LARDER_RETURN_IF_ERROR(add(TaskKind::kModel, m->name, m->schedule, {m->name}));
    }
  }
  std::vector<const FeatureView*> views;
  for (const FeatureView& v : repo.feature_views) views.push_back(&v);
  std::sort(views.begin(), views.end(),
            [](const FeatureView* a, const FeatureView* b) { return a->name < b->name; });
  for (const FeatureView* v : views) {
    if (!v->online) continue;
    const std::string model = ModelOfView(repo, *v);
    const SqlModel* m = model.empty() ? nullptr : repo.FindModel(model);
    BatchSchedule policy = v->schedule;
    if (!policy.scheduled() && m != nullptr && m->schedule.scheduled()) {
      policy = m->schedule;
      policy.materialization_lookback = Duration{};
    }
    if (!policy.scheduled()) continue;
    std::vector<std::string> roots;
    if (!model.empty()) roots.push_back(model);
    LARDER_RETURN_IF_ERROR(add(TaskKind::kView, v->name, policy, roots));
    const DataSource* source = repo.FindDataSource(v->source);
    if (source != nullptr && source->kind == DataSourceKind::kDbt &&
        !source->dbt_executable.empty()) {
      tasks.back().dbt_builds.push_back(DbtBuild{ResolvedExecutable(repo, source->dbt_executable),
                                                 InRepo(repo, source->project_dir),
                                                 source->model});
    }
  }
  return tasks;
}

Status NothingScheduled(const std::string& project) {
  return Status::FailedPrecondition(
      "project '" + project +
      "' schedules nothing: give a model or an online feature view a `batch_schedule` "
      "(docs/orchestration.md) and run `larder apply`");
}

Result<std::vector<Task>> SelectTasks(const std::vector<Task>& tasks,
                                      const std::vector<std::string>& select) {
  if (select.empty()) return tasks;
  std::map<std::string, const Task*> by_name;
  for (const Task& t : tasks) by_name[t.name] = &t;
  std::set<std::string> chosen;
  std::vector<std::string> stack;
  for (const std::string& s : select) {
    std::string name;
    if (by_name.contains(s)) {
      name = s;
    } else if (by_name.contains(ViewTask(s))) {
      name = ViewTask(s);
    } else if (by_name.contains(ModelTask(s))) {
      name = ModelTask(s);
    } else {
      std::string known;
      for (const auto& [n, t] : by_name) known += (known.empty() ? "" : ", ") + n;
      return Status::InvalidArgument("--select: '" + s +
                                     "' is not a scheduled view or model (scheduled: " +
                                     (known.empty() ? "none" : known) + ")");
    }
    stack.push_back(name);
  }
  while (!stack.empty()) {
    std::string name = std::move(stack.back());
    stack.pop_back();
    if (!chosen.insert(name).second) continue;
    for (const std::string& up : by_name.at(name)->upstream) stack.push_back(up);
  }
  std::vector<Task> out;
  for (const Task& t : tasks) {
    if (chosen.contains(t.name)) out.push_back(t);
  }
  return out;
}

}  // namespace larder::orchestrate
