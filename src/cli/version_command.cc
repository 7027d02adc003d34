// `larder version` (and `larder --version`).
#include "cli/handlers.h"
#include "larder/version.h"

namespace larder::cli {

int VersionCommand(const Invocation& /*inv*/, Output& o) {
  o.out << "larder " << kVersion << "\n";
  return kExitOk;
}

}  // namespace larder::cli
