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

// Builds the models `options.select` chooses, in dependency order, stopping
// at the first failure (its Status names the model). After each model is
// built, its output is checked against the data sources of type model that
// read it: their timestamp columns and, after field_mapping, their feature
// views' join keys and features must be columns of it (the repo loader
// cannot check these before the model exists). Each model built or failed
// adds a row to table larder_run_history of the offline store (model,
// materialization, action, status 'ok'|'error', rows, rows_inserted,
// rows_deleted, started_at from options.clock, seconds, error).
Result<RunReport> RunModels(const FeatureRepo& repo, duckdb::Connection& conn,
                            const RunOptions& options);

// The SQL of one data test: a query whose single value is the number of
// failing rows. `now` is for freshness. Failing rows per test:
//   not_null         rows where the column is NULL
//   unique           rows whose non-NULL value appears more than once
//   accepted_values  non-NULL rows whose value, as text, is not listed
//   accepted_range   non-NULL rows below min_value or above max_value
//   relationships    non-NULL rows whose value is not in `to`.`field`
//                    (`to`: a model's table, or a data source's raw rows)
//   freshness        1 when max(column) is NULL or older than now - max_age,
//                    else 0
Result<std::string> DataTestSql(const FeatureRepo& repo, const std::string& model,
                                const DataTest& test, TimestampMicros now,
                                const offline::TableExists& exists);

// Runs the data tests of the models `options.select` chooses.
Result<TestReport> RunDataTests(const FeatureRepo& repo, duckdb::Connection& conn,
                                const TestOptions& options);

}  // namespace larder::transform
