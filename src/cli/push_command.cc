// `larder push SOURCE FILE [--to offline|online|online_and_offline]`.
#include "cli/handlers.h"
#include "cli/store_access.h"

namespace larder::cli {

int PushCommand(const Invocation& inv, Output& o) {
  Result<PushTarget> to = ParsePushTarget(inv.Flag("--to", "offline"));
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
  if (*to != PushTarget::kOnline) o.out << "; " << report->offline_rows << " appended offline";
  for (const auto& view : report->online) {
    o.out << "; " << view.view << ": " << view.written << " written, " << view.skipped
          << " skipped";
  }
  o.out << ".\n";
  return kExitOk;
}

}  // namespace larder::cli
