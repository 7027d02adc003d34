#include "registry/plan.h"

#include <iterator>
#include <map>
#include <set>
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

using nlohmann::json;

// A scalar member's value for a detail line, or "" when it is not short
// enough to show (lists, objects, long text).
std::string Shown(const json* value) {
  if (value == nullptr) return "(none)";
  std::string text;
  if (value->is_string()) {
    text = value->get_ref<const std::string&>();
  } else if (value->is_boolean() || value->is_number()) {
    text = value->dump();
  }
  return text.size() <= 40 && text.find('\n') == std::string::npos ? text : "";
}

const json* Member(const json& object, const std::string& key) {
  auto it = object.find(key);
  return it == object.end() ? nullptr : &*it;
}

// "key old -> new" for each member that differs between two objects, in key
// order; just "key" when a value is too long to show.
std::vector<std::string> ChangedMembers(const json& before, const json& after) {
  std::set<std::string> keys;
  for (const auto& [key, value] : before.items()) keys.insert(key);
  for (const auto& [key, value] : after.items()) keys.insert(key);
  std::vector<std::string> out;
  for (const auto& key : keys) {
    const json* old_value = Member(before, key);
    const json* new_value = Member(after, key);
    if (old_value != nullptr && new_value != nullptr && *old_value == *new_value) continue;
    const std::string from = Shown(old_value);
    const std::string to = Shown(new_value);
    out.push_back(from.empty() || to.empty() ? key : key + " " + from + " -> " + to);
  }
  return out;
}

// The aggregations of two versions of a view, matched by output name:
// "aggregations: added a, removed b, changed c (function mean -> sum)".
std::string AggregationChanges(const json* before, const json* after) {
  auto by_name = [](const json* list) {
    std::map<std::string, json> out;
    for (const auto& a : list != nullptr && list->is_array() ? *list : json::array()) {
      if (a.is_object() && a.contains("name") && a["name"].is_string()) {
        out[a["name"].get<std::string>()] = a;
      }
    }
    return out;
  };
  const std::map<std::string, json> old_list = by_name(before);
  const std::map<std::string, json> new_list = by_name(after);
  std::vector<std::string> items;
  for (const auto& [name, a] : new_list) {
    auto it = old_list.find(name);
    if (it == old_list.end()) {
      items.push_back("added " + name);
    } else if (it->second != a) {
      std::string fields;
      for (const auto& f : ChangedMembers(it->second, a)) {
        fields += (fields.empty() ? "" : ", ") + f;
      }
      items.push_back("changed " + name + " (" + fields + ")");
    }
  }
  for (const auto& [name, a] : old_list) {
    if (!new_list.contains(name)) items.push_back("removed " + name);
  }
  if (items.empty()) return "aggregations: reordered";
  std::string out = "aggregations: ";
  for (size_t i = 0; i < items.size(); ++i) out += (i ? ", " : "") + items[i];
  return out;
}

// The schedule members that differ between two versions of a model or view:
// "batch_schedule @hourly -> @daily", "retries 2 -> 3"; only batch_schedule
// when one version is unscheduled.
std::vector<std::string> ScheduleChanges(const json* before, const json* after) {
  if (before == nullptr || after == nullptr) {
    auto expression = [](const json* s) {
      return s != nullptr && s->is_object() ? Member(*s, "batch_schedule") : nullptr;
    };
    return {"batch_schedule " + Shown(expression(before)) + " -> " + Shown(expression(after))};
  }
  return ChangedMembers(*before, *after);
}

// What differs between two definition texts of one object, for the plan.
std::vector<std::string> UpdateDetails(const std::string& before, const std::string& after) {
  Result<json> old_json = ParseJsonText(before, "stored definition");
  Result<json> new_json = ParseJsonText(after, "definition");
  if (!old_json.ok() || !new_json.ok() || !old_json->is_object() || !new_json->is_object()) {
    return {};
  }
  std::vector<std::string> details;
  for (std::string& d : ChangedMembers(*old_json, *new_json)) {
    if (d == "aggregations") {
      details.push_back(
          AggregationChanges(Member(*old_json, "aggregations"), Member(*new_json, "aggregations")));
    } else if (d == "schedule") {
      for (std::string& c :
           ScheduleChanges(Member(*old_json, "schedule"), Member(*new_json, "schedule"))) {
        details.push_back(std::move(c));
      }
    } else {
      details.push_back(std::move(d));
    }
  }
  return details;
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
  for (size_t i = 0; i < details.size(); ++i) out += (i ? "; " : ": ") + details[i];
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
      plan.changes.push_back({ChangeType::kCreate, key.kind, key.name, {}});
    } else if (it->second != text) {
      plan.changes.push_back(
          {ChangeType::kUpdate, key.kind, key.name, UpdateDetails(it->second, text)});
    }
  }
  for (auto kind = std::rbegin(kAllObjectKinds);
       kind != std::rend(kAllObjectKinds); ++kind) {
    for (auto it = stored.lower_bound(ObjectKey{*kind, ""});
         it != stored.end() && it->first.kind == *kind; ++it) {
      if (desired.count(it->first) == 0) {
        plan.changes.push_back({ChangeType::kDelete, *kind, it->first.name, {}});
      }
    }
  }
  return plan;
}

}  // namespace larder
