// Builds SQL models into the offline store database: views, tables and
// incremental tables.
//
// Materializations (table "<model>" of the offline store, see
// offline/source_relation.h):
//   view         CREATE OR REPLACE VIEW.
//   table        built into "<model>__larder_build", then, in one
//                transaction, the old relation is dropped and the new table
//                renamed into place. A failed build leaves the old table.
//   incremental  the first run, a run with full_refresh, or a run where the
//                relation is not a table builds it as `table` does, with
//                is_incremental() false. Later runs render with
//                is_incremental() true into a temporary table, then in one
//                transaction: `merge` deletes the rows of "<model>" whose
//                unique_key equals (IS NOT DISTINCT FROM) an incoming row's,
//                and both strategies insert the incoming rows by column name.
// Lookback: `{{ incremental_lower_bound() }}` renders as max(event_time) of
// the model's table minus `lookback`, so a filter such as
//   WHERE ts > {{ incremental_lower_bound() }}
// re-reads the last `lookback` of input and late rows inside it are taken in;
// merge replaces the re-read rows instead of duplicating them. (Append with
// lookback is refused when the config is parsed.)
#pragma once

#include "larder/repo.h"
#include "larder/transform.h"
#include "offline/duckdb/duckdb_connection.h"
#include "offline/source_relation.h"
#include "transform/model_graph.h"

namespace larder::transform {

// Builds the models `options.select` chooses on `conn`, as RunModelsOn
// (model_run.h) says: in dependency order, refusing models written for
// another engine, checking each output against the data sources that read
// it, and recording table larder_run_history in the offline store.
Result<RunReport> RunModels(const FeatureRepo& repo, duckdb::Connection& conn,
                            const RunOptions& options);

// Runs the data tests of the models `options.select` chooses on `conn`
// (their SQL: data_tests.h).
Result<TestReport> RunDataTests(const FeatureRepo& repo, duckdb::Connection& conn,
                                const TestOptions& options);

}  // namespace larder::transform
