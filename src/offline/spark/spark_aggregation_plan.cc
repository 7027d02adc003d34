#include "offline/spark/spark_aggregation_plan.h"

#include <algorithm>

#include "offline/spark/spark_aggregation_sql.h"
#include "offline/spark/spark_result_stream.h"
#include "offline/spark/spark_sql.h"

namespace larder::offline::spark {
namespace {

// In Spark's query and result.
std::string SparkCte(size_t g) { return "__larder_a" + std::to_string(g); }
std::string SparkColumn(size_t g, size_t i) {
  return SparkCte(g) + "_f" + std::to_string(i);
}

// In the job's DuckDB database.
constexpr const char* kLarderEntities = "__larder_spark_entities";
constexpr const char* kEventTime = "__larder_ets";
std::string EventsTable(size_t g) { return "__larder_spark_events" + std::to_string(g); }
std::string LarderTable(size_t g) { return "__larder_l" + std::to_string(g); }

// `group`'s stage over the events that Spark streamed into EventsTable(g).
AggregationStage InLarder(const AggregationStage& group, size_t g) {
  AggregationStage stage = group;
  stage.relation = duckdb::QuoteIdentifier(EventsTable(g));
  stage.time_column = duckdb::QuoteIdentifier(kEventTime);
  stage.time_type = "TIMESTAMP WITH TIME ZONE";
  stage.entities_table = kLarderEntities;
  return stage;
}

}  // namespace

std::string SparkAggregationPlan::Add(const AggregationStage& events, const Aggregation& a) {
  const bool on_spark = RunsOnSpark(a.function);
  std::vector<AggregationStage>& groups = on_spark ? on_spark_ : in_larder_;
  auto group = std::find_if(groups.begin(), groups.end(),
                            [&](const AggregationStage& s) { return SameEvents(s, events); });
  if (group == groups.end()) {
    group = groups.insert(groups.end(), events);
    group->aggregations.clear();
  }
  const size_t g = static_cast<size_t>(group - groups.begin());
  const size_t i = group->aggregations.size();
  group->aggregations.push_back(a);
  if (on_spark) {
    return AggregationOutputSql(duckdb::QuoteIdentifier(SparkColumn(g, i)),
                                AggregationOutputType(a));
  }
  return LarderTable(g) + ".__larder_f" + std::to_string(i);
}

std::string SparkAggregationPlan::SparkCtes() const {
  std::string ctes;
  for (size_t g = 0; g < on_spark_.size(); ++g) {
    ctes += ",\n" + SparkCte(g) + " AS (" +
            AggregationStageSql(on_spark_[g], SparkAggregationDialect()) + ")";
  }
  return ctes;
}

std::string SparkAggregationPlan::SparkColumns() const {
  std::string columns;
  for (size_t g = 0; g < on_spark_.size(); ++g) {
    for (size_t i = 0; i < on_spark_[g].aggregations.size(); ++i) {
      columns += ", " + SparkCte(g) + ".__larder_f" + std::to_string(i) + " AS " +
                 SparkColumn(g, i);
    }
  }
  return columns;
}

std::string SparkAggregationPlan::SparkJoins(const std::string& entity_alias) const {
  std::string joins;
  for (size_t g = 0; g < on_spark_.size(); ++g) {
    joins += "\nLEFT JOIN " + SparkCte(g) + " ON " + SparkCte(g) + "." + QuoteIdentifier(kRow) +
             " = " + entity_alias + "." + QuoteIdentifier(kRow);
  }
  return joins;
}

Status SparkAggregationPlan::StageInLarder(const std::shared_ptr<SparkConnectClient>& client,
                                           const std::string& with, const std::string& imported,
                                           duckdb::Connection& conn) const {
  if (in_larder_.empty()) return Status::OK();
  using duckdb::QuoteIdentifier;
  // The entity rows with a time, once each (ties repeat them in `imported`).
  std::vector<std::string> keys;
  for (const AggregationStage& group : in_larder_) {
    for (const std::string& k : group.keys) {
      if (std::find(keys.begin(), keys.end(), k) == keys.end()) keys.push_back(k);
    }
  }
  std::string columns = QuoteIdentifier(kRow);
  for (const std::string& k : keys) columns += ", " + QuoteIdentifier(k);
  LARDER_RETURN_IF_ERROR(duckdb::WithoutSqlContext(conn.Execute(
      "CREATE TABLE " + std::string(kLarderEntities) + " AS SELECT DISTINCT " + columns +
          ", CAST(" + QuoteIdentifier(kTs) + " AS TIMESTAMPTZ) AS " + QuoteIdentifier(kTs) +
          " FROM " + QuoteIdentifier(imported),
      "window aggregations")));
  for (size_t g = 0; g < in_larder_.size(); ++g) {
    const AggregationStage& group = in_larder_[g];
    LARDER_RETURN_IF_ERROR(ImportSparkResult(
        client, with + "\n" + SparkEventsSql(group, kEntities, kEventTime), conn, EventsTable(g),
        "the events of window aggregations " + group.aggregations.front().name + " on Spark"));
    LARDER_RETURN_IF_ERROR(duckdb::WithoutSqlContext(
        conn.Execute("CREATE TABLE " + LarderTable(g) + " AS " +
                         AggregationStageSql(InLarder(group, g)),
                     "window aggregation " + group.aggregations.front().name)));
  }
  return Status::OK();
}

std::string SparkAggregationPlan::DuckDbJoins() const {
  std::string joins;
  for (size_t g = 0; g < in_larder_.size(); ++g) {
    joins += "\nLEFT JOIN " + LarderTable(g) + " USING (" + duckdb::QuoteIdentifier(kRow) + ")";
  }
  return joins;
}

std::string SparkAggregationPlan::DisplaySql(const std::string& with) const {
  std::string sql;
  for (size_t g = 0; g < in_larder_.size(); ++g) {
    sql += "\n-- Spark, the events of " + EventsTable(g) + ":\n" + with + "\n" +
           SparkEventsSql(in_larder_[g], kEntities, kEventTime) + ";\n-- Larder (DuckDB): " +
           LarderTable(g) + ":\n" + AggregationStageSql(InLarder(in_larder_[g], g)) + ";";
  }
  return sql;
}

}  // namespace larder::offline::spark
