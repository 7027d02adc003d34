// The columns of training data that do not depend on the engine: which
// entity column is the event time, and what the feature columns are named.
// Both offline stores (DuckDB's historical_retrieval, spark_historical) use
// these, so that they name and refuse alike.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "larder/repo.h"
#include "larder/status.h"

namespace larder::offline {

// The column named `name`, or nullptr.
const ColumnInfo* FindColumn(const std::vector<ColumnInfo>& columns, std::string_view name);
// The columns' names, comma-separated, for messages.
std::string ColumnList(const std::vector<ColumnInfo>& columns);

// InvalidArgument when an entity column's name starts with __larder_, the
// prefix of the columns Larder adds while it joins.
Status CheckReservedColumnNames(const std::vector<ColumnInfo>& entity_columns,
                                const std::string& what);

// The entity table's event time column: `event_timestamp` (a timestamp, a
// date or text), else its one timestamp column. InvalidArgument naming
// `what` (e.g. "entity file x.parquet") and the columns otherwise.
Result<const ColumnInfo*> EventTimestampColumn(const std::vector<ColumnInfo>& entity_columns,
                                               const std::string& what);

// Checks that the entity table has join key `key` of entity `entity`
// (needed by `view`) as a column whose values compare with the entity's
// value_type. InvalidArgument naming `what`, the key and the entity; before
// a type mismatch, `before_type_error` may give a better error (a CSV file
// without rows, whose columns are all text).
Status CheckEntityJoinKey(const std::vector<ColumnInfo>& entity_columns, const std::string& key,
                          const Entity& entity, const FeatureView& view, const std::string& what,
                          const std::function<Status()>& before_type_error = {});

// The requested features of one view, in request order.
struct RequestedView {
  std::string view;
  std::vector<std::string> features;
};

// An output feature column: the feature at `feature_index` of
// views[view_index].features, named `column`.
struct OutputFeature {
  size_t view_index = 0;
  size_t feature_index = 0;
  std::string column;
};

// The output feature columns, views in order and each view's features in
// order: `feature`, or `view__feature` with full_feature_names.
// InvalidArgument for a name that an entity column has, or that two views
// give, naming both and the way out.
Result<std::vector<OutputFeature>> NameOutputFeatures(const std::vector<RequestedView>& views,
                                                      const std::vector<ColumnInfo>& entity_columns,
                                                      const std::string& entity_what,
                                                      bool full_feature_names);

}  // namespace larder::offline
