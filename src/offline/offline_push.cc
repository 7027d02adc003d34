#include "offline/offline_push.h"

#include <filesystem>
#include <map>
#include <set>

#include "offline/duckdb/file_schema.h"
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

// The raw (pre-field_mapping) column names the feature views reading
// `push` need: join keys and features, mapped back through field_mapping.
std::set<std::string> RequiredColumns(const FeatureRepo& repo, const DataSource& push,
                                      const DataSource& batch) {
  std::map<std::string, std::string> unmapped;  // mapped name -> raw name
  for (const auto& [raw, mapped] : batch.field_mapping) unmapped[mapped] = raw;
  auto raw_name = [&](const std::string& name) {
    auto it = unmapped.find(name);
    return it == unmapped.end() ? name : it->second;
  };
  std::set<std::string> required = {batch.timestamp_field};
  for (const auto& view : repo.feature_views) {
    if (view.source != push.name) continue;
    for (const auto& entity_name : view.entities) {
      if (const Entity* e = repo.FindEntity(entity_name)) {
        for (const auto& key : e->join_keys) required.insert(raw_name(key));
      }
    }
    for (const auto& f : view.schema) required.insert(raw_name(f.name));
  }
  return required;
}

}  // namespace

Result<int64_t> PushToOffline(const FeatureRepo& repo, const std::string& push_source,
                              const std::string& file, duckdb::Connection& conn) {
  const DataSource* push = repo.FindDataSource(push_source);
  if (push == nullptr || push->kind != DataSourceKind::kPush) {
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
  std::error_code ec;
  if (!std::filesystem::exists(file, ec)) return Status::NotFound("no file " + file);
  FileFormat format = file.ends_with(".csv") ? FileFormat::kCsv : FileFormat::kParquet;
  std::string input = duckdb::FileScanSql(format, file);

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
  LARDER_ASSIGN_OR_RETURN(auto given, Columns(conn, input, "file " + file));

  for (const auto& column : RequiredColumns(repo, *push, *batch)) {
    if (!given.contains(column)) {
      return Status::InvalidArgument("file " + file + ": missing column `" + column +
                                     "`, required by push source '" + push_source + "'");
    }
  }
  std::string select;
  std::string checks;
  for (const auto& [column, type] : given) {
    auto t = target.find(column);
    if (t == target.end()) {
      return Status::InvalidArgument("file " + file + ": column `" + column +
                                     "` is not a column of data source '" + batch->name + "'");
    }
    std::string q = QuoteIdentifier(column);
    select += (select.empty() ? "" : ", ") + ("TRY_CAST(" + q + " AS " + t->second + ") AS " + q);
    checks += (checks.empty() ? "" : ", ") +
              ("count(*) FILTER (WHERE " + q + " IS NOT NULL AND TRY_CAST(" + q + " AS " +
               t->second + ") IS NULL)");
  }
  LARDER_ASSIGN_OR_RETURN(duckdb::QueryResult bad,
                          conn.Query("SELECT " + checks + ", count(*) FILTER (WHERE " +
                                         QuoteIdentifier(batch->timestamp_field) +
                                         " IS NULL), count(*) FROM " + input,
                                     "file " + file));
  size_t i = 0;
  for (const auto& [column, type] : given) {
    const auto& n = bad.rows.at(0).at(i++);
    if (n && *n != "0") {
      return Status::InvalidArgument("file " + file + ": column `" + column + "`: " + *n +
                                     " row(s) cannot be read as " + target[column]);
    }
  }
  const auto& null_ts = bad.rows.at(0).at(i);
  if (null_ts && *null_ts != "0") {
    return Status::InvalidArgument("file " + file + ": column `" + batch->timestamp_field +
                                   "`: " + *null_ts + " row(s) have no timestamp");
  }

  std::string table = PushTableName(push_source);
  std::string what = "push to " + push_source;
  LARDER_RETURN_IF_ERROR(conn.Execute("BEGIN TRANSACTION", what));
  Status st = conn.Execute("CREATE TABLE IF NOT EXISTS " + table + " AS SELECT * FROM " +
                               batch_sql + " LIMIT 0",
                           what);
  if (st.ok()) {
    st = conn.Execute("INSERT INTO " + table + " BY NAME SELECT " + select + " FROM " + input,
                      what);
  }
  if (!st.ok()) {
    (void)conn.Execute("ROLLBACK", what);
    return st;
  }
  LARDER_RETURN_IF_ERROR(conn.Execute("COMMIT", what));
  const auto& rows = bad.rows.at(0).at(i + 1);
  return rows ? std::stoll(*rows) : 0;
}

}  // namespace larder::offline
