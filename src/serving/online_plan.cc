#include "serving/online_plan.h"

#include <algorithm>
#include <string_view>
#include <unordered_map>

#include "repo/feature_refs.h"

namespace larder::serving {
namespace {

// The plan of `view`: its join keys and their entity types.
Result<OnlineViewPlan> PlanView(const FeatureRepo& repo, const FeatureView& view) {
  LARDER_ASSIGN_OR_RETURN(repo::JoinKeys keys, repo::ViewJoinKeys(repo, view));
  return OnlineViewPlan{OnlineView::FromFeatureView(view), std::move(keys.names),
                        std::move(keys.types), view.ttl.micros};
}

// Every join key of the repo's entities, sorted by name, with the dtype they
// share (nullopt when entities disagree on it).
std::vector<ProjectJoinKey> ProjectKeys(const FeatureRepo& repo) {
  std::vector<ProjectJoinKey> keys;
  for (const Entity& entity : repo.entities) {
    for (const std::string& key : entity.join_keys) {
      auto it = std::find_if(keys.begin(), keys.end(),
                             [&](const ProjectJoinKey& k) { return k.name == key; });
      if (it == keys.end()) {
        keys.push_back({key, entity.value_type});
      } else if (it->type != entity.value_type) {
        it->type.reset();
      }
    }
  }
  std::sort(keys.begin(), keys.end(),
            [](const ProjectJoinKey& a, const ProjectJoinKey& b) { return a.name < b.name; });
  return keys;
}

size_t StringBytes(const std::string& s) { return sizeof(std::string) + s.capacity(); }

}  // namespace

size_t OnlinePlan::EstimatedBytes() const {
  size_t bytes = sizeof(OnlinePlan);
  for (const OnlineViewPlan& v : views) {
    bytes += sizeof(OnlineViewPlan) + v.view.name().capacity();
    for (const OnlineFeature& f : v.view.features()) bytes += sizeof(f) + f.name.capacity();
    for (const std::string& k : v.join_keys) bytes += StringBytes(k);
    bytes += v.key_types.capacity() * sizeof(ValueType);
  }
  for (const OnlineOutputPlan& o : outputs) bytes += sizeof(o) + o.name.capacity();
  for (const ProjectJoinKey& k : project_keys) bytes += sizeof(k) + k.name.capacity();
  return bytes;
}

Status CheckFeatureCount(size_t count, size_t max_features) {
  if (count <= max_features) return Status::OK();
  return Status::InvalidArgument("features: " + std::to_string(count) +
                                 " references, more than the limit of " +
                                 std::to_string(max_features));
}

Status CheckFeatureList(const std::vector<std::string>& features, size_t max_features) {
  LARDER_RETURN_IF_ERROR(CheckFeatureCount(features.size(), max_features));
  std::unordered_map<std::string_view, size_t> seen;
  seen.reserve(features.size());
  for (size_t i = 0; i < features.size(); ++i) {
    auto [it, inserted] = seen.emplace(features[i], i);
    if (!inserted) {
      return Status::InvalidArgument("features[" + std::to_string(i) + "]: '" + features[i] +
                                     "' is already requested at features[" +
                                     std::to_string(it->second) +
                                     "]; request each feature once");
    }
  }
  return Status::OK();
}

Result<OnlinePlan> PlanOnlineRead(const FeatureRepo& repo,
                                  const std::vector<std::string>& features,
                                  const std::string& feature_service, bool full_feature_names,
                                  size_t max_features) {
  LARDER_RETURN_IF_ERROR(CheckFeatureList(features, max_features));
  LARDER_ASSIGN_OR_RETURN(std::vector<repo::FeatureRef> refs,
                          repo::ResolveFeatureRefs(repo, features, feature_service));
  OnlinePlan plan;
  std::vector<const FeatureView*> planned;  // parallel to plan.views
  std::unordered_map<std::string, size_t> outputs;  // name -> index into refs
  outputs.reserve(refs.size());
  for (size_t i = 0; i < refs.size(); ++i) {
    const repo::FeatureRef& ref = refs[i];
    auto it = std::find(planned.begin(), planned.end(), ref.view);
    if (it == planned.end()) {
      LARDER_ASSIGN_OR_RETURN(OnlineViewPlan view, PlanView(repo, *ref.view));
      plan.views.push_back(std::move(view));
      planned.push_back(ref.view);
      it = planned.end() - 1;
    }
    if (ref.aggregation() != nullptr) {
      return Status::InvalidArgument("feature '" + ref.view->name + ":" + ref.name() +
                                     "' is a window aggregation, which online reads do not "
                                     "compute yet");
    }
    const std::string& feature = ref.view->schema[ref.feature_index].name;
    std::string name = full_feature_names ? ref.view->name + "__" + feature : feature;
    auto [named, inserted] = outputs.emplace(name, i);
    if (!inserted) {
      const repo::FeatureRef& other = refs[named->second];
      return Status::InvalidArgument(
          (feature_service.empty() ? "features" : "feature service '" + feature_service + "'") +
          ": '" + other.view->name + ":" + feature + "' and '" + ref.view->name + ":" + feature +
          "' would both be named `" + name +
          "`; set full_feature_names, or request one of them");
    }
    plan.outputs.push_back(
        {std::move(name), static_cast<size_t>(it - planned.begin()), ref.feature_index});
  }
  plan.project_keys = ProjectKeys(repo);
  return plan;
}

}  // namespace larder::serving
