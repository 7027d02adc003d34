#include "offline/offline_push.h"

#include <filesystem>
#include <map>
#include <optional>

#include "common/value_coercion.h"
#include "offline/duckdb/file_schema.h"
#include "repo/feature_refs.h"
#include "offline/source_relation.h"

namespace larder::offline {
namespace {

using duckdb::QuoteIdentifier;
using duckdb::QuoteLiteral;

Result<std::map<std::string, std::string>> Columns(duckdb::Connection& conn,
                                                   const std::string& relation,
                                                   const std::string& what) {
  LARDER_ASSIGN_OR_RETURN(duckdb::QueryResult r,
                          conn.Query("DESCRIBE SELECT * FROM " + relation, what));
  std::map<std::string, std::string> out;
  for (const auto& row : r.rows) {
    if (row.size() >= 2 && row[0] && row[1]) out[*row[0]] = *row[1];
  }
  return out;
}


struct PushSources {
  const DataSource* push;
  const DataSource* batch;
};

Result<PushSources> FindPushSources(const FeatureRepo& repo, const std::string& push_source) {
  const DataSource* push = repo.FindDataSource(push_source);
  if (push == nullptr || !ReceivesRows(push->kind)) {
    return Status::NotFound("no push source '" + push_source + "'" +
                            (push ? " ('" + push_source + "' is a " +
                                        std::string(DataSourceKindName(push->kind)) + " source)"
                                  : ""));
  }
  const DataSource* batch = repo.FindDataSource(push->batch_source);
  if (batch == nullptr) {
    return Status::NotFound("push source '" + push_source + "' has no batch source '" +
                            push->batch_source + "'");
  }
  return PushSources{push, batch};
}

// The dtype each column of a push source's rows must have, where the views
// reading the source say (raw column names, before field_mapping).
Result<std::map<std::string, ValueType>> DeclaredColumnTypes(const FeatureRepo& repo,
                                                             const PushSources& sources) {
  constexpr ValueType kTimestamp{ScalarType::kUnixTimestamp, false};
  const DataSource& batch = *sources.batch;
  std::map<std::string, ValueType> types;
  types[batch.timestamp_field] = kTimestamp;
  if (!batch.created_timestamp_column.empty()) {
    types[batch.created_timestamp_column] = kTimestamp;
  }
  for (const auto& view : repo.feature_views) {
    if (view.source != sources.push->name) continue;
    LARDER_ASSIGN_OR_RETURN(auto columns, repo::ViewRowColumns(repo, view));
    for (const auto& [column, type] : columns) types[column] = type;
  }
  return types;
}

// Appends the rows of relation `input` (named `what` in messages) to the
// push table of `push_source`, checked and cast as PushToOffline says.
Result<OfflineAppend> PushRelation(const FeatureRepo& repo, const std::string& push_source,
                                   const std::string& input, const std::string& what,
                                   duckdb::Connection& conn, const OfflinePushOptions& options) {
  LARDER_ASSIGN_OR_RETURN(PushSources sources, FindPushSources(repo, push_source));
  const DataSource* batch = sources.batch;
  TableExists exists = [&](std::string_view table) {
    auto n = conn.QueryScalar(
        "SELECT count(*) FROM duckdb_tables() WHERE table_name = " + QuoteLiteral(table),
        "offline store catalog");
    return n.ok() && n->has_value() && **n != "0";
  };
  LARDER_ASSIGN_OR_RETURN(std::string batch_sql, RawSourceSql(repo, *batch, exists));
  if (batch->kind == DataSourceKind::kModel && !exists(batch->model)) {
    return Status::FailedPrecondition("batch source '" + batch->name + "' of push source '" +
                                      push_source + "' is model '" + batch->model +
                                      "', which has not been built; run `larder run` first");
  }
  LARDER_ASSIGN_OR_RETURN(auto target, Columns(conn, batch_sql, "data source " + batch->name));
  LARDER_ASSIGN_OR_RETURN(auto given, Columns(conn, input, what));

  LARDER_ASSIGN_OR_RETURN(auto declared, DeclaredColumnTypes(repo, sources));
  for (const auto& [column, type] : declared) {
    if (column == batch->created_timestamp_column) continue;  // optional
    if (!given.contains(column)) {
      return Status::InvalidArgument(what + ": missing column `" + column +
                                     "`, required by push source '" + push_source + "'");
    }
  }
  std::string select;
  std::string checks;
  for (const auto& [column, type] : given) {
    auto t = target.find(column);
    if (t == target.end()) {
      return Status::InvalidArgument(what + ": column `" + column +
                                     "` is not a column of data source '" + batch->name + "'");
    }
    std::string q = QuoteIdentifier(column);
    select += (select.empty() ? "" : ", ") + ("TRY_CAST(" + q + " AS " + t->second + ") AS " + q);
    checks += (checks.empty() ? "" : ", ") +
              ("count(*) FILTER (WHERE " + q + " IS NOT NULL AND TRY_CAST(" + q + " AS " +
               t->second + ") IS NULL)");
  }
  const std::string ts = QuoteIdentifier(batch->timestamp_field);
  const std::string ts_type = target[batch->timestamp_field];
  // The event time in microseconds (TIMESTAMP, TIMESTAMPTZ or DATE columns).
  const std::string event_us = "epoch_us(TRY_CAST(" + ts + " AS " + ts_type + "))";
  const std::string too_late = event_us + " > " + std::to_string(options.latest_event_time);
  LARDER_ASSIGN_OR_RETURN(duckdb::QueryResult bad,
                          conn.Query("SELECT " + checks + ", count(*) FILTER (WHERE " + ts +
                                         " IS NULL), count(*) FILTER (WHERE " + too_late +
                                         "), count(*) FROM " + input,
                                     what));
  size_t i = 0;
  for (const auto& [column, type] : given) {
    const auto& n = bad.rows.at(0).at(i++);
    if (n && *n != "0") {
      return Status::InvalidArgument(what + ": column `" + column + "`: " + *n +
                                     " row(s) cannot be read as " + target[column]);
    }
  }
  const auto& null_ts = bad.rows.at(0).at(i);
  if (null_ts && *null_ts != "0") {
    return Status::InvalidArgument(what + ": column `" + batch->timestamp_field +
                                   "`: " + *null_ts + " row(s) have no timestamp");
  }
  if (const auto& late = bad.rows.at(0).at(i + 1); late && *late != "0") {
    // Rows are numbered in scan order, which DuckDB keeps for a file or table scan.
    LARDER_ASSIGN_OR_RETURN(
        duckdb::QueryResult first,
        conn.Query("SELECT n, v FROM (SELECT row_number() OVER () AS n, CAST(" + ts +
                       " AS VARCHAR) AS v, " + too_late + " AS late FROM " + input +
                       ") WHERE late ORDER BY n LIMIT 1",
                   what));
    const auto& row = first.rows.at(0);
    return Status::InvalidArgument(
        what + ": column `" + batch->timestamp_field + "`, row " + row.at(0).value_or("?") +
        ": event time " + row.at(1).value_or("?") + " is later than now plus " +
        "push_max_future_skew (" + *late + " such row(s)); a future event time would win " +
        "every later write of its key");
  }

  std::string table = PushTableName(push_source);
  const std::string action = "push to " + push_source;
  LARDER_RETURN_IF_ERROR(conn.Execute("BEGIN TRANSACTION", action));
  Result<int64_t> appended = [&]() -> Result<int64_t> {
    LARDER_RETURN_IF_ERROR(conn.Execute("CREATE TABLE IF NOT EXISTS " + table +
                                            " AS SELECT * FROM " + batch_sql + " LIMIT 0",
                                        action));
    LARDER_ASSIGN_OR_RETURN(auto stored, Columns(conn, table, action));
    for (const auto& [column, type] : given) {
      if (!stored.contains(column)) {
        return Status::FailedPrecondition(
            what + ": column `" + column + "` is not a column of the push table " + table +
            " (made before the batch source had it); rename or drop that table");
      }
    }
    // Every stored column, cast from the input or NULL; rows already stored
    // (within the pushed event-time range) or repeated are left out.
    std::string incoming, columns;
    for (const auto& [column, type] : stored) {
      const std::string q = QuoteIdentifier(column);
      columns += (columns.empty() ? "" : ", ") + q;
      incoming += (incoming.empty() ? "" : ", ") +
                  (given.contains(column) ? "TRY_CAST(" + q + " AS " + type + ")"
                                          : "CAST(NULL AS " + type + ")") +
                  " AS " + q;
    }
    LARDER_ASSIGN_OR_RETURN(
        std::optional<std::string> count,
        conn.QueryScalar("INSERT INTO " + table + " BY NAME WITH incoming AS (SELECT " +
                             incoming + " FROM " + input + ") SELECT " + columns +
                             " FROM incoming EXCEPT SELECT " + columns + " FROM " + table +
                             " WHERE " + ts + " >= (SELECT min(" + ts + ") FROM incoming) AND " +
                             ts + " <= (SELECT max(" + ts + ") FROM incoming)",
                         action));
    return count ? std::stoll(*count) : 0;
  }();
  if (!appended.ok()) {
    (void)conn.Execute("ROLLBACK", action);
    return appended.status();
  }
  LARDER_RETURN_IF_ERROR(conn.Execute("COMMIT", action));
  const auto& rows = bad.rows.at(0).at(i + 2);
  return OfflineAppend{rows ? std::stoll(*rows) : 0, *appended};
}

}  // namespace

Result<OfflineAppend> PushToOffline(const FeatureRepo& repo, const std::string& push_source,
                                    const std::string& file, duckdb::Connection& conn,
                                    const OfflinePushOptions& options) {
  LARDER_ASSIGN_OR_RETURN(PushSources sources, FindPushSources(repo, push_source));
  std::error_code ec;
  if (!std::filesystem::exists(file, ec)) return Status::NotFound("no file " + file);
  FileFormat format = file.ends_with(".csv") ? FileFormat::kCsv : FileFormat::kParquet;
  // The pushed rows keep their times as read: refuse times read truncated.
  LARDER_RETURN_IF_ERROR(duckdb::CheckExactSourceTimes(conn, *sources.batch, format, file));
  return PushRelation(repo, push_source, duckdb::FileScanSql(format, file), "file " + file, conn,
                      options);
}

Result<OfflineAppend> PushRowsToOffline(const FeatureRepo& repo, const std::string& push_source,
                                        const ColumnTable& rows, duckdb::Connection& conn,
                                        const OfflinePushOptions& options) {
  LARDER_ASSIGN_OR_RETURN(PushSources sources, FindPushSources(repo, push_source));
  LARDER_ASSIGN_OR_RETURN(auto declared, DeclaredColumnTypes(repo, sources));
  if (rows.empty()) return Status::InvalidArgument("df: no columns");
  LARDER_ASSIGN_OR_RETURN(const size_t n, ColumnTableRows(rows));
  // Each column's dtype: declared, or else its first non-null value's.
  std::vector<std::pair<const std::string*, std::vector<Value>>> columns;
  std::string create;
  for (const auto& [name, values] : rows) {
    std::optional<ValueType> type;
    if (auto it = declared.find(name); it != declared.end()) type = it->second;
    std::vector<Value> converted;
    converted.reserve(n);
    for (size_t r = 0; r < n; ++r) {
      if (!type && !values[r].is_null()) type = values[r].type();
      Result<Value> v = type ? CoerceValue(values[r], *type) : Result<Value>(Value::Null());
      if (!v.ok()) {
        return Status::InvalidArgument("df." + name + "[" + std::to_string(r) +
                                       "]: " + v.status().message());
      }
      converted.push_back(std::move(*v));
    }
    create += (create.empty() ? "" : ", ") + QuoteIdentifier(name) + " " +
              duckdb::DuckDbTypeName(type.value_or(ValueType{ScalarType::kString, false}));
    columns.emplace_back(&name, std::move(converted));
  }
  const std::string table = "larder_push_rows";
  LARDER_RETURN_IF_ERROR(conn.Execute("CREATE OR REPLACE TEMP TABLE " + table + " (" + create + ")",
                                      "df"));
  {
    LARDER_ASSIGN_OR_RETURN(std::unique_ptr<duckdb::Appender> appender,
                            conn.CreateAppender(table));
    for (size_t r = 0; r < n; ++r) {
      for (const auto& column : columns) appender->AppendValue(column.second[r]);
      LARDER_RETURN_IF_ERROR(appender->EndRow());
    }
    LARDER_RETURN_IF_ERROR(appender->Close());
  }
  Result<OfflineAppend> pushed = PushRelation(repo, push_source, table, "df", conn, options);
  (void)conn.Execute("DROP TABLE IF EXISTS temp." + table, "df");
  return pushed;
}

}  // namespace larder::offline
