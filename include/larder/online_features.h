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
  // Each reference at most once, and at most 10,000 of them by default
  // (OnlineServiceOptions::max_features); else InvalidArgument naming the
  // `features` entry. Two features that would give the same output name (one
  // feature name in two views, without full_feature_names) are
  // InvalidArgument too, as in Feast.
  std::vector<std::string> features;
  std::string feature_service;
  // The entity rows, column-wise as in Feast: join key -> one value per row.
  // REQUIRES: every column has the same length. A join key that a requested
  // view needs and that is missing is InvalidArgument naming the key. A
  // column that is no join key of the project is ignored (as in Feast).
  std::map<std::string, std::vector<Value>> entity_rows;
  // Name features "view__feature" instead of "feature". Default: false.
  bool full_feature_names = false;
};

struct OnlineReadOptions {
  // "Now", for OUTSIDE_MAX_AGE (event_timestamp < now - ttl, when ttl > 0).
  // Default: empty = the system clock.
  std::function<TimestampMicros()> clock;
};

// One output column: a join key (every value PRESENT, timestamp 0, in its
// entity's dtype) or a feature. values/statuses/event_timestamps have one
// entry per entity row.
struct OnlineFeatureColumn {
  std::string name;
  std::vector<Value> values;
  std::vector<FeatureStatus> statuses;
  std::vector<TimestampMicros> event_timestamps;
};

struct OnlineFeaturesResponse {
  // The request's columns that are join keys of the project first (sorted
  // by name), then the features in request order.
  std::vector<OnlineFeatureColumn> columns;
  // Renders Feast's get-online-features JSON:
  // {"metadata":{"feature_names":[...]},"results":[{"values":[...],
  //  "statuses":[...],"event_timestamps":[...]},...]}. Floats that are NaN
  // or infinite are the strings "NaN", "Infinity" and "-Infinity", as Feast
  // sends them; -0.0 stays -0.0.
  std::string ToJson() const;
};

}  // namespace larder
