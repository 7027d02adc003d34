// Reading the columns of a file data source (Parquet or CSV) with DuckDB.
#pragma once

#include <string>
#include <vector>

#include "larder/definitions.h"
#include "larder/repo.h"
#include "larder/status.h"
#include "offline/duckdb/duckdb_connection.h"

namespace larder::duckdb {

// The DuckDB table expression that scans `abs_path` (a path or a glob) in
// `format`: "read_parquet('...')" or "read_csv_auto('...')", the path
// quoted safely. The one place that decides how Larder reads source files.
std::string FileScanSql(FileFormat format, const std::string& abs_path);

// Returns the columns (name and DuckDB type name, in file order) of the
// file source `source` whose path, resolved by the caller, is `abs_path`.
// Matches larder::SchemaResolver, so it can be passed to LoadFeatureRepo.
// When a glob matches several files, the first file's schema is returned.
//
// Errors: NotFound("no file matches <abs_path>") when the path or glob
// matches no file; IOError (unreadable) or InvalidArgument (not a valid
// Parquet/CSV file) naming the file; InvalidArgument when `source` is not a
// file source. Opens a private in-memory DuckDB per call; thread-safe.
Result<std::vector<ColumnInfo>> ReadFileSourceSchema(
    const DataSource& source, const std::string& abs_path);

// As above, on an existing connection (no per-call database).
// Not thread-safe with respect to `conn`.
Result<std::vector<ColumnInfo>> ReadFileSourceSchema(
    Connection& conn, const DataSource& source, const std::string& abs_path);

// OK, or InvalidArgument naming the file, the column and the fix, when a
// time column that Larder compares (`owner`'s timestamp_field or
// created_timestamp_column) is, in any Parquet file that `abs_path` (a path
// or a glob) matches, a TIMESTAMP(NANOS) adjusted to UTC or an INT96
// timestamp. DuckDB reads both truncated to the microsecond and no option
// gives the exact value, so a row 500 ns after an instant would compare as
// at it (docs/online-store.md, "The order of rows"). Other columns, naive
// TIMESTAMP(NANOS) (read exactly, then rounded up) and CSV are OK.
// ReadFileSourceSchema runs it; readers of sources checked only earlier run
// it again, as files may have changed since.
Status CheckExactSourceTimes(Connection& conn, const DataSource& owner, FileFormat format,
                             const std::string& abs_path);

}  // namespace larder::duckdb
