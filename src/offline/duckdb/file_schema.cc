#include "offline/duckdb/file_schema.h"

#include <memory>
#include <utility>

namespace larder::duckdb {

std::string FileScanSql(FileFormat format, const std::string& abs_path) {
  switch (format) {
    case FileFormat::kCsv:
      return "read_csv_auto(" + QuoteLiteral(abs_path) + ")";
    case FileFormat::kParquet:
    case FileFormat::kOrc:    // only spark sources, which DuckDB never reads,
    case FileFormat::kJson:   // have these formats
    case FileFormat::kDelta:
      break;
  }
  return "read_parquet(" + QuoteLiteral(abs_path) + ")";
}

Result<std::vector<ColumnInfo>> ReadFileSourceSchema(
    Connection& conn, const DataSource& source, const std::string& abs_path) {
  if (source.kind != DataSourceKind::kFile) {
    return Status::InvalidArgument(
        "data source " + source.name + " is a " +
        std::string(DataSourceKindName(source.kind)) +
        " source, not a file source");
  }
  const std::string what = "file " + abs_path;
  // glob() answers "does anything match" without DuckDB's IO error, so a
  // missing file is NotFound and an unreadable one stays an IOError.
  LARDER_ASSIGN_OR_RETURN(
      std::optional<std::string> matches,
      conn.QueryScalar("SELECT count(*) FROM glob(" + QuoteLiteral(abs_path) +
                           ")",
                       what));
  if (!matches.has_value() || *matches == "0") {
    return Status::NotFound("no file matches " + abs_path);
  }
  LARDER_ASSIGN_OR_RETURN(
      QueryResult described,
      conn.Query("DESCRIBE SELECT * FROM " +
                     FileScanSql(source.file_format, abs_path),
                 what));
  int name_col = described.ColumnIndex("column_name");
  int type_col = described.ColumnIndex("column_type");
  if (name_col < 0 || type_col < 0) {
    return Status::Internal(what +
                            ": DESCRIBE did not return column_name and "
                            "column_type");
  }
  LARDER_RETURN_IF_ERROR(CheckExactSourceTimes(conn, source, source.file_format, abs_path));
  std::vector<ColumnInfo> columns;
  columns.reserve(described.rows.size());
  for (const auto& row : described.rows) {
    columns.push_back(ColumnInfo{row[static_cast<size_t>(name_col)].value_or(""),
                                 row[static_cast<size_t>(type_col)].value_or("")});
  }
  return columns;
}

Status CheckExactSourceTimes(Connection& conn, const DataSource& owner, FileFormat format,
                             const std::string& abs_path) {
  if (format != FileFormat::kParquet) return Status::OK();
  std::string names;
  for (const std::string* column : {&owner.timestamp_field, &owner.created_timestamp_column}) {
    if (!column->empty()) names += (names.empty() ? "" : ", ") + QuoteLiteral(*column);
  }
  if (names.empty()) return Status::OK();
  // parquet_schema's logical_type prints the unit that is set as
  // "NANOS=NanoSeconds()" and the others as "<null>".
  const std::string what = "file " + abs_path;
  LARDER_ASSIGN_OR_RETURN(
      QueryResult lossy,
      conn.Query("SELECT file_name, name, type FROM parquet_schema(" + QuoteLiteral(abs_path) +
                     ") WHERE name IN (" + names +
                     ") AND (type = 'INT96' OR (logical_type LIKE "
                     "'%isAdjustedToUTC=1%' AND logical_type LIKE '%NANOS=NanoSeconds()%')) "
                     "ORDER BY file_name, name LIMIT 1",
                 what));
  if (lossy.rows.empty()) return Status::OK();
  const auto& row = lossy.rows.front();
  const std::string column = row.at(1).value_or("");
  const std::string kind = row.at(2).value_or("") == "INT96"
                               ? "an INT96 timestamp (nanoseconds)"
                               : "a Parquet TIMESTAMP(NANOS) adjusted to UTC";
  const std::string role =
      column == owner.timestamp_field ? "timestamp_field" : "created_timestamp_column";
  return Status::InvalidArgument(
      "file " + row.at(0).value_or(abs_path) + ": column `" + column + "` (the " + role +
      " of data source '" + owner.name + "') is " + kind +
      ", which DuckDB reads truncated to the microsecond, so a row could compare as earlier "
      "than it is; write the column in microseconds, or in nanoseconds without a time zone "
      "(naive UTC, e.g. pandas datetime64[ns]), which Larder rounds up");
}

Result<std::vector<ColumnInfo>> ReadFileSourceSchema(
    const DataSource& source, const std::string& abs_path) {
  LARDER_ASSIGN_OR_RETURN(std::unique_ptr<Connection> conn,
                          Connection::Open(":memory:"));
  return ReadFileSourceSchema(*conn, source, abs_path);
}

}  // namespace larder::duckdb
