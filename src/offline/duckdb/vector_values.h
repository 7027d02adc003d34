// Reading DuckDB vectors as typed Values: the one mapping of DuckDB types to
// dtypes, shared by Connection::QueryValues and the larder_tie_key SQL
// function, so that both see identical Values.
#pragma once

#include <duckdb.h>

#include "larder/value.h"

namespace larder::duckdb {

// A column's DuckDB type (the element's, for a LIST).
struct ColumnType {
  duckdb_type outer = DUCKDB_TYPE_INVALID;
  duckdb_type element = DUCKDB_TYPE_INVALID;
};

// The DuckDB type of a logical type.
ColumnType ColumnTypeOf(duckdb_logical_type type);

// Whether a column of `have` holds values of dtype `want`: Int32 INTEGER,
// Int64 and UnixTimestamp BIGINT, Float32 FLOAT or DOUBLE, Float64 DOUBLE,
// String VARCHAR, Bytes BLOB, Bool BOOLEAN; an array a LIST of those.
bool Accepts(const ValueType& want, const ColumnType& have);

// The DuckDB type's name, for messages.
const char* DuckTypeName(duckdb_type t);

// The non-NULL value at `row` of `v`, whose type `have` Accepts() `want`.
// False (with *out untouched) when an array holds a NULL element.
bool ValueAt(duckdb_vector v, idx_t row, const ValueType& want, const ColumnType& have,
             Value* out);

}  // namespace larder::duckdb
