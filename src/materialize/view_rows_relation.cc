#include "materialize/view_rows_relation.h"

namespace larder::materialize {

Result<offline::ViewSource> ViewRowsRelation(duckdb::Connection& conn, const FeatureRepo& repo,
                                             const FeatureView& view,
                                             const offline::TableExists& exists,
                                             const std::string& db_path,
                                             const std::string& imported) {
  if (imported.empty()) return offline::ResolveViewSource(repo, view, exists, db_path, conn);
  offline::ViewSource out;
  out.source = repo.FindDataSource(view.source);
  out.owner = out.source == nullptr ? nullptr : offline::SchemaOwner(repo, *out.source);
  if (out.owner == nullptr) {
    return Status::NotFound("feature view '" + view.name + "': data source '" + view.source +
                            "' is not registered");
  }
  out.relation = duckdb::QuoteIdentifier(imported);
  return out;
}

}  // namespace larder::materialize
