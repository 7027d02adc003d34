// Point-in-time correct training data computed by Spark: the spark offline
// store's GetHistoricalFeatures. Semantics and output are those of
// larder/offline_store.h, value for value the DuckDB store's.
//
// Design. Spark does the joins, in one query:
//   __larder_e    the entity rows, with __larder_ts (the event timestamp as
//                 a timestamp) and __larder_row (monotonically_increasing_id,
//                 which follows the input's order);
//   __larder_s<v> per view, its mapped source's distinct rows with a
//                 timestamp and every join key: the keys, the event and
//                 created times in microseconds and all of the view's
//                 features (the order of rows needs them all);
//   __larder_j<v> per view, each entity row joined to its source rows of the
//                 same keys with event time <= the row's (and >= the row's
//                 minus the ttl), keeping those of rank 1 by (event time,
//                 created time NULLS LAST) descending;
//   the query     the entity rows LEFT JOIN each __larder_j<v>.
// The greatest of rows that tie on both times is the one with the greatest
// tie key, a hash that only Larder computes (docs/online-store.md, "The order
// of rows"). So the rank keeps every tied row, and Larder finishes: Spark's
// result streams into the job's DuckDB database (SparkResultStream), where
// one query keeps, per entity row, the rows with the greatest tie key of each
// view, picks the requested features, and restores the input order. Exact
// duplicates of source rows are removed by Spark (DISTINCT), so only rows
// that differ in value reach Larder more than once per entity row.
//
// Window aggregations: spark_aggregation_plan.h says which run on Spark and
// which Larder finishes over the events Spark filters.
//
// Not yet on Spark (InvalidArgument naming what): entity DataFrames, CSV
// entity files and sources other than parquet files and queries
// (spark_sql.h).
#pragma once

#include <memory>

#include "larder/offline_store.h"
#include "larder/repo.h"
#include "larder/status.h"
#include "offline/spark/spark_connect_client.h"

namespace larder::offline::spark {

// Validates `request` against `repo` and the columns Spark reports for the
// entity table and the sources, and returns a job. Spark runs the query when
// the job first runs (WriteToFile, ExportArrowStream). Entity SQL is Spark
// SQL and must be one query: it runs as a subquery, so anything else fails
// to parse. An entity_path is read by Spark (relative paths are made
// absolute here, so a local Spark reads the caller's file).
Result<std::unique_ptr<HistoricalRetrievalJob>> PrepareSparkHistoricalRetrieval(
    const FeatureRepo& repo, const HistoricalFeaturesRequest& request,
    const HistoricalRetrievalOptions& options, std::shared_ptr<SparkConnectClient> client);

}  // namespace larder::offline::spark
