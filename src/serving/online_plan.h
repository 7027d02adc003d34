// The plan of an online read: which views to read, with which join keys, and
// which of their features go to which output column. Built once per request
// shape (a feature service, or a list of feature references) from the
// registered definitions, then reused for every request of that shape.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "aggregation/tile_layout.h"
#include "larder/online_store.h"
#include "larder/repo.h"
#include "larder/status.h"
#include "larder/types.h"

namespace larder::serving {

// The most feature references one request may list (`features`). Since each
// may appear once, this also bounds the unique features of a request.
inline constexpr size_t kDefaultMaxFeatures = 10'000;

struct OnlineViewPlan {
  OnlineView view;                     // the view's name and schema (plain features)
  std::vector<std::string> join_keys;  // of the view's entities, in their order
  std::vector<ValueType> key_types;    // the entity value type of each join key
  int64_t ttl_micros = 0;              // 0: values never expire
  // The view's aggregations, when it has any; null otherwise.
  std::shared_ptr<const aggregation::TileLayout> tiles;
  // Whether the request reads a plain feature / an aggregation of the view.
  bool reads_records = false;
  bool reads_aggregations = false;
};

struct OnlineOutputPlan {
  std::string name;  // "feature", or "view__feature" with full feature names
  size_t view = 0;     // into OnlinePlan::views
  // Into that view's plain features, or, with `aggregation`, into its
  // tiles->aggregations().
  size_t feature = 0;
  bool aggregation = false;
};

// A join key of the project's entities, as echoed in a response.
struct ProjectJoinKey {
  std::string name;
  // The dtype of the entities that declare it; nullopt when two entities
  // declare it with different dtypes (the value is then echoed as given).
  std::optional<ValueType> type;
};

struct OnlinePlan {
  std::vector<OnlineViewPlan> views;      // each view once, in first-use order
  std::vector<OnlineOutputPlan> outputs;  // request order
  // Every join key of the project, sorted by name. Request columns named by
  // none of them are not echoed (Feast drops them too).
  std::vector<ProjectJoinKey> project_keys;

  // The plan's approximate heap and object size, for bounding caches.
  size_t EstimatedBytes() const;
};

// Checks a request's `features` before anything is built from it: at most
// `max_features` references, none listed twice (Feast refuses duplicates as
// a name collision). Errors: InvalidArgument naming `features` or
// `features[i]`.
Status CheckFeatureList(const std::vector<std::string>& features, size_t max_features);

// The first half of CheckFeatureList: at most `max_features` references.
Status CheckFeatureCount(size_t count, size_t max_features);

// Resolves exactly one of `features` ("view:feature") and `feature_service`
// against `repo`. Errors: those of CheckFeatureList; InvalidArgument for a
// bad reference, for both or neither given, or for two outputs with the same
// name (a feature name in two views, without full feature names); NotFound
// for an unknown view, feature, service or entity.
Result<OnlinePlan> PlanOnlineRead(const FeatureRepo& repo,
                                  const std::vector<std::string>& features,
                                  const std::string& feature_service, bool full_feature_names,
                                  size_t max_features = kDefaultMaxFeatures);

}  // namespace larder::serving
