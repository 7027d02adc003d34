// Small Spark results as text rows: catalog listings, counts, and the rows
// that tests compare. Not for large results (spark_result_stream.h streams
// those).
#pragma once

#include <cstdint>
#include <string>

#include "larder/status.h"
#include "offline/duckdb/duckdb_connection.h"
#include "offline/spark/spark_connect_client.h"

namespace larder::offline::spark {

// Runs the query `sql` on `client` and returns its whole result, held in
// memory, as DuckDB reads it from Spark's Arrow batches: column names, DuckDB
// type names, and each value as DuckDB's text (duckdb::QueryResult). A
// result of no batch at all has no columns and no rows. Errors are Spark's,
// prefixed with `what`.
Result<duckdb::QueryResult> SparkRows(SparkConnectClient& client, const std::string& sql,
                                      const std::string& what);

// The single BIGINT value of `sql` (e.g. SELECT count(*) ...); 0 when it is
// NULL. Internal when the result is not one integer.
Result<int64_t> SparkCount(SparkConnectClient& client, const std::string& sql,
                           const std::string& what);

}  // namespace larder::offline::spark
