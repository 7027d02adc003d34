#include "offline/spark/spark_aggregation_sql.h"

#include <algorithm>
#include <limits>

#include "offline/spark/spark_sql.h"

namespace larder::offline::spark {
namespace {

bool IsFloat(const ValueType& t) {
  return t.scalar == ScalarType::kFloat32 || t.scalar == ScalarType::kFloat64;
}

// The Spark type whose Arrow form DuckDB reads as TypedValueSql's type.
std::string TypedValue(const std::string& column, const ValueType& t) {
  switch (t.scalar) {
    case ScalarType::kInt32: return "CAST(" + column + " AS INT)";
    case ScalarType::kInt64: return "CAST(" + column + " AS BIGINT)";
    case ScalarType::kFloat32:
    case ScalarType::kFloat64: return "CAST(" + column + " AS DOUBLE)";
    case ScalarType::kString: return "CAST(" + column + " AS STRING)";
    case ScalarType::kBytes: return "CAST(" + column + " AS BINARY)";
    case ScalarType::kBool: return "CAST(" + column + " AS BOOLEAN)";
    case ScalarType::kUnixTimestamp: return "unix_micros(CAST(" + column + " AS TIMESTAMP))";
  }
  return column;
}

std::string EntityMicros(const std::string& column) { return "unix_micros(" + column + ")"; }

std::string Quote(std::string_view name) { return QuoteIdentifier(name); }

std::string WindowSql(const Aggregation& a, const std::string& value, const std::string&,
                      const std::string& window) {
  const std::string over = " OVER " + window;
  // DuckDB sums integers exactly (HUGEINT); so does DECIMAL(38,0).
  const std::string exact_sum = "sum(CAST(" + value + " AS DECIMAL(38,0)))" + over;
  if (std::string common = CommonWindowSql(a, value, window); !common.empty()) return common;
  switch (a.function) {
    case AggregationFunction::kSum:
      return "CAST(" + exact_sum + " AS BIGINT)";
    case AggregationFunction::kMean:
      // Spark's avg of integers adds them as doubles; DuckDB divides the
      // exact sum. NULL over an empty window (the sum is NULL).
      if (IsFloat(a.column_dtype)) return "avg(" + value + ")" + over;
      return "CAST(" + exact_sum + " AS DOUBLE) / count(" + value + ")" + over;
    case AggregationFunction::kCountDistinct:
      // No DISTINCT window functions on Spark: the size of the frame's set.
      return "CAST(size(collect_set(" +
             (IsFloat(a.column_dtype) ? "(" + value + " + 0.0)" : value) + ")" + over +
             ") AS BIGINT)";
    default:
      break;  // Common, or computed by Larder's DuckDB (RunsOnSpark).
  }
  return "NULL";
}

}  // namespace

bool RunsOnSpark(AggregationFunction function) {
  switch (function) {
    case AggregationFunction::kCount:
    case AggregationFunction::kSum:
    case AggregationFunction::kMean:
    case AggregationFunction::kMin:
    case AggregationFunction::kMax:
    case AggregationFunction::kStddev:
    case AggregationFunction::kVariance:
    case AggregationFunction::kCountDistinct:
      return true;
    default:
      return false;
  }
}

const AggregationDialect& SparkAggregationDialect() {
  static const AggregationDialect dialect{&Quote, &TypedValue, &MicrosSql, &EntityMicros,
                                          nullptr, &WindowSql,  nullptr};
  return dialect;
}

namespace {

// The distinct events of `stage` with `where` (over the source's columns),
// and `semi_join` (" LEFT SEMI JOIN ... ON ..." over source alias s, or
// empty); see SparkEventsSql for the columns.
std::string DistinctEventsSql(const AggregationStage& stage, std::string where,
                              const std::string& semi_join, const std::string& time_name) {
  const std::string micros = MicrosSql(stage.time_column, stage.time_type);
  std::vector<std::string> names;
  auto select = [&](const std::string& name) {
    if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
  };
  where = stage.time_column + " IS NOT NULL" + where;
  for (const std::string& key : stage.keys) {
    select(key);
    where += " AND " + QuoteIdentifier(key) + " IS NOT NULL";
  }
  for (const aggregation::AggregatedColumn& c : stage.columns) select(c.name);
  std::string list;
  for (const std::string& name : names) list += "s." + QuoteIdentifier(name) + ", ";
  return "SELECT DISTINCT " + list + "timestamp_micros(" + micros + ") AS " +
         QuoteIdentifier(time_name) + " FROM (SELECT * FROM " + stage.relation + " WHERE " +
         where + ") s" + semi_join;
}

}  // namespace

std::string SparkEventsSql(const AggregationStage& stage, const std::string& entities,
                           const std::string& time_name) {
  const std::string micros = MicrosSql(stage.time_column, stage.time_type);
  const std::string entity_us = EntityMicros(QuoteIdentifier(stage.ts_column));
  std::string where = " AND " + micros + " < (SELECT max(" + entity_us + ") FROM " + entities + ")";
  const bool lifetime = std::any_of(stage.aggregations.begin(), stage.aggregations.end(),
                                    [](const Aggregation& a) { return a.lifetime; });
  if (!lifetime) {
    int64_t widest = 0;
    for (const Aggregation& a : stage.aggregations) widest = std::max(widest, a.window.micros);
    where += " AND " + micros + " >= (SELECT min(" + entity_us + ") FROM " + entities + ") - " +
             std::to_string(widest + stage.interval.micros);
  }
  // Only the keys of entity rows.
  std::string entity_keys;
  std::string on;
  for (size_t k = 0; k < stage.keys.size(); ++k) {
    const std::string key = QuoteIdentifier(stage.keys[k]);
    const std::string alias = "__larder_k" + std::to_string(k);
    entity_keys += (k ? ", " : "") + TypedValue(key, stage.key_types[k]) + " AS " + alias;
    on += (k ? " AND " : "") + TypedValue("s." + key, stage.key_types[k]) + " = k." + alias;
  }
  std::string semi_join;
  if (!stage.keys.empty()) {
    semi_join = " LEFT SEMI JOIN (SELECT DISTINCT " + entity_keys + " FROM " + entities +
                " WHERE " + QuoteIdentifier(stage.ts_column) + " IS NOT NULL) k ON " + on;
  }
  return DistinctEventsSql(stage, where, semi_join, time_name);
}

std::string SparkWindowEventsSql(const AggregationStage& stage, TimestampMicros start,
                                 TimestampMicros end, const std::string& time_name) {
  const std::string micros = MicrosSql(stage.time_column, stage.time_type);
  std::string where = " AND " + micros + " < " + std::to_string(end);
  if (start != std::numeric_limits<TimestampMicros>::min()) {
    where += " AND " + micros + " >= " + std::to_string(start);
  }
  return DistinctEventsSql(stage, where, "", time_name);
}

}  // namespace larder::offline::spark
