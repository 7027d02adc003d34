// Point-in-time correct training data over DuckDB: the implementation behind
// FeatureStore::GetHistoricalFeatures (the semantics are documented in
// larder/offline_store.h).
//
// Entity rows from a query (HistoricalFeaturesRequest::entity_sql) are the
// user's SQL: it is checked to be one SELECT and prepared on its own, never
// spliced into other SQL, and runs on a separate DuckDB instance of the
// offline store file opened read-only (an empty in-memory one when there is
// no store yet), configuration locked; its rows are copied into the job's
// in-memory database through Arrow, as a DataFrame's are.
//
// SQL design: statements that stage tables in the job's in-memory database
// (run once, when the job first runs), then one query.
//   __larder_entities  the entity rows, with __larder_row = row_number()
//                      OVER () (input order) and __larder_ts = the event
//                      timestamp as TIMESTAMP WITH TIME ZONE (UTC);
//   __larder_j<i>      per view with requested schema features: the entity
//                      rows' row number, timestamp and that view's join
//                      keys, ASOF LEFT JOINed
//                      to the view's mapped source reduced to the join keys,
//                      the timestamp (as TIMESTAMPTZ, as __larder_fts) and the
//                      requested features, rows without a timestamp or a key
//                      dropped, and when the source has a created timestamp,
//                      one row per (keys, timestamp): the greatest created
//                      timestamp, via QUALIFY row_number(). The join is on
//                      the keys and e.__larder_ts >= f.__larder_fts (DuckDB
//                      picks, per entity row, the latest feature row at or
//                      before it); a nonzero ttl is applied by nulling the
//                      view's features when the matched row is older than
//                      ts - ttl (no older row can then qualify either);
//   __larder_a<i>      per set of views with requested aggregations that
//                      read the same events (the same source, keys,
//                      aggregated columns and interval): the entity rows'
//                      row number and those aggregations, computed by window
//                      functions over the events and the entity rows
//                      together (offline/historical/aggregation_sql.h);
//   the query: the entity rows LEFT JOIN each __larder_j<i> and
//   __larder_a<i> on __larder_row,
//   ORDER BY __larder_row to restore input order.
// One ASOF join per view on narrow entity rows, rather than a chain of ASOF
// joins, so that no join sorts the features of the views before it; a table
// per view, rather than one query, so that no statement holds every view's
// join state at once (a table can spill; 1,000 features over 20 views fit
// the default 1 GB memory_limit this way, and in neither other form).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "larder/offline_store.h"
#include "larder/repo.h"
#include "larder/status.h"
#include "offline/duckdb/duckdb_connection.h"

namespace larder::offline {

// Validates `request` against `repo` (whose root and config must be set: the
// offline store database is OfflineDatabasePath(repo)) and the entity table's
// columns, and returns a job that runs the join.
//
// Errors, each naming the object at fault:
//   InvalidArgument: no or two entity sources; no or two feature selections;
//     a malformed "view:feature"; an entity file with an unknown extension;
//     an entity table without a needed join key, without `event_timestamp`
//     (and not exactly one other timestamp column), or with a join key of
//     the wrong type; a feature name requested from two views without
//     full_feature_names; a source lacking a needed column;
//   InvalidArgument, in the entity table's terms: an entity query that is
//     not exactly one SELECT ("holds 2 statements", "is a DROP statement");
//     an entity CSV file without rows, whose column types therefore cannot
//     be known ("has no rows"); a text timestamp that is not one (naming
//     the row, the column and the value);
//   NotFound: an unknown feature view, feature or feature service; no file
//     matching entity_path;
//   FailedPrecondition: a view whose model has no table in the offline store
//     yet ("run `larder run` first");
//   plus DuckDB's own errors reading the entity table, prefixed with it.
//   Errors of SQL that Larder wrote (reading files, the joins, the output)
//   come without DuckDB's quotation of that SQL; errors in an entity query
//   quote the query, which is the user's own.
Result<std::unique_ptr<HistoricalRetrievalJob>> PrepareHistoricalRetrieval(
    const FeatureRepo& repo, const HistoricalFeaturesRequest& request,
    const HistoricalRetrievalOptions& options = {});

// A job whose input rows come from another engine (the spark offline
// store): `import` fills the job's in-memory DuckDB database once, when the
// job first runs; then `sql`, a query of that database, gives the output.
// The database has the job's memory limit and spill directory and Larder's
// SQL functions (larder_tie_key).
struct ImportedHistoricalJob {
  std::function<Status(duckdb::Connection&)> import;
  std::string sql;
  // What HistoricalRetrievalJob::sql() shows before `sql`: the other
  // engine's query.
  std::string display_sql;
  std::vector<std::string> column_names;  // of `sql`'s output, in order
};
Result<std::unique_ptr<HistoricalRetrievalJob>> MakeImportedHistoricalJob(
    ImportedHistoricalJob spec, const HistoricalRetrievalOptions& options);

}  // namespace larder::offline
