// The run of SQL models, whatever the engine: the selection, the order, the
// engine each model names, the check of each output against the data
// sources that read it, and the run history. Each offline store's runner
// (model_runner.h for DuckDB, spark_model_runner.h for Spark) supplies how a
// model is built and what columns its output has.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "larder/repo.h"
#include "larder/status.h"
#include "larder/transform.h"
#include "offline/duckdb/duckdb_connection.h"
#include "transform/model_template.h"
#include "transform/sql_dialect.h"

namespace larder::transform {

// `clock()`, or the system clock's time when `clock` is unset.
TimestampMicros ClockNow(const std::function<TimestampMicros()>& clock);

// The context that renders `model` with `relations`: ref() as
// relations.model_table, source() as relations.raw_source, this as the
// model's table, incremental_lower_bound() in relations.engine's dialect;
// is_incremental() false. `repo` must outlive the context.
RenderContext RenderContextFor(const SqlRelations& relations, const FeatureRepo& repo,
                               const ParsedModel& model);

// The steps of building one model that differ by engine. Used once, from
// one thread.
class ModelSteps {
 public:
  virtual ~ModelSteps() = default;
  // Whether the model's relation is a table now (not a view, not missing).
  virtual bool IsTable() const = 0;
  // Creates or replaces the model's view (replacing a table of its name).
  virtual Status View() = 0;
  // Builds the model's table anew and puts it in place of its relation.
  virtual Status Table() = 0;
  // Adds an incremental run to the table: sets result->action ("appended",
  // "merged"), rows_inserted and, for merge, rows_deleted.
  virtual Status Increment(ModelRunResult* result) = 0;
  // The rows in the model's table.
  virtual Result<int64_t> Rows() = 0;
};

// Builds `model` with `steps` as its materialization says: a view; a table;
// an incremental model built as a table on its first run, with
// `full_refresh`, or when its relation is not a table, else incremented.
// The result's rows are -1 for a view; its seconds are left to the caller.
Result<ModelRunResult> BuildModel(const ParsedModel& model, bool full_refresh, ModelSteps& steps);

// What RunModelsOn needs of an engine. Used from one thread.
class ModelEngine {
 public:
  virtual ~ModelEngine() = default;
  // The engine the models run on.
  virtual SqlEngine engine() const = 0;
  // Called once before the first model is built, after the models were
  // checked (e.g. to create the database that holds their tables).
  virtual Status Prepare() { return Status::OK(); }
  // Builds `model` as its config says (a full build for incremental models
  // when `full_refresh`). The result's `seconds` is set by the caller.
  // Errors name the model and its file.
  virtual Result<ModelRunResult> Build(const ParsedModel& model, bool full_refresh) = 0;
  // The column names of model `model`'s output, in order, once built.
  virtual Result<std::vector<std::string>> OutputColumns(const std::string& model) = 0;
};

// Builds the models `options.select` chooses, in dependency order, stopping
// at the first failure (its Status names the model). Before any is built, a
// chosen model whose config(engine=...) names another engine than
// engine.engine() fails the run, naming its file and both engines. After
// each model is built, its output is checked against the data sources of
// type model that read it: their timestamp columns and, after
// field_mapping, their feature views' join keys and features must be
// columns of it (the repo loader cannot check these before the model
// exists). Each model built or failed adds a row to table
// larder_run_history of `history` (model, materialization, action, status
// 'ok'|'error', rows, rows_inserted, rows_deleted, started_at from
// options.clock, seconds, error); a failure to record does not fail the run.
Result<RunReport> RunModelsOn(const FeatureRepo& repo, ModelEngine& engine,
                              duckdb::Connection& history, const RunOptions& options);

}  // namespace larder::transform
