// How the offline store reads each kind of data source: the one place that
// turns a DataSource into a DuckDB table expression.
//
// Layout of the offline store database (feature_store.yaml
// offline_store.path, default data/offline_store.duckdb):
//   table "<model>"            the output of models/<model>.sql
//   table "push__<source>"     rows pushed offline to push source <source>
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "larder/repo.h"
#include "larder/status.h"
#include "offline/duckdb/duckdb_connection.h"

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

// A parenthesised SELECT yielding the source's rows under its own column
// names (before field_mapping), usable wherever a table may stand:
//   file   read_parquet/read_csv_auto over the path or glob
//   model  the model's output table
//   query  the query itself
//   push   the batch source, UNION ALL BY NAME the pushed rows when
//          `exists` says their table exists
// InvalidArgument for a push source whose batch source is missing.
Result<std::string> RawSourceSql(const FeatureRepo& repo, const DataSource& source,
                                 const TableExists& exists);

// As RawSourceSql, with field_mapping applied: each mapped column is renamed.
Result<std::string> MappedSourceSql(const FeatureRepo& repo, const DataSource& source,
                                    const TableExists& exists);

// What a feature view reads: its data source, the source that owns its
// columns and timestamps (SchemaOwner), and the mapped relation.
struct ViewSource {
  const DataSource* source = nullptr;
  const DataSource* owner = nullptr;
  std::string relation;  // MappedSourceSql of `source`
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
