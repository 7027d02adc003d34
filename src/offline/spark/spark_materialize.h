// Materialization's reading on Spark: the rows of a view that the latest row
// per entity key needs, computed by Spark in `partitions` partitions and
// streamed into a table of Larder's DuckDB database, where the materializer
// (materialize/materializer.h, ViewRowsImporter) picks the latest row per key
// and writes it online, as it does for the DuckDB store.
#pragma once

#include <string>

#include "larder/repo.h"
#include "larder/status.h"
#include "offline/duckdb/duckdb_connection.h"
#include "offline/spark/spark_connect_client.h"

namespace larder::offline::spark {

// Fills `table` of `conn`'s database with the rows of `view`'s mapped
// source whose event time is in [start, end) (no lower bound when start is
// INT64_MIN) and whose keys are set, reduced by Spark to the distinct rows of
// rank 1 per entity key by (event time, created time NULLS LAST) descending:
// the latest row and those tied with it, which only Larder's tie key orders.
// Spark spreads the ranking over `partitions` partitions. Errors name the
// view, with Spark's message.
Status ImportLatestRows(const std::shared_ptr<SparkConnectClient>& client,
                        const FeatureRepo& repo, const FeatureView& view, TimestampMicros start,
                        TimestampMicros end, int partitions, duckdb::Connection& conn,
                        const std::string& table);

// Fills `table` of `conn`'s database with the distinct events of
// aggregation view `view` whose keys are set and whose event time is in
// [start, end) (no lower bound when start is INT64_MIN), filtered by Spark:
// the join keys and aggregated columns under the source's names and the
// timestamp field as a timestamp (materialize::ImportedRows::kEvents).
// Errors name the view, with Spark's message.
Status ImportEvents(const std::shared_ptr<SparkConnectClient>& client, const FeatureRepo& repo,
                    const FeatureView& view, TimestampMicros start, TimestampMicros end,
                    duckdb::Connection& conn, const std::string& table);

}  // namespace larder::offline::spark
