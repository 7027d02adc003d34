#include "offline/source_relation.h"

#include <filesystem>

#include "offline/duckdb/duckdb_connection.h"
#include "offline/duckdb/file_schema.h"

namespace larder::offline {
namespace fs = std::filesystem;

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
                                 const TableExists& exists) {
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
    case DataSourceKind::kPush:
    case DataSourceKind::kKinesis:
    case DataSourceKind::kKafka: {
      const DataSource* batch = repo.FindDataSource(source.batch_source);
      if (batch == nullptr || ReceivesRows(batch->kind)) {
        return Status::InvalidArgument(std::string(DataSourceKindName(source.kind)) + " source '" + source.name +
                                       "' has no usable batch_source '" + source.batch_source +
                                       "'");
      }
      LARDER_ASSIGN_OR_RETURN(std::string base, RawSourceSql(repo, *batch, exists));
      if (!exists || !exists("push__" + source.name)) return base;
      return "(SELECT * FROM " + base + " UNION ALL BY NAME SELECT * FROM " +
             PushTableName(source.name) + ")";
    }
  }
  return Status::Internal("unknown data source kind");
}

Result<std::string> MappedSourceSql(const FeatureRepo& repo, const DataSource& source,
                                    const TableExists& exists) {
  LARDER_ASSIGN_OR_RETURN(std::string raw, RawSourceSql(repo, source, exists));
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
  LARDER_ASSIGN_OR_RETURN(out.relation, MappedSourceSql(repo, *out.source, exists));
  return out;
}

}  // namespace larder::offline
