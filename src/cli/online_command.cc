// `larder online`: read features of entity rows from the online store and
// print them as Feast's get-online-features JSON.
#include <sstream>

#include "cli/handlers.h"
#include "cli/store_access.h"
#include "larder/online_features.h"

namespace larder::cli {

int OnlineCommand(const Invocation& inv, Output& o) {
  OnlineFeaturesRequest request;
  std::stringstream refs(inv.Flag("--features"));
  for (std::string item; std::getline(refs, item, ',');) {
    size_t b = item.find_first_not_of(" \t\n");
    size_t e = item.find_last_not_of(" \t\n");
    if (b != std::string::npos) request.features.push_back(item.substr(b, e - b + 1));
  }
  request.feature_service = inv.Flag("--feature-service");
  request.full_feature_names = inv.Has("--full-feature-names");
  if (request.features.empty() == request.feature_service.empty()) {
    o.err << "larder: online takes one of --features VIEW:FEATURE,... or --feature-service NAME\n";
    return kExitUsage;
  }
  if (!ParseEntityFlag(inv, o, "online", &request.entity_rows)) return kExitUsage;
  auto store = OpenStore(inv, o);
  if (!store) return kExitError;
  OnlineReadOptions options;
  if (inv.Has("--now")) {
    TimestampMicros now = 0;
    if (!ParseIsoTimestamp(inv.Flag("--now"), &now)) {
      o.err << "larder: bad --now `" << inv.Flag("--now") << "`: use ISO 8601 UTC\n";
      return kExitUsage;
    }
    options.clock = [now] { return now; };
  }
  Result<OnlineFeaturesResponse> response = store->GetOnlineFeatures(request, options);
  if (!response.ok()) return ReportError(o, response.status());
  o.out << response->ToJson() << "\n";
  return kExitOk;
}

}  // namespace larder::cli
