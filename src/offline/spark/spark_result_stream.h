// A Spark query's result as an Arrow C stream, read from Spark Connect batch
// by batch: the bridge from Spark into everything that reads Arrow (DuckDB's
// Arrow scan, the SDK, the online writers).
#pragma once

#include <memory>
#include <string>

#include "larder/offline_store.h"
#include "larder/status.h"
#include "offline/duckdb/duckdb_connection.h"
#include "offline/spark/spark_connect_client.h"

namespace larder::offline::spark {

// Runs `sql` on `client` and returns its result as an ArrowArrayStream. The
// query runs on a thread of its own, which hands Spark's Arrow batches
// (each a complete IPC stream) over a queue of at most `queued_batches`
// batches; the stream decodes them as the reader pulls, so a result larger
// than memory streams through. Releasing the stream before its end cancels
// the query on the server and joins the thread. Spark's errors, and
// decoding errors, end the stream: get_next returns EIO and get_last_error
// gives the message (prefixed with `what`). An empty result gives Spark's
// schema and no rows.
// REQUIRES: queued_batches >= 1; `client` outlives the stream.
ArrowArrayStream SparkResultStream(std::shared_ptr<SparkConnectClient> client, std::string sql,
                                   std::string what, int queued_batches = 2);

// Runs `sql` on `client` and streams its result into new table `table` of
// `conn`'s database (duckdb::ImportArrowStream). Errors name `what`, with
// Spark's message, and carry no SQL text.
Status ImportSparkResult(std::shared_ptr<SparkConnectClient> client, std::string sql,
                         duckdb::Connection& conn, const std::string& table,
                         const std::string& what);

}  // namespace larder::offline::spark
