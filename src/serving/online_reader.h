// Online reads: an OnlinePlan executed against an OnlineStore for a batch of
// entity rows.
//
// One OnlineStore::MultiGetViews call per request, covering every planned
// view; each view reads the entity keys made of its own join keys.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "aggregation/value_cache.h"
#include "larder/online_features.h"
#include "larder/online_store.h"
#include "larder/repo.h"
#include "larder/status.h"
#include "serving/online_plan.h"

namespace larder::serving {

// Reads `plan`'s features for `entity_rows` (join key -> one value per row)
// from `store`, and returns one column per given join key of the project
// (sorted by name; other given columns are dropped, as Feast does) and per
// planned output. Join key values come back in their entity's dtype: String
// values for an integer join key are parsed (so that CLI and JSON text work),
// Int32 values for Int64 keys are widened; other type mismatches are
// InvalidArgument naming the key when a requested view needs it, and echoed
// as given otherwise (no view reads them).
// Errors: InvalidArgument for unequal entity columns, a null key value or a
// missing join key (naming it and the view that needs it); the store's errors.
// Aggregation views' values come from `window_values` when it holds them
// (aggregation/value_cache.h; it must serve only `store`), and are added
// to it otherwise.
Result<OnlineFeaturesResponse> ReadOnlineFeatures(
    const OnlinePlan& plan, OnlineStore& store,
    const std::map<std::string, std::vector<Value>>& entity_rows,
    const OnlineReadOptions& options, aggregation::WindowValueCache* window_values = nullptr);

// The value of join key `key` (of entity type `type`) as given, converted as
// ReadOnlineFeatures converts entity values; InvalidArgument naming the key
// otherwise (a null, a non-integer string, another type).
Result<Value> JoinKeyValue(const Value& given, const ValueType& type, const std::string& key);

// PlanOnlineRead + ReadOnlineFeatures, for one-off reads.
Result<OnlineFeaturesResponse> GetOnlineFeatures(const FeatureRepo& repo, OnlineStore& store,
                                                 const OnlineFeaturesRequest& request,
                                                 const OnlineReadOptions& options);

}  // namespace larder::serving
