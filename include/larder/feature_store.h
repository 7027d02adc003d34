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
#include <optional>
#include <string>
#include <vector>

#include "larder/config.h"
#include "larder/offline_store.h"
#include "larder/stream.h"
#include "larder/online_store.h"
#include "larder/push.h"
#include "larder/registry.h"
#include "larder/repo.h"
#include "larder/status.h"
#include "larder/transform.h"
#include "larder/materialize.h"
#include "larder/online_features.h"

namespace larder {
namespace serving {
class OnlineService;
}

struct FeatureStoreOptions {
  // The feature repo directory (holding feature_store.yaml).
  // Default: the current directory.
  std::string repo_dir = ".";
  // Whether Plan and Apply check file sources against their files' columns.
  // Default: true.
  bool check_data_schemas = true;
  // How long Apply and Teardown wait for another apply, and Apply for an
  // online store another process holds (when it adds feature views).
  // Default: 10 s.
  std::chrono::milliseconds lock_timeout{10'000};
  // Replaces the `online_store:` section of feature_store.yaml when set
  // (a test or benchmark pointing one repo at another backend).
  std::optional<StoreConfig> online_store = std::nullopt;
  // GetOnlineFeatures serves from a cached copy of the registered
  // definitions, and checks the registry for a newer version at most this
  // often (an Apply through this FeatureStore is seen at once). Default:
  // feature_store.yaml's registry.cache_ttl_seconds (0 = never), else 1 s.
  std::optional<std::chrono::milliseconds> registry_refresh_interval = std::nullopt;
  // GetOnlineFeatures keeps the window values it evaluates from aggregation
  // states, and answers a read of an unchanged state within the same
  // aggregation_interval from them, up to this many bytes; 0 evaluates
  // every read (docs/aggregations.md). Default: 64 MiB.
  size_t window_value_cache_bytes = size_t{64} << 20;
  // An online store already open on this repo's `online_store:`, shared
  // with other FeatureStores of this process (the scheduler's workers; an
  // embedded store admits one opener per process). OnlineStore is
  // thread-safe. Default: unset, meaning this FeatureStore opens its own.
  std::shared_ptr<OnlineStore> shared_online_store;
  // The clock that push checks future event times against (microseconds
  // since the epoch, UTC). Default (empty): the system clock.
  std::function<TimestampMicros()> clock;
  // A test seam (as RocksDB's sync points): Push calls it after the offline
  // append committed and before the online writes, so a crash test can kill
  // the process exactly there. Default: none.
  std::function<void()> after_offline_push;
};

// What Teardown did.
struct TeardownReport {
  // False when the registry no longer (or never) held the project, e.g. a
  // rerun finishing an interrupted teardown.
  bool was_registered = false;
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
  // A feature view new to the registry starts empty: any online records and
  // watermark left under its name (an interrupted teardown, a deleted view)
  // are removed first, which opens the online store (Busy while another
  // process holds a RocksDB store beyond lock_timeout). A deleted view's
  // records are removed after the registry changed. Plan and result carry
  // the loader's warnings.
  Result<ApplyResult> Apply();
  // Removes the project: its registry entries, its online records, its
  // materialization watermarks and its stream checkpoints. The online store
  // is opened first, so when another process holds it (Busy) nothing has
  // changed. Safe to rerun: a project no longer (or never) registered still
  // has any online records, watermarks and checkpoints left for it removed.
  Result<TeardownReport> Teardown();
  // The definitions as last applied. NotFound when never applied.
  Result<FeatureRepo> Registered();
  // Push with the rows of `file` (parquet or csv; `larder push SOURCE FILE
  // --to ...`). Offline only, the file streams into the offline store
  // (checked against the source's schema, cast by DuckDB) without being
  // held in memory; a target with online reads it whole, then as Push.
  // Future event times are refused as in Push.
  Result<PushReport> PushFile(const std::string& source, const std::string& file,
                              PushTarget to);
  // Writes rows (column-wise) pushed to push source `push_source`: online,
  // into every online view reading the source; offline, appended to its
  // history as PushOffline does; or both (offline first, then online). Rows
  // are checked and converted as larder/push.h says, all before anything is
  // written; an event time later than now (options.clock) plus
  // config().push_max_future_skew is refused. Retrying a push that failed or
  // was killed is idempotent (larder/push.h). Uses the registered
  // definitions. Errors: NotFound for an unknown push source;
  // InvalidArgument naming the column and row (`df.<column>[<row>]`).
  Result<PushReport> Push(const std::string& push_source, const ColumnTable& rows,
                          PushTarget to = PushTarget::kOnline);
  // Consumes the kinesis sources' streams into the stores, checkpointing
  // per shard, until options.stop (or, with until_idle, until caught up);
  // larder/stream.h. Errors: NotFound for an unknown source; the stream's
  // and the stores' errors (the checkpoint keeps what landed).
  Result<StreamProgress> Stream(const StreamOptions& options);
  // Writes rows (column-wise) into the online store for one feature view,
  // with the conditional-write rule (Feast's write_to_online_store). Columns
  // are named as in the view's source. Future event times and errors as Push.
  Result<PushReport> WriteToOnlineStore(const std::string& feature_view, const ColumnTable& rows);
  // Deletes the online records of the entity rows `entities` (join key ->
  // values) from `feature_views`, or, when that is empty, from every online
  // view whose join keys are exactly the given ones. Deleting a record that
  // does not exist is OK. A deleted key reads NOT_FOUND until a later write
  // lands for it: a push or write of any event time, or a materialization
  // whose window holds offline rows of the key (the offline history is not
  // changed). Uses the registered definitions. Errors: NotFound for an
  // unknown view, or when no online view has exactly these join keys;
  // InvalidArgument for no entities, columns of unequal length, a null or
  // unconvertible value, or a named view whose join keys differ from the
  // given ones.
  Result<OnlineDeleteReport> DeleteOnline(const EntityColumns& entities,
                                          const std::vector<std::string>& feature_views = {});
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

  // Writes, for each online view (or options.views), the latest row per
  // entity with start <= event_timestamp < end into the online store
  // (semantics: larder/materialize.h). Uses the registered definitions.
  // Errors: NotFound when never applied or for an unknown view;
  // FailedPrecondition when a needed model has not been run; InvalidArgument
  // for start >= end.
  Result<MaterializeReport> Materialize(TimestampMicros start, TimestampMicros end,
                                        const MaterializeOptions& options = {});
  // As Materialize, each view starting at its watermark, or end - ttl when it
  // has none (the beginning of time when its ttl is 0).
  Result<MaterializeReport> MaterializeIncremental(TimestampMicros end,
                                                   const MaterializeOptions& options = {});
  // Latest feature values for entity rows from the online store, with a
  // status per value (larder/online_features.h). Uses the registered
  // definitions, cached (see registry_refresh_interval); the plan of each
  // request shape is prepared once.
  Result<OnlineFeaturesResponse> GetOnlineFeatures(const OnlineFeaturesRequest& request,
                                                   const OnlineReadOptions& options = {});
  // The service behind GetOnlineFeatures, which (unlike this FeatureStore)
  // may be called from many threads at once: the feature server's. Owned by
  // this FeatureStore. It has its own registry connection, so one other
  // thread may go on using this FeatureStore (a server's writes) while the
  // service is in use.
  Result<serving::OnlineService*> OnlineServing();
  // The scheduler's run history (`larder runs`): runs matching `query`,
  // oldest first. Empty when the registry holds none.
  Result<std::vector<RunRecord>> Runs(const RunQuery& query);
  // The online store, opened when not yet: for other FeatureStores of this
  // process to share (FeatureStoreOptions::shared_online_store).
  Result<std::shared_ptr<OnlineStore>> SharedOnlineStore();

 private:
  FeatureStore(FeatureStoreOptions options, RepoConfig config, std::string root,
               std::string registry_path, std::unique_ptr<Registry> registry);
  // Registered(), with root and config set from this repo.
  Result<FeatureRepo> RegisteredHere();
  // The clock: options_.clock, else the system's.
  TimestampMicros Now() const;
  // The latest event time a write may carry: now plus the configured skew.
  TimestampMicros LatestEventTime() const;
  // One view's share of pushed rows, built and checked before any write.
  struct ViewRows;
  static Result<ViewRows> BuildViewRows(const FeatureRepo& repo, const FeatureView& view,
                                        const ColumnTable& rows);
  // Writes them: records conditionally, events into aggregation states.
  Result<OnlineViewWrite> WriteViewRows(ViewRows& rows);
  // Online(), retried while Busy (another process holds a RocksDB store) for
  // up to options_.lock_timeout.
  Result<OnlineStore*> OnlineWaiting();
  // Deletes the online records and watermarks of `views`.
  Status ForgetViews(const std::vector<std::string>& views);
  // The offline store database of this repo (the DuckDB file that also
  // keeps stream checkpoints).
  std::string OfflineDatabasePath() const;
  // The offline store of `offline_store:`, opened on first use.
  Result<OfflineStore*> Offline() const;
  // options_.registry_refresh_interval, else registry.cache_ttl_seconds.
  std::chrono::milliseconds RegistryRefreshInterval() const;
  // Opens the registry file, creating it when absent.
  Result<Registry*> OpenRegistry();
  // Opens the registry file; NotFound when it does not exist yet.
  Result<Registry*> OpenExistingRegistry();

  FeatureStoreOptions options_;
  RepoConfig config_;
  std::string root_;
  std::string registry_path_;
  std::unique_ptr<Registry> registry_;
  // Opened on first use by Materialize/GetOnlineFeatures/Teardown (or
  // options_.shared_online_store).
  std::shared_ptr<OnlineStore> online_;
  // Opened on first use by Offline(); LoadDefinitions reads sources'
  // schemas through it.
  mutable std::unique_ptr<OfflineStore> offline_;
  Result<OnlineStore*> Online();
  // Created by the first GetOnlineFeatures, with its own registry connection.
  std::unique_ptr<Registry> service_registry_;
  std::unique_ptr<serving::OnlineService> online_service_;
};

}  // namespace larder
