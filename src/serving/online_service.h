// OnlineService: GetOnlineFeatures for a long-lived process (the feature
// server, an SDK session, a benchmark), without touching the registry on
// every request.
//
// It keeps a snapshot of the registered definitions and, per snapshot, the
// OnlinePlans of recent request shapes (a feature service, or a list of
// references, with or without full feature names), bounded in entries and in
// estimated bytes, least recently used first out. A request then costs the
// store's batched read plus assembling the response.
//
// Request limits: `features` may list at most `max_features` references, each
// once (CheckFeatureList); larger or repeating lists are InvalidArgument
// before any plan is built or cached, whatever the front end (HTTP, CLI, SDK).
//
// Freshness: at most once per `refresh_interval` a request asks the registry
// for the project's version (one small query), and reloads the definitions
// only when it changed. Invalidate() forces the next request to reload (the
// owner calls it after its own apply). If the version check fails while a
// snapshot exists, the old snapshot keeps serving and the check is retried
// on the next interval; with no snapshot the error is returned.
//
// Thread safety: GetOnlineFeatures and Invalidate may be called from many
// threads at once, as long as the store is thread-safe (every OnlineStore
// is) and the version/load functions may be called from any thread (they are
// called under the service's lock, one at a time).
#pragma once

#include <chrono>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "aggregation/value_cache.h"
#include "larder/online_features.h"
#include "larder/online_store.h"
#include "larder/repo.h"
#include "larder/status.h"
#include "serving/online_plan.h"

namespace larder::serving {

struct OnlineServiceOptions {
  // The project's registry version (larder::Registry::Version).
  std::function<Result<int64_t>()> version;
  // The project's registered definitions (larder::Registry::Load).
  std::function<Result<FeatureRepo>()> load;
  // How long a snapshot is served before the version is checked again.
  // Default: 1 s.
  std::chrono::milliseconds refresh_interval{1000};
  // Plans kept per snapshot. Default: 1024.
  size_t max_plans = 1024;
  // The plans' estimated size (OnlinePlan::EstimatedBytes plus the cache
  // key) kept per snapshot; a plan larger than this is used once and not
  // kept. Default: 32 MiB.
  size_t max_plan_bytes = size_t{32} << 20;
  // The most references a request's `features` may list. Default: 10,000.
  size_t max_features = kDefaultMaxFeatures;
  // Bytes of aggregation window values kept for reads of unchanged states
  // within an interval (aggregation/value_cache.h); 0 evaluates every read.
  // Default: 64 MiB.
  size_t window_value_cache_bytes = size_t{64} << 20;
};

class OnlineService {
 public:
  // REQUIRES: store outlives the service; options.version and options.load set.
  OnlineService(OnlineStore* store, OnlineServiceOptions options);

  // As FeatureStore::GetOnlineFeatures (larder/online_features.h).
  Result<OnlineFeaturesResponse> GetOnlineFeatures(const OnlineFeaturesRequest& request,
                                                   const OnlineReadOptions& options = {});

  // The plan serving `request` (built on first use of its shape).
  Result<std::shared_ptr<const OnlinePlan>> Plan(const OnlineFeaturesRequest& request);

  // The next request reloads the definitions.
  void Invalidate();

  // The registry version being served; 0 before the first request.
  int64_t ServedVersion();

  // The plans cached for the served snapshot: how many, and their estimated
  // bytes (always <= max_plan_bytes).
  struct CacheStats {
    size_t plans = 0;
    size_t bytes = 0;
  };
  CacheStats PlanCacheStats();

 private:
  // A least-recently-used cache of plans by request shape.
  struct CachedPlan {
    std::shared_ptr<const OnlinePlan> plan;
    size_t bytes = 0;
    std::list<std::string>::iterator use;  // into PlanCache::uses
  };
  struct PlanCache {
    std::unordered_map<std::string, CachedPlan> plans;
    std::list<std::string> uses;  // keys, most recently used first
    size_t bytes = 0;
  };
  struct Snapshot {
    int64_t version = 0;
    FeatureRepo repo;
    std::mutex mu;  // guards cache
    PlanCache cache;
  };
  Result<std::shared_ptr<Snapshot>> Current();

  OnlineStore* const store_;
  const OnlineServiceOptions options_;
  aggregation::WindowValueCache window_values_;  // of store_
  std::mutex mu_;  // guards the three below, and serialises reloads
  std::shared_ptr<Snapshot> snapshot_;
  std::chrono::steady_clock::time_point checked_{};
  bool stale_ = true;
};

}  // namespace larder::serving
