#include "offline/historical/aggregation_sql.h"

#include <algorithm>

#include "offline/duckdb/duckdb_connection.h"
#include "offline/duckdb/tie_key_function.h"
#include "offline/row_order.h"

namespace larder::offline {
namespace {

using duckdb::QuoteIdentifier;

bool IsFloat(const ValueType& t) {
  return t.scalar == ScalarType::kFloat32 || t.scalar == ScalarType::kFloat64;
}

std::string Numbered(std::string_view prefix, size_t i) {
  return std::string(prefix) + std::to_string(i);
}

// The DuckDB type of a scalar dtype in training data.
std::string OutputTypeName(ScalarType t) {
  switch (t) {
    case ScalarType::kInt32: return "INTEGER";
    case ScalarType::kInt64: return "BIGINT";
    case ScalarType::kFloat32: return "FLOAT";
    case ScalarType::kFloat64: return "DOUBLE";
    case ScalarType::kString: return "VARCHAR";
    case ScalarType::kBytes: return "BLOB";
    case ScalarType::kBool: return "BOOLEAN";
    case ScalarType::kUnixTimestamp: return "TIMESTAMPTZ";
  }
  return "VARCHAR";
}

// Microseconds since the epoch (BIGINT) as TIMESTAMP WITH TIME ZONE.
std::string MicrosAsTimestampTz(const std::string& expr) {
  return "CAST(make_timestamp(" + expr + ") AS TIMESTAMPTZ)";
}

}  // namespace

bool AggregationNeedsOrder(AggregationFunction function) {
  switch (function) {
    case AggregationFunction::kFirst:
    case AggregationFunction::kLast:
    case AggregationFunction::kFirstN:
    case AggregationFunction::kLastN:
      return true;
    default:
      return false;
  }
}

std::string CommonWindowSql(const Aggregation& a, const std::string& value,
                            const std::string& window) {
  const std::string over = "(" + value + ") OVER " + window;
  switch (a.function) {
    case AggregationFunction::kCount: return "count" + over;
    case AggregationFunction::kSum: return IsFloat(a.column_dtype) ? "sum" + over : "";
    case AggregationFunction::kMin: return "min" + over;
    case AggregationFunction::kMax: return "max" + over;
    case AggregationFunction::kStddev: return "stddev_samp" + over;
    case AggregationFunction::kVariance: return "var_samp" + over;
    default: return "";
  }
}

std::string AggregationWindowSql(const Aggregation& a, const std::string& value,
                                 const std::string& order, const std::string& window) {
  const std::string over = " OVER " + window;
  const std::string non_null = " FILTER (WHERE " + value + " IS NOT NULL)";
  // -0.0 and 0.0 are one value to the distinct counts.
  const std::string canonical = IsFloat(a.column_dtype) ? "(" + value + " + 0.0)" : value;
  if (std::string common = CommonWindowSql(a, value, window); !common.empty()) return common;
  switch (a.function) {
    case AggregationFunction::kSum:
      // DuckDB sums integers as HUGEINT; the output is Int64.
      return "CAST(sum(" + value + ")" + over + " AS BIGINT)";
    case AggregationFunction::kMean:
      // Of integers: the exact sum over the count in double arithmetic, as
      // online states and Spark divide (DuckDB's avg divides in extended
      // precision, which rounds differently now and then). NULL over an
      // empty window, where the sum is NULL.
      if (IsFloat(a.column_dtype)) return "avg(" + value + ")" + over;
      return "CAST(sum(" + value + ")" + over + " AS DOUBLE) / count(" + value + ")" + over;
    case AggregationFunction::kFirst:
      return "arg_min(" + value + ", " + order + ")" + non_null + over;
    case AggregationFunction::kLast:
      return "arg_max(" + value + ", " + order + ")" + non_null + over;
    case AggregationFunction::kFirstN:
      // Ascending by order already.
      return "min_by(" + value + ", " + order + ", " + std::to_string(a.n) + ")" + non_null +
             over;
    case AggregationFunction::kLastN:
      // max_by lists the greatest first; the output is oldest first.
      return "list_reverse(max_by(" + value + ", " + order + ", " + std::to_string(a.n) + ")" +
             non_null + over + ")";
    case AggregationFunction::kCountDistinct:
      return "count(DISTINCT " + canonical + ")" + over;
    case AggregationFunction::kApproxCountDistinct: {
      const std::vector<std::string> columns{canonical};
      const std::vector<ValueType> types{ValueType{a.column_dtype.scalar, false}};
      return "larder_hll_count(" + duckdb::TieKeySql(columns, types) + ")" + non_null + over;
    }
    default:
      break;  // CommonWindowSql's
  }
  return "NULL";
}

std::string AggregationFrameSql(const Aggregation& a) {
  const std::string start =
      a.lifetime ? std::string("UNBOUNDED") : std::to_string(a.window.micros);
  return "RANGE BETWEEN " + start + " PRECEDING AND 1 PRECEDING";
}

std::string AggregationOutputSql(const std::string& expr, const ValueType& output) {
  if (output.scalar == ScalarType::kUnixTimestamp) {
    if (!output.is_array) return MicrosAsTimestampTz(expr);
    return "list_transform(" + expr + ", __larder_x -> " + MicrosAsTimestampTz("__larder_x") +
           ")";
  }
  return "CAST(" + expr + " AS " + OutputTypeName(output.scalar) + (output.is_array ? "[])" : ")");
}

bool SameEvents(const AggregationStage& a, const AggregationStage& b) {
  auto same_columns = [](const std::vector<aggregation::AggregatedColumn>& x,
                         const std::vector<aggregation::AggregatedColumn>& y) {
    return std::equal(x.begin(), x.end(), y.begin(), y.end(),
                      [](const aggregation::AggregatedColumn& c,
                         const aggregation::AggregatedColumn& d) {
                        return c.name == d.name && c.dtype == d.dtype;
                      });
  };
  return same_columns(a.columns, b.columns) && a.interval.micros == b.interval.micros &&
         a.relation == b.relation && a.time_column == b.time_column &&
         a.time_type == b.time_type && a.keys == b.keys && a.key_types == b.key_types &&
         a.entities_table == b.entities_table;
}

namespace {

std::string DuckDbEntityMicros(const std::string& column) { return "epoch_us(" + column + ")"; }

std::string DuckDbQuote(std::string_view name) { return QuoteIdentifier(name); }

std::string DuckDbTieKey(const std::vector<std::string>& typed,
                         const std::vector<ValueType>& types) {
  return duckdb::TieKeySql(typed, types);
}

}  // namespace

const AggregationDialect& DuckDbAggregationDialect() {
  static const AggregationDialect dialect{&DuckDbQuote,          &TypedValueSql,
                                          &SourceMicrosSql,      &DuckDbEntityMicros,
                                          &DuckDbTieKey,         &AggregationWindowSql,
                                          &AggregationOutputSql};
  return dialect;
}

std::string AggregationStageSql(const AggregationStage& stage, const AggregationDialect& dialect) {
  const std::vector<aggregation::AggregatedColumn>& columns = stage.columns;
  const std::string time = "__larder_t";
  const std::string tie = "__larder_tie";
  const std::string order = "__larder_ord";
  const std::string row = dialect.quote(stage.row_column);

  // The tie key orders events for first/last and tells apart events whose
  // floats DuckDB compares as equal but whose encodings differ (-0.0 and 0.0),
  // which the online path counts as different events.
  bool with_tie = std::any_of(columns.begin(), columns.end(),
                              [](const aggregation::AggregatedColumn& c) {
                                return IsFloat(c.dtype);
                              });
  bool with_order = false;
  for (const Aggregation& a : stage.aggregations) {
    with_order = with_order || AggregationNeedsOrder(a.function);
  }
  with_tie = (with_tie || with_order) && dialect.tie_key != nullptr;
  with_order = with_order && with_tie;

  // The events: distinct (keys, time, values).
  std::string event_select;
  std::string event_where = stage.time_column + " IS NOT NULL";
  std::string partition;
  for (size_t k = 0; k < stage.keys.size(); ++k) {
    const std::string key = dialect.quote(stage.keys[k]);
    event_select += dialect.typed_value(key, stage.key_types[k]) + " AS " +
                    Numbered("__larder_k", k) + ", ";
    event_where += " AND " + key + " IS NOT NULL";
    partition += (k ? ", " : "") + Numbered("__larder_k", k);
  }
  event_select += dialect.event_micros(stage.time_column, stage.time_type) + " AS " + time;
  std::vector<std::string> typed;
  std::vector<ValueType> types;
  for (size_t c = 0; c < columns.size(); ++c) {
    typed.push_back(dialect.typed_value(dialect.quote(columns[c].name), columns[c].dtype));
    types.push_back(columns[c].dtype);
    event_select += ", " + typed.back() + " AS " + Numbered("__larder_c", c);
  }
  if (with_tie) event_select += ", " + dialect.tie_key(typed, types) + " AS " + tie;
  const std::string events =
      "SELECT DISTINCT " + event_select + " FROM " + stage.relation + " WHERE " + event_where;

  // Events and entity rows in one relation.
  std::string event_side = partition + ", " + time;
  std::string entity_side;
  for (size_t k = 0; k < stage.keys.size(); ++k) {
    entity_side += dialect.typed_value(dialect.quote(stage.keys[k]), stage.key_types[k]) + ", ";
  }
  // T: the entity time, rounded down to a multiple of the interval (% keeps
  // the dividend's sign in both engines).
  const std::string us = dialect.entity_micros(dialect.quote(stage.ts_column));
  const int64_t interval = stage.interval.micros;
  entity_side += interval > 0 ? "(" + us + " - ((" + us + " % " + std::to_string(interval) +
                                    ") + " + std::to_string(interval) + ") % " +
                                    std::to_string(interval) + ")"
                              : us;
  if (with_order) {
    // (time, tie) as one HUGEINT: time * 2^64 + tie.
    event_side += ", CAST(" + time + " AS HUGEINT) * 18446744073709551616 + " + tie;
    entity_side += ", NULL";
  }
  for (size_t c = 0; c < columns.size(); ++c) {
    event_side += ", " + Numbered("__larder_c", c);
    entity_side += ", NULL";
  }
  event_side += ", NULL";
  entity_side += ", " + row;
  std::string names = partition + ", " + time;
  if (with_order) names += ", " + order;
  for (size_t c = 0; c < columns.size(); ++c) names += ", " + Numbered("__larder_c", c);
  names += ", " + row;
  const std::string rows = "SELECT " + event_side + " FROM (" + events + ")\nUNION ALL SELECT " +
                           entity_side + " FROM " + stage.entities_table + " WHERE " +
                           dialect.quote(stage.ts_column) + " IS NOT NULL";

  // One window per distinct frame.
  std::vector<std::string> frames;
  std::string outputs;
  for (size_t f = 0; f < stage.aggregations.size(); ++f) {
    const Aggregation& a = stage.aggregations[f];
    const std::string frame = AggregationFrameSql(a);
    auto it = std::find(frames.begin(), frames.end(), frame);
    if (it == frames.end()) it = frames.insert(frames.end(), frame);
    const std::string window = Numbered("__larder_w", static_cast<size_t>(it - frames.begin()));
    const auto column = std::find_if(columns.begin(), columns.end(),
                                     [&](const aggregation::AggregatedColumn& c) {
                                       return c.name == a.column;
                                     });
    const std::string value = Numbered("__larder_c", static_cast<size_t>(column - columns.begin()));
    const std::string expr = dialect.window(a, value, order, window);
    outputs += ", " +
               (dialect.output != nullptr ? dialect.output(expr, AggregationOutputType(a)) : expr) +
               " AS " + Numbered("__larder_f", f);
  }
  std::string windows;
  for (size_t w = 0; w < frames.size(); ++w) {
    windows += (w ? ", " : "") + Numbered("__larder_w", w) + " AS (" +
               (partition.empty() ? "" : "PARTITION BY " + partition + " ") + "ORDER BY " + time +
               " " + frames[w] + ")";
  }
  return "SELECT * FROM (SELECT " + row + outputs + "\nFROM (" + rows + ") __larder_rows(" +
         names + ")\nWINDOW " + windows + ") WHERE " + row + " IS NOT NULL";
}

}  // namespace larder::offline
