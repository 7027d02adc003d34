// Online reads: the implementation behind FeatureStore::GetOnlineFeatures
// (request and response: larder/online_features.h).
//
// One OnlineStore::MultiGetViews call per request, covering every requested
// view; each view reads the entity keys made of its own join keys.
#pragma once

#include "larder/online_features.h"
#include "larder/online_store.h"
#include "larder/repo.h"
#include "larder/status.h"

namespace larder::serving {

// Resolves the request's features against `repo` (the registered
// definitions), reads them from `store` and returns one column per join key
// and per feature. Entity values given as String for an integer join key are
// parsed (so that CLI text works); other type mismatches are InvalidArgument.
// Errors: InvalidArgument for a bad reference, features and a service both or
// neither given, unequal entity columns, or a missing join key (naming it);
// NotFound for an unknown view, feature or service; the store's errors.
Result<OnlineFeaturesResponse> GetOnlineFeatures(const FeatureRepo& repo, OnlineStore& store,
                                                 const OnlineFeaturesRequest& request,
                                                 const OnlineReadOptions& options);

}  // namespace larder::serving
