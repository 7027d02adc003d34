// Offline push: appending rows to a push source's history in the offline
// store, after checking them against the source's schema.
#pragma once

#include <cstdint>
#include <limits>
#include <string>

#include "larder/offline_store.h"
#include "larder/push.h"
#include "larder/repo.h"
#include "larder/status.h"
#include "offline/duckdb/duckdb_connection.h"

namespace larder::offline {

// Per-call settings of an offline push.
struct OfflinePushOptions {
  // Rows whose event time (the batch source's timestamp_field) is later than
  // this are refused. Default: no limit.
  TimestampMicros latest_event_time = std::numeric_limits<TimestampMicros>::max();
};

// What an offline push did (larder/offline_store.h).
using OfflineAppend = larder::OfflineAppend;

// Appends the rows of `file` (parquet or csv, by extension) to the offline
// table of push source `push_source` (offline::PushTableName), in one
// transaction. The rows must carry the batch source's timestamp_field (never
// NULL, never later than options.latest_event_time) and every join key and
// feature of the feature views reading the push source; other columns must
// be columns of the batch source. Values are cast to the batch source's
// column types; a value that does not cast is an error naming the column and
// the number of such rows.
//
// The table holds distinct rows: a row equal in every column (NULL equal to
// NULL) to a stored row, or to an earlier row of the same call, is not
// appended, so pushing the same rows again appends nothing. (The lookup of
// stored rows is limited to the pushed rows' event-time range.)
//
// Returns the rows given and appended. Errors: NotFound for an unknown
// source or a missing file; InvalidArgument naming the file and column for
// rows that do not fit; FailedPrecondition when the batch source is a model
// that has not been built.
Result<OfflineAppend> PushToOffline(const FeatureRepo& repo, const std::string& push_source,
                                    const std::string& file, duckdb::Connection& conn,
                                    const OfflinePushOptions& options = {});

// As PushToOffline, for rows given column-wise (the push API). Columns that
// the views reading the source declare are first converted to their dtypes
// (larder/push.h); errors name the column as `df.<column>[<row>]`.
Result<OfflineAppend> PushRowsToOffline(const FeatureRepo& repo, const std::string& push_source,
                                        const ColumnTable& rows, duckdb::Connection& conn,
                                        const OfflinePushOptions& options = {});

}  // namespace larder::offline
