// The stores of a test's repo directory: offline store options and a
// RocksDB online store under it, as the offline store tests open them.
#pragma once

#include <memory>
#include <string>

#include "larder/offline_store.h"
#include "larder/online_store.h"
#include "larder/status.h"

namespace larder::testing {

// Options of an offline store configured by `config` for the repo at `root`
// of project `project`.
OfflineStoreOptions TestOfflineOptions(const std::string& root, const std::string& project,
                                       StoreConfig config);

// A RocksDB online store at `root`/`relative`, for project `project`.
Result<std::unique_ptr<OnlineStore>> OpenTestRocksDb(const std::string& root,
                                                     const std::string& project,
                                                     const std::string& relative);

}  // namespace larder::testing
