#include "serving/online_service.h"

#include "serving/online_reader.h"

namespace larder::serving {
namespace {

// The cache key of a request's shape.
std::string ShapeKey(const OnlineFeaturesRequest& request) {
  std::string key = request.full_feature_names ? "F" : "f";
  if (!request.feature_service.empty()) {
    key += "s:";
    key += request.feature_service;
  }
  for (const std::string& ref : request.features) {
    key += '\n';
    key += ref;
  }
  return key;
}

}  // namespace

OnlineService::OnlineService(OnlineStore* store, OnlineServiceOptions options)
    : store_(store), options_(std::move(options)) {}

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
  LARDER_ASSIGN_OR_RETURN(std::shared_ptr<Snapshot> snapshot, Current());
  const std::string key = ShapeKey(request);
  {
    std::lock_guard lock(snapshot->mu);
    auto it = snapshot->plans.find(key);
    if (it != snapshot->plans.end()) return it->second;
  }
  // Planning reads only the snapshot's immutable repo: no lock needed.
  LARDER_ASSIGN_OR_RETURN(OnlinePlan plan,
                          PlanOnlineRead(snapshot->repo, request.features,
                                         request.feature_service, request.full_feature_names));
  auto shared = std::make_shared<const OnlinePlan>(std::move(plan));
  std::lock_guard lock(snapshot->mu);
  if (snapshot->plans.size() >= options_.max_plans) snapshot->plans.clear();
  snapshot->plans.emplace(key, shared);
  return shared;
}

Result<OnlineFeaturesResponse> OnlineService::GetOnlineFeatures(
    const OnlineFeaturesRequest& request, const OnlineReadOptions& options) {
  LARDER_ASSIGN_OR_RETURN(std::shared_ptr<const OnlinePlan> plan, Plan(request));
  return ReadOnlineFeatures(*plan, *store_, request.entity_rows, options);
}

}  // namespace larder::serving
