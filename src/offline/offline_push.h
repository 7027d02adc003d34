// Offline push: appending rows to a push source's history in the offline
// store, after checking them against the source's schema.
#pragma once

#include <cstdint>
#include <string>

#include "larder/push.h"
#include "larder/repo.h"
#include "larder/status.h"
#include "offline/duckdb/duckdb_connection.h"

namespace larder::offline {

// Appends the rows of `file` (parquet or csv, by extension) to the offline
// table of push source `push_source` (offline::PushTableName), in one
// transaction. The rows must carry the batch source's timestamp_field (never
// NULL) and every join key and feature of the feature views reading the
// push source; other columns must be columns of the batch source. Values are
// cast to the batch source's column types; a value that does not cast is an
// error naming the column and the number of such rows.
//
// Returns the number of rows appended. Errors: NotFound for an unknown
// source or a missing file; InvalidArgument naming the file and column for
// rows that do not fit; FailedPrecondition when the batch source is a model
// that has not been built.
Result<int64_t> PushToOffline(const FeatureRepo& repo, const std::string& push_source,
                              const std::string& file, duckdb::Connection& conn);

// As PushToOffline, for rows given column-wise (the push API). Columns that
// the views reading the source declare are first converted to their dtypes
// (larder/push.h); errors name the column as `df.<column>[<row>]`.
Result<int64_t> PushRowsToOffline(const FeatureRepo& repo, const std::string& push_source,
                                  const ColumnTable& rows, duckdb::Connection& conn);

}  // namespace larder::offline
