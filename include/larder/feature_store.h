// FeatureStore: the entry point to one feature repo and its registry.
//
//   auto store = FeatureStore::Open({.repo_dir = "examples/book_recs"});
//   if (!store.ok()) ...;
//   Result<ApplyResult> r = (*store)->Apply();
//
// Thread safety: a FeatureStore is not thread-safe; use one per thread.
// Several processes may open the same repo: the registry serialises applies
// (larder/registry.h).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "larder/config.h"
#include "larder/offline_store.h"
#include "larder/registry.h"
#include "larder/repo.h"
#include "larder/status.h"

namespace larder {

struct FeatureStoreOptions {
  // The feature repo directory (holding feature_store.yaml).
  // Default: the current directory.
  std::string repo_dir = ".";
  // Whether Plan and Apply check file sources against their files' columns.
  // Default: true.
  bool check_data_schemas = true;
  // How long Apply and Teardown wait for another apply. Default: 10 s.
  std::chrono::milliseconds lock_timeout{10'000};
};

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

class FeatureStore {
 public:
  // Reads feature_store.yaml and opens the registry it names.
  // Errors: NotFound when the directory holds no feature_store.yaml;
  // InvalidArgument naming the line and key of a bad config.
  static Result<std::unique_ptr<FeatureStore>> Open(const FeatureStoreOptions& options);

  ~FeatureStore();

  const RepoConfig& config() const { return config_; }
  // Absolute path of the repo directory.
  const std::string& repo_root() const { return root_; }
  // Absolute path of the registry file.
  const std::string& registry_path() const { return registry_path_; }

  // Parses and validates the definitions in the repo directory.
  Result<FeatureRepo> LoadDefinitions() const;
  // What `Apply` would change. Changes nothing.
  Result<RegistryPlan> Plan();
  // Registers the repo's definitions: all of them or, on any error, none.
  Result<ApplyResult> Apply();
  // Removes the project from the registry.
  Status Teardown();
  // The definitions as last applied. NotFound when never applied.
  Result<FeatureRepo> Registered();
  // The registered project as JSON (larder registry-dump).
  Result<std::string> RegistryJson();

  // Training data: a point-in-time join of the request's entity rows with
  // the requested features (semantics and output: larder/offline_store.h).
  // Uses the *registered* definitions (as `larder apply` last stored them),
  // as Feast does, so that training data matches what is served; the
  // offline store database supplies model outputs and offline pushes.
  // Errors: NotFound when the project was never applied, or for an unknown
  // view, feature or service; InvalidArgument for a bad entity table or
  // request, naming the column and file; FailedPrecondition when a needed
  // model has not been run (`larder run`).
  Result<std::unique_ptr<HistoricalRetrievalJob>> GetHistoricalFeatures(
      const HistoricalFeaturesRequest& request,
      const HistoricalRetrievalOptions& options = {});

  // Builds the repo's SQL models (models/*.sql, as in the repo directory,
  // not the registry) into the offline store database, in dependency order.
  // Stops at the first model that fails; models built before it stay built,
  // and the failed model's previous table is left as it was. Errors name the
  // model and, for template errors, the file and line; a ref cycle lists
  // the models in it.
  Result<RunReport> Run(const RunOptions& options = {});
  // Runs the data tests of the selected models against their tables. A
  // failing test is a result, not an error; errors are for bad selections
  // or definitions.
  Result<TestReport> TestModels(const TestOptions& options = {});

 private:
  FeatureStore(FeatureStoreOptions options, RepoConfig config, std::string root,
               std::string registry_path, std::unique_ptr<Registry> registry);
  // Opens the registry file, creating it when absent.
  Result<Registry*> OpenRegistry();
  // Opens the registry file; NotFound when it does not exist yet.
  Result<Registry*> OpenExistingRegistry();

  FeatureStoreOptions options_;
  RepoConfig config_;
  std::string root_;
  std::string registry_path_;
  std::unique_ptr<Registry> registry_;
};

}  // namespace larder
