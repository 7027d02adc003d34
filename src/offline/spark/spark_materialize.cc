#include "offline/spark/spark_materialize.h"

#include <algorithm>
#include <limits>
#include <vector>

#include "offline/duckdb/arrow_stream.h"
#include "offline/historical/entity_columns.h"
#include "offline/source_relation.h"
#include "offline/spark/spark_result_stream.h"
#include "offline/spark/spark_sql.h"
#include "offline/spark/spark_types.h"
#include "repo/feature_refs.h"

namespace larder::offline::spark {

Status ImportLatestRows(const std::shared_ptr<SparkConnectClient>& client,
                        const FeatureRepo& repo, const FeatureView& view, TimestampMicros start,
                        TimestampMicros end, int partitions, duckdb::Connection& conn,
                        const std::string& table) {
  const std::string what = "feature view '" + view.name + "'";
  const DataSource* source = repo.FindDataSource(view.source);
  const DataSource* owner = source == nullptr ? nullptr : SchemaOwner(repo, *source);
  if (owner == nullptr) {
    return Status::NotFound(what + ": data source '" + view.source + "' is not registered");
  }
  Result<std::string> relation = MappedSourceRelation(repo, *source, *client);
  if (!relation.ok()) return relation.status().WithContext(what);
  Result<SparkColumns> spark_columns = client->Schema("SELECT * FROM " + *relation);
  if (!spark_columns.ok()) return spark_columns.status().WithContext(what);
  std::vector<ColumnInfo> columns;
  for (const auto& [name, type] : *spark_columns) {
    columns.push_back({name, CanonicalColumnType(type)});
  }
  auto need = [&](const std::string& name) -> Result<const ColumnInfo*> {
    const ColumnInfo* c = FindColumn(columns, name);
    if (c == nullptr) {
      return Status::InvalidArgument(what + ": no column `" + name + "` in data source '" +
                                     source->name + "' (columns: " + ColumnList(columns) + ")");
    }
    return c;
  };
  LARDER_ASSIGN_OR_RETURN(const ColumnInfo* ts, need(MappedName(*owner, owner->timestamp_field)));
  const ColumnInfo* created = nullptr;
  if (!owner->created_timestamp_column.empty()) {
    LARDER_ASSIGN_OR_RETURN(created, need(MappedName(*owner, owner->created_timestamp_column)));
  }
  LARDER_ASSIGN_OR_RETURN(repo::JoinKeys keys, repo::ViewJoinKeys(repo, view));

  // The columns the materializer reads, each once, under the source's names.
  std::vector<std::string> selected;
  auto select = [&](const std::string& name) {
    if (std::find(selected.begin(), selected.end(), name) == selected.end()) {
      selected.push_back(name);
    }
  };
  for (const auto& k : keys.names) {
    LARDER_RETURN_IF_ERROR(need(k).status());
    select(k);
  }
  select(ts->name);
  if (created != nullptr) select(created->name);
  for (const Field& f : view.schema) {
    LARDER_RETURN_IF_ERROR(need(f.name).status());
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
      order + ") AS __larder_rank FROM (SELECT DISTINCT " + list + " FROM " + *relation +
      " WHERE " + where + ")) WHERE __larder_rank = 1";
  ArrowArrayStream stream = SparkResultStream(client, sql, what + " on Spark");
  Status imported = duckdb::ImportArrowStream(conn, &stream, table, what);
  stream.release(&stream);
  return duckdb::WithoutSqlContext(imported);
}

}  // namespace larder::offline::spark
