// The SQL side of approx_count_distinct: the aggregate function
// larder_hll_count, the same HyperLogLog (aggregation/hll.h) that online
// tiles keep, so batch and online estimate the same number from the same
// values.
#pragma once

#include "larder/status.h"
#include "offline/duckdb/duckdb_connection.h"

namespace larder::duckdb {

// Registers larder_hll_count on `conn`'s database (a no-op when it already
// is). larder_hll_count(h UBIGINT) -> BIGINT adds aggregation::MixHash(h) of
// every non-NULL h to an aggregation::Hll and returns its Estimate(): 0 for
// no input. Give it larder_tie_key of one value typed as the column's dtype
// (TieKeySql), so that it sees aggregation::DistinctHash of that value. It
// combines sketches, so it works as a window aggregate over any frame
// (DuckDB's segment tree merges partial sketches; merging is exact).
Status RegisterHllCountFunction(Connection& conn);

}  // namespace larder::duckdb
