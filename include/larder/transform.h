// SQL models and data tests: the per-call options and reports of
// FeatureStore::Run (`larder run`) and FeatureStore::TestModels
// (`larder test`). The materializations and test queries are described in
// src/transform/model_runner.h.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "larder/definitions.h"
#include "larder/types.h"

namespace larder {

// What Run did to one model.
struct ModelRunResult {
  std::string model;
  std::string materialization;  // "view", "table", "incremental"
  // "created" (view, table, or an incremental model's full build),
  // "appended" or "merged" (an incremental run).
  std::string action;
  int64_t rows = -1;           // rows in the table afterwards; -1 for a view
  int64_t rows_inserted = -1;  // incremental runs: rows the query produced
  int64_t rows_deleted = -1;   // merge runs: rows replaced by new versions
  double seconds = 0;
};

// Per-call settings of FeatureStore::Run (`larder run`).
struct RunOptions {
  // Which models to build. Each entry is a model name (that model only),
  // "+NAME" (NAME and every model upstream of it), or "NAME+" (NAME and
  // every model downstream). Upstream models are NOT built unless asked for:
  // a plain name builds just that model, reading its refs' existing tables.
  // Default: empty, meaning every model.
  std::vector<std::string> select;
  // Rebuild incremental models from scratch instead of adding to them.
  // Default: false.
  bool full_refresh = false;
  // Called before and after each model is built, in build order (for
  // progress output). Default: unset.
  std::function<void(const std::string& model)> on_model_start;
  std::function<void(const ModelRunResult& result)> on_model_done;
  // Stamps the run history (table larder_run_history in the offline store:
  // one row per model built or failed). Default: unset, meaning the system
  // clock.
  std::function<TimestampMicros()> clock;
};

struct RunReport {
  std::vector<ModelRunResult> models;  // in build order
  double seconds = 0;
};

// The outcome of one data test.
struct DataTestResult {
  std::string model;
  std::string column;  // may be empty for a model-level test
  std::string test;    // "not_null", "unique", ...
  int64_t failing_rows = 0;
  // Set when the test could not run (e.g. the model was never built); the
  // test then counts as failed.
  std::string error;
  SourceLocation location;
  bool passed() const { return error.empty() && failing_rows == 0; }
};

// Per-call settings of FeatureStore::TestModels (`larder test`).
struct TestOptions {
  // Which models' tests to run, as RunOptions::select. Default: all.
  std::vector<std::string> select;
  // "Now" for freshness tests. Default: unset, meaning the system clock.
  std::function<TimestampMicros()> clock;
  // Called after each test (for progress output). Default: unset.
  std::function<void(const DataTestResult& result)> on_test_done;
};

struct TestReport {
  std::vector<DataTestResult> results;  // by model name, then declaration order
  int failed() const {
    int n = 0;
    for (const auto& r : results) n += r.passed() ? 0 : 1;
    return n;
  }
};

}  // namespace larder
