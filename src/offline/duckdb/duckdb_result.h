// Internal helpers of the DuckDB adapter: DuckDB errors as Status, the
// owner of a duckdb_result, and reading vectors of a data chunk.
#pragma once

#include <duckdb.h>

#include <cstring>
#include <string>
#include <string_view>

#include "larder/status.h"

namespace larder::duckdb {

// Owns a duckdb_result.
class ResultGuard {
 public:
  ResultGuard() { std::memset(&r_, 0, sizeof(r_)); }
  ~ResultGuard() { duckdb_destroy_result(&r_); }
  ResultGuard(const ResultGuard&) = delete;
  ResultGuard& operator=(const ResultGuard&) = delete;
  duckdb_result* get() { return &r_; }

 private:
  duckdb_result r_;
};

// Runs `sql` into `result`; returns DuckDB's error as a Status whose code
// follows the error type (IO, transaction -> Busy, parser/binder ->
// InvalidArgument, ...) and whose message starts "<what>: ".
Status RunQuery(duckdb_connection conn, std::string_view sql, std::string_view what,
                ResultGuard& result);

// DuckDB's error of `type` as a Status, prefixed with "<what>: ".
Status ErrorStatus(duckdb_error_type type, std::string_view what, const char* text);

// "<what>: <text>" with DuckDB's repeated context paragraphs dropped.
std::string Prefixed(std::string_view what, std::string_view text);

// Whether row `row` of vector `v` is not NULL.
bool IsValid(duckdb_vector v, idx_t row);

// The VARCHAR or BLOB at `row` of `v` (valid while the chunk lives).
std::string_view StringAt(duckdb_vector v, idx_t row);

}  // namespace larder::duckdb
