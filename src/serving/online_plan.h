// The plan of an online read: which views to read, with which join keys, and
// which of their features go to which output column. Built once per request
// shape (a feature service, or a list of feature references) from the
// registered definitions, then reused for every request of that shape.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "larder/online_store.h"
#include "larder/repo.h"
#include "larder/status.h"
#include "larder/types.h"

namespace larder::serving {

struct OnlineViewPlan {
  OnlineView view;                     // the view's name and schema
  std::vector<std::string> join_keys;  // of the view's entities, in their order
  std::vector<ValueType> key_types;    // the entity value type of each join key
  int64_t ttl_micros = 0;              // 0: values never expire
};

struct OnlineOutputPlan {
  std::string name;  // "feature", or "view__feature" with full feature names
  size_t view = 0;     // into OnlinePlan::views
  size_t feature = 0;  // into that view's features
};

struct OnlinePlan {
  std::vector<OnlineViewPlan> views;      // each view once, in first-use order
  std::vector<OnlineOutputPlan> outputs;  // request order
};

// Resolves exactly one of `features` ("view:feature") and `feature_service`
// against `repo`. Errors: InvalidArgument for a bad reference or for both or
// neither given; NotFound for an unknown view, feature, service or entity.
Result<OnlinePlan> PlanOnlineRead(const FeatureRepo& repo,
                                  const std::vector<std::string>& features,
                                  const std::string& feature_service, bool full_feature_names);

}  // namespace larder::serving
