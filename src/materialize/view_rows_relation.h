// Where materialization reads a view's rows: its source in the offline
// store, or the table that a ViewRowsImporter filled.
#pragma once

#include <string>

#include "larder/repo.h"
#include "larder/status.h"
#include "offline/duckdb/duckdb_connection.h"
#include "offline/source_relation.h"

namespace larder::materialize {

// `view`'s source resolved on `conn` (offline::ResolveViewSource) when
// `imported` is empty; otherwise the quoted table `imported`, with the
// view's source and its schema owner (NotFound when not registered).
Result<offline::ViewSource> ViewRowsRelation(duckdb::Connection& conn, const FeatureRepo& repo,
                                             const FeatureView& view,
                                             const offline::TableExists& exists,
                                             const std::string& db_path,
                                             const std::string& imported);

}  // namespace larder::materialize
