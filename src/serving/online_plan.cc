#include "serving/online_plan.h"

#include <algorithm>

#include "repo/feature_refs.h"

namespace larder::serving {
namespace {

// The plan of `view`: its join keys and their entity types.
Result<OnlineViewPlan> PlanView(const FeatureRepo& repo, const FeatureView& view) {
  LARDER_ASSIGN_OR_RETURN(repo::JoinKeys keys, repo::ViewJoinKeys(repo, view));
  return OnlineViewPlan{OnlineView::FromFeatureView(view), std::move(keys.names),
                        std::move(keys.types), view.ttl.micros};
}

}  // namespace

Result<OnlinePlan> PlanOnlineRead(const FeatureRepo& repo,
                                  const std::vector<std::string>& features,
                                  const std::string& feature_service, bool full_feature_names) {
  LARDER_ASSIGN_OR_RETURN(std::vector<repo::FeatureRef> refs,
                          repo::ResolveFeatureRefs(repo, features, feature_service));
  OnlinePlan plan;
  std::vector<const FeatureView*> planned;  // parallel to plan.views
  for (const repo::FeatureRef& ref : refs) {
    auto it = std::find(planned.begin(), planned.end(), ref.view);
    if (it == planned.end()) {
      LARDER_ASSIGN_OR_RETURN(OnlineViewPlan view, PlanView(repo, *ref.view));
      plan.views.push_back(std::move(view));
      planned.push_back(ref.view);
      it = planned.end() - 1;
    }
    const std::string& feature = ref.view->schema[ref.feature_index].name;
    plan.outputs.push_back(
        {full_feature_names ? ref.view->name + "__" + feature : feature,
         static_cast<size_t>(it - planned.begin()), ref.feature_index});
  }
  return plan;
}

}  // namespace larder::serving
