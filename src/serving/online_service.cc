#include "serving/online_service.h"

#include "serving/online_reader.h"

namespace larder::serving {
namespace {

// The cache key of a request's shape. Its references are distinct
// (CheckFeatureList), so equal keys mean the same features in the same order.
std::string ShapeKey(const OnlineFeaturesRequest& request) {
  std::string key = request.full_feature_names ? "F" : "f";
  if (!request.feature_service.empty()) {
    key += "s:";
    key += request.feature_service;
  }
  for (const std::string& ref : request.features) {
    key += std::to_string(ref.size());  // length-prefixed: no separator can be forged
    key += ':';
    key += ref;
  }
  return key;
}

}  // namespace

OnlineService::OnlineService(OnlineStore* store, OnlineServiceOptions options)
    : store_(store),
      options_(std::move(options)),
      window_values_(options_.window_value_cache_bytes) {}

void OnlineService::Invalidate() {
  std::lock_guard lock(mu_);
  stale_ = true;
}

int64_t OnlineService::ServedVersion() {
  std::lock_guard lock(mu_);
  return snapshot_ == nullptr ? 0 : snapshot_->version;
}

Result<std::shared_ptr<OnlineService::Snapshot>> OnlineService::Current() {
  std::lock_guard lock(mu_);
  const auto now = std::chrono::steady_clock::now();
  if (snapshot_ != nullptr && !stale_ && now - checked_ < options_.refresh_interval) {
    return snapshot_;
  }
  Result<int64_t> version = options_.version();
  if (!version.ok()) {
    if (snapshot_ != nullptr && !stale_) {
      checked_ = now;  // keep serving; check again next interval
      return snapshot_;
    }
    return version.status();
  }
  if (snapshot_ == nullptr || stale_ || *version != snapshot_->version) {
    LARDER_ASSIGN_OR_RETURN(FeatureRepo repo, options_.load());
    auto fresh = std::make_shared<Snapshot>();
    fresh->version = *version;
    fresh->repo = std::move(repo);
    snapshot_ = std::move(fresh);
    stale_ = false;
  }
  checked_ = now;
  return snapshot_;
}

Result<std::shared_ptr<const OnlinePlan>> OnlineService::Plan(
    const OnlineFeaturesRequest& request) {
  // Before the key is built: a key is as long as the request's list. The
  // rest of CheckFeatureList runs when a list is planned: only lists that
  // passed it are cached, so a cache hit needs no second look.
  LARDER_RETURN_IF_ERROR(CheckFeatureCount(request.features.size(), options_.max_features));
  LARDER_ASSIGN_OR_RETURN(std::shared_ptr<Snapshot> snapshot, Current());
  std::string key = ShapeKey(request);
  {
    std::lock_guard lock(snapshot->mu);
    PlanCache& cache = snapshot->cache;
    auto it = cache.plans.find(key);
    if (it != cache.plans.end()) {
      cache.uses.splice(cache.uses.begin(), cache.uses, it->second.use);
      return it->second.plan;
    }
  }
  // Planning reads only the snapshot's immutable repo: no lock needed.
  LARDER_ASSIGN_OR_RETURN(OnlinePlan plan,
                          PlanOnlineRead(snapshot->repo, request.features, request.feature_service,
                                         request.full_feature_names, options_.max_features));
  auto shared = std::make_shared<const OnlinePlan>(std::move(plan));
  // The key is held twice (map and use list), with the nodes around it.
  const size_t bytes = shared->EstimatedBytes() + 2 * (sizeof(std::string) + key.capacity()) +
                       sizeof(CachedPlan) + 4 * sizeof(void*);
  if (bytes > options_.max_plan_bytes || options_.max_plans == 0) return shared;
  std::lock_guard lock(snapshot->mu);
  PlanCache& cache = snapshot->cache;
  if (auto it = cache.plans.find(key); it != cache.plans.end()) return it->second.plan;
  while (!cache.uses.empty() && (cache.plans.size() >= options_.max_plans ||
                                 cache.bytes + bytes > options_.max_plan_bytes)) {
    auto oldest = cache.plans.find(cache.uses.back());
    cache.bytes -= oldest->second.bytes;
    cache.plans.erase(oldest);
    cache.uses.pop_back();
  }
  cache.uses.push_front(key);
  cache.plans.emplace(std::move(key), CachedPlan{shared, bytes, cache.uses.begin()});
  cache.bytes += bytes;
  return shared;
}

OnlineService::CacheStats OnlineService::PlanCacheStats() {
  std::shared_ptr<Snapshot> snapshot;
  {
    std::lock_guard lock(mu_);
    snapshot = snapshot_;
  }
  if (snapshot == nullptr) return {};
  std::lock_guard lock(snapshot->mu);
  return {snapshot->cache.plans.size(), snapshot->cache.bytes};
}

Result<OnlineFeaturesResponse> OnlineService::GetOnlineFeatures(
    const OnlineFeaturesRequest& request, const OnlineReadOptions& options) {
  LARDER_ASSIGN_OR_RETURN(std::shared_ptr<const OnlinePlan> plan, Plan(request));
  return ReadOnlineFeatures(*plan, *store_, request.entity_rows, options, &window_values_);
}

}  // namespace larder::serving
