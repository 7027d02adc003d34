#include "orchestrate/airflow_dag.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <map>
#include <set>
#include <utility>

#include "common/names.h"

namespace larder::orchestrate {
namespace {

constexpr std::string_view kProjectMarker = "# Larder project: ";

bool IsBareBashChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         std::string_view("_,./:=@%+-").find(c) != std::string_view::npos;
}

// Decodes one UTF-8 sequence at text[*i]; false when it is not valid
// (truncated, overlong, a surrogate, beyond U+10FFFF).
bool NextCodePoint(std::string_view text, size_t* i, char32_t* out) {
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char lead = byte(*i);
  size_t extra = 0;
  char32_t cp = 0;
  char32_t min = 0;
  if (lead < 0x80) {
    *out = lead;
    ++*i;
    return true;
  } else if ((lead & 0xE0) == 0xC0) {
    extra = 1, cp = lead & 0x1F, min = 0x80;
  } else if ((lead & 0xF0) == 0xE0) {
    extra = 2, cp = lead & 0x0F, min = 0x800;
  } else if ((lead & 0xF8) == 0xF0) {
    extra = 3, cp = lead & 0x07, min = 0x10000;
  } else {
    return false;
  }
  if (*i + extra >= text.size()) return false;
  for (size_t k = 1; k <= extra; ++k) {
    if ((byte(*i + k) & 0xC0) != 0x80) return false;
    cp = (cp << 6) | (byte(*i + k) & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
  *out = cp;
  *i += extra + 1;
  return true;
}

std::string Hex(char32_t value, int digits) {
  char buffer[16];
  std::snprintf(buffer, sizeof buffer, "%0*X", digits, static_cast<unsigned>(value));
  return buffer;
}

// A UTC time as a Python datetime expression.
// "America/Argentina/Buenos_Aires" -> "america_argentina_buenos_aires",
// "Etc/GMT+5" -> "etc_gmtplus5".
std::string ZoneSlug(std::string_view zone) {
  std::string slug;
  for (char c : zone) {
    if (c == '+') {
      slug += "plus";
    } else if (c == '-') {
      slug += "minus";
    } else if (std::isalnum(static_cast<unsigned char>(c))) {
      slug += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    } else {
      slug += '_';
    }
  }
  return slug;
}

std::string PythonDatetime(TimestampMicros micros) {
  using namespace std::chrono;
  const sys_time<microseconds> t{microseconds{micros}};
  const sys_days day = floor<days>(t);
  const year_month_day ymd{day};
  const hh_mm_ss<microseconds> hms{t - day};
  char buffer[96];
  std::snprintf(buffer, sizeof buffer, "datetime(%d, %u, %u, %d, %d, %d, tzinfo=timezone.utc)",
                static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
                static_cast<unsigned>(ymd.day()), static_cast<int>(hms.hours().count()),
                static_cast<int>(hms.minutes().count()), static_cast<int>(hms.seconds().count()));
  return buffer;
}

// A duration as a Python timedelta expression (durations are whole seconds).
std::string PythonTimedelta(Duration d) {
  if (d.micros % Duration::kSecond != 0) {
    return "timedelta(microseconds=" + std::to_string(d.micros) + ")";
  }
  return "timedelta(seconds=" + std::to_string(d.micros / Duration::kSecond) + ")";
}

// The operator ids of one Larder task within its DAG.
struct TaskIds {
  std::string run;          // empty when the task builds no models
  std::string test;         // likewise
  std::string materialize;  // views only
  const std::string& first() const { return run.empty() ? materialize : run; }
  const std::string& last() const { return materialize.empty() ? test : materialize; }
};

// The tasks of one DAG and what names it.
struct DagGroup {
  std::string slug;
  const schedule::Schedule* schedule = nullptr;
  bool catchup = true;
  std::vector<const Task*> tasks;
};

class DagWriter {
 public:
  DagWriter(const AirflowDagOptions& options, const DagGroup& group,
            const std::map<std::string, std::string>& dag_of_task)
      : options_(options), group_(group), dag_of_task_(dag_of_task) {}

  Result<AirflowDagFile> Write();

 private:
  Status AssignIds();
  void Header(const std::string& dag_id, const std::string& larder_literal,
              const std::string& repo_literal);
  void Dag(const std::string& dag_id);
  void Operators(const Task& task, const TaskIds& ids);
  void Operator(const std::string& id, const std::string& command, const Task& task);
  void Dependencies();

  const AirflowDagOptions& options_;
  const DagGroup& group_;
  const std::map<std::string, std::string>& dag_of_task_;
  const BatchSchedule* defaults_ = nullptr;  // the policy default_args give
  std::map<std::string, TaskIds> ids_;       // by task name
  std::string larder_;                       // the LARDER constant's value
  std::string out_;
};

Status DagWriter::AssignIds() {
  std::set<std::string> views;
  for (const Task* t : group_.tasks) {
    if (!IsIdentifier(t->object)) {
      return Status::InvalidArgument(t->name + ": not an identifier, so not an Airflow task id");
    }
    if (t->kind == TaskKind::kView) views.insert(t->object);
  }
  std::set<std::string> used;
  for (const Task* t : group_.tasks) {
    TaskIds ids;
    // A model sharing a view's name in this DAG keeps its ids apart.
    const std::string stem =
        t->kind == TaskKind::kModel && views.contains(t->object) ? "model_" + t->object : t->object;
    if (!t->models.empty()) {
      ids.run = "run_" + stem;
      ids.test = "test_" + stem;
    }
    if (t->kind == TaskKind::kView) ids.materialize = "materialize_" + stem;
    for (const std::string* id : {&ids.run, &ids.test, &ids.materialize}) {
      if (!id->empty() && !used.insert(*id).second) {
        return Status::InvalidArgument("two tasks of DAG schedule `" + group_.schedule->text() +
                                       "` would both be Airflow task `" + *id +
                                       "`: rename a model or a view");
      }
    }
    ids_[t->name] = std::move(ids);
  }
  return Status::OK();
}

void DagWriter::Header(const std::string& dag_id, const std::string& larder_literal,
                       const std::string& repo_literal) {
  out_ += "# Generated by `larder airflow-dag` from the Larder project '" + options_.project +
          "'.\n"
          "# Do not edit: regenerate it after each `larder apply` (it reflects the\n"
          "# registered definitions, and `larder airflow-dag` replaces or removes it).\n";
  out_ += std::string(kProjectMarker) + options_.project + "\n";
  out_ += "# Repo: " + repo_literal + "\n";
  out_ += "# Larder: " + larder_literal + "\n";
  out_ += "#\n# DAG " + dag_id + ": the tasks whose batch_schedule is `" + group_.schedule->text() +
          "` (catchup: " + (group_.catchup ? "true" : "false") +
          ").\n"
          "# A run covers Airflow's data interval [data_interval_start, data_interval_end):\n"
          "# models are built and tested, then each view is materialized over that window\n"
          "# (from its materialization_lookback before the start), so `airflow backfill\n"
          "# create` reruns past intervals exactly. A manual run (`airflow dags test DAG_ID\n"
          "# DATE`) gets no tasks when DATE is before start_date.\n";
}

void DagWriter::Dag(const std::string& dag_id) {
  const schedule::Schedule& s = *group_.schedule;
  std::string timetable;
  if (s.period().micros > 0) {
    timetable =
        "DeltaDataIntervalTimetable(" + PythonTimedelta(s.period()) + "),  # every " + s.text();
  } else {
    // Cron fields hold only digits, letters and */,- (Schedule::Parse), and
    // zone names only letters, digits and _+-/ (TimeZone::Load).
    timetable = "CronDataIntervalTimetable(\"" + s.cron() + "\", timezone=\"" + s.zone().name() +
                "\"),";
    if (s.cron() != s.text()) timetable += "  # " + s.text();
  }
  TimestampMicros start = options_.start_date;
  if (s.period().micros > 0) start = s.Next(start - 1);
  out_ += "with DAG(\n";
  out_ += "    dag_id=\"" + dag_id + "\",\n";
  out_ +=
      "    description=\"Larder project " + options_.project + ": tasks at " + s.text() + "\",\n";
  out_ += "    schedule=" + timetable + "\n";
  out_ += "    start_date=" + PythonDatetime(start) + ",\n";
  out_ += std::string("    catchup=") + (group_.catchup ? "True" : "False") + ",\n";
  out_ += "    max_active_runs=1,\n";
  out_ +=
      "    # The operators share the repo's offline store (a DuckDB file) and its online\n"
      "    # store, which one process writes at a time: the chains are independent\n"
      "    # (a failed view holds back no other), but run one operator at a time.\n"
      "    max_active_tasks=1,\n";
  out_ += "    default_args={\n";
  out_ += "        \"retries\": " + std::to_string(defaults_->retries) + ",\n";
  out_ += "        \"retry_delay\": " + PythonTimedelta(defaults_->retry_delay) + ",\n";
  out_ +=
      "        # A multiplier since Airflow 3: the delay doubles after each attempt (with\n"
      "        # Airflow's jitter), as in `larder schedule`.\n"
      "        \"retry_exponential_backoff\": 2.0,\n";
  out_ += "    },\n";
  out_ += "    tags=[\"larder\", \"" + options_.project + "\"],\n";
  out_ += ") as dag:\n";
}

void DagWriter::Operator(const std::string& id, const std::string& command, const Task& task) {
  out_ += "    " + id + " = BashOperator(\n";
  out_ += "        task_id=\"" + id + "\",\n";
  out_ += "        bash_command=LARDER + " + command + ",\n";
  if (task.policy.retries != defaults_->retries) {
    out_ += "        retries=" + std::to_string(task.policy.retries) + ",\n";
  }
  if (task.policy.retry_delay != defaults_->retry_delay) {
    out_ += "        retry_delay=" + PythonTimedelta(task.policy.retry_delay) + ",\n";
  }
  out_ += "    )\n";
}

void DagWriter::Operators(const Task& task, const TaskIds& ids) {
  out_ += "\n    # " + task.name;
  if (!task.models.empty()) {
    out_ += " (builds and tests ";
    for (size_t i = 0; i < task.models.size(); ++i) out_ += (i ? ", " : "") + task.models[i];
    out_ += ")";
  }
  out_ += "\n";
  std::string models;
  for (const std::string& m : task.models) models += (models.empty() ? "" : ",") + m;
  // Names are identifiers (checked in AssignIds): BashWord leaves them bare,
  // so they are also plain inside a Python literal.
  if (!ids.run.empty()) {
    Operator(ids.run, "\" run --select " + BashWord(models) + "\"", task);
    Operator(ids.test, "\" test --select " + BashWord(models) + "\"", task);
  }
  if (!ids.materialize.empty()) {
    std::string start = "data_interval_start";
    const Duration lookback = task.policy.materialization_lookback;
    if (lookback.micros > 0) {
      start = "(data_interval_start - macros." + PythonTimedelta(lookback) + ")";
    }
    Operator(ids.materialize,
             "(\n            \" materialize {{ " + start +
                 ".isoformat() }} {{ data_interval_end.isoformat() }}\"\n            \" --views " +
                 BashWord(task.object) + "\"\n        )",
             task);
  }
}

void DagWriter::Dependencies() {
  std::string edges;
  std::string notes;
  for (const Task* t : group_.tasks) {
    const TaskIds& ids = ids_.at(t->name);
    std::vector<std::string> chain;
    for (const std::string* id : {&ids.run, &ids.test, &ids.materialize}) {
      if (!id->empty()) chain.push_back(*id);
    }
    if (chain.size() > 1) {
      edges += "    ";
      for (size_t i = 0; i < chain.size(); ++i) edges += (i ? " >> " : "") + chain[i];
      edges += "\n";
    }
    for (const std::string& up : t->upstream) {
      auto same = ids_.find(up);
      if (same != ids_.end()) {
        edges += "    " + same->second.last() + " >> " + ids.first() + "  # " + t->name +
                 " waits for " + up + "\n";
        continue;
      }
      auto other = dag_of_task_.find(up);
      notes += "    # " + t->name + " reads the output of " + up + ", which runs in DAG " +
               (other != dag_of_task_.end() ? other->second : std::string("(not exported)")) +
               ":\n    # that dependency is not expressed here. Schedule them alike, or make\n"
               "    # sure " +
               up + " has run over an interval before this DAG does.\n";
    }
  }
  if (!edges.empty() || !notes.empty()) out_ += "\n" + edges + notes;
}

Result<AirflowDagFile> DagWriter::Write() {
  LARDER_RETURN_IF_ERROR(AssignIds());
  defaults_ = &group_.tasks.front()->policy;
  AirflowDagFile file;
  file.dag_id = "larder_" + options_.project + "_" + group_.slug;
  file.name = file.dag_id + ".py";
  Result<std::string> larder_literal = PythonStringLiteral(options_.larder_path);
  if (!larder_literal.ok()) {
    return Status::InvalidArgument("the larder path: " + larder_literal.status().message());
  }
  Result<std::string> repo_literal = PythonStringLiteral(options_.repo_dir);
  if (!repo_literal.ok()) {
    return Status::InvalidArgument("the repo directory: " + repo_literal.status().message());
  }
  Header(file.dag_id, *larder_literal, *repo_literal);
  out_ +=
      "from datetime import datetime, timedelta, timezone\n\n"
      "from airflow.providers.standard.operators.bash import BashOperator\n"
      "from airflow.sdk import DAG, ";
  out_ += group_.schedule->period().micros > 0 ? "DeltaDataIntervalTimetable\n"
                                               : "CronDataIntervalTimetable\n";
  LARDER_ASSIGN_OR_RETURN(
      std::string command,
      PythonStringLiteral(BashWord(options_.larder_path) + " -c " + BashWord(options_.repo_dir)));
  out_ +=
      "\n# The larder command on the repo, as bash words that Airflow's Jinja leaves alone.\n"
      "LARDER = " +
      command + "\n\n";
  Dag(file.dag_id);
  for (const Task* t : group_.tasks) Operators(*t, ids_.at(t->name));
  Dependencies();
  file.text = std::move(out_);
  return file;
}

}  // namespace

std::string AirflowScheduleSlug(const schedule::Schedule& s) {
  if (s.period().micros > 0) return "every_" + FormatDuration(s.period());
  if (s.text().starts_with("@")) return s.text().substr(1);
  std::string slug = "cron";
  for (char c : s.text()) {
    if (c >= 'A' && c <= 'Z') {
      slug += static_cast<char>(c - 'A' + 'a');
    } else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
      slug += c;
    } else if (c == ' ') {
      slug += '_';
    } else if (c == '*') {
      slug += 'x';
    } else if (c == '-') {
      slug += "to";
    } else if (c == ',') {
      slug += "and";
    } else if (c == '/') {
      slug += "by";
    } else {
      slug += "u" + Hex(static_cast<unsigned char>(c), 2);
    }
  }
  // "cron" then "_" before each field.
  return "cron_" + slug.substr(4);
}

bool IsAirflowDagFileName(std::string_view project, std::string_view file_name) {
  const std::string prefix = "larder_" + std::string(project) + "_";
  return file_name.size() > prefix.size() + 3 && file_name.starts_with(prefix) &&
         file_name.ends_with(".py");
}

bool IsAirflowDagFileOf(std::string_view project, std::string_view file_name,
                        std::string_view text) {
  if (!IsAirflowDagFileName(project, file_name)) return false;
  const std::string marker = std::string(kProjectMarker) + std::string(project) + "\n";
  return text.find(marker) != std::string_view::npos;
}

std::string BashWord(std::string_view text) {
  bool bare = !text.empty();
  for (char c : text) bare = bare && IsBareBashChar(c);
  if (bare) return std::string(text);
  std::string out = "'";
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '\'') {
      out += "'\\''";
      continue;
    }
    out += c;
    const char next = i + 1 < text.size() ? text[i + 1] : '\0';
    if (c == '{' && (next == '{' || next == '%' || next == '#')) out += "''";
  }
  out += "'";
  return out;
}

Result<std::string> PythonStringLiteral(std::string_view text) {
  std::string out = "\"";
  for (size_t i = 0; i < text.size();) {
    char32_t cp = 0;
    if (!NextCodePoint(text, &i, &cp)) {
      return Status::InvalidArgument("not valid UTF-8 at byte " + std::to_string(i));
    }
    if (cp == '\\' || cp == '"') {
      out += '\\';
      out += static_cast<char>(cp);
    } else if (cp == '\n') {
      out += "\\n";
    } else if (cp == '\t') {
      out += "\\t";
    } else if (cp == '\r') {
      out += "\\r";
    } else if (cp < 0x20 || cp == 0x7F) {
      out += "\\x" + Hex(cp, 2);
    } else if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp <= 0xFFFF) {
      out += "\\u" + Hex(cp, 4);
    } else {
      out += "\\U" + Hex(cp, 8);
    }
  }
  out += "\"";
  return out;
}

Result<std::vector<AirflowDagFile>> AirflowDags(const AirflowDagOptions& options,
                                                const std::vector<Task>& tasks) {
  if (!IsIdentifier(options.project)) {
    return Status::InvalidArgument("project '" + options.project + "' is not an identifier");
  }
  if (tasks.empty()) return NothingScheduled(options.project);
  for (const Task& t : tasks) {
    if (!t.dbt_builds.empty()) {
      return Status::InvalidArgument(
          t.name + " runs `dbt build` first (dbt_executable on dbt source of model '" +
          t.dbt_builds.front().model +
          "'), which the Airflow export does not do yet: run dbt from its own Airflow task "
          "and remove dbt_executable, or leave this view out with --select");
    }
  }
  // By (slug, catchup): schedules that differ only in letter case share a DAG.
  std::map<std::pair<std::string, bool>, DagGroup> groups;
  for (const Task& t : tasks) {
    // Cron schedules in a zone other than UTC get their own DAG, named by it.
    std::string slug = AirflowScheduleSlug(t.schedule);
    if (t.schedule.period().micros == 0 && t.schedule.zone().name() != "UTC") {
      slug += "_" + ZoneSlug(t.schedule.zone().name());
    }
    DagGroup& g = groups[{slug, t.policy.catchup}];
    if (g.tasks.empty()) {
      g.slug = slug + (t.policy.catchup ? "" : "_no_catchup");
      g.schedule = &t.schedule;
      g.catchup = t.policy.catchup;
    }
    g.tasks.push_back(&t);
  }
  std::map<std::string, std::string> dag_of_task;
  for (const auto& [key, g] : groups) {
    for (const Task* t : g.tasks) dag_of_task[t->name] = "larder_" + options.project + "_" + g.slug;
  }
  std::vector<AirflowDagFile> files;
  for (const auto& [key, g] : groups) {
    LARDER_ASSIGN_OR_RETURN(AirflowDagFile file, DagWriter(options, g, dag_of_task).Write());
    files.push_back(std::move(file));
  }
  std::sort(files.begin(), files.end(),
            [](const AirflowDagFile& a, const AirflowDagFile& b) { return a.name < b.name; });
  return files;
}

}  // namespace larder::orchestrate
