// Window aggregations as Spark SQL: the dialect in which Spark runs the plan
// of offline/historical/aggregation_sql.h, and the query of the events that
// Spark filters for the functions Larder finishes itself.
//
// On Spark run the functions whose value does not depend on Larder's tie key
// or sketch (RunsOnSpark): count, sum, mean, min, max, stddev, variance and
// count_distinct. They equal DuckDB's value for value:
//   count, count_distinct  BIGINT; 0 over an empty window
//                          (count_distinct: size(collect_set(value)) over
//                          the frame, since Spark has no DISTINCT window
//                          functions; a float is canonicalized by + 0.0 as
//                          in DuckDB);
//   sum                    integers summed as DECIMAL(38,0), then BIGINT (an
//                          error past Int64, as DuckDB's HUGEINT sum cast);
//                          floats as DOUBLE;
//   mean                   integers: the exact sum as DOUBLE over the count,
//                          as DuckDB divides; floats: avg;
//   min, max               the typed column (a UnixTimestamp in µs);
//   stddev, variance       stddev_samp, var_samp (NULL below 2 values).
// A sum, mean, stddev or variance over floats adds in the order each engine
// walks its frames, so those may differ in their last bits (as between
// training data and online reads); everything else is exact.
#pragma once

#include <string>
#include <vector>

#include "larder/definitions.h"
#include "offline/historical/aggregation_sql.h"

namespace larder::offline::spark {

// Whether Spark computes `function` in training data (see the file comment);
// the others (first, last, first_n, last_n, approx_count_distinct) are
// finished by Larder's DuckDB over the events SparkEventsSql selects.
bool RunsOnSpark(AggregationFunction function);

// The dialect of AggregationStageSql for Spark: identifiers quoted by
// spark_sql's QuoteIdentifier, values typed as Spark types that arrive in
// DuckDB as TypedValueSql's types, and the raw window expressions (no
// output conversion: AggregationOutputSql applies in Larder's DuckDB).
// Stages in it may hold only functions that RunsOnSpark.
const AggregationDialect& SparkAggregationDialect();

// The Spark query of the distinct events of `stage` (in Spark terms:
// relation, quoted time column and its type, keys) that entity rows of
// relation `entities` (with keys and `stage.ts_column`, a TIMESTAMP) can
// see: keys set and present among the entity rows, time before the latest
// entity time and, when no aggregation of the stage is lifetime, not before
// the earliest entity time minus the largest window and one interval. Its
// columns are the keys and aggregated columns under their own names, as the
// source holds them, and `time_name`, the event time (µs, rounded up) as a
// TIMESTAMP.
std::string SparkEventsSql(const AggregationStage& stage, const std::string& entities,
                           const std::string& time_name);

// The same columns for materialization: the distinct events of `stage` with
// keys set and event time in [start, end) (no lower bound when start is
// INT64_MIN). `stage` needs no aggregations or entity names.
std::string SparkWindowEventsSql(const AggregationStage& stage, TimestampMicros start,
                                 TimestampMicros end, const std::string& time_name);

}  // namespace larder::offline::spark
