#include "repo/feature_refs.h"

#include <algorithm>

namespace larder::repo {
namespace {

std::string JoinNames(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

Status Add(const FeatureRepo& repo, const std::string& view_name, const std::string& feature,
           const std::string& context, std::vector<FeatureRef>* out) {
  const FeatureView* view = repo.FindFeatureView(view_name);
  if (view == nullptr) {
    std::vector<std::string> known;
    for (const auto& v : repo.feature_views) known.push_back(v.name);
    return Status::NotFound(context + "unknown feature view '" + view_name +
                            "' (registered views: " + JoinNames(known) + ")");
  }
  const std::vector<Field> features = ViewFeatures(*view);
  auto field = std::find_if(features.begin(), features.end(),
                            [&](const Field& f) { return f.name == feature; });
  if (field == features.end()) {
    std::vector<std::string> known;
    for (const auto& f : features) known.push_back(f.name);
    return Status::NotFound(context + "feature view '" + view_name + "' has no feature '" +
                            feature + "' (its features: " + JoinNames(known) + ")");
  }
  FeatureRef ref{view, static_cast<size_t>(field - features.begin())};
  bool seen = std::any_of(out->begin(), out->end(), [&](const FeatureRef& r) {
    return r.view == ref.view && r.feature_index == ref.feature_index;
  });
  if (!seen) out->push_back(ref);
  return Status::OK();
}

}  // namespace

const std::string& FeatureRef::name() const {
  const Aggregation* a = aggregation();
  return a != nullptr ? a->name : view->schema[feature_index].name;
}

const Aggregation* FeatureRef::aggregation() const {
  if (feature_index < view->schema.size()) return nullptr;
  return &view->aggregations[feature_index - view->schema.size()];
}

Result<std::vector<FeatureRef>> ResolveFeatureRefs(const FeatureRepo& repo,
                                                   const std::vector<std::string>& refs,
                                                   const std::string& feature_service) {
  bool has_refs = !refs.empty();
  bool has_service = !feature_service.empty();
  if (has_refs == has_service) {
    return Status::InvalidArgument(
        "give either feature references (view:feature) or a feature service, " +
        std::string(has_refs ? "not both" : "none was given"));
  }
  std::vector<FeatureRef> out;
  if (has_service) {
    const FeatureService* service = repo.FindFeatureService(feature_service);
    if (service == nullptr) {
      std::vector<std::string> known;
      for (const auto& s : repo.feature_services) known.push_back(s.name);
      return Status::NotFound("unknown feature service '" + feature_service +
                              "' (registered services: " + JoinNames(known) + ")");
    }
    std::string context = "feature service '" + service->name + "': ";
    for (const auto& item : service->features) {
      const FeatureView* view = repo.FindFeatureView(item.feature_view);
      if (view == nullptr) {
        return Status::NotFound(context + "unknown feature view '" + item.feature_view + "'");
      }
      std::vector<std::string> names = item.features;
      if (names.empty()) {
        for (const auto& f : ViewFeatures(*view)) names.push_back(f.name);
      }
      for (const auto& f : names) LARDER_RETURN_IF_ERROR(Add(repo, view->name, f, context, &out));
    }
    return out;
  }
  for (const auto& ref : refs) {
    size_t colon = ref.find(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 == ref.size() ||
        ref.find(':', colon + 1) != std::string::npos) {
      return Status::InvalidArgument("bad feature reference '" + ref +
                                     "': write it as view:feature");
    }
    LARDER_RETURN_IF_ERROR(Add(repo, ref.substr(0, colon), ref.substr(colon + 1), "", &out));
  }
  return out;
}

Result<JoinKeys> ViewJoinKeys(const FeatureRepo& repo, const FeatureView& view) {
  JoinKeys keys;
  for (const auto& entity_name : view.entities) {
    const Entity* entity = repo.FindEntity(entity_name);
    if (entity == nullptr) {
      return Status::NotFound("feature view '" + view.name + "': entity '" + entity_name +
                              "' is not registered");
    }
    for (const auto& key : entity->join_keys) {
      if (std::find(keys.names.begin(), keys.names.end(), key) != keys.names.end()) continue;
      keys.names.push_back(key);
      keys.types.push_back(entity->value_type);
    }
  }
  return keys;
}

Result<const DataSource*> RowSource(const FeatureRepo& repo, const FeatureView& view) {
  const DataSource* source = repo.FindDataSource(view.source);
  if (source != nullptr && ReceivesRows(source->kind)) {
    source = repo.FindDataSource(source->batch_source);
  }
  if (source == nullptr) {
    return Status::NotFound("feature view '" + view.name + "': its source is not registered");
  }
  return source;
}

std::string RowColumnName(const DataSource& source, const std::string& field) {
  for (const auto& [raw, mapped] : source.field_mapping) {
    if (mapped == field) return raw;
  }
  return field;
}

Result<std::map<std::string, ValueType>> ViewRowColumns(const FeatureRepo& repo,
                                                        const FeatureView& view) {
  constexpr ValueType kTimestamp{ScalarType::kUnixTimestamp, false};
  LARDER_ASSIGN_OR_RETURN(const DataSource* source, RowSource(repo, view));
  LARDER_ASSIGN_OR_RETURN(JoinKeys keys, ViewJoinKeys(repo, view));
  std::map<std::string, ValueType> columns;
  for (size_t k = 0; k < keys.names.size(); ++k) {
    columns[RowColumnName(*source, keys.names[k])] = keys.types[k];
  }
  // The timestamp is named by its source column, before any mapping.
  if (!source->timestamp_field.empty()) columns[source->timestamp_field] = kTimestamp;
  for (const auto& f : view.schema) columns[RowColumnName(*source, f.name)] = f.dtype;
  for (const auto& a : view.aggregations) {
    columns[RowColumnName(*source, a.column)] = a.column_dtype;
  }
  return columns;
}

}  // namespace larder::repo
