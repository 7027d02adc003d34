// `larder push SOURCE FILE --to offline`.
#include "cli/handlers.h"
#include "cli/store_access.h"

namespace larder::cli {

int PushCommand(const Invocation& inv, Output& o) {
  std::string to = inv.Flag("--to", "offline");
  if (to != "offline") {
    o.err << "larder: --to `" << to
          << "` is not available; this build pushes to `offline` (the source's history)\n";
    return kExitUsage;
  }
  auto store = OpenStore(inv, o);
  if (!store) return kExitError;
  Result<int64_t> rows = store->PushOffline(inv.args[0], inv.args[1]);
  if (!rows.ok()) return ReportError(o, rows.status());
  o.out << "Pushed " << *rows << " row(s) to " << inv.args[0] << " (offline).\n";
  return kExitOk;
}

}  // namespace larder::cli
