#include "offline/spark/spark_materialize.h"

#include <algorithm>
#include <limits>
#include <vector>

#include "offline/historical/entity_columns.h"
#include "offline/source_relation.h"
#include "aggregation/event.h"
#include "offline/spark/spark_aggregation_sql.h"
#include "offline/spark/spark_result_stream.h"
#include "offline/spark/spark_sql.h"
#include "offline/spark/spark_types.h"
#include "repo/feature_refs.h"

namespace larder::offline::spark {

namespace {

// A view's source as Spark reads it, with the columns materialization needs.
struct SparkViewSource {
  std::string what;
  const DataSource* source = nullptr;
  std::string relation;
  std::vector<ColumnInfo> columns;
  const ColumnInfo* ts = nullptr;
  const ColumnInfo* created = nullptr;
  repo::JoinKeys keys;

  // InvalidArgument naming the view, the source and its columns when
  // `name` is not a column.
  Status Need(const std::string& name) const {
    if (FindColumn(columns, name) != nullptr) return Status::OK();
    return Status::InvalidArgument(what + ": no column `" + name + "` in data source '" +
                                   source->name + "' (columns: " + ColumnList(columns) + ")");
  }
};

Result<SparkViewSource> ResolveSparkView(SparkConnectClient& client, const FeatureRepo& repo,
                                         const FeatureView& view) {
  SparkViewSource out;
  out.what = "feature view '" + view.name + "'";
  out.source = repo.FindDataSource(view.source);
  const DataSource* owner = out.source == nullptr ? nullptr : SchemaOwner(repo, *out.source);
  if (owner == nullptr) {
    return Status::NotFound(out.what + ": data source '" + view.source + "' is not registered");
  }
  Result<std::string> relation = MappedSourceRelation(repo, *out.source, client);
  if (!relation.ok()) return relation.status().WithContext(out.what);
  out.relation = *std::move(relation);
  Result<SparkColumns> spark_columns = client.Schema("SELECT * FROM " + out.relation);
  if (!spark_columns.ok()) return spark_columns.status().WithContext(out.what);
  for (const auto& [name, type] : *spark_columns) {
    out.columns.push_back({name, CanonicalColumnType(type)});
  }
  const std::string ts = MappedName(*owner, owner->timestamp_field);
  LARDER_RETURN_IF_ERROR(out.Need(ts));
  out.ts = FindColumn(out.columns, ts);
  if (!owner->created_timestamp_column.empty()) {
    const std::string created = MappedName(*owner, owner->created_timestamp_column);
    LARDER_RETURN_IF_ERROR(out.Need(created));
    out.created = FindColumn(out.columns, created);
  }
  LARDER_ASSIGN_OR_RETURN(out.keys, repo::ViewJoinKeys(repo, view));
  for (const auto& k : out.keys.names) LARDER_RETURN_IF_ERROR(out.Need(k));
  return out;
}

}  // namespace

Status ImportLatestRows(const std::shared_ptr<SparkConnectClient>& client,
                        const FeatureRepo& repo, const FeatureView& view, TimestampMicros start,
                        TimestampMicros end, int partitions, duckdb::Connection& conn,
                        const std::string& table) {
  LARDER_ASSIGN_OR_RETURN(SparkViewSource resolved, ResolveSparkView(*client, repo, view));
  const std::string& what = resolved.what;
  const ColumnInfo* ts = resolved.ts;
  const ColumnInfo* created = resolved.created;
  const repo::JoinKeys& keys = resolved.keys;

  // The columns the materializer reads, each once, under the source's names.
  std::vector<std::string> selected;
  auto select = [&](const std::string& name) {
    if (std::find(selected.begin(), selected.end(), name) == selected.end()) {
      selected.push_back(name);
    }
  };
  for (const auto& k : keys.names) select(k);
  select(ts->name);
  if (created != nullptr) select(created->name);
  for (const Field& f : view.schema) {
    LARDER_RETURN_IF_ERROR(resolved.Need(f.name));
    select(f.name);
  }
  std::string list;
  for (const auto& name : selected) list += (list.empty() ? "" : ", ") + QuoteIdentifier(name);
  const std::string ts_us = MicrosSql(QuoteIdentifier(ts->name), ts->type);
  std::string where = QuoteIdentifier(ts->name) + " IS NOT NULL AND " + ts_us + " < " +
                      std::to_string(end);
  if (start != std::numeric_limits<TimestampMicros>::min()) {
    where += " AND " + ts_us + " >= " + std::to_string(start);
  }
  std::string partition_by;
  for (const auto& k : keys.names) {
    where += " AND " + QuoteIdentifier(k) + " IS NOT NULL";
    partition_by += (partition_by.empty() ? "" : ", ") + QuoteIdentifier(k);
  }
  std::string order = ts_us + " DESC";
  if (created != nullptr) {
    order += ", " + MicrosSql(QuoteIdentifier(created->name), created->type) + " DESC NULLS LAST";
  }
  const std::string sql =
      "SELECT /*+ REPARTITION(" + std::to_string(std::max(1, partitions)) + ") */ " + list +
      " FROM (SELECT " + list + ", rank() OVER (PARTITION BY " + partition_by + " ORDER BY " +
      order + ") AS __larder_rank FROM (SELECT DISTINCT " + list + " FROM " + resolved.relation +
      " WHERE " + where + ")) WHERE __larder_rank = 1";
  return ImportSparkResult(client, sql, conn, table, what + " on Spark");
}

Status ImportEvents(const std::shared_ptr<SparkConnectClient>& client, const FeatureRepo& repo,
                    const FeatureView& view, TimestampMicros start, TimestampMicros end,
                    duckdb::Connection& conn, const std::string& table) {
  LARDER_ASSIGN_OR_RETURN(SparkViewSource resolved, ResolveSparkView(*client, repo, view));
  AggregationStage stage;
  stage.columns = aggregation::AggregatedColumns(view);
  for (const auto& c : stage.columns) LARDER_RETURN_IF_ERROR(resolved.Need(c.name));
  stage.relation = resolved.relation;
  stage.time_column = QuoteIdentifier(resolved.ts->name);
  stage.time_type = resolved.ts->type;
  stage.keys = resolved.keys.names;
  stage.key_types = resolved.keys.types;
  return ImportSparkResult(client, SparkWindowEventsSql(stage, start, end, resolved.ts->name),
                           conn, table, resolved.what + "'s events on Spark");
}

}  // namespace larder::offline::spark
