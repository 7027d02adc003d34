#include "offline/row_order.h"

#include <vector>

#include "offline/duckdb/tie_key_function.h"

namespace larder::offline {
namespace {

// A naive TIMESTAMP is UTC (the session's TimeZone is UTC).
std::string EpochMicros(const std::string& column) {
  return "epoch_us(CAST(" + column + " AS TIMESTAMPTZ))";
}

}  // namespace

std::string TypedValueSql(const std::string& column, const ValueType& t) {
  if (t.is_array) {
    switch (t.scalar) {
      case ScalarType::kUnixTimestamp:
        return "list_transform(" + column + ", x -> " + EpochMicros("x") + ")";
      case ScalarType::kInt32:
        return "CAST(" + column + " AS INTEGER[])";
      case ScalarType::kInt64:
        return "CAST(" + column + " AS BIGINT[])";
      case ScalarType::kFloat32:
      case ScalarType::kFloat64:
        return "CAST(" + column + " AS DOUBLE[])";
      case ScalarType::kString:
        return "CAST(" + column + " AS VARCHAR[])";
      case ScalarType::kBytes:
        return "CAST(" + column + " AS BLOB[])";
      case ScalarType::kBool:
        return "CAST(" + column + " AS BOOLEAN[])";
    }
  }
  switch (t.scalar) {
    case ScalarType::kInt32:
      return "CAST(" + column + " AS INTEGER)";  // DuckDB rejects an overflow
    case ScalarType::kInt64:
      return "CAST(" + column + " AS BIGINT)";
    case ScalarType::kFloat32:
    case ScalarType::kFloat64:
      return "CAST(" + column + " AS DOUBLE)";
    case ScalarType::kString:
      return "CAST(" + column + " AS VARCHAR)";
    case ScalarType::kBytes:
      return "CAST(" + column + " AS BLOB)";
    case ScalarType::kBool:
      return "CAST(" + column + " AS BOOLEAN)";
    case ScalarType::kUnixTimestamp:
      return EpochMicros(column);
  }
  return column;
}

std::string SourceMicrosSql(const std::string& column, const std::string& duckdb_type) {
  if (duckdb_type == "TIMESTAMP_NS") {
    // DuckDB's integer division and remainder truncate toward zero, so a
    // positive remainder is exactly the case where ceiling adds one.
    const std::string ns = "epoch_ns(" + column + ")";
    return "(" + ns + " // 1000 + CASE WHEN " + ns + " % 1000 > 0 THEN 1 ELSE 0 END)";
  }
  return EpochMicros(column);
}

std::string SourceTimestampTzSql(const std::string& column, const std::string& duckdb_type) {
  if (duckdb_type == "TIMESTAMP WITH TIME ZONE") return column;
  if (duckdb_type == "TIMESTAMP_NS") {
    return "CAST(make_timestamp(" + SourceMicrosSql(column, duckdb_type) + ") AS TIMESTAMPTZ)";
  }
  if (duckdb_type == "DATE" || duckdb_type.starts_with("TIMESTAMP")) {
    return "CAST(CAST(" + column + " AS TIMESTAMP) AS TIMESTAMPTZ)";
  }
  return "CAST(" + column + " AS TIMESTAMPTZ)";
}

Result<std::string> ColumnTypeName(duckdb::Connection& conn, const std::string& relation,
                                   const std::string& column, const std::string& what) {
  LARDER_ASSIGN_OR_RETURN(duckdb::QueryResult described,
                          conn.Query("DESCRIBE SELECT * FROM " + relation, what));
  const int name_col = described.ColumnIndex("column_name");
  const int type_col = described.ColumnIndex("column_type");
  if (name_col < 0 || type_col < 0) return Status::Internal(what + ": DESCRIBE failed");
  std::string names;
  for (const auto& row : described.rows) {
    const std::string name = row[static_cast<size_t>(name_col)].value_or("");
    if (name == column) return row[static_cast<size_t>(type_col)].value_or("");
    names += (names.empty() ? "" : ", ") + name;
  }
  return Status::InvalidArgument(what + ": no column `" + column + "` (columns: " + names + ")");
}

std::string RowTieKeySql(const FeatureView& view) {
  std::vector<std::string> columns;
  std::vector<ValueType> types;
  for (const Field& f : view.schema) {
    columns.push_back(TypedValueSql(duckdb::QuoteIdentifier(f.name), f.dtype));
    types.push_back(f.dtype);
  }
  return duckdb::TieKeySql(columns, types);
}

}  // namespace larder::offline
