// The feature server's endpoints, in Feast's feature-server shapes, as an
// HttpHandler over an OnlineService:
//
//   GET  /health                 {"status":"ok"}
//   POST /get-online-features    {"features": ["view:feature", ...] | "feature_service": "name",
//                                 "entities": {"join_key": [v1, v2, ...], ...},
//                                 "full_feature_names": false}
//        -> {"metadata": {"feature_names": [...]}, "results": [{"values": [...],
//            "statuses": [...], "event_timestamps": [...]}, ...]}
//
// Bad requests get 4xx with {"error": "..."} naming the bad field:
// 400 malformed JSON, wrong types, missing join keys, unequal columns;
// 404 unknown path, view, feature or service; 405 a known path with the
// wrong method; 413 too many entity rows.
#pragma once

#include <cstddef>

#include "serving/online_service.h"
#include "server/http_server.h"

namespace larder::server {

struct FeatureEndpointOptions {
  // Most entity rows in one get-online-features request. Default: 10,000.
  size_t max_entity_rows = 10'000;
};

// Routes requests to the endpoints. REQUIRES: `service` outlives the handler.
// Thread-safe (as the service is).
HttpHandler FeatureEndpoints(serving::OnlineService* service, FeatureEndpointOptions options);

// The get-online-features body as a request; InvalidArgument naming the
// field ("entities.user_id[2]: ...") when it does not parse. Exposed for
// tests and fuzzing.
Result<OnlineFeaturesRequest> ParseOnlineFeaturesRequest(std::string_view body);

}  // namespace larder::server
