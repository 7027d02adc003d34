// The scheduled tasks of a feature repo: what `larder schedule`, `larder
// backfill` and the Airflow export run, and in what order.
//
// A model with its own batch_schedule is a task "model:NAME": it builds the
// model (and the unscheduled models upstream of it) and runs their data
// tests. A scheduled feature view is a task "view:NAME": it builds and tests
// the unscheduled models it reads, then materializes the view alone. A view
// reading a scheduled model's output waits for that model's task over the
// same interval (it is "upstream"), and inherits the model's schedule when
// it has none of its own.
#pragma once

#include <string>
#include <vector>

#include "larder/definitions.h"
#include "larder/repo.h"
#include "larder/status.h"
#include "orchestrate/dbt_build.h"
#include "schedule/schedule.h"

namespace larder::orchestrate {

enum class TaskKind { kModel, kView };

struct Task {
  std::string name;    // "model:NAME" or "view:NAME"
  TaskKind kind = TaskKind::kView;
  std::string object;  // the model's or the view's name
  // The effective policy: the object's own, or (a view) its model's.
  BatchSchedule policy;
  schedule::Schedule schedule;
  // The models this task builds and tests, in dependency order.
  std::vector<std::string> models;
  // The tasks that must succeed over an interval before this one runs it.
  std::vector<std::string> upstream;
  // dbt builds to run first (a view over a dbt source with dbt_executable).
  std::vector<DbtBuild> dbt_builds;
};

// The tasks of `repo`, models first, each group by name. InvalidArgument for
// a schedule that does not parse (stored definitions are validated, so only
// a damaged registry gets there) or a model graph error.
Result<std::vector<Task>> PlanTasks(const FeatureRepo& repo);

// FailedPrecondition saying that `project` schedules nothing and how to
// schedule something.
Status NothingScheduled(const std::string& project);

// The tasks named by `select` (view or model names, or task names) and the
// tasks they wait for, in the order of `tasks`. Empty select: all.
// InvalidArgument naming an unknown or unscheduled name.
Result<std::vector<Task>> SelectTasks(const std::vector<Task>& tasks,
                                      const std::vector<std::string>& select);

}  // namespace larder::orchestrate
