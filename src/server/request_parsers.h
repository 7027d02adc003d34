// Parsing the feature server's request bodies (Feast's feature-server JSON)
// into typed requests. Bodies are untrusted: any bytes give a request or an
// InvalidArgument naming the bad field ("entities.user_id[2]: ...",
// "df.rating[0]: ..."), never a crash. Exposed for tests and the fuzz target
// (fuzz/request_parsers_fuzz.cc).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "larder/online_features.h"
#include "larder/push.h"
#include "larder/status.h"

namespace larder::server {

// POST /get-online-features: {"features": ["view:feature", ...] |
// "feature_service": "name", "entities": {"join_key": [v, ...], ...},
// "full_feature_names": bool}. Join-key values are integers, strings or
// booleans; GetOnlineFeatures converts them to the entity's dtype.
Result<OnlineFeaturesRequest> ParseOnlineFeaturesRequest(std::string_view body);

// POST /push: {"push_source_name": "name", "df": {"column": [v, ...], ...},
// "to": "online" | "offline" | "online_and_offline" (default online)}.
struct PushBody {
  std::string push_source_name;
  ColumnTable df;
  PushTarget to = PushTarget::kOnline;
};
Result<PushBody> ParsePushRequest(std::string_view body);

// POST /write-to-online-store: {"feature_view_name": "name", "df": {...}}.
struct WriteBody {
  std::string feature_view_name;
  ColumnTable df;
};
Result<WriteBody> ParseWriteRequest(std::string_view body);

// POST /materialize: {"start_ts": "ISO 8601", "end_ts": "ISO 8601",
// "feature_views": ["name", ...]} (feature_views optional: every online
// view). POST /materialize-incremental: the same without start_ts.
struct MaterializeBody {
  std::optional<TimestampMicros> start;  // set for /materialize only
  TimestampMicros end = 0;
  std::vector<std::string> feature_views;
};
Result<MaterializeBody> ParseMaterializeRequest(std::string_view body, bool incremental);

// POST /delete-from-online-store: {"entities": {"join_key": [v, ...], ...},
// "feature_views": ["name", ...]} (feature_views optional: every online view
// with exactly these join keys). Values as in get-online-features.
struct DeleteBody {
  EntityColumns entities;
  std::vector<std::string> feature_views;
};
Result<DeleteBody> ParseDeleteRequest(std::string_view body);

// The rows of the largest column of a df (the size the server limits).
size_t RowCount(const ColumnTable& df);

}  // namespace larder::server
