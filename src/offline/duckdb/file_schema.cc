#include "offline/duckdb/file_schema.h"

#include <memory>
#include <utility>

namespace larder::duckdb {

std::string FileScanSql(FileFormat format, const std::string& abs_path) {
  switch (format) {
    case FileFormat::kCsv:
      return "read_csv_auto(" + QuoteLiteral(abs_path) + ")";
    case FileFormat::kParquet:
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
  std::vector<ColumnInfo> columns;
  columns.reserve(described.rows.size());
  for (const auto& row : described.rows) {
    columns.push_back(ColumnInfo{row[static_cast<size_t>(name_col)].value_or(""),
                                 row[static_cast<size_t>(type_col)].value_or("")});
  }
  return columns;
}

Result<std::vector<ColumnInfo>> ReadFileSourceSchema(
    const DataSource& source, const std::string& abs_path) {
  LARDER_ASSIGN_OR_RETURN(std::unique_ptr<Connection> conn,
                          Connection::Open(":memory:"));
  return ReadFileSourceSchema(*conn, source, abs_path);
}

}  // namespace larder::duckdb
