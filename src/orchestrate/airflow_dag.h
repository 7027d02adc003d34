// Airflow DAG files for a project's scheduled tasks: what `larder
// airflow-dag` writes (docs/orchestration.md, "Airflow").
//
// One file, and one DAG, per distinct (batch_schedule, catchup) pair of the
// tasks: `larder_<project>_<slug>.py`, whose DAG id is the file's stem. The
// DAG runs on Airflow's data intervals (CronDataIntervalTimetable for cron
// expressions and @aliases, DeltaDataIntervalTimetable for durations, in
// UTC). Each Larder task is its own chain of BashOperators calling the larder
// binary on the repo:
//   view task:  run_<view> -> test_<view> (when it builds models) -> materialize_<view>
//   model task: run_<model> -> test_<model>
// A task's upstream model task, when in the same DAG, precedes its first
// operator; one in another DAG is named in a comment.
//
//   AirflowDagOptions o{.project = "book_recs", .repo_dir = "/srv/repo",
//                       .larder_path = "/usr/bin/larder", .start_date = t};
//   Result<std::vector<AirflowDagFile>> files = AirflowDags(o, tasks);
//
// Pure: no file system, no clock. Thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "larder/status.h"
#include "larder/types.h"
#include "orchestrate/task_plan.h"
#include "schedule/schedule.h"

namespace larder::orchestrate {

struct AirflowDagOptions {
  // The project: it names the files and the DAGs. Must be an identifier.
  std::string project;
  // The repo's directory, absolute: each operator runs `LARDER -c REPO_DIR`.
  // Any bytes that are valid UTF-8 (spaces, quotes, `$`, `{{`, non-ASCII).
  std::string repo_dir;
  // The larder binary the operators run: absolute, or a bare name that bash
  // finds on the workers' PATH. Valid UTF-8.
  std::string larder_path;
  // The DAGs' start_date: their first scheduled interval begins at the first
  // fire time at or after it. A duration's DAG starts exactly there, since
  // Airflow counts a DeltaDataIntervalTimetable's intervals from start_date
  // while Larder counts them from the epoch.
  TimestampMicros start_date = 0;
};

struct AirflowDagFile {
  std::string name;    // "larder_book_recs_daily.py"
  std::string dag_id;  // "larder_book_recs_daily"
  std::string text;    // the Python source
};

// The DAG files of `tasks` (from PlanTasks/SelectTasks), sorted by name.
// FailedPrecondition when `tasks` is empty (nothing is scheduled);
// InvalidArgument for a project or object name that is not an identifier, or
// a path that is not valid UTF-8.
Result<std::vector<AirflowDagFile>> AirflowDags(const AirflowDagOptions& options,
                                                const std::vector<Task>& tasks);

// The part of a DAG's name that its schedule gives, lower-case letters,
// digits and `_`: "@daily" -> "daily", "15m" -> "every_15m",
// "*/15 2-4 * * MON,FRI" -> "cron_xby15_2to4_x_x_monandfri". Distinct for
// schedules that differ other than in letter case.
std::string AirflowScheduleSlug(const schedule::Schedule& schedule);

// True when `file_name` has the form of the files AirflowDags writes for
// `project`: larder_<project>_*.py.
bool IsAirflowDagFileName(std::string_view project, std::string_view file_name);

// True when `file_name` is such a name and `text` (the file's content) says
// that AirflowDags wrote it for `project`: the files that `larder
// airflow-dag` may remove.
bool IsAirflowDagFileOf(std::string_view project, std::string_view file_name,
                        std::string_view text);

// `text` as one bash word: bare when it has only [A-Za-z0-9_,./:=@%+-],
// else single-quoted (' as '\''). Within quotes, `{` before `{`, `%` or `#`
// is followed by '' (an empty quoted string), so that the word holds no
// Jinja delimiter and Airflow's templating leaves it alone.
std::string BashWord(std::string_view text);

// `text` as a Python string literal in double quotes, pure ASCII: \\, \",
// \n, \t, \r, \xNN for other control characters, \uXXXX or \UXXXXXXXX for
// non-ASCII. InvalidArgument when `text` is not valid UTF-8.
Result<std::string> PythonStringLiteral(std::string_view text);

}  // namespace larder::orchestrate
