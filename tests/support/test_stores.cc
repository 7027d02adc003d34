#include "support/test_stores.h"

#include <utility>

namespace larder::testing {

OfflineStoreOptions TestOfflineOptions(const std::string& root, const std::string& project,
                                       StoreConfig config) {
  OfflineStoreOptions o;
  o.config = std::move(config);
  o.repo_root = root;
  o.project = project;
  return o;
}

Result<std::unique_ptr<OnlineStore>> OpenTestRocksDb(const std::string& root,
                                                     const std::string& project,
                                                     const std::string& relative) {
  OnlineStoreOptions o;
  o.config = {"rocksdb", {{"path", root + "/" + relative}}};
  o.project = project;
  o.repo_root = root;
  return OnlineStore::Open(o);
}

}  // namespace larder::testing
