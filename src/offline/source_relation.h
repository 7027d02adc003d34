// How the offline store reads each kind of data source: the one place that
// turns a DataSource into a DuckDB table expression.
//
// Layout of the offline store database (feature_store.yaml
// offline_store.path, default data/offline_store.duckdb):
//   table "<model>"            the output of models/<model>.sql
//   table "push__<source>"     rows pushed offline to push source <source>
//
// A dbt source's relation lives in the DuckDB file that dbt-duckdb writes
// (repo/dbt_project.h finds it). It is attached read-only, under the
// catalog name dbt gave it, to the database that reads it, for as long as a
// SourceAttachments holds it, then detached, so that `dbt run` can write the
// file again between Larder's reads.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "larder/repo.h"
#include "larder/status.h"
#include "offline/duckdb/duckdb_connection.h"
#include "repo/dbt_project.h"

namespace larder::offline {

// The offline store database file of `repo`, absolute.
std::string OfflineDatabasePath(const FeatureRepo& repo);

// The quoted name of model `model`'s output table.
std::string ModelTableName(std::string_view model);
// The quoted name of the table holding rows pushed offline to `push_source`.
std::string PushTableName(std::string_view push_source);

// Answers whether a table exists in the offline store database.
using TableExists = std::function<bool(std::string_view unquoted_name)>;

// The source whose columns, timestamps and field_mapping a feature view
// reading `source` sees: `source` itself, or a push source's batch source.
// nullptr when a push source's batch source is missing.
const DataSource* SchemaOwner(const FeatureRepo& repo, const DataSource& source);

// The name that column `raw` of `owner` has after field_mapping.
std::string MappedName(const DataSource& owner, const std::string& raw);

// Keeps the DuckDB files of dbt sources attached, read-only, to the
// database of one connection while it is alive. Attach adds a file unless
// that database has it already (through this or another holder); the last
// holder of a file detaches it when destroyed. Holders share a count per
// (database instance, catalog name) under one process-wide lock, so
// connections that share an instance (duckdb::Connection::Open of one file,
// NewConnection) may attach and detach concurrently.
// Thread-safe; the connection given must outlive only the constructor (the
// holder keeps a connection of its own to the same database).
class SourceAttachments {
 public:
  explicit SourceAttachments(duckdb::Connection& conn);
  ~SourceAttachments();
  SourceAttachments(const SourceAttachments&) = delete;
  SourceAttachments& operator=(const SourceAttachments&) = delete;

  // Attaches `relation`'s database file under its dbt catalog name (so that
  // dbt's views, which name that catalog, resolve) and returns the quoted
  // "catalog"."schema"."identifier". InvalidArgument when the catalog name
  // is already taken in this database by another file (or is the database's
  // own); Busy or IOError (naming the file) when DuckDB cannot open it, e.g.
  // while `dbt run` writes it.
  Result<std::string> Attach(const repo::DbtRelation& relation);

 private:
  std::unique_ptr<duckdb::Connection> conn_;  // of the same database
  Status open_;
  std::vector<std::string> held_;  // catalog names, lower case
};

// A parenthesised SELECT yielding the source's rows under its own column
// names (before field_mapping), usable wherever a table may stand:
//   file   read_parquet/read_csv_auto over the path or glob
//   model  the model's output table
//   query  the query itself
//   dbt    the relation dbt built, attached through `attachments`
//   push   the batch source, UNION ALL BY NAME the pushed rows when
//          `exists` says their table exists
// InvalidArgument for a push source whose batch source is missing, and for a
// dbt source without `attachments`; a dbt source's errors as
// repo::ResolveDbtRelation and SourceAttachments::Attach say.
Result<std::string> RawSourceSql(const FeatureRepo& repo, const DataSource& source,
                                 const TableExists& exists,
                                 SourceAttachments* attachments = nullptr);

// As RawSourceSql, with field_mapping applied: each mapped column is renamed.
Result<std::string> MappedSourceSql(const FeatureRepo& repo, const DataSource& source,
                                    const TableExists& exists,
                                    SourceAttachments* attachments = nullptr);

// The columns of dbt source `source` whose project folder, resolved by the
// caller, is `abs_project_dir`: as ReadFileSourceSchema, for the relation
// dbt built (repo::ResolveDbtRelation's errors, then DuckDB's). Opens a
// private in-memory DuckDB per call; thread-safe. With a file source it is
// duckdb::ReadFileSourceSchema, so it can be passed to LoadFeatureRepo.
Result<std::vector<ColumnInfo>> ReadSourceSchema(const DataSource& source,
                                                 const std::string& abs_path);

// What a feature view reads: its data source, the source that owns its
// columns and timestamps (SchemaOwner), and the mapped relation, valid while
// `attachments` lives (it keeps a dbt source's database attached).
struct ViewSource {
  const DataSource* source = nullptr;
  const DataSource* owner = nullptr;
  std::string relation;  // MappedSourceSql of `source`
  std::shared_ptr<SourceAttachments> attachments;
};

// Resolves `view`'s source for reading, on `conn`, from the offline store at
// `db_path`. NotFound when the source is not registered; FailedPrecondition
// ("run `larder run` first") when it reads a model whose table does not
// exist; InvalidArgument when its files' compared times are not exact
// (duckdb::CheckExactSourceTimes: they may have changed since `apply`).
Result<ViewSource> ResolveViewSource(const FeatureRepo& repo, const FeatureView& view,
                                     const TableExists& exists, const std::string& db_path,
                                     duckdb::Connection& conn);

}  // namespace larder::offline
