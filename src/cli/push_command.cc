// `larder push SOURCE FILE [--to online|offline|online_and_offline]` and
// `larder online-delete --entity KEY=VALUE... [--views NAMES]`.
#include <sstream>

#include "cli/handlers.h"
#include "cli/store_access.h"

namespace larder::cli {

int PushCommand(const Invocation& inv, Output& o) {
  Result<PushTarget> to = ParsePushTarget(inv.Flag("--to", PushTargetName(PushTarget::kOnline)));
  if (!to.ok()) {
    o.err << "larder: --to " << to.status().message() << "\n";
    return kExitUsage;
  }
  auto store = OpenStore(inv, o);
  if (!store) return kExitError;
  Result<PushReport> report = store->PushFile(inv.args[0], inv.args[1], *to);
  if (!report.ok()) return ReportError(o, report.status());
  o.out << "Pushed " << report->rows << " row(s) to " << inv.args[0] << " ("
        << PushTargetName(*to) << ")";
  if (*to != PushTarget::kOnline) {
    o.out << "; " << report->offline_rows << " appended offline";
    if (report->offline_rows < report->rows) o.out << " (the others were already stored)";
  }
  for (const auto& view : report->online) {
    o.out << "; " << view.view << ": " << view.written << " written, " << view.skipped
          << " skipped";
  }
  o.out << ".\n";
  return kExitOk;
}

int OnlineDeleteCommand(const Invocation& inv, Output& o) {
  EntityColumns entities;
  if (!ParseEntityFlag(inv, o, "online-delete", &entities)) return kExitUsage;
  std::vector<std::string> views;
  std::stringstream names(inv.Flag("--views"));
  for (std::string name; std::getline(names, name, ',');) {
    if (!name.empty()) views.push_back(name);
  }
  auto store = OpenStore(inv, o);
  if (!store) return kExitError;
  Result<OnlineDeleteReport> report = store->DeleteOnline(entities, views);
  if (!report.ok()) return ReportError(o, report.status());
  o.out << "Deleted the online records of " << report->entities << " entity row(s) from";
  for (size_t i = 0; i < report->feature_views.size(); ++i) {
    o.out << (i ? ", " : " ") << report->feature_views[i];
  }
  o.out << ".\n";
  return kExitOk;
}

}  // namespace larder::cli
