// OnlineView, and the registry that opens backends by type name.
#include "larder/online_store.h"

#include <algorithm>
#include <map>
#include <mutex>

#include "online/dynamodb/dynamodb_online_store.h"
#include "online/record_codec.h"
#include "online/redis/redis_online_store.h"
#include "online/rocksdb/rocksdb_online_store.h"

namespace larder {
namespace {

struct BuiltinBackend {
  const char* type;
  Result<std::unique_ptr<OnlineStore>> (*open)(const OnlineStoreOptions&);
  bool holds_states;  // OnlineStore::SupportsStates() of its stores
};

// The built-in backends, declared once. Listed here (not self-registered from
// their own files) so that linking liblarder statically cannot drop them.
constexpr BuiltinBackend kBuiltinBackends[] = {
    {"dynamodb", &online::OpenDynamoDbOnlineStore, true},
    {"redis", &online::OpenRedisOnlineStore, true},
    {"rocksdb", &online::OpenRocksDbOnlineStore, true},
};

struct Registry {
  std::mutex mu;
  std::map<std::string, OnlineStoreFactory, std::less<>> factories;
};

Registry& GetRegistry() {
  static Registry* registry = [] {
    auto* r = new Registry;
    for (const BuiltinBackend& b : kBuiltinBackends) r->factories.emplace(b.type, b.open);
    return r;
  }();
  return *registry;
}

}  // namespace

OnlineView::OnlineView(std::string name, std::vector<OnlineFeature> features)
    : name_(std::move(name)),
      features_(std::move(features)),
      fingerprint_(online::SchemaFingerprint(features_)) {}

OnlineView OnlineView::FromFeatureView(const FeatureView& view) {
  std::vector<OnlineFeature> features;
  features.reserve(view.schema.size());
  for (const Field& f : view.schema) features.push_back({f.name, f.dtype});
  return OnlineView(view.name, std::move(features));
}

Result<std::unique_ptr<OnlineStore>> OnlineStore::Open(const OnlineStoreOptions& options) {
  if (options.project.empty()) {
    return Status::InvalidArgument("online store: the project name is empty");
  }
  OnlineStoreFactory factory;
  {
    Registry& r = GetRegistry();
    std::lock_guard lock(r.mu);
    auto it = r.factories.find(options.config.type);
    if (it != r.factories.end()) factory = it->second;
  }
  if (!factory) {
    std::string known;
    for (const std::string& t : OnlineStoreTypes()) known += (known.empty() ? "" : ", ") + t;
    return Status::InvalidArgument("online_store.type: unknown online store type '" +
                                   options.config.type + "' (known: " + known + ")");
  }
  return factory(options);
}

Status RegisterOnlineStoreType(std::string type, OnlineStoreFactory factory) {
  Registry& r = GetRegistry();
  std::lock_guard lock(r.mu);
  if (r.factories.count(type) != 0) {
    return Status::AlreadyExists("online store type '" + type + "' is already registered");
  }
  r.factories.emplace(std::move(type), std::move(factory));
  return Status::OK();
}

std::vector<std::string> OnlineStoreTypes() {
  Registry& r = GetRegistry();
  std::lock_guard lock(r.mu);
  std::vector<std::string> out;
  for (const auto& [type, factory] : r.factories) out.push_back(type);
  return out;  // std::map keeps them sorted
}

}  // namespace larder

namespace larder {
namespace {

Status NoStates(std::string_view type) {
  return Status::InvalidArgument("the " + std::string(type) +
                                 " online store does not hold aggregation views yet; use "
                                 "online_store type rocksdb or redis for views with "
                                 "aggregations");
}

}  // namespace

bool OnlineStoreTypeHoldsStates(std::string_view type) {
  for (const BuiltinBackend& b : kBuiltinBackends) {
    if (b.type == type) return b.holds_states;
  }
  return false;
}

Status OnlineStore::UpdateStates(std::string_view, std::span<const EntityKey>,
                                 const OnlineStateUpdate&, const OnlineWriteOptions&) {
  return NoStates(type());
}

Status OnlineStore::VisitStates(std::string_view, std::span<const EntityKey>,
                                const OnlineStateVisit&) {
  return NoStates(type());
}

}  // namespace larder
