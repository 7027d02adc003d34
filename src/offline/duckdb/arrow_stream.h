// Streaming a query's result out through the Arrow C stream interface.
// Part of the DuckDB adapter: the only code here that calls DuckDB's Arrow
// functions.
#pragma once

#include <memory>
#include <string>

#include "larder/offline_store.h"
#include "larder/status.h"
#include "offline/duckdb/duckdb_connection.h"

namespace larder::duckdb {

// Starts `sql` as a streaming query on `conn` and initialises `*out` as an
// ArrowArrayStream over its result. The stream owns a reference to `conn`;
// the caller owns the stream and must call out->release(out). Batches are
// computed as the consumer pulls them, so memory stays bounded by DuckDB's
// operators rather than by the result size.
//
// REQUIRES: nothing else runs on `conn` until the stream is released (give
// the stream a connection of its own: Connection::NewConnection).
// Errors (InvalidArgument, ...) are those of preparing or starting the
// query, prefixed with `what`; errors while pulling batches come back from
// get_next (EIO) with get_last_error's message.
Status ExportArrowStream(std::shared_ptr<Connection> conn, const std::string& sql,
                         const std::string& what, ArrowArrayStream* out);

}  // namespace larder::duckdb
