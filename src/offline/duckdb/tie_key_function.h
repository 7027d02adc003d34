// The SQL side of the total order of rows (docs/online-store.md): the scalar
// function larder_tie_key, which DuckDB calls to break ties between rows with
// equal event and created timestamps in materialization and in training data.
#pragma once

#include <duckdb.h>

#include <span>
#include <string>

#include "larder/status.h"
#include "larder/types.h"
#include "offline/duckdb/duckdb_connection.h"

namespace larder::duckdb {

// Registers larder_tie_key on `conn`'s database (a no-op when it already is).
// larder_tie_key(dtypes, v1, ..., vn) returns, as UBIGINT, the tie key
// (online::RecordTieKey) of an online record holding the values v1..vn: the
// same Values that Connection::QueryValues reads from those columns, encoded
// as EncodeRecord encodes them. `dtypes` is a constant made by TieKeySql. A
// NULL array element (which no record can hold) is hashed as a distinct
// marker, so the result stays deterministic.
Status RegisterTieKeyFunction(Connection& conn);

// The outcome of registering SQL function `name` on `conn`, given the state
// DuckDB's register call returned: OK when it succeeded or when the database
// already has a function of that name (another connection registered it);
// Internal otherwise.
Status RegistrationStatus(Connection& conn, duckdb_state state, const std::string& name);

// The call of larder_tie_key over `columns` (SQL expressions already in
// QueryValues' DuckDB types for `types`, e.g. materialization's casts).
std::string TieKeySql(std::span<const std::string> columns, std::span<const ValueType> types);

}  // namespace larder::duckdb
