// The total order of a feature view's source rows, in SQL: the one place
// where materialization and training data get their typed feature values,
// their timestamps and their tie key. docs/online-store.md ("The order of
// rows") states the order:
//   1. event time, 2. created time (a row without one is oldest), both in
//      microseconds, a finer source time rounded UP to the microsecond (so
//      no rounding can move a row before an instant it is after);
//   3. the tie key: online::RecordTieKey of the row's online record values,
//      computed in SQL by larder_tie_key (offline/duckdb/tie_key_function.h).
#pragma once

#include <string>

#include "larder/definitions.h"
#include "larder/status.h"
#include "larder/types.h"
#include "offline/duckdb/duckdb_connection.h"

namespace larder::offline {

// The SQL of value column `column` (an SQL expression) cast to the DuckDB
// type that Connection::QueryValues reads as dtype `t`.
std::string TypedValueSql(const std::string& column, const ValueType& t);

// Microseconds since the epoch (BIGINT) of time column `column` whose DuckDB
// type is `duckdb_type` (DESCRIBE's name): a TIMESTAMP_NS is rounded up to
// the microsecond; a naive TIMESTAMP or DATE is UTC (the session's TimeZone
// is UTC); text is cast.
std::string SourceMicrosSql(const std::string& column, const std::string& duckdb_type);

// The same instant as TIMESTAMP WITH TIME ZONE, rounded the same way.
std::string SourceTimestampTzSql(const std::string& column, const std::string& duckdb_type);

// The DuckDB type name of column `column` of `relation` (unquoted name).
// InvalidArgument naming `what` and the columns when there is none.
Result<std::string> ColumnTypeName(duckdb::Connection& conn, const std::string& relation,
                                   const std::string& column, const std::string& what);

// The tie key (UBIGINT) of a source row of `view`, over all of the view's
// features cast by TypedValueSql, as larder_tie_key. The connection that
// runs it needs RegisterTieKeyFunction.
std::string RowTieKeySql(const FeatureView& view);

}  // namespace larder::offline
