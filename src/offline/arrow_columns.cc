// ReadArrowColumnTable and ReadFileColumnTable (larder/offline_store.h): an
// Arrow C stream or a file to a ColumnTable, by a DuckDB scan and typed read
// (Connection::QueryValues).
#include <filesystem>
#include <string>
#include <vector>

#include "larder/offline_store.h"
#include "offline/duckdb/arrow_stream.h"
#include "offline/duckdb/duckdb_connection.h"
#include "offline/duckdb/file_schema.h"

namespace larder {
namespace {

using duckdb::QuoteIdentifier;

// How one DuckDB column type is read: its dtype and the SELECT expression.
struct ColumnRead {
  ValueType type;
  std::string expr;
};

bool IsIntegerType(const std::string& t) {
  return t == "TINYINT" || t == "SMALLINT" || t == "INTEGER" || t == "BIGINT" ||
         t == "UTINYINT" || t == "USMALLINT" || t == "UINTEGER" || t == "UBIGINT" ||
         t == "HUGEINT" || t == "UHUGEINT";
}
bool IsFloatType(const std::string& t) {
  return t == "FLOAT" || t == "DOUBLE" || t.starts_with("DECIMAL");
}
bool IsTimeType(const std::string& t) { return t == "DATE" || t.starts_with("TIMESTAMP"); }

// `x` (a quoted column or a lambda variable) of time type `t` as epoch microseconds.
std::string EpochMicros(const std::string& x, const std::string& t) {
  if (t == "TIMESTAMP WITH TIME ZONE") return "epoch_us(" + x + ")";
  // The session's TimeZone is UTC: a naive timestamp or a date is read as UTC.
  return "epoch_us(CAST(CAST(" + x + " AS TIMESTAMP) AS TIMESTAMPTZ))";
}

// The read of a scalar of type `t` held in `x`; false when unsupported.
bool ScalarRead(const std::string& x, const std::string& t, ScalarType* scalar, std::string* expr) {
  if (t == "BOOLEAN") {
    *scalar = ScalarType::kBool;
    *expr = x;
  } else if (IsIntegerType(t)) {
    *scalar = ScalarType::kInt64;
    *expr = "CAST(" + x + " AS BIGINT)";
  } else if (IsFloatType(t)) {
    *scalar = ScalarType::kFloat64;
    *expr = "CAST(" + x + " AS DOUBLE)";
  } else if (t == "VARCHAR") {
    *scalar = ScalarType::kString;
    *expr = x;
  } else if (t == "BLOB") {
    *scalar = ScalarType::kBytes;
    *expr = x;
  } else if (IsTimeType(t)) {
    *scalar = ScalarType::kUnixTimestamp;
    *expr = EpochMicros(x, t);
  } else {
    return false;
  }
  return true;
}

Result<ColumnRead> ReadFor(const std::string& name, const std::string& type) {
  const std::string col = QuoteIdentifier(name);
  ColumnRead read;
  if (type.ends_with("[]")) {
    const std::string element = type.substr(0, type.size() - 2);
    std::string expr;
    if (ScalarRead("x", element, &read.type.scalar, &expr)) {
      read.type.is_array = true;
      read.expr = "list_transform(" + col + ", x -> " + expr + ")";
      return read;
    }
  } else if (ScalarRead(col, type, &read.type.scalar, &read.expr)) {
    return read;
  }
  return Status::InvalidArgument("df." + name + ": unsupported column type " + type +
                                 " (expected booleans, numbers, strings, bytes, timestamps, or "
                                 "lists of them)");
}

// The columns of `relation` (a table or a table function) on `conn`, read as
// Values; `what` names the input in messages.
Result<ColumnTable> ReadRelation(duckdb::Connection& conn, const std::string& relation,
                                 const std::string& what) {
  LARDER_ASSIGN_OR_RETURN(duckdb::QueryResult columns,
                          conn.Query("DESCRIBE SELECT * FROM " + relation, what));
  std::vector<std::string> names;
  std::vector<ValueType> types;
  std::string select;
  for (const auto& row : columns.rows) {
    const std::string name = row[0].value_or("");
    LARDER_ASSIGN_OR_RETURN(ColumnRead read, ReadFor(name, row[1].value_or("")));
    select += (select.empty() ? "" : ", ") + read.expr;
    names.push_back(name);
    types.push_back(read.type);
  }
  ColumnTable out;
  for (const auto& name : names) out[name];
  if (names.empty()) return out;
  LARDER_ASSIGN_OR_RETURN(std::vector<std::vector<Value>> rows,
                          conn.QueryValues("SELECT " + select + " FROM " + relation, what, types));
  for (size_t c = 0; c < names.size(); ++c) {
    std::vector<Value>& column = out[names[c]];
    column.reserve(rows.size());
    for (auto& row : rows) column.push_back(std::move(row[c]));
  }
  return out;
}

}  // namespace

Result<ColumnTable> ReadArrowColumnTable(ArrowArrayStream* stream) {
  LARDER_ASSIGN_OR_RETURN(std::unique_ptr<duckdb::Connection> conn,
                          duckdb::Connection::Open(":memory:"));
  const std::string table = "__larder_df";
  LARDER_RETURN_IF_ERROR(duckdb::ImportArrowStream(*conn, stream, table, "df"));
  return ReadRelation(*conn, QuoteIdentifier(table), "df");
}

Result<ColumnTable> ReadFileColumnTable(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return Status::NotFound("no file " + path);
  LARDER_ASSIGN_OR_RETURN(std::unique_ptr<duckdb::Connection> conn,
                          duckdb::Connection::Open(":memory:"));
  const FileFormat format = path.ends_with(".csv") ? FileFormat::kCsv : FileFormat::kParquet;
  return ReadRelation(*conn, duckdb::FileScanSql(format, path), "file " + path);
}

}  // namespace larder
