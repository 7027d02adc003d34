// Window aggregations of a feature view as DuckDB SQL, for training data
// (docs/aggregations.md has the semantics; aggregation/event.h the events).
//
// The value of an aggregation for an entity row at time t covers the view's
// events of that row's keys with event time in [T - window, T) (lifetime:
// every event before T), where T is t rounded down to a multiple of the
// view's aggregation_interval (epoch-aligned) when it has one, else t.
//
// The plan, one statement per view, linear in rows (no range join):
//   events   SELECT DISTINCT keys, event time (µs, rounded up as
//            offline/row_order.h does), the aggregated columns typed as
//            materialization types them and, where an ordered function or a
//            float column needs it, their tie key (larder_tie_key, equal to
//            aggregation::EventTieKey); rows without a time or a key dropped;
//   rows     the events UNION ALL the entity rows (time T, NULL values, and
//            their row number, which events lack);
//   windows  per distinct window, PARTITION BY keys ORDER BY time RANGE
//            BETWEEN <window> PRECEDING AND 1 PRECEDING: time is in whole
//            microseconds, so the frame is exactly [T - window, T), and
//            events at T (peers of the entity row) stay out;
//   result   only the entity rows: their row number and one column per
//            requested aggregation, typed as AggregationOutputType.
// Entity rows are values-free rows of the frames, so every function skips
// them as it skips NULLs. An entity row without a timestamp gets NULL for
// every aggregation (there is no instant to aggregate up to).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "aggregation/event.h"
#include "larder/definitions.h"
#include "larder/types.h"

namespace larder::offline {

// One aggregation as a window expression over window `window`. `value` is
// the aggregated column (typed by TypedValueSql for aggregation.column_dtype)
// and `order` a HUGEINT that sorts events as (time, tie key) do. The result
// has the DuckDB type that QueryValues reads as AggregationOutputType, before
// AggregationOutputSql: e.g. BIGINT micros for a UnixTimestamp.
std::string AggregationWindowSql(const Aggregation& aggregation, const std::string& value,
                                 const std::string& order, const std::string& window);

// The window expression of the functions that read alike in DuckDB and
// Spark SQL (count, min, max, stddev, variance and sums of floats), or empty
// for the others.
std::string CommonWindowSql(const Aggregation& aggregation, const std::string& value,
                            const std::string& window);

// Whether the function depends on the order of events (first, last,
// first_n, last_n), and so needs the tie key.
bool AggregationNeedsOrder(AggregationFunction function);

// The frame of `aggregation`'s window over a BIGINT microsecond order key:
// "RANGE BETWEEN <µs> PRECEDING AND 1 PRECEDING", or UNBOUNDED PRECEDING for
// lifetime.
std::string AggregationFrameSql(const Aggregation& aggregation);

// `expr` (as AggregationWindowSql gives it) converted to the DuckDB type of
// dtype `output` in training data: INTEGER, BIGINT, FLOAT, DOUBLE, VARCHAR,
// BLOB, BOOLEAN, TIMESTAMP WITH TIME ZONE, or a LIST of one of them.
std::string AggregationOutputSql(const std::string& expr, const ValueType& output);

// What AggregationStageSql needs of the request, already checked: the
// requested aggregations of one view, or of several views that read the same
// events (SameEvents), so that one statement serves them all.
struct AggregationStage {
  // The columns that identify and order events: AggregatedColumns(view).
  std::vector<aggregation::AggregatedColumn> columns;
  Duration interval;  // the view's aggregation_interval
  // The requested aggregations, in output order.
  std::vector<Aggregation> aggregations;
  // The view's mapped source relation (MappedSourceSql).
  std::string relation;
  // The source's event-time column, quoted, and its DuckDB type.
  std::string time_column;
  std::string time_type;
  // The view's join keys (unquoted) and their entities' dtypes.
  std::vector<std::string> keys;
  std::vector<ValueType> key_types;
  // The staged entity rows: a table with the keys, `row_column` (the input
  // row number) and `ts_column` (TIMESTAMPTZ).
  std::string entities_table;
  std::string row_column;
  std::string ts_column;
};

// Whether `a` and `b` read the same events at the same instants (source,
// time column, keys, aggregated columns and interval all equal), so that
// their aggregations can share one statement.
bool SameEvents(const AggregationStage& a, const AggregationStage& b);

// What differs between the SQL engines that run the plan of the file
// comment: DuckDB here, Spark in offline/spark/spark_aggregation_sql.h. The
// plan itself (events, rows, frames, the entity rows kept) is shared.
struct AggregationDialect {
  // A name as one identifier of the engine's SQL.
  std::string (*quote)(std::string_view name);
  // A column cast to the engine's type for dtype `t`, as TypedValueSql.
  std::string (*typed_value)(const std::string& column, const ValueType& t);
  // Microseconds (BIGINT) of source time column `column` (quoted) of type
  // `type`, rounded up as SourceMicrosSql.
  std::string (*event_micros)(const std::string& column, const std::string& type);
  // Microseconds (BIGINT) of the staged entity time column (quoted).
  std::string (*entity_micros)(const std::string& column);
  // The tie key over the typed aggregated columns; null when the engine
  // cannot compute it (then the stage may not hold ordered functions or
  // float columns that only the tie key tells apart).
  std::string (*tie_key)(const std::vector<std::string>& typed,
                         const std::vector<ValueType>& types);
  // One aggregation as a window expression (AggregationWindowSql's
  // contract).
  std::string (*window)(const Aggregation& aggregation, const std::string& value,
                        const std::string& order, const std::string& window);
  // The window expression converted to the output type, or null to keep it
  // as `window` gives it (the caller converts it later).
  std::string (*output)(const std::string& expr, const ValueType& output);
};

// DuckDB's dialect: the functions of this file and offline/row_order.h.
const AggregationDialect& DuckDbAggregationDialect();

// The SELECT (see the file comment) whose rows are `row_column` and
// __larder_f<i> for each stage.aggregations[i], one row per entity row with a
// timestamp, in `dialect`. Every name in it is quoted.
std::string AggregationStageSql(const AggregationStage& stage,
                                const AggregationDialect& dialect = DuckDbAggregationDialect());

}  // namespace larder::offline
