#include "cli/store_access.h"

#include <sstream>

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

bool ParseTimeFlag(const Invocation& inv, Output& o, std::string_view flag, TimestampMicros* out) {
  if (!inv.Has(flag)) return true;
  if (!ParseIsoTimestamp(inv.Flag(flag), out)) {
    o.err << "larder: bad " << flag << " `" << inv.Flag(flag)
          << "`: use ISO 8601 UTC, e.g. 2026-12-01T00:00:00Z\n";
    return false;
  }
  return true;
}

bool ParseEntityFlag(const Invocation& inv, Output& o, std::string_view command,
                     std::map<std::string, std::vector<Value>>* rows) {
  std::stringstream entities(inv.Flag("--entity"));
  for (std::string item; std::getline(entities, item, '\n');) {
    size_t eq = item.find('=');
    if (eq == std::string::npos || eq == 0) {
      o.err << "larder: --entity takes KEY=VALUE, got `" << item << "`\n";
      return false;
    }
    auto& column = (*rows)[item.substr(0, eq)];
    if (!column.empty()) {
      o.err << "larder: join key `" << item.substr(0, eq) << "` is given twice\n";
      return false;
    }
    column.push_back(Value::String(item.substr(eq + 1)));
  }
  if (rows->empty()) {
    o.err << "larder: " << command << " needs --entity KEY=VALUE for each join key\n";
    return false;
  }
  return true;
}

}  // namespace larder::cli
