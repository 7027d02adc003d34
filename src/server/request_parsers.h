// Parsing the feature server's request bodies (Feast's feature-server JSON)
// into typed requests. Bodies are untrusted: any bytes give a request or an
// InvalidArgument naming the bad field ("entities.user_id[2]: ...",
// "df.rating[0]: ..."), never a crash. Exposed for tests and the fuzz target
// (fuzz/request_parsers_fuzz.cc).
//
// Limits are checked while the JSON is read, not after: a body that is not
// an object stops at its first byte; a key repeated in any object, nesting
// deeper than a request can be (kMaxJsonDepth), a column (entities.<key>,
// df.<column>) longer than ParseBudget::max_rows, or a parse whose memory
// the budget refuses stops where it is found.
#pragma once

#include <cstddef>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "larder/online_features.h"
#include "larder/push.h"
#include "larder/status.h"
#include "server/request_memory.h"

namespace larder::server {

// Objects and arrays nest at most this deep in a request: {"df": {"column":
// [[1, 2], ...]}} is 4.
inline constexpr size_t kMaxJsonDepth = 4;

// Why a parse failed.
enum class ParseFailure {
  kBadRequest,   // the body is wrong (400)
  kTooManyRows,  // a column has more than ParseBudget::max_rows values (413)
  kTooLarge,     // the request alone would take more memory than its cap (413)
  kBusy,         // the server's memory budget is used up by other requests (503)
};

// What parsing one body may cost. The default has no limits.
struct ParseBudget {
  // Most values in one column (entities.<key> or df.<column>). Default: no limit.
  size_t max_rows = std::numeric_limits<size_t>::max();
  // Takes an estimate of the memory the parsed body grows to (in steps of
  // kParseChargeStep bytes) as the parse goes; a refusal stops it. Not
  // owned; null: no memory budget.
  RequestMemory* memory = nullptr;
  // Out: set by a parse that failed, to why.
  ParseFailure failure = ParseFailure::kBadRequest;
};
inline constexpr size_t kParseChargeStep = 64 * 1024;

// POST /get-online-features: {"features": ["view:feature", ...] |
// "feature_service": "name", "entities": {"join_key": [v, ...], ...},
// "full_feature_names": bool}. Join-key values are integers, strings or
// booleans; GetOnlineFeatures converts them to the entity's dtype.
Result<OnlineFeaturesRequest> ParseOnlineFeaturesRequest(std::string_view body,
                                                         ParseBudget* budget = nullptr);

// POST /push: {"push_source_name": "name", "df": {"column": [v, ...], ...},
// "to": "online" | "offline" | "online_and_offline" (default online)}.
struct PushBody {
  std::string push_source_name;
  ColumnTable df;
  PushTarget to = PushTarget::kOnline;
};
Result<PushBody> ParsePushRequest(std::string_view body, ParseBudget* budget = nullptr);

// POST /write-to-online-store: {"feature_view_name": "name", "df": {...}}.
struct WriteBody {
  std::string feature_view_name;
  ColumnTable df;
};
Result<WriteBody> ParseWriteRequest(std::string_view body, ParseBudget* budget = nullptr);

// POST /materialize: {"start_ts": "ISO 8601", "end_ts": "ISO 8601",
// "feature_views": ["name", ...]} (feature_views optional: every online
// view). POST /materialize-incremental: the same without start_ts.
struct MaterializeBody {
  std::optional<TimestampMicros> start;  // set for /materialize only
  TimestampMicros end = 0;
  std::vector<std::string> feature_views;
};
Result<MaterializeBody> ParseMaterializeRequest(std::string_view body, bool incremental,
                                                ParseBudget* budget = nullptr);

// POST /delete-from-online-store: {"entities": {"join_key": [v, ...], ...},
// "feature_views": ["name", ...]} (feature_views optional: every online view
// with exactly these join keys). Values as in get-online-features.
struct DeleteBody {
  EntityColumns entities;
  std::vector<std::string> feature_views;
};
Result<DeleteBody> ParseDeleteRequest(std::string_view body, ParseBudget* budget = nullptr);

// The rows of the largest column of a df (the size the server limits).
size_t RowCount(const ColumnTable& df);

}  // namespace larder::server
