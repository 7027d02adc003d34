// Where training data's window aggregations run on the spark offline store.
//
// Each requested aggregation joins a group of aggregations over the same
// events (SameEvents):
//   on Spark       functions that RunsOnSpark: per group, one CTE of Spark's
//                  query (AggregationStageSql in SparkAggregationDialect,
//                  over the entity rows __larder_e) that Spark's result
//                  LEFT JOINs by row; their raw values arrive with Spark's
//                  result and Larder converts them (AggregationOutputSql);
//   in Larder      first, last, first_n, last_n, approx_count_distinct: per
//                  group, Spark filters the distinct events that the entity
//                  rows can see (SparkEventsSql) and streams them into the
//                  job's DuckDB database, where AggregationStageSql, the
//                  DuckDB store's own statement, computes them over the
//                  entity rows of Spark's result; Larder's finish LEFT JOINs
//                  the table by row.
// So the functions that depend on Larder's tie key or its HyperLogLog are
// computed by the same SQL as on the DuckDB store, and what reaches Larder
// for them grows with those views' events of the requested keys and times.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "larder/status.h"
#include "offline/duckdb/duckdb_connection.h"
#include "offline/historical/aggregation_sql.h"
#include "offline/spark/spark_connect_client.h"

namespace larder::offline::spark {

class SparkAggregationPlan {
 public:
  // Adds aggregation `a` of a view whose events `events` describes in Spark
  // terms (relation, quoted time column, keys; no aggregations; entity
  // names as the constants below). Returns the expression, in Larder's
  // finish over Spark's result joined by DuckDbJoins(), of its output in the
  // type of AggregationOutputType(a).
  std::string Add(const AggregationStage& events, const Aggregation& a);

  // CTEs to append to Spark's WITH list (each ",\n<name> AS (...)"), the
  // columns to add to its final SELECT and the joins to its FROM, whose
  // entity rows are aliased `entity_alias`.
  std::string SparkCtes() const;
  std::string SparkColumns() const;
  std::string SparkJoins(const std::string& entity_alias) const;

  // After Spark's result landed in `imported` of `conn`'s database: streams
  // the events of the groups that Larder finishes (Spark query: `with` then
  // SparkEventsSql) and stages their aggregations as tables.
  Status StageInLarder(const std::shared_ptr<SparkConnectClient>& client, const std::string& with,
                       const std::string& imported, duckdb::Connection& conn) const;
  // The joins of those tables, to add after Larder's FROM `imported`.
  std::string DuckDbJoins() const;
  // The Spark queries that StageInLarder runs, for display.
  std::string DisplaySql(const std::string& with) const;

  // Spark's entity rows, their row id and their time (a TIMESTAMP).
  static constexpr const char* kEntities = "__larder_e";
  static constexpr const char* kRow = "__larder_row";
  static constexpr const char* kTs = "__larder_ts";

 private:
  std::vector<AggregationStage> on_spark_;
  std::vector<AggregationStage> in_larder_;
};

}  // namespace larder::offline::spark
