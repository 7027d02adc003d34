#include "registry/plan.h"

#include <iterator>
#include <utility>
#include <vector>

#include "registry/definition_json.h"

namespace larder {
namespace {

template <typename T>
Status AddAll(ObjectKind kind, const std::vector<T>& objects,
              DefinitionMap* out) {
  for (const T& object : objects) {
    std::string what = std::string(ObjectKindName(kind)) + " " + object.name;
    LARDER_ASSIGN_OR_RETURN(std::string text,
                            CanonicalJsonText(ToJson(object), what));
    auto [it, inserted] =
        out->emplace(ObjectKey{kind, object.name}, std::move(text));
    if (!inserted) {
      return Status::InvalidArgument(what + " is defined more than once");
    }
  }
  return Status::OK();
}

}  // namespace

std::string ObjectChange::Describe() const {
  std::string_view verb = "Created";
  switch (type) {
    case ChangeType::kCreate: verb = "Created"; break;
    case ChangeType::kUpdate: verb = "Updated"; break;
    case ChangeType::kDelete: verb = "Deleted"; break;
  }
  std::string out(verb);
  out += ' ';
  out += ObjectKindName(kind);
  out += ' ';
  out += name;
  return out;
}

Result<DefinitionMap> RepoDefinitions(const FeatureRepo& repo) {
  DefinitionMap out;
  LARDER_RETURN_IF_ERROR(AddAll(ObjectKind::kEntity, repo.entities, &out));
  LARDER_RETURN_IF_ERROR(
      AddAll(ObjectKind::kDataSource, repo.data_sources, &out));
  LARDER_RETURN_IF_ERROR(AddAll(ObjectKind::kSqlModel, repo.models, &out));
  LARDER_RETURN_IF_ERROR(
      AddAll(ObjectKind::kFeatureView, repo.feature_views, &out));
  LARDER_RETURN_IF_ERROR(
      AddAll(ObjectKind::kFeatureService, repo.feature_services, &out));
  return out;
}

RegistryPlan DiffDefinitions(const DefinitionMap& stored,
                             const DefinitionMap& desired) {
  // ObjectKey orders by kind, then name, which is exactly the order of
  // creates and updates; deletes are collected per kind and emitted with
  // the kinds reversed.
  RegistryPlan plan;
  for (const auto& [key, text] : desired) {
    auto it = stored.find(key);
    if (it == stored.end()) {
      plan.changes.push_back({ChangeType::kCreate, key.kind, key.name});
    } else if (it->second != text) {
      plan.changes.push_back({ChangeType::kUpdate, key.kind, key.name});
    }
  }
  for (auto kind = std::rbegin(kAllObjectKinds);
       kind != std::rend(kAllObjectKinds); ++kind) {
    for (auto it = stored.lower_bound(ObjectKey{*kind, ""});
         it != stored.end() && it->first.kind == *kind; ++it) {
      if (desired.count(it->first) == 0) {
        plan.changes.push_back({ChangeType::kDelete, *kind, it->first.name});
      }
    }
  }
  return plan;
}

}  // namespace larder
