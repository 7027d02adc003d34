#include "offline/source_relation.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <mutex>
#include <utility>

#include "offline/duckdb/duckdb_connection.h"
#include "offline/duckdb/file_schema.h"

namespace larder::offline {
namespace fs = std::filesystem;

namespace {

// The dbt databases that SourceAttachments attached, per (database
// instance, catalog name in lower case): the file and how many holders.
struct Attached {
  std::string path;
  int holders = 0;
};
struct AttachedRegistry {
  std::mutex mu;
  std::map<std::pair<const void*, std::string>, Attached> attached;
};
AttachedRegistry& Registry() {
  static auto* registry = new AttachedRegistry;
  return *registry;
}

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

// The relation of dbt source `source`, from dbt's files.
Result<repo::DbtRelation> FindDbtRelation(const std::string& project_dir,
                                          const DataSource& source) {
  Result<repo::DbtRelation> rel =
      repo::ResolveDbtRelation(project_dir, source, repo::DbtEnvironment::FromProcess());
  if (!rel.ok()) return rel.status().WithContext("dbt source '" + source.name + "'");
  return rel;
}

}  // namespace

SourceAttachments::SourceAttachments(duckdb::Connection& conn) {
  Result<std::unique_ptr<duckdb::Connection>> own = conn.NewConnection();
  if (own.ok()) {
    conn_ = std::move(*own);
  } else {
    open_ = own.status();
  }
}

SourceAttachments::~SourceAttachments() {
  if (conn_ == nullptr) return;
  AttachedRegistry& r = Registry();
  std::lock_guard lock(r.mu);
  for (const auto& catalog : held_) {
    auto it = r.attached.find({conn_->database_id(), catalog});
    if (it == r.attached.end() || --it->second.holders > 0) continue;
    r.attached.erase(it);
    // Best effort: a database that cannot detach stays attached read-only.
    (void)conn_->Execute("DETACH DATABASE IF EXISTS " + duckdb::QuoteIdentifier(catalog),
                         "dbt database " + catalog);
  }
}

Result<std::string> SourceAttachments::Attach(const repo::DbtRelation& rel) {
  LARDER_RETURN_IF_ERROR(open_);
  const std::string catalog = Lower(rel.database);
  const std::string table = duckdb::QuoteIdentifier(rel.database) + "." +
                            duckdb::QuoteIdentifier(rel.schema) + "." +
                            duckdb::QuoteIdentifier(rel.identifier);
  AttachedRegistry& r = Registry();
  std::lock_guard lock(r.mu);
  const std::string what = "dbt database " + rel.database_file;
  auto it = r.attached.find({conn_->database_id(), catalog});
  if (it == r.attached.end()) {
    // Not attached by Larder: the name must be free in this database.
    LARDER_ASSIGN_OR_RETURN(
        duckdb::QueryResult taken,
        conn_->Query("SELECT coalesce(path, '(in memory)') FROM duckdb_databases() WHERE "
                     "lower(database_name) = " + duckdb::QuoteLiteral(catalog),
                     what));
    if (!taken.rows.empty()) {
      return Status::InvalidArgument(
          "dbt model " + rel.node_id + " is in database `" + rel.database +
          "`, a name this DuckDB database already uses for " + taken.rows[0][0].value_or("?") +
          "; give dbt's database file another name than Larder's offline store");
    }
    Status attached = conn_->Execute("ATTACH " + duckdb::QuoteLiteral(rel.database_file) + " AS " +
                                         duckdb::QuoteIdentifier(rel.database) + " (READ_ONLY)",
                                     what);
    if (!attached.ok() && attached.message().find("newer version of DuckDB") != std::string::npos) {
      return Status::IOError(attached.message() + "\n(dbt-duckdb wrote it with a newer DuckDB than " +
                             "Larder's; install the duckdb Python package of Larder's version, " +
                             "1.4.x, beside dbt-duckdb, and run dbt again)");
    }
    LARDER_RETURN_IF_ERROR(attached);
    it = r.attached.emplace(std::make_pair(conn_->database_id(), catalog),
                            Attached{rel.database_file, 0})
             .first;
  } else if (it->second.path != rel.database_file) {
    return Status::InvalidArgument("dbt model " + rel.node_id + " is in database `" +
                                   rel.database + "` of " + rel.database_file +
                                   ", but another dbt source's database of that name, " +
                                   it->second.path + ", is attached: two dbt databases need "
                                   "different names");
  }
  if (std::find(held_.begin(), held_.end(), catalog) == held_.end()) {
    ++it->second.holders;
    held_.push_back(catalog);
  }
  return table;
}

Result<std::vector<ColumnInfo>> ReadSourceSchema(const DataSource& source,
                                                 const std::string& abs_path) {
  if (source.kind != DataSourceKind::kDbt) return duckdb::ReadFileSourceSchema(source, abs_path);
  // The loader names the source in its messages.
  LARDER_ASSIGN_OR_RETURN(
      repo::DbtRelation rel,
      repo::ResolveDbtRelation(abs_path, source, repo::DbtEnvironment::FromProcess()));
  LARDER_ASSIGN_OR_RETURN(std::unique_ptr<duckdb::Connection> conn,
                          duckdb::Connection::Open(":memory:"));
  SourceAttachments attachments(*conn);
  LARDER_ASSIGN_OR_RETURN(std::string table, attachments.Attach(rel));
  const std::string what = "dbt model " + rel.node_id + " (" + rel.database_file + ")";
  LARDER_ASSIGN_OR_RETURN(duckdb::QueryResult described,
                          conn->Query("DESCRIBE SELECT * FROM " + table, what));
  int name_col = described.ColumnIndex("column_name");
  int type_col = described.ColumnIndex("column_type");
  if (name_col < 0 || type_col < 0) {
    return Status::Internal(what + ": DESCRIBE did not return column_name and column_type");
  }
  std::vector<ColumnInfo> columns;
  for (const auto& row : described.rows) {
    columns.push_back(ColumnInfo{row[static_cast<size_t>(name_col)].value_or(""),
                                 row[static_cast<size_t>(type_col)].value_or("")});
  }
  return columns;
}

std::string OfflineDatabasePath(const FeatureRepo& repo) {
  auto it = repo.config.offline_store.options.find("path");
  fs::path path = it == repo.config.offline_store.options.end() || it->second.empty()
                      ? fs::path("data/offline_store.duckdb")
                      : fs::path(it->second);
  if (path.is_relative()) path = fs::path(repo.root) / path;
  return path.lexically_normal().string();
}

std::string ModelTableName(std::string_view model) {
  return duckdb::QuoteIdentifier(model);
}

std::string PushTableName(std::string_view push_source) {
  return duckdb::QuoteIdentifier("push__" + std::string(push_source));
}

const DataSource* SchemaOwner(const FeatureRepo& repo, const DataSource& source) {
  if (!ReceivesRows(source.kind)) return &source;
  return repo.FindDataSource(source.batch_source);
}

std::string MappedName(const DataSource& owner, const std::string& raw) {
  auto it = owner.field_mapping.find(raw);
  return it == owner.field_mapping.end() ? raw : it->second;
}

Result<std::string> RawSourceSql(const FeatureRepo& repo, const DataSource& source,
                                 const TableExists& exists, SourceAttachments* attachments) {
  switch (source.kind) {
    case DataSourceKind::kFile: {
      fs::path path(source.path);
      if (path.is_relative()) path = fs::path(repo.root) / path;
      return "(SELECT * FROM " + duckdb::FileScanSql(source.file_format, path.string()) + ")";
    }
    case DataSourceKind::kModel:
      return "(SELECT * FROM " + ModelTableName(source.model) + ")";
    case DataSourceKind::kQuery:
      return "(" + source.query + ")";
    case DataSourceKind::kDbt: {
      if (attachments == nullptr) {
        return Status::InvalidArgument("dbt source '" + source.name +
                                       "' is read by feature views only, not here");
      }
      LARDER_ASSIGN_OR_RETURN(repo::DbtRelation rel,
                              FindDbtRelation(repo::DbtProjectDir(repo.root, source), source));
      LARDER_ASSIGN_OR_RETURN(std::string table, attachments->Attach(rel));
      return "(SELECT * FROM " + table + ")";
    }
    case DataSourceKind::kSpark:
      return Status::InvalidArgument("spark source '" + source.name +
                                     "' is read by the spark offline store only "
                                     "(offline_store: {type: spark}; docs/spark.md)");
    case DataSourceKind::kPush:
    case DataSourceKind::kKinesis:
    case DataSourceKind::kKafka: {
      const DataSource* batch = repo.FindDataSource(source.batch_source);
      if (batch == nullptr || ReceivesRows(batch->kind)) {
        return Status::InvalidArgument(std::string(DataSourceKindName(source.kind)) + " source '" + source.name +
                                       "' has no usable batch_source '" + source.batch_source +
                                       "'");
      }
      LARDER_ASSIGN_OR_RETURN(std::string base, RawSourceSql(repo, *batch, exists, attachments));
      if (!exists || !exists("push__" + source.name)) return base;
      return "(SELECT * FROM " + base + " UNION ALL BY NAME SELECT * FROM " +
             PushTableName(source.name) + ")";
    }
  }
  return Status::Internal("unknown data source kind");
}

Result<std::string> MappedSourceSql(const FeatureRepo& repo, const DataSource& source,
                                    const TableExists& exists, SourceAttachments* attachments) {
  LARDER_ASSIGN_OR_RETURN(std::string raw, RawSourceSql(repo, source, exists, attachments));
  // A push source's columns are its batch source's, mapping included.
  const DataSource* mapping_owner = SchemaOwner(repo, source);
  if (mapping_owner == nullptr || mapping_owner->field_mapping.empty()) return raw;
  std::string excluded;
  std::string renamed;
  for (const auto& [from, to] : mapping_owner->field_mapping) {
    excluded += (excluded.empty() ? "" : ", ") + duckdb::QuoteIdentifier(from);
    renamed += ", " + duckdb::QuoteIdentifier(from) + " AS " + duckdb::QuoteIdentifier(to);
  }
  return "(SELECT * EXCLUDE (" + excluded + ")" + renamed + " FROM " + raw + ")";
}

Result<ViewSource> ResolveViewSource(const FeatureRepo& repo, const FeatureView& view,
                                     const TableExists& exists, const std::string& db_path,
                                     duckdb::Connection& conn) {
  ViewSource out;
  out.source = repo.FindDataSource(view.source);
  out.owner = out.source == nullptr ? nullptr : SchemaOwner(repo, *out.source);
  if (out.owner == nullptr) {
    return Status::NotFound("feature view '" + view.name + "': data source '" + view.source +
                            "' is not registered");
  }
  if (out.owner->kind == DataSourceKind::kModel && !exists(out.owner->model)) {
    return Status::FailedPrecondition("feature view '" + view.name + "' reads model '" +
                                      out.owner->model +
                                      "', whose table is not in the offline store " + db_path +
                                      "; run `larder run` first");
  }
  if (out.owner->kind == DataSourceKind::kFile) {
    fs::path path(out.owner->path);
    if (path.is_relative()) path = fs::path(repo.root) / path;
    LARDER_RETURN_IF_ERROR(duckdb::CheckExactSourceTimes(conn, *out.owner,
                                                         out.owner->file_format, path.string()));
  }
  if (out.owner->kind == DataSourceKind::kDbt) {
    out.attachments = std::make_shared<SourceAttachments>(conn);
  }
  LARDER_ASSIGN_OR_RETURN(out.relation,
                          MappedSourceSql(repo, *out.source, exists, out.attachments.get()));
  return out;
}

}  // namespace larder::offline
