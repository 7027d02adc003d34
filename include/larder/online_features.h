// Online reads: the request, options and response of
// FeatureStore::GetOnlineFeatures (`larder online`), shaped like Feast's
// get-online-features.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "larder/types.h"
#include "larder/value.h"

namespace larder {

// The feature values of GetOnlineFeatures, as in Feast's FieldStatus.
enum class FeatureStatus {
  kPresent,
  kNullValue,
  kNotFound,
  kOutsideMaxAge,
};
// "PRESENT", "NULL_VALUE", "NOT_FOUND", "OUTSIDE_MAX_AGE".
const char* FeatureStatusName(FeatureStatus status);

struct OnlineFeaturesRequest {
  // Either "view:feature" references or a feature service name, not both.
  std::vector<std::string> features;
  std::string feature_service;
  // The entity rows, column-wise as in Feast: join key -> one value per row.
  // REQUIRES: every column has the same length. A join key that a requested
  // view needs and that is missing is InvalidArgument naming the key.
  std::map<std::string, std::vector<Value>> entity_rows;
  // Name features "view__feature" instead of "feature". Default: false.
  bool full_feature_names = false;
};

struct OnlineReadOptions {
  // "Now", for OUTSIDE_MAX_AGE (event_timestamp < now - ttl, when ttl > 0).
  // Default: empty = the system clock.
  std::function<TimestampMicros()> clock;
};

// One output column: a join key (every value PRESENT, timestamp 0) or a
// feature. values/statuses/event_timestamps have one entry per entity row.
struct OnlineFeatureColumn {
  std::string name;
  std::vector<Value> values;
  std::vector<FeatureStatus> statuses;
  std::vector<TimestampMicros> event_timestamps;
};

struct OnlineFeaturesResponse {
  // The request's join keys first (sorted by name), then the features in
  // request order.
  std::vector<OnlineFeatureColumn> columns;
  // Renders Feast's get-online-features JSON:
  // {"metadata":{"feature_names":[...]},"results":[{"values":[...],
  //  "statuses":[...],"event_timestamps":[...]},...]}.
  std::string ToJson() const;
};

}  // namespace larder
