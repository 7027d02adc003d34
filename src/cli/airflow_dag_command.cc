// `larder airflow-dag`: Airflow DAG files for the registered scheduled tasks
// (orchestrate/airflow_dag.h, docs/orchestration.md).
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <vector>

#include "cli/handlers.h"
#include "cli/store_access.h"
#include "orchestrate/airflow_dag.h"

namespace larder::cli {
namespace {

namespace fs = std::filesystem;

// The running binary's absolute path; empty when /proc is not there.
std::string OwnPath() {
  std::error_code ec;
  fs::path self = fs::read_symlink("/proc/self/exe", ec);
  return ec ? std::string() : self.string();
}

TimestampMicros StartOfTodayUtc() {
  using namespace std::chrono;
  const sys_days today = floor<days>(system_clock::now());
  return duration_cast<microseconds>(today.time_since_epoch()).count();
}

std::string ReadText(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// Writes `text` to `path` through a temporary file (not *.py, so Airflow's
// DAG processor never parses half a file) renamed over it.
Status WriteAtomically(const fs::path& path, const std::string& text) {
  const fs::path temporary = path.parent_path() / ("." + path.filename().string() + ".tmp");
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    out << text;
    out.close();
    if (!out) return Status::IOError("cannot write " + temporary.string());
  }
  std::error_code ec;
  fs::rename(temporary, path, ec);
  if (ec) return Status::IOError("cannot rename " + temporary.string() + ": " + ec.message());
  return Status::OK();
}

}  // namespace

int AirflowDagCommand(const Invocation& inv, Output& o) {
  if (!inv.Has("--out") || inv.Flag("--out").empty()) {
    o.err << "larder: airflow-dag needs --out DIR\n";
    return kExitUsage;
  }
  const fs::path out_dir = inv.Flag("--out");
  orchestrate::AirflowDagOptions options;
  options.larder_path = inv.Flag("--larder", OwnPath());
  if (options.larder_path.empty()) {
    o.err << "larder: cannot tell this binary's path; give --larder PATH\n";
    return kExitUsage;
  }
  // A bare name stays one, for bash to find on the workers' PATH.
  if (options.larder_path.find('/') != std::string::npos) {
    options.larder_path = fs::absolute(options.larder_path).lexically_normal().string();
  }
  options.start_date = StartOfTodayUtc();
  if (!ParseTimeFlag(inv, o, "--start-date", &options.start_date)) return kExitUsage;

  auto store = OpenStore(inv, o);
  if (!store) return kExitError;
  options.project = store->config().project;
  options.repo_dir = store->repo_root();
  Result<FeatureRepo> repo = store->Registered();
  if (!repo.ok()) return ReportError(o, repo.status());
  Result<std::vector<orchestrate::Task>> all = orchestrate::PlanTasks(*repo);
  if (!all.ok()) return ReportError(o, all.status());
  Result<std::vector<orchestrate::Task>> tasks =
      orchestrate::SelectTasks(*all, SplitCommaList(inv.Flag("--select")));
  if (!tasks.ok()) return ReportError(o, tasks.status());
  Result<std::vector<orchestrate::AirflowDagFile>> files =
      orchestrate::AirflowDags(options, *tasks);
  if (!files.ok()) return ReportError(o, files.status());

  std::error_code ec;
  if (fs::exists(out_dir, ec) && !fs::is_directory(out_dir, ec)) {
    return ReportError(
        o, Status::InvalidArgument("--out " + out_dir.string() + " exists and is not a directory"));
  }
  fs::create_directories(out_dir, ec);
  if (ec) {
    return ReportError(o,
                       Status::IOError("cannot create " + out_dir.string() + ": " + ec.message()));
  }
  std::set<std::string> written;
  for (const orchestrate::AirflowDagFile& f : *files) {
    const fs::path path = out_dir / f.name;
    if (Status st = WriteAtomically(path, f.text); !st.ok()) return ReportError(o, st);
    written.insert(f.name);
    o.out << "Wrote " << path.string() << " (DAG " << f.dag_id << ")\n";
  }
  // DAGs of schedules no longer used (or not selected now) would run stale
  // tasks: remove this project's other generated files.
  std::vector<fs::path> others;
  for (const fs::directory_entry& entry : fs::directory_iterator(out_dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (entry.is_regular_file() && !written.contains(name) &&
        orchestrate::IsAirflowDagFileName(options.project, name)) {
      others.push_back(entry.path());
    }
  }
  if (ec) return ReportError(o, Status::IOError("cannot list " + out_dir.string()));
  for (const fs::path& path : others) {
    if (!orchestrate::IsAirflowDagFileOf(options.project, path.filename().string(),
                                         ReadText(path))) {
      o.err << "Warning: left " << path.string()
            << ": named like a generated DAG, but `larder airflow-dag` did not write it for "
               "project "
            << options.project << "\n";
      continue;
    }
    fs::remove(path, ec);
    if (ec) {
      return ReportError(
          o, Status::IOError("cannot remove stale " + path.string() + ": " + ec.message()));
    }
    o.out << "Removed stale " << path.string() << "\n";
  }
  return kExitOk;
}

}  // namespace larder::cli
