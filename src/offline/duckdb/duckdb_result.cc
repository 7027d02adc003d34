#include "offline/duckdb/duckdb_result.h"

#include "offline/duckdb/duckdb_connection.h"

#include <utility>

namespace larder::duckdb {
namespace {

// DuckDB repeats the "LINE 1: ..." context of some parser errors; drop a
// trailing paragraph that repeats the one before it, and trailing blanks.
std::string CleanErrorText(std::string_view text) {
  std::string out(text);
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) {
    out.pop_back();
  }
  size_t last = out.rfind("\n\n");
  if (last != std::string::npos && last > 0) {
    size_t prev = out.rfind("\n\n", last - 1);
    if (prev != std::string::npos) {
      std::string_view s(out);
      if (s.substr(prev + 2, last - prev - 2) == s.substr(last + 2)) {
        out.resize(last);
      }
    }
  }
  return out;
}

StatusCode CodeFor(duckdb_error_type type) {
  switch (type) {
    case DUCKDB_ERROR_IO:
    case DUCKDB_ERROR_NETWORK:
    case DUCKDB_ERROR_HTTP:
    case DUCKDB_ERROR_PERMISSION:
      return StatusCode::kIOError;
    case DUCKDB_ERROR_TRANSACTION:
      return StatusCode::kBusy;
    case DUCKDB_ERROR_SERIALIZATION:
      return StatusCode::kCorruption;
    case DUCKDB_ERROR_INTERRUPT:
    case DUCKDB_ERROR_OUT_OF_MEMORY:
    case DUCKDB_ERROR_MISSING_EXTENSION:
    case DUCKDB_ERROR_AUTOLOAD:
    case DUCKDB_ERROR_CONNECTION:
    case DUCKDB_ERROR_SCHEDULER:
      return StatusCode::kFailedPrecondition;
    case DUCKDB_ERROR_FATAL:
    case DUCKDB_ERROR_INTERNAL:
    case DUCKDB_ERROR_NULL_POINTER:
      return StatusCode::kInternal;
    default:
      // Parser, syntax, binder, catalog, conversion, constraint, invalid
      // input, ...: the SQL or the data it reads is at fault.
      return StatusCode::kInvalidArgument;
  }
}

Status MakeStatus(StatusCode code, std::string msg) {
  switch (code) {
    case StatusCode::kIOError: return Status::IOError(std::move(msg));
    case StatusCode::kBusy: return Status::Busy(std::move(msg));
    case StatusCode::kCorruption: return Status::Corruption(std::move(msg));
    case StatusCode::kFailedPrecondition:
      return Status::FailedPrecondition(std::move(msg));
    case StatusCode::kInternal: return Status::Internal(std::move(msg));
    case StatusCode::kNotFound: return Status::NotFound(std::move(msg));
    case StatusCode::kAlreadyExists:
      return Status::AlreadyExists(std::move(msg));
    default: return Status::InvalidArgument(std::move(msg));
  }
}

}  // namespace

std::string Prefixed(std::string_view what, std::string_view text) {
  std::string msg;
  if (!what.empty()) {
    msg.append(what);
    msg += ": ";
  }
  msg += CleanErrorText(text);
  return msg;
}

Status ErrorStatus(duckdb_error_type type, std::string_view what,
                   const char* text) {
  return MakeStatus(CodeFor(type),
                    Prefixed(what, text ? text : "unknown DuckDB error"));
}

// Runs `sql` into `result`; returns the error as a Status.
Status RunQuery(duckdb_connection conn, std::string_view sql,
                std::string_view what, ResultGuard& result) {
  std::string text(sql);
  if (duckdb_query(conn, text.c_str(), result.get()) == DuckDBError) {
    return ErrorStatus(duckdb_result_error_type(result.get()), what,
                       duckdb_result_error(result.get()));
  }
  return Status::OK();
}

std::string WithoutSqlContext(std::string_view message) {
  // DuckDB appends the context as a paragraph "LINE <n>: <SQL>" followed by
  // a caret line; it is always the last part of the message.
  size_t at = message.find("\n\nLINE ");
  if (at == std::string_view::npos) at = message.find("\nLINE ");
  std::string out(message.substr(0, at));
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out;
}

Status WithoutSqlContext(const Status& status) {
  if (status.ok()) return status;
  return MakeStatus(status.code(), WithoutSqlContext(status.message()));
}

bool IsValid(duckdb_vector v, idx_t row) {
  uint64_t* validity = duckdb_vector_get_validity(v);
  return validity == nullptr || duckdb_validity_row_is_valid(validity, row);
}

std::string_view StringAt(duckdb_vector v, idx_t row) {
  auto* strings =
      static_cast<duckdb_string_t*>(duckdb_vector_get_data(v));
  duckdb_string_t* s = &strings[row];
  return std::string_view(duckdb_string_t_data(s),
                          duckdb_string_t_length(*s));
}

}  // namespace larder::duckdb
