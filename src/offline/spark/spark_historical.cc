#include "offline/spark/spark_historical.h"

#include <algorithm>
#include <filesystem>
#include <utility>
#include <vector>

#include "offline/duckdb/arrow_stream.h"
#include "offline/duckdb/tie_key_function.h"
#include "offline/historical/entity_columns.h"
#include "offline/historical/historical_retrieval.h"
#include "offline/row_order.h"
#include "offline/source_relation.h"
#include "aggregation/event.h"
#include "offline/spark/spark_aggregation_plan.h"
#include "offline/spark/spark_entity_stage.h"
#include "offline/spark/spark_result_stream.h"
#include "offline/spark/spark_sql.h"
#include "offline/spark/spark_types.h"
#include "repo/column_types.h"
#include "repo/feature_refs.h"

namespace larder::offline::spark {
namespace {

namespace fs = std::filesystem;
using Columns = std::vector<ColumnInfo>;

constexpr std::string_view kRow = "__larder_row";
constexpr std::string_view kTs = "__larder_ts";
// The table of the job's DuckDB database that Spark's result streams into.
constexpr std::string_view kImported = "__larder_spark_rows";

// Column `i` of view number `v`'s schema, in Spark's result.
std::string FeatureColumn(size_t v, size_t i) {
  return "__larder_v" + std::to_string(v) + "_f" + std::to_string(i);
}

Result<Columns> RelationColumns(SparkConnectClient& client, const std::string& relation,
                                const std::string& what) {
  Result<SparkColumns> spark = client.Schema("SELECT * FROM " + relation);
  if (!spark.ok()) return spark.status().WithContext(what);
  Columns out;
  for (const auto& [name, type] : *spark) out.push_back({name, CanonicalColumnType(type)});
  return out;
}

struct EntityRelation {
  std::string relation;
  std::string what;
  // Rows staged for Spark to read (a DataFrame, a CSV file); the job keeps
  // them until it is destroyed.
  std::shared_ptr<StagedEntityFile> staged;
};

Result<EntityRelation> ResolveEntityRelation(const HistoricalFeaturesRequest& request,
                                             const SparkConnectClient& client) {
  const bool has_path = !request.entity_path.empty();
  const bool has_sql = !request.entity_sql.empty();
  const bool has_arrow = request.entity_arrow_stream != nullptr;
  if (int{has_path} + int{has_sql} + int{has_arrow} != 1) {
    return Status::InvalidArgument(
        "give one of an entity file, an entity SQL query or an entity Arrow stream, " +
        std::string(has_path || has_sql || has_arrow ? "not several" : "none was given"));
  }
  if (has_sql) {
    // A subquery: anything but one query fails to parse.
    return EntityRelation{"(SELECT * FROM (\n" + request.entity_sql + "\n) AS __larder_entity_query)",
                          "entity SQL", nullptr};
  }
  const std::string what = has_arrow ? "entity DataFrame" : "entity file " + request.entity_path;
  if (has_arrow || request.entity_path.ends_with(".csv")) {
    LARDER_ASSIGN_OR_RETURN(std::shared_ptr<StagedEntityFile> staged,
                            StageEntityRows(request, client.endpoint(), what));
    return EntityRelation{"(SELECT * FROM " + FileRelation("parquet", staged->path()) + ")", what,
                          staged};
  }
  if (!request.entity_path.ends_with(".parquet")) {
    return Status::InvalidArgument(what + ": unknown format; use a .parquet or .csv file");
  }
  std::string path = request.entity_path;
  if (path.find("://") == std::string::npos) {
    std::error_code ec;
    path = fs::absolute(path, ec).lexically_normal().string();
    if (path.find_first_of("*?[") == std::string::npos && !fs::exists(path, ec)) {
      return Status::NotFound(what + ": no file matches " + path);
    }
  }
  return EntityRelation{"(SELECT * FROM " + FileRelation("parquet", path) + ")", what, nullptr};
}

// One requested view: its features in request order (indices into its
// schema, then into its aggregations after the schema's size), and what its
// join needs.
struct ViewPlan {
  const FeatureView* view = nullptr;
  std::vector<size_t> requested;
  std::vector<std::string> keys;
  std::vector<ValueType> key_types;  // parallel to keys
  // Per requested feature, its value in Larder's finish.
  std::vector<std::string> values;

  bool HasPlain() const {
    return std::any_of(requested.begin(), requested.end(),
                       [&](size_t f) { return f < view->schema.size(); });
  }
};

Result<std::vector<ViewPlan>> GroupByView(const FeatureRepo& repo,
                                          const HistoricalFeaturesRequest& request) {
  LARDER_ASSIGN_OR_RETURN(
      std::vector<repo::FeatureRef> refs,
      repo::ResolveFeatureRefs(repo, request.features, request.feature_service));
  std::vector<ViewPlan> views;
  for (const auto& ref : refs) {
    auto it = std::find_if(views.begin(), views.end(),
                           [&](const ViewPlan& p) { return p.view == ref.view; });
    if (it == views.end()) it = views.insert(views.end(), ViewPlan{ref.view, {}, {}, {}, {}});
    it->requested.push_back(ref.feature_index);
  }
  return views;
}

}  // namespace

Result<std::unique_ptr<HistoricalRetrievalJob>> PrepareSparkHistoricalRetrieval(
    const FeatureRepo& repo, const HistoricalFeaturesRequest& request,
    const HistoricalRetrievalOptions& options, std::shared_ptr<SparkConnectClient> client) {
  LARDER_ASSIGN_OR_RETURN(std::vector<ViewPlan> views, GroupByView(repo, request));
  LARDER_ASSIGN_OR_RETURN(EntityRelation entity, ResolveEntityRelation(request, *client));
  LARDER_ASSIGN_OR_RETURN(Columns entity_cols,
                          RelationColumns(*client, entity.relation, entity.what));

  LARDER_RETURN_IF_ERROR(CheckReservedColumnNames(entity_cols, entity.what));
  LARDER_ASSIGN_OR_RETURN(const ColumnInfo* ts_col, EventTimestampColumn(entity_cols, entity.what));
  std::vector<RequestedView> requested;
  for (const auto& v : views) {
    RequestedView r{v.view->name, {}};
    for (size_t f : v.requested) r.features.push_back(ViewFeatures(*v.view)[f].name);
    requested.push_back(std::move(r));
  }
  LARDER_ASSIGN_OR_RETURN(
      std::vector<OutputFeature> outputs,
      NameOutputFeatures(requested, entity_cols, entity.what, request.full_feature_names));

  // Spark's query.
  const std::string with = "WITH __larder_e AS (SELECT *, CAST(" + QuoteIdentifier(ts_col->name) +
                           " AS TIMESTAMP) AS " + std::string(kTs) +
                           ", monotonically_increasing_id() AS " + std::string(kRow) + " FROM " +
                           entity.relation + ")";
  std::string spark_sql = with;
  std::string final_select = "SELECT e.*";
  SparkAggregationPlan aggregations;
  std::string final_joins;
  for (size_t v = 0; v < views.size(); ++v) {
    const FeatureView& view = *views[v].view;
    const DataSource* source = repo.FindDataSource(view.source);
    const DataSource* owner = source == nullptr ? nullptr : SchemaOwner(repo, *source);
    if (owner == nullptr) {
      return Status::NotFound("feature view '" + view.name + "': data source '" + view.source +
                              "' is not registered");
    }
    const std::string what =
        "feature view '" + view.name + "' (data source '" + source->name + "')";
    Result<std::string> relation = MappedSourceRelation(repo, *source, *client);
    if (!relation.ok()) return relation.status().WithContext("feature view '" + view.name + "'");
    LARDER_ASSIGN_OR_RETURN(Columns source_cols, RelationColumns(*client, *relation, what));
    auto need = [&](const std::string& column) -> Result<const ColumnInfo*> {
      const ColumnInfo* c = FindColumn(source_cols, column);
      if (c == nullptr) {
        return Status::InvalidArgument(what + ": no column `" + column +
                                       "` (columns: " + ColumnList(source_cols) + ")");
      }
      return c;
    };
    LARDER_ASSIGN_OR_RETURN(const ColumnInfo* fts,
                            need(MappedName(*owner, owner->timestamp_field)));
    if (!repo::IsTimeColumn(fts->type) && fts->type != "VARCHAR") {
      return Status::InvalidArgument(what + ": timestamp column `" + fts->name + "` has type " +
                                     fts->type + ", not a timestamp");
    }
    const ColumnInfo* created = nullptr;
    if (!owner->created_timestamp_column.empty()) {
      LARDER_ASSIGN_OR_RETURN(created, need(MappedName(*owner, owner->created_timestamp_column)));
    }
    std::vector<std::string>& keys = views[v].keys;
    std::vector<ValueType>& key_types = views[v].key_types;
    for (const auto& entity_name : view.entities) {
      const Entity* ent = repo.FindEntity(entity_name);
      if (ent == nullptr) {
        return Status::NotFound("feature view '" + view.name + "': entity '" + entity_name +
                                "' is not registered");
      }
      for (const auto& key : ent->join_keys) {
        LARDER_RETURN_IF_ERROR(CheckEntityJoinKey(entity_cols, key, *ent, view, entity.what));
        LARDER_RETURN_IF_ERROR(need(key).status());
        if (std::find(keys.begin(), keys.end(), key) != keys.end()) continue;
        keys.push_back(key);
        key_types.push_back(ent->value_type);
      }
    }
    for (const Field& f : view.schema) LARDER_RETURN_IF_ERROR(need(f.name).status());
    for (size_t f : views[v].requested) {
      views[v].values.push_back(f < view.schema.size() ? FeatureColumn(v, f) : "");
    }
    if (std::find(views[v].values.begin(), views[v].values.end(), "") != views[v].values.end()) {
      // Aggregations: Spark's windows, or its events for Larder's.
      AggregationStage events;
      events.columns = aggregation::AggregatedColumns(view);
      for (const auto& c : events.columns) LARDER_RETURN_IF_ERROR(need(c.name).status());
      events.interval = view.aggregation_interval;
      events.relation = *relation;
      events.time_column = QuoteIdentifier(fts->name);
      events.time_type = fts->type;
      events.keys = keys;
      events.key_types = key_types;
      events.entities_table = SparkAggregationPlan::kEntities;
      events.row_column = SparkAggregationPlan::kRow;
      events.ts_column = SparkAggregationPlan::kTs;
      for (size_t r = 0; r < views[v].requested.size(); ++r) {
        const size_t f = views[v].requested[r];
        if (f < view.schema.size()) continue;
        views[v].values[r] = aggregations.Add(events, view.aggregations[f - view.schema.size()]);
      }
    }
    if (!views[v].HasPlain()) continue;

    const std::string s = "__larder_s" + std::to_string(v);
    const std::string j = "__larder_j" + std::to_string(v);
    const std::string r = "__larder_r" + std::to_string(v);
    std::string key_list;
    std::string key_not_null;
    std::string key_equal;
    for (const auto& k : keys) {
      key_list += QuoteIdentifier(k) + ", ";
      key_not_null += " AND " + QuoteIdentifier(k) + " IS NOT NULL";
      key_equal += "e." + QuoteIdentifier(k) + " = s." + QuoteIdentifier(k) + " AND ";
    }
    std::string features;
    std::string feature_refs;
    for (size_t i = 0; i < view.schema.size(); ++i) {
      features += ", " + QuoteIdentifier(view.schema[i].name) + " AS " + FeatureColumn(v, i);
      feature_refs += ", s." + FeatureColumn(v, i);
      final_select += ", " + j + "." + FeatureColumn(v, i);
    }
    spark_sql += ",\n" + s + " AS (SELECT DISTINCT " + key_list +
                 MicrosSql(QuoteIdentifier(fts->name), fts->type) + " AS __larder_fts, " +
                 (created != nullptr ? MicrosSql(QuoteIdentifier(created->name), created->type)
                                     : std::string("CAST(NULL AS BIGINT)")) +
                 " AS __larder_fc" + features + " FROM " + *relation + " WHERE " +
                 QuoteIdentifier(fts->name) + " IS NOT NULL" + key_not_null + ")";
    std::string ttl;
    if (view.ttl.micros > 0) {
      ttl = " AND s.__larder_fts >= e.__larder_us - " + std::to_string(view.ttl.micros);
    }
    std::string entity_side = "SELECT " + std::string(kRow) + ", unix_micros(" + std::string(kTs) +
                              ") AS __larder_us";
    for (const auto& k : keys) entity_side += ", " + QuoteIdentifier(k);
    entity_side += " FROM __larder_e WHERE " + std::string(kTs) + " IS NOT NULL";
    std::string kept;
    for (size_t i = 0; i < view.schema.size(); ++i) kept += ", " + FeatureColumn(v, i);
    spark_sql += ",\n" + j + " AS (SELECT " + r + kept + " FROM (SELECT e." + std::string(kRow) +
                 " AS " + r + feature_refs +
                 ", rank() OVER (PARTITION BY e." + std::string(kRow) +
                 " ORDER BY s.__larder_fts DESC, s.__larder_fc DESC NULLS LAST) AS __larder_rank"
                 " FROM (" + entity_side + ") e JOIN " + s + " s ON " + key_equal +
                 "s.__larder_fts <= e.__larder_us" + ttl + ") WHERE __larder_rank = 1)";
    final_joins += "\nLEFT JOIN " + j + " ON " + j + "." + r + " = e." + std::string(kRow);
  }
  spark_sql += aggregations.SparkCtes() + "\n" + final_select + aggregations.SparkColumns() +
               "\nFROM __larder_e e" + final_joins + aggregations.SparkJoins("e");

  // Larder's finish, in the job's DuckDB database.
  auto q = [](std::string_view name) { return duckdb::QuoteIdentifier(name); };
  std::vector<std::string> column_names;
  std::string projection;
  for (const auto& c : entity_cols) {
    projection += projection.empty() ? "" : ", ";
    projection += &c == ts_col ? "CAST(" + std::string(kTs) + " AS TIMESTAMPTZ) AS " + q(c.name)
                               : q(c.name);
    column_names.push_back(c.name);
  }
  for (const auto& out : outputs) {
    projection += ", " + views[out.view_index].values[out.feature_index] + " AS " + q(out.column);
    column_names.push_back(out.column);
  }
  std::string order;
  for (size_t v = 0; v < views.size(); ++v) {
    const FeatureView& view = *views[v].view;
    if (!views[v].HasPlain()) continue;
    std::vector<std::string> columns;
    std::vector<ValueType> types;
    for (size_t i = 0; i < view.schema.size(); ++i) {
      columns.push_back(TypedValueSql(FeatureColumn(v, i), view.schema[i].dtype));
      types.push_back(view.schema[i].dtype);
    }
    order += (order.empty() ? "" : ", ") + duckdb::TieKeySql(columns, types) + " DESC";
  }
  std::string sql =
      "SELECT " + projection + "\nFROM " + std::string(kImported) + aggregations.DuckDbJoins();
  if (!order.empty()) {
    sql += "\nQUALIFY row_number() OVER (PARTITION BY " + std::string(kRow) + " ORDER BY " +
           order + ") = 1";
  }
  sql += "\nORDER BY " + std::string(kRow);

  ImportedHistoricalJob job;
  job.import = [client, spark_sql, with, aggregations,
                staged = entity.staged](duckdb::Connection& conn) -> Status {
    LARDER_RETURN_IF_ERROR(ImportSparkResult(client, spark_sql, conn, std::string(kImported),
                                             "historical features on Spark"));
    return aggregations.StageInLarder(client, with, std::string(kImported), conn);
  };
  job.sql = std::move(sql);
  job.display_sql = "-- Spark:\n" + spark_sql + ";" + aggregations.DisplaySql(with) +
                    "\n-- Larder (DuckDB), over Spark's result:";
  job.column_names = std::move(column_names);
  return MakeImportedHistoricalJob(std::move(job), options);
}

}  // namespace larder::offline::spark
