// Connection::QueryValues: query results read as typed Values, straight from
// DuckDB's vectors.
#include <string>
#include <vector>

#include "offline/duckdb/duckdb_connection.h"
#include "offline/duckdb/duckdb_result.h"
#include "offline/duckdb/vector_values.h"

namespace larder::duckdb {
namespace {

// The DuckDB physical type that holds dtype `scalar`; Float32 also accepts
// FLOAT (checked separately).
duckdb_type ExpectedType(ScalarType scalar) {
  switch (scalar) {
    case ScalarType::kInt32:
      return DUCKDB_TYPE_INTEGER;
    case ScalarType::kInt64:
    case ScalarType::kUnixTimestamp:
      return DUCKDB_TYPE_BIGINT;
    case ScalarType::kFloat32:
    case ScalarType::kFloat64:
      return DUCKDB_TYPE_DOUBLE;
    case ScalarType::kString:
      return DUCKDB_TYPE_VARCHAR;
    case ScalarType::kBytes:
      return DUCKDB_TYPE_BLOB;
    case ScalarType::kBool:
      return DUCKDB_TYPE_BOOLEAN;
  }
  return DUCKDB_TYPE_INVALID;
}

}  // namespace

const char* DuckTypeName(duckdb_type t) {
  switch (t) {
    case DUCKDB_TYPE_INTEGER: return "INTEGER";
    case DUCKDB_TYPE_BIGINT: return "BIGINT";
    case DUCKDB_TYPE_DOUBLE: return "DOUBLE";
    case DUCKDB_TYPE_FLOAT: return "FLOAT";
    case DUCKDB_TYPE_VARCHAR: return "VARCHAR";
    case DUCKDB_TYPE_BLOB: return "BLOB";
    case DUCKDB_TYPE_BOOLEAN: return "BOOLEAN";
    case DUCKDB_TYPE_LIST: return "LIST";
    default: return "another type";
  }
}

ColumnType ColumnTypeOf(duckdb_logical_type t) {
  ColumnType out;
  out.outer = duckdb_get_type_id(t);
  out.element = out.outer;
  if (out.outer == DUCKDB_TYPE_LIST) {
    duckdb_logical_type child = duckdb_list_type_child_type(t);
    out.element = duckdb_get_type_id(child);
    duckdb_destroy_logical_type(&child);
  }
  return out;
}

bool Accepts(const ValueType& want, const ColumnType& have) {
  if (want.is_array != (have.outer == DUCKDB_TYPE_LIST)) return false;
  if (want.scalar == ScalarType::kFloat32 && have.element == DUCKDB_TYPE_FLOAT) return true;
  return have.element == ExpectedType(want.scalar);
}

namespace {

ColumnType ReadColumnType(duckdb_result* result, idx_t c) {
  duckdb_logical_type t = duckdb_column_logical_type(result, c);
  ColumnType out = ColumnTypeOf(t);
  duckdb_destroy_logical_type(&t);
  return out;
}

// Element `row` of a vector whose type Accepts() `scalar`.
template <typename T>
T At(duckdb_vector v, idx_t row) {
  return static_cast<T*>(duckdb_vector_get_data(v))[row];
}

double FloatAt(duckdb_vector v, idx_t row, duckdb_type t) {
  return t == DUCKDB_TYPE_FLOAT ? At<float>(v, row) : At<double>(v, row);
}

Value ScalarAt(duckdb_vector v, idx_t row, ScalarType scalar, duckdb_type t) {
  switch (scalar) {
    case ScalarType::kInt32:
      return Value::Int32(At<int32_t>(v, row));
    case ScalarType::kInt64:
      return Value::Int64(At<int64_t>(v, row));
    case ScalarType::kUnixTimestamp:
      return Value::UnixTimestamp(At<int64_t>(v, row));
    case ScalarType::kFloat32:
      return Value::Float32(static_cast<float>(FloatAt(v, row, t)));
    case ScalarType::kFloat64:
      return Value::Float64(FloatAt(v, row, t));
    case ScalarType::kString:
      return Value::String(std::string(StringAt(v, row)));
    case ScalarType::kBytes:
      return Value::Bytes(std::string(StringAt(v, row)));
    case ScalarType::kBool:
      return Value::Bool(At<bool>(v, row));
  }
  return Value::Null();
}

template <typename T, typename Get>
std::vector<T> Elements(idx_t offset, idx_t length, Get get) {
  std::vector<T> out;
  out.reserve(length);
  for (idx_t i = offset; i < offset + length; ++i) out.push_back(get(i));
  return out;
}

// The LIST at `row` of `v` as an array Value; false when an element is NULL.
bool ArrayAt(duckdb_vector v, idx_t row, ScalarType scalar, duckdb_type t, Value* out) {
  const duckdb_list_entry entry = At<duckdb_list_entry>(v, row);
  duckdb_vector child = duckdb_list_vector_get_child(v);
  for (idx_t i = entry.offset; i < entry.offset + entry.length; ++i) {
    if (!IsValid(child, i)) return false;
  }
  const idx_t off = entry.offset;
  const idx_t len = entry.length;
  switch (scalar) {
    case ScalarType::kInt32:
      *out = Value::Int32Array(Elements<int32_t>(off, len, [&](idx_t i) { return At<int32_t>(child, i); }));
      break;
    case ScalarType::kInt64:
      *out = Value::Int64Array(Elements<int64_t>(off, len, [&](idx_t i) { return At<int64_t>(child, i); }));
      break;
    case ScalarType::kUnixTimestamp:
      *out = Value::UnixTimestampArray(
          Elements<int64_t>(off, len, [&](idx_t i) { return At<int64_t>(child, i); }));
      break;
    case ScalarType::kFloat32:
      *out = Value::Float32Array(Elements<float>(
          off, len, [&](idx_t i) { return static_cast<float>(FloatAt(child, i, t)); }));
      break;
    case ScalarType::kFloat64:
      *out = Value::Float64Array(
          Elements<double>(off, len, [&](idx_t i) { return FloatAt(child, i, t); }));
      break;
    case ScalarType::kString:
    case ScalarType::kBytes: {
      auto strings = Elements<std::string>(
          off, len, [&](idx_t i) { return std::string(StringAt(child, i)); });
      *out = scalar == ScalarType::kString ? Value::StringArray(std::move(strings))
                                           : Value::BytesArray(std::move(strings));
      break;
    }
    case ScalarType::kBool: {
      std::vector<bool> bools;
      bools.reserve(len);
      for (idx_t i = off; i < off + len; ++i) bools.push_back(At<bool>(child, i));
      *out = Value::BoolArray(std::move(bools));
      break;
    }
  }
  return true;
}

}  // namespace

bool ValueAt(duckdb_vector v, idx_t row, const ValueType& want, const ColumnType& have,
             Value* out) {
  if (!want.is_array) {
    *out = ScalarAt(v, row, want.scalar, have.element);
    return true;
  }
  return ArrayAt(v, row, want.scalar, have.element, out);
}

Result<std::vector<std::vector<Value>>> Connection::QueryValues(
    std::string_view sql, std::string_view what, std::span<const ValueType> types) {
  ResultGuard r;
  LARDER_RETURN_IF_ERROR(RunQuery(conn_, sql, what, r));
  const idx_t ncols = duckdb_column_count(r.get());
  if (ncols != types.size()) {
    return Status::InvalidArgument(Prefixed(what, "the query returns " + std::to_string(ncols) +
                                                      " columns, expected " +
                                                      std::to_string(types.size())));
  }
  std::vector<ColumnType> have(ncols);
  for (idx_t c = 0; c < ncols; ++c) {
    have[c] = ReadColumnType(r.get(), c);
    if (!Accepts(types[c], have[c])) {
      const char* name = duckdb_column_name(r.get(), c);
      return Status::InvalidArgument(Prefixed(
          what, std::string("column \"") + (name ? name : "") + "\" is " +
                    (have[c].outer == DUCKDB_TYPE_LIST ? "a LIST of " : "") +
                    DuckTypeName(have[c].element) + ", not a column of " +
                    ValueTypeName(types[c])));
    }
  }
  std::vector<std::vector<Value>> rows;
  while (true) {
    duckdb_data_chunk chunk = duckdb_fetch_chunk(*r.get());
    if (chunk == nullptr) break;
    const idx_t n = duckdb_data_chunk_get_size(chunk);
    const size_t base = rows.size();
    rows.resize(base + n);
    for (idx_t i = 0; i < n; ++i) rows[base + i].resize(ncols);
    for (idx_t c = 0; c < ncols; ++c) {
      duckdb_vector v = duckdb_data_chunk_get_vector(chunk, c);
      const ValueType& t = types[c];
      for (idx_t i = 0; i < n; ++i) {
        if (!IsValid(v, i)) continue;  // stays null
        Value& out = rows[base + i][c];
        if (!ValueAt(v, i, t, have[c], &out)) {
          duckdb_destroy_data_chunk(&chunk);
          const char* name = duckdb_column_name(r.get(), c);
          return Status::InvalidArgument(Prefixed(
              what, std::string("column \"") + (name ? name : "") + "\", row " +
                        std::to_string(base + i + 1) +
                        ": a NULL array element (array features hold no NULLs)"));
        }
      }
    }
    duckdb_destroy_data_chunk(&chunk);
  }
  return rows;
}

}  // namespace larder::duckdb
