// Helpers shared by the handlers: opening the repo's store and reporting a
// Status the same way everywhere.
#pragma once

#include <memory>

#include "cli/command.h"
#include "larder/feature_store.h"

namespace larder::cli {

// Prints "Error: <message>" to o.err and returns kExitError.
int ReportError(Output& o, const Status& status);

// Opens the store of inv.repo_dir; on failure reports it and returns null.
std::unique_ptr<FeatureStore> OpenStore(const Invocation& inv, Output& o,
                                        FeatureStoreOptions options = {});

}  // namespace larder::cli
