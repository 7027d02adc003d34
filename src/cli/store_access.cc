#include "cli/store_access.h"

namespace larder::cli {

int ReportError(Output& o, const Status& status) {
  o.err << "Error: " << status.message() << "\n";
  return kExitError;
}

std::unique_ptr<FeatureStore> OpenStore(const Invocation& inv, Output& o,
                                        FeatureStoreOptions options) {
  options.repo_dir = inv.repo_dir;
  Result<std::unique_ptr<FeatureStore>> store = FeatureStore::Open(options);
  if (!store.ok()) {
    ReportError(o, store.status());
    return nullptr;
  }
  return std::move(store).value();
}

}  // namespace larder::cli
