#include "offline/historical/entity_columns.h"

#include <map>

#include "repo/column_types.h"

namespace larder::offline {
const ColumnInfo* FindColumn(const std::vector<ColumnInfo>& columns, std::string_view name) {
  for (const auto& c : columns) {
    if (c.name == name) return &c;
  }
  return nullptr;
}

std::string ColumnList(const std::vector<ColumnInfo>& columns) {
  std::string out;
  for (const auto& c : columns) out += (out.empty() ? "" : ", ") + c.name;
  return out;
}

Status CheckReservedColumnNames(const std::vector<ColumnInfo>& entity_columns,
                                const std::string& what) {
  for (const auto& c : entity_columns) {
    if (c.name.starts_with("__larder_")) {
      return Status::InvalidArgument(what + ": column `" + c.name +
                                     "` uses the reserved prefix __larder_");
    }
  }
  return Status::OK();
}

Result<const ColumnInfo*> EventTimestampColumn(const std::vector<ColumnInfo>& entity_columns,
                                               const std::string& what) {
  for (const auto& c : entity_columns) {
    if (c.name != "event_timestamp") continue;
    if (!repo::IsTimeColumn(c.type) && c.type != "VARCHAR") {
      return Status::InvalidArgument(what + ": column `event_timestamp` has type " + c.type +
                                     ", not a timestamp");
    }
    return &c;
  }
  std::vector<const ColumnInfo*> candidates;
  for (const auto& c : entity_columns) {
    if (c.type.starts_with("TIMESTAMP")) candidates.push_back(&c);
  }
  if (candidates.size() == 1) return candidates[0];
  return Status::InvalidArgument(
      what + ": no `event_timestamp` column" +
      (candidates.empty() ? std::string(" and no timestamp column to use instead")
                          : std::string(" and several timestamp columns; name one "
                                        "event_timestamp")) +
      " (columns: " + ColumnList(entity_columns) + ")");
}

Status CheckEntityJoinKey(const std::vector<ColumnInfo>& entity_columns, const std::string& key,
                          const Entity& entity, const FeatureView& view, const std::string& what,
                          const std::function<Status()>& before_type_error) {
  const ColumnInfo* column = FindColumn(entity_columns, key);
  if (column == nullptr) {
    return Status::InvalidArgument(what + ": no join key column `" + key + "` (entity '" +
                                   entity.name + "', needed by feature view '" + view.name +
                                   "'; columns: " + ColumnList(entity_columns) + ")");
  }
  if (repo::ColumnMatchesKey(entity.value_type, column->type)) return Status::OK();
  if (before_type_error) LARDER_RETURN_IF_ERROR(before_type_error());
  return Status::InvalidArgument(what + ": join key column `" + key + "` has type " +
                                 column->type + ", but entity '" + entity.name +
                                 "' has value_type " + ValueTypeName(entity.value_type));
}

Result<std::vector<OutputFeature>> NameOutputFeatures(const std::vector<RequestedView>& views,
                                                      const std::vector<ColumnInfo>& entity_columns,
                                                      const std::string& entity_what,
                                                      bool full_feature_names) {
  std::vector<OutputFeature> outputs;
  std::map<std::string, std::string> owner_of;  // output column -> view ("" = entity)
  for (const auto& c : entity_columns) owner_of[c.name] = "";
  for (size_t v = 0; v < views.size(); ++v) {
    const std::string& view = views[v].view;
    for (size_t f = 0; f < views[v].features.size(); ++f) {
      const std::string& feature = views[v].features[f];
      std::string column = full_feature_names ? view + "__" + feature : feature;
      auto [it, inserted] = owner_of.emplace(column, view);
      if (!inserted) {
        if (it->second.empty()) {
          return Status::InvalidArgument(
              "feature `" + column + "` of feature view '" + view +
              "' has the name of a column of the " + entity_what +
              (full_feature_names ? "" : "; use full feature names (view__feature)"));
        }
        return Status::InvalidArgument(
            "feature name `" + column + "` is requested from both feature view '" + it->second +
            "' and feature view '" + view +
            "'; use full feature names (--full-feature-names) to get view__feature columns");
      }
      outputs.push_back({v, f, std::move(column)});
    }
  }
  return outputs;
}

}  // namespace larder::offline
