#include "offline_stores/offline_stores.h"

#include <functional>
#include <string_view>

#include "offline_stores/duckdb_offline_store.h"
#include "offline_stores/spark_offline_store.h"

namespace larder::offline_stores {
namespace {

struct Backend {
  std::string_view type;
  std::function<std::unique_ptr<OfflineStore>(const OfflineStoreOptions&)> open;
};

const std::vector<Backend>& Backends() {
  static const std::vector<Backend> backends = {
      {DuckDbOfflineStore::kType,
       [](const OfflineStoreOptions& o) { return std::make_unique<DuckDbOfflineStore>(o); }},
      {SparkOfflineStore::kType,
       [](const OfflineStoreOptions& o) { return std::make_unique<SparkOfflineStore>(o); }},
  };
  return backends;
}

}  // namespace

std::vector<std::string> OfflineStoreTypes() {
  std::vector<std::string> types;
  for (const Backend& b : Backends()) types.emplace_back(b.type);
  return types;
}

Result<std::unique_ptr<OfflineStore>> OpenOfflineStore(const OfflineStoreOptions& options) {
  std::string known;
  for (const Backend& b : Backends()) {
    if (b.type == options.config.type) return b.open(options);
    known += (known.empty() ? "" : ", ") + std::string(b.type);
  }
  return Status::InvalidArgument("offline_store: unknown type '" + options.config.type +
                                 "' (known: " + known + ")");
}

const FeatureRepo& RepoForStore(const FeatureRepo& repo, const OfflineStoreOptions& options,
                                std::optional<FeatureRepo>& copy) {
  const StoreConfig& given = repo.config.offline_store;
  if (repo.root == options.repo_root && given.type == options.config.type &&
      given.options == options.config.options) {
    return repo;  // FeatureStore's case, on every push: no copy
  }
  copy = repo;
  copy->root = options.repo_root;
  copy->config.offline_store = options.config;
  return *copy;
}

}  // namespace larder::offline_stores
