// Opening an offline store by its `offline_store.type`: the table of
// backends behind larder/offline_store.h.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "larder/offline_store.h"
#include "larder/status.h"

namespace larder::offline_stores {

// The type names of the backends, in the order docs list them.
std::vector<std::string> OfflineStoreTypes();

// Opens the backend named by options.config.type. Opening connects to
// nothing: each operation opens what it needs. Errors: InvalidArgument
// naming an unknown type and the known ones.
Result<std::unique_ptr<OfflineStore>> OpenOfflineStore(const OfflineStoreOptions& options);

// `repo` as the store opened with `options` reads it: with
// options.repo_root as its root and options.config as its offline_store.
// Returns `repo` itself when it has both (no copy), else `copy`, filled in.
const FeatureRepo& RepoForStore(const FeatureRepo& repo, const OfflineStoreOptions& options,
                                std::optional<FeatureRepo>& copy);

}  // namespace larder::offline_stores
