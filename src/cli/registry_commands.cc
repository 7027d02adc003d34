// init, plan, apply, teardown and registry-dump.
#include <charconv>

#include "cli/handlers.h"
#include "cli/store_access.h"
#include "repo/templates.h"

namespace larder::cli {
namespace {

void PrintChanges(const RegistryPlan& plan, Output& o) {
  for (const auto& warning : plan.warnings) o.err << "Warning: " << warning << "\n";
  for (const auto& change : plan.changes) o.out << change.Describe() << "\n";
}

}  // namespace

int InitCommand(const Invocation& inv, Output& o) {
  std::string name = inv.Flag("--template", "minimal");
  Status st = repo::WriteTemplate(name, inv.args[0]);
  if (!st.ok()) return ReportError(o, st);
  o.out << "Created a feature repo in " << inv.args[0] << " from template `" << name << "`.\n"
        << "Next: larder -c " << inv.args[0] << " apply\n";
  if (name == "book_recs") {
    o.out << "The example reads data/raw/*.parquet; make it first with:\n"
          << "  larder -c " << inv.args[0] << " demo-data --scale 0.1\n";
  }
  return kExitOk;
}

int PlanCommand(const Invocation& inv, Output& o) {
  FeatureStoreOptions options;
  options.check_data_schemas = !inv.Has("--skip-source-validation");
  auto store = OpenStore(inv, o, options);
  if (!store) return kExitError;
  Result<RegistryPlan> plan = store->Plan();
  if (!plan.ok()) return ReportError(o, plan.status());
  if (plan->empty()) {
    PrintChanges(*plan, o);
    o.out << "No changes to project " << store->config().project << ".\n";
    return kExitOk;
  }
  PrintChanges(*plan, o);
  o.out << "\n" << plan->changes.size() << " change(s) to project " << store->config().project
        << ". Run `larder apply` to make them.\n";
  return kExitOk;
}

int ApplyCommand(const Invocation& inv, Output& o) {
  FeatureStoreOptions options;
  options.check_data_schemas = !inv.Has("--skip-source-validation");
  if (inv.Has("--lock-timeout")) {
    std::string text = inv.Flag("--lock-timeout");
    double seconds = -1;
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), seconds);
    if (ec != std::errc() || ptr != text.data() + text.size() || seconds < 0) {
      o.err << "larder: --lock-timeout must be a number of seconds >= 0, got `" << text << "`\n";
      return kExitUsage;
    }
    options.lock_timeout = std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000));
  }
  auto store = OpenStore(inv, o, options);
  if (!store) return kExitError;
  Result<ApplyResult> result = store->Apply();
  if (!result.ok()) return ReportError(o, result.status());
  if (result->plan.empty()) {
    PrintChanges(result->plan, o);
    o.out << "No changes to project " << store->config().project << " (registry version "
          << result->version << ").\n";
    return kExitOk;
  }
  PrintChanges(result->plan, o);
  o.out << "\nApplied " << result->plan.changes.size() << " change(s) to project "
        << store->config().project << "; registry version " << result->version << ".\n";
  return kExitOk;
}

int TeardownCommand(const Invocation& inv, Output& o) {
  auto store = OpenStore(inv, o);
  if (!store) return kExitError;
  Result<TeardownReport> report = store->Teardown();
  if (!report.ok()) return ReportError(o, report.status());
  const std::string& project = store->config().project;
  if (report->was_registered) {
    o.out << "Removed project " << project
          << " from the registry, with its online data and materialization watermarks.\n";
  } else {
    o.out << "Project " << project << " was not in the registry; removed any online data and "
          << "materialization watermarks left for it.\n";
  }
  return kExitOk;
}

int RegistryDumpCommand(const Invocation& inv, Output& o) {
  auto store = OpenStore(inv, o);
  if (!store) return kExitError;
  Result<std::string> json = store->RegistryJson();
  if (!json.ok()) return ReportError(o, json.status());
  o.out << *json << "\n";
  return kExitOk;
}

}  // namespace larder::cli
