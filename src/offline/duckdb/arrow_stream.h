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

// As above, for a statement prepared on `conn` (Connection::PrepareOne),
// which the stream takes over; messages are prefixed with its what().
Status ExportArrowStream(std::shared_ptr<Connection> conn,
                         std::unique_ptr<PreparedStatement> statement, ArrowArrayStream* out);

// Reads every batch of `stream` into a new table `table` of `conn`'s
// default catalog and schema (CREATE TABLE ... AS), in stream order, with DuckDB's Arrow
// scan: Arrow types map to DuckDB's (timestamp with a zone to TIMESTAMP WITH
// TIME ZONE, list to LIST, ...). The stream is consumed but stays owned by
// the caller, who releases it; the table does not refer to it afterwards.
// REQUIRES: the default catalog is writable (DuckDB's Arrow scan registers
// a view there for the copy, dropped afterwards).
// Errors: InvalidArgument (prefixed with `what`) when DuckDB cannot scan the
// stream's schema or a batch, or `table` exists.
Status ImportArrowStream(Connection& conn, ArrowArrayStream* stream, const std::string& table,
                         const std::string& what);

}  // namespace larder::duckdb
