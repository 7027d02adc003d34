#include "larder/feature_store.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <limits>
#include <thread>

#include "registry/plan.h"
#include "aggregation/online_tiles.h"
#include "materialize/records_from_rows.h"
#include "offline/source_relation.h"
#include "offline_stores/offline_stores.h"
#include "transform/model_graph.h"
#include "serving/online_reader.h"
#include "serving/online_service.h"
#include "common/value_coercion.h"
#include "repo/feature_refs.h"

namespace larder {

struct FeatureStore::ViewRows {
  const FeatureView* view = nullptr;
  std::vector<OnlineRecord> records;               // when the view has a schema
  std::vector<aggregation::EntityEvents> events;  // when it has aggregations
  std::shared_ptr<const aggregation::TileLayout> layout;
};

namespace fs = std::filesystem;

FeatureStore::FeatureStore(FeatureStoreOptions options, RepoConfig config,
                           std::string root, std::string registry_path,
                           std::unique_ptr<Registry> registry)
    : options_(std::move(options)),
      config_(std::move(config)),
      root_(std::move(root)),
      registry_path_(std::move(registry_path)),
      registry_(std::move(registry)) {}

FeatureStore::~FeatureStore() = default;

Result<std::unique_ptr<FeatureStore>> FeatureStore::Open(
    const FeatureStoreOptions& options) {
  std::error_code ec;
  fs::path root = fs::weakly_canonical(fs::absolute(options.repo_dir, ec), ec);
  if (ec || !fs::is_directory(root, ec)) {
    return Status::NotFound("feature repo directory " + options.repo_dir +
                            " does not exist");
  }
  LARDER_ASSIGN_OR_RETURN(RepoConfig config, LoadRepoConfig(root.string()));
  if (options.online_store) config.online_store = *options.online_store;
  fs::path registry = config.registry;
  if (registry.is_relative()) registry = root / registry;
  return std::unique_ptr<FeatureStore>(
      new FeatureStore(options, std::move(config), root.string(),
                       registry.lexically_normal().string(), nullptr));
}

Result<FeatureRepo> FeatureStore::LoadDefinitions() const {
  LoadOptions load;
  if (options_.check_data_schemas) {
    LARDER_ASSIGN_OR_RETURN(OfflineStore * offline, Offline());
    load.schema_resolver = [offline](const DataSource& source, const std::string& path) {
      return offline->SourceSchema(source, path);
    };
  }
  LARDER_ASSIGN_OR_RETURN(FeatureRepo repo, LoadFeatureRepo(root_, load));
  // Plan and apply refuse what `larder run` and the scheduler could not
  // order: template errors, unknown refs and cycles among the models.
  if (!repo.models.empty()) LARDER_RETURN_IF_ERROR(transform::BuildModelGraph(repo).status());
  return repo;
}

// The registry file is created by the first apply, not by reads: `plan` and
// the list commands must change nothing on disk.
Result<RegistryPlan> FeatureStore::Plan() {
  LARDER_ASSIGN_OR_RETURN(FeatureRepo repo, LoadDefinitions());
  std::error_code ec;
  RegistryPlan plan;
  if (registry_ == nullptr && !fs::exists(registry_path_, ec)) {
    LARDER_ASSIGN_OR_RETURN(DefinitionMap desired, RepoDefinitions(repo));
    plan = DiffDefinitions({}, desired);
  } else {
    LARDER_ASSIGN_OR_RETURN(Registry * registry, OpenRegistry());
    LARDER_ASSIGN_OR_RETURN(plan, registry->Plan(repo));
  }
  plan.warnings = std::move(repo.warnings);
  return plan;
}

namespace {

// The feature views that `plan` creates or deletes.
std::vector<std::string> ViewsChanged(const RegistryPlan& plan, ChangeType type) {
  std::vector<std::string> views;
  for (const auto& change : plan.changes) {
    if (change.kind == ObjectKind::kFeatureView && change.type == type) {
      views.push_back(change.name);
    }
  }
  return views;
}

}  // namespace

Status FeatureStore::ForgetViews(const std::vector<std::string>& views) {
  if (views.empty()) return Status::OK();
  LARDER_ASSIGN_OR_RETURN(OnlineStore * online, Online());
  for (const auto& view : views) LARDER_RETURN_IF_ERROR(online->DeleteView(view));
  LARDER_ASSIGN_OR_RETURN(OfflineStore * offline, Offline());
  return offline->ForgetWatermarks(&views);
}

Result<OfflineStore*> FeatureStore::Offline() const {
  if (offline_ == nullptr) {
    OfflineStoreOptions options;
    options.config = config_.offline_store;
    options.repo_root = root_;
    options.project = config_.project;
    LARDER_ASSIGN_OR_RETURN(offline_, offline_stores::OpenOfflineStore(options));
  }
  return offline_.get();
}

std::string FeatureStore::OfflineDatabasePath() const {
  FeatureRepo here;
  here.root = root_;
  here.config = config_;
  return offline::OfflineDatabasePath(here);
}

// A view new to the registry starts empty online and without a watermark:
// records left by an unfinished teardown, or by a deleted view of the same
// name, would otherwise be served as PRESENT without any materialize. They
// are removed before the registry changes, so that no reader ever sees the
// new view with them. Only an apply that creates views opens the online
// store; it waits for it as for the registry (two applies of a new repo on
// RocksDB take turns), and plans again once it holds it, so that a view
// another apply registered meanwhile is not taken for new.
Result<ApplyResult> FeatureStore::Apply() {
  LARDER_ASSIGN_OR_RETURN(FeatureRepo repo, LoadDefinitions());
  for (const FeatureView& view : repo.feature_views) {
    if (view.online && !view.aggregations.empty() &&
        !OnlineStoreTypeHoldsStates(config_.online_store.type)) {
      return Status::InvalidArgument(
          view.location.file + ":" + std::to_string(view.location.line) + ": feature view '" +
          view.name + "' has aggregations, which the " + config_.online_store.type +
          " online store does not hold yet; use online_store type rocksdb or redis, or set "
          "online: "
          "false on the view");
    }
  }
  LARDER_ASSIGN_OR_RETURN(Registry * registry, OpenRegistry());
  LARDER_ASSIGN_OR_RETURN(RegistryPlan plan, registry->Plan(repo));
  std::vector<std::string> created = ViewsChanged(plan, ChangeType::kCreate);
  if (!created.empty()) {
    constexpr std::string_view kContext =
        "apply changed nothing: it clears the online records of new feature views first";
    LARDER_RETURN_IF_ERROR(OnlineWaiting().status().WithContext(kContext));
    LARDER_ASSIGN_OR_RETURN(plan, registry->Plan(repo));
    created = ViewsChanged(plan, ChangeType::kCreate);
    LARDER_RETURN_IF_ERROR(ForgetViews(created).WithContext(kContext));
  }
  if (online_service_ != nullptr) online_service_->Invalidate();
  LARDER_ASSIGN_OR_RETURN(ApplyResult result, registry->Apply(repo));
  result.plan.warnings = std::move(repo.warnings);
  // A concurrent apply or teardown may have changed the plan meanwhile.
  std::vector<std::string> late;
  for (const auto& view : ViewsChanged(result.plan, ChangeType::kCreate)) {
    if (std::find(created.begin(), created.end(), view) == created.end()) late.push_back(view);
  }
  if (!late.empty()) {
    Status forgotten = OnlineWaiting().status();
    if (forgotten.ok()) forgotten = ForgetViews(late);
    LARDER_RETURN_IF_ERROR(forgotten.WithContext(
        "the registry is updated, but the online records left under the names of new feature "
        "views could not be removed: run `larder teardown`"));
  }
  // A deleted view's records are only garbage (a view created again under
  // its name starts empty), so a store in use leaves them with a warning.
  const std::vector<std::string> deleted = ViewsChanged(result.plan, ChangeType::kDelete);
  if (!deleted.empty()) {
    Status forgotten = ForgetViews(deleted);
    if (!forgotten.ok()) {
      result.plan.warnings.push_back(
          "the online records of deleted feature views remain (`larder teardown` removes "
          "them): " + forgotten.message());
    }
  }
  return result;
}

Result<OnlineStore*> FeatureStore::OnlineWaiting() {
  const auto deadline = std::chrono::steady_clock::now() + options_.lock_timeout;
  auto pause = std::chrono::milliseconds(20);
  while (true) {
    Result<OnlineStore*> online = Online();
    if (online.ok() || online.status().code() != StatusCode::kBusy ||
        std::chrono::steady_clock::now() + pause > deadline) {
      return online;
    }
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::milliseconds(500));
  }
}

// The online store is opened first: when another process holds it (RocksDB
// under `larder serve`), nothing has changed yet. The registry goes next,
// then the online records and watermarks; each step is idempotent and the
// steps after the registry run whether or not the project is still
// registered, so a rerun always finishes an interrupted teardown.
Result<TeardownReport> FeatureStore::Teardown() {
  Result<OnlineStore*> online = Online();
  if (!online.ok()) {
    return online.status().WithContext(
        online.status().code() == StatusCode::kBusy
            ? "teardown changed nothing: it must remove the project's online data, and the "
              "online store is in use (stop `larder serve` or the other process, then rerun)"
            : "teardown changed nothing: it must remove the project's online data");
  }
  TeardownReport report;
  std::error_code ec;
  if (registry_ != nullptr || fs::exists(registry_path_, ec)) {
    LARDER_ASSIGN_OR_RETURN(Registry * registry, OpenRegistry());
    if (online_service_ != nullptr) online_service_->Invalidate();
    Status removed = registry->Teardown(config_.project);
    if (!removed.ok() && removed.code() != StatusCode::kNotFound) return removed;
    report.was_registered = removed.ok();
  }
  LARDER_RETURN_IF_ERROR((*online)->DeleteProject().WithContext(
      "removing the project's online data (run `larder teardown` again to finish)"));
  LARDER_ASSIGN_OR_RETURN(OfflineStore * offline, Offline());
  LARDER_RETURN_IF_ERROR(
      offline->ForgetWatermarks(nullptr)
          .WithContext("removing the project's materialization watermarks (run `larder "
                       "teardown` again to finish)"));
  LARDER_RETURN_IF_ERROR(
      ForgetStreamCheckpoints(OfflineDatabasePath(), config_.project)
          .WithContext("removing the project's stream checkpoints (run `larder teardown` "
                       "again to finish)"));
  return report;
}

Result<FeatureRepo> FeatureStore::Registered() {
  LARDER_ASSIGN_OR_RETURN(Registry * registry, OpenExistingRegistry());
  return registry->Load(config_.project);
}

// The registry stores definitions only; files and the offline store are
// located from this repo.
Result<FeatureRepo> FeatureStore::RegisteredHere() {
  LARDER_ASSIGN_OR_RETURN(FeatureRepo repo, Registered());
  repo.root = root_;
  repo.config = config_;
  return repo;
}

Result<std::unique_ptr<HistoricalRetrievalJob>> FeatureStore::GetHistoricalFeatures(
    const HistoricalFeaturesRequest& request, const HistoricalRetrievalOptions& options) {
  LARDER_ASSIGN_OR_RETURN(FeatureRepo repo, RegisteredHere());
  LARDER_ASSIGN_OR_RETURN(OfflineStore * offline, Offline());
  return offline->GetHistoricalFeatures(repo, request, options);
}

namespace {

// InvalidArgument naming the first row of `rows` whose event time (the
// column of `source`'s timestamp_field) is later than `latest`. Values that
// are null or not timestamps are left to the checks that build the rows.
Status CheckEventTimes(const DataSource& source, const ColumnTable& rows, TimestampMicros latest,
                       Duration skew) {
  const std::string column = repo::RowColumnName(source, source.timestamp_field);
  auto it = rows.find(column);
  if (it == rows.end()) return Status::OK();
  constexpr ValueType kTimestamp{ScalarType::kUnixTimestamp, false};
  for (size_t r = 0; r < it->second.size(); ++r) {
    const Value& given = it->second[r];
    if (given.is_null()) continue;
    Result<Value> t = CoerceValue(given, kTimestamp);
    if (!t.ok() || t->timestamp_value() <= latest) continue;
    const std::string text = given.type() == ValueType{ScalarType::kString}
                                 ? given.string_value()
                                 : duckdb::FormatTimestampMicros(t->timestamp_value());
    return Status::InvalidArgument(
        "df." + column + "[" + std::to_string(r) + "]: event time " + text +
        " is later than now plus push_max_future_skew (" + FormatDuration(skew) + "), " +
        duckdb::FormatTimestampMicros(latest) +
        " UTC; a future event time would win every later write of its key");
  }
  return Status::OK();
}

}  // namespace

TimestampMicros FeatureStore::Now() const {
  return options_.clock ? options_.clock()
                        : std::chrono::duration_cast<std::chrono::microseconds>(
                              std::chrono::system_clock::now().time_since_epoch())
                              .count();
}

TimestampMicros FeatureStore::LatestEventTime() const {
  const TimestampMicros now = Now();
  const int64_t skew = config_.push_max_future_skew.micros;
  return now > std::numeric_limits<TimestampMicros>::max() - skew
             ? std::numeric_limits<TimestampMicros>::max()
             : now + skew;
}

Result<PushReport> FeatureStore::PushFile(const std::string& source, const std::string& file,
                                          PushTarget to) {
  if (to != PushTarget::kOffline) {
    LARDER_ASSIGN_OR_RETURN(ColumnTable rows, ReadFileColumnTable(file));
    return Push(source, rows, to);
  }
  LARDER_ASSIGN_OR_RETURN(FeatureRepo repo, RegisteredHere());
  LARDER_ASSIGN_OR_RETURN(OfflineStore * offline, Offline());
  LARDER_ASSIGN_OR_RETURN(OfflineAppend append,
                          offline->PushFile(repo, source, file, LatestEventTime()));
  PushReport report;
  report.rows = append.rows;
  report.offline_rows = append.appended;
  return report;
}

Result<PushReport> FeatureStore::Push(const std::string& push_source, const ColumnTable& rows,
                                      PushTarget to) {
  LARDER_ASSIGN_OR_RETURN(FeatureRepo repo, RegisteredHere());
  const DataSource* source = repo.FindDataSource(push_source);
  if (source == nullptr || !ReceivesRows(source->kind)) {
    return Status::NotFound("push_source_name: no push source '" + push_source + "'");
  }
  const TimestampMicros latest = LatestEventTime();
  if (const DataSource* batch = repo.FindDataSource(source->batch_source); batch != nullptr) {
    LARDER_RETURN_IF_ERROR(
        CheckEventTimes(*batch, rows, latest, config_.push_max_future_skew));
  }
  PushReport report;
  report.rows = rows.empty() ? 0 : static_cast<int64_t>(rows.begin()->second.size());
  // Every record and event is built (and so checked) before anything is
  // written.
  std::vector<ViewRows> writes;
  if (to != PushTarget::kOffline) {
    for (const auto& view : repo.feature_views) {
      if (view.source != push_source || !view.online) continue;
      LARDER_ASSIGN_OR_RETURN(ViewRows built, BuildViewRows(repo, view, rows));
      writes.push_back(std::move(built));
    }
  }
  // Offline first: its append is one transaction, and appends only rows not
  // already stored, so a push killed before or during the online writes
  // converges when retried (larder/push.h).
  if (to != PushTarget::kOnline) {
    LARDER_ASSIGN_OR_RETURN(OfflineStore * offline, Offline());
    LARDER_ASSIGN_OR_RETURN(OfflineAppend append,
                            offline->PushRows(repo, push_source, rows, latest));
    report.offline_rows = append.appended;
    if (options_.after_offline_push) options_.after_offline_push();
  }
  for (ViewRows& w : writes) {
    LARDER_ASSIGN_OR_RETURN(OnlineViewWrite written, WriteViewRows(w));
    report.online.push_back(std::move(written));
  }
  return report;
}

Result<PushReport> FeatureStore::WriteToOnlineStore(const std::string& feature_view,
                                                    const ColumnTable& rows) {
  LARDER_ASSIGN_OR_RETURN(FeatureRepo repo, RegisteredHere());
  const FeatureView* view = repo.FindFeatureView(feature_view);
  if (view == nullptr) {
    return Status::NotFound("feature_view_name: no feature view '" + feature_view + "'");
  }
  LARDER_ASSIGN_OR_RETURN(const DataSource* source, repo::RowSource(repo, *view));
  LARDER_RETURN_IF_ERROR(
      CheckEventTimes(*source, rows, LatestEventTime(), config_.push_max_future_skew));
  LARDER_ASSIGN_OR_RETURN(ViewRows built, BuildViewRows(repo, *view, rows));
  PushReport report;
  LARDER_ASSIGN_OR_RETURN(const size_t row_count, ColumnTableRows(rows));
  report.rows = static_cast<int64_t>(row_count);
  LARDER_ASSIGN_OR_RETURN(OnlineViewWrite written, WriteViewRows(built));
  report.online.push_back(std::move(written));
  return report;
}

Result<OnlineDeleteReport> FeatureStore::DeleteOnline(const EntityColumns& entities,
                                                      const std::vector<std::string>& feature_views) {
  if (entities.empty()) {
    return Status::InvalidArgument("entities: none given; give each join key's values");
  }
  LARDER_ASSIGN_OR_RETURN(const size_t rows, ColumnTableRows(entities));
  LARDER_ASSIGN_OR_RETURN(FeatureRepo repo, RegisteredHere());
  std::string given;
  for (const auto& [key, values] : entities) given += (given.empty() ? "" : ", ") + key;
  // The views, with their join keys, that the delete applies to.
  std::vector<std::pair<const FeatureView*, repo::JoinKeys>> targets;
  auto same_keys = [&](const repo::JoinKeys& keys) {
    return keys.names.size() == entities.size() &&
           std::all_of(keys.names.begin(), keys.names.end(),
                       [&](const std::string& k) { return entities.contains(k); });
  };
  if (feature_views.empty()) {
    for (const FeatureView& view : repo.feature_views) {
      if (!view.online) continue;
      LARDER_ASSIGN_OR_RETURN(repo::JoinKeys keys, repo::ViewJoinKeys(repo, view));
      if (same_keys(keys)) targets.emplace_back(&view, std::move(keys));
    }
    if (targets.empty()) {
      return Status::NotFound("entities: no online feature view has exactly the join keys (" +
                              given + ")");
    }
  } else {
    for (const std::string& name : feature_views) {
      const FeatureView* view = repo.FindFeatureView(name);
      if (view == nullptr) return Status::NotFound("feature_views: no feature view '" + name + "'");
      LARDER_ASSIGN_OR_RETURN(repo::JoinKeys keys, repo::ViewJoinKeys(repo, *view));
      if (!same_keys(keys)) {
        std::string wanted;
        for (const auto& k : keys.names) wanted += (wanted.empty() ? "" : ", ") + k;
        return Status::InvalidArgument("feature_views: view '" + name + "' has join keys (" +
                                       wanted + "), but the entities give (" + given + ")");
      }
      targets.emplace_back(view, std::move(keys));
    }
  }
  // Every view's keys are built (and so checked) before anything is deleted.
  std::vector<std::vector<EntityKey>> keys(targets.size());
  for (size_t t = 0; t < targets.size(); ++t) {
    const repo::JoinKeys& join = targets[t].second;
    keys[t].resize(rows);
    for (size_t r = 0; r < rows; ++r) {
      EntityKey& key = keys[t][r];
      key.join_keys = join.names;
      for (size_t k = 0; k < join.names.size(); ++k) {
        const std::string& name = join.names[k];
        Result<Value> v = serving::JoinKeyValue(entities.at(name)[r], join.types[k], name);
        if (!v.ok()) {
          return Status::InvalidArgument("entities." + name + "[" + std::to_string(r) +
                                         "]: " + v.status().message());
        }
        key.values.push_back(std::move(*v));
      }
    }
  }
  LARDER_ASSIGN_OR_RETURN(OnlineStore * online, Online());
  OnlineDeleteReport report;
  report.entities = static_cast<int64_t>(rows);
  for (size_t t = 0; t < targets.size(); ++t) {
    const FeatureView& view = *targets[t].first;
    LARDER_RETURN_IF_ERROR(online->Delete(OnlineView::FromFeatureView(view), keys[t]));
    report.feature_views.push_back(view.name);
  }
  return report;
}

Result<FeatureStore::ViewRows> FeatureStore::BuildViewRows(const FeatureRepo& repo,
                                                           const FeatureView& view,
                                                           const ColumnTable& rows) {
  ViewRows built;
  built.view = &view;
  if (!view.schema.empty() || view.aggregations.empty()) {
    LARDER_ASSIGN_OR_RETURN(built.records, materialize::RecordsFromRows(repo, view, rows));
  }
  if (!view.aggregations.empty()) {
    LARDER_ASSIGN_OR_RETURN(built.events, materialize::EventsFromRows(repo, view, rows));
    LARDER_ASSIGN_OR_RETURN(aggregation::TileLayout layout,
                            aggregation::TileLayout::ForView(view));
    built.layout = std::make_shared<aggregation::TileLayout>(std::move(layout));
  }
  return built;
}

Result<OnlineViewWrite> FeatureStore::WriteViewRows(ViewRows& rows) {
  const FeatureView& view = *rows.view;
  LARDER_ASSIGN_OR_RETURN(OnlineStore * online, Online());
  OnlineViewWrite written{view.name, 0, 0};
  if (!rows.records.empty()) {
    LARDER_ASSIGN_OR_RETURN(OnlineWriteSummary summary,
                            online->Write(OnlineView::FromFeatureView(view), rows.records));
    written.written = summary.written;
    written.skipped = summary.skipped;
  }
  if (rows.layout != nullptr) {
    written.written += static_cast<int64_t>(rows.events.size());
    LARDER_RETURN_IF_ERROR(aggregation::ApplyEvents(*online, view.name, *rows.layout,
                                                    std::move(rows.events), Now()));
  }
  return written;
}

Result<std::string> FeatureStore::RegistryJson() {
  LARDER_ASSIGN_OR_RETURN(Registry * registry, OpenExistingRegistry());
  return registry->DumpJson(config_.project);
}

// Models run from the repo directory's files, as dbt does: a model can be
// built and tested before it is applied.
Result<RunReport> FeatureStore::Run(const RunOptions& options) {
  LARDER_ASSIGN_OR_RETURN(FeatureRepo repo, LoadDefinitions());
  LARDER_ASSIGN_OR_RETURN(OfflineStore * offline, Offline());
  return offline->RunModels(repo, options);
}

Result<TestReport> FeatureStore::TestModels(const TestOptions& options) {
  LARDER_ASSIGN_OR_RETURN(FeatureRepo repo, LoadDefinitions());
  LARDER_ASSIGN_OR_RETURN(OfflineStore * offline, Offline());
  return offline->TestModels(repo, options);
}

Result<OnlineStore*> FeatureStore::Online() {
  if (online_ == nullptr && options_.shared_online_store != nullptr) {
    online_ = options_.shared_online_store;
  }
  if (online_ == nullptr) {
    OnlineStoreOptions options;
    options.config = config_.online_store;
    options.project = config_.project;
    options.repo_root = root_;
    LARDER_ASSIGN_OR_RETURN(online_, OnlineStore::Open(options));
  }
  return online_.get();
}

Result<std::vector<RunRecord>> FeatureStore::Runs(const RunQuery& query) {
  Result<Registry*> registry = OpenExistingRegistry();
  if (registry.status().code() == StatusCode::kNotFound) return std::vector<RunRecord>{};
  LARDER_RETURN_IF_ERROR(registry.status());
  return (*registry)->Runs(config_.project, query);
}

Result<std::shared_ptr<OnlineStore>> FeatureStore::SharedOnlineStore() {
  LARDER_RETURN_IF_ERROR(OnlineWaiting().status());
  return online_;
}

Result<MaterializeReport> FeatureStore::Materialize(TimestampMicros start, TimestampMicros end,
                                                    const MaterializeOptions& options) {
  LARDER_ASSIGN_OR_RETURN(FeatureRepo repo, RegisteredHere());
  LARDER_ASSIGN_OR_RETURN(OnlineStore * online, Online());
  MaterializeOptions clocked = options;
  if (clocked.now == 0) clocked.now = Now();
  LARDER_ASSIGN_OR_RETURN(OfflineStore * offline, Offline());
  return offline->Materialize(repo, *online, start, end, clocked);
}

Result<MaterializeReport> FeatureStore::MaterializeIncremental(TimestampMicros end,
                                                               const MaterializeOptions& options) {
  LARDER_ASSIGN_OR_RETURN(FeatureRepo repo, RegisteredHere());
  LARDER_ASSIGN_OR_RETURN(OnlineStore * online, Online());
  MaterializeOptions clocked = options;
  if (clocked.now == 0) clocked.now = Now();
  LARDER_ASSIGN_OR_RETURN(OfflineStore * offline, Offline());
  return offline->Materialize(repo, *online, std::nullopt, end, clocked);
}

Result<serving::OnlineService*> FeatureStore::OnlineServing() {
  if (online_service_ == nullptr) {
    // The service reads the registry from its callers' threads, so it gets
    // a connection of its own (a Registry is not thread-safe).
    LARDER_RETURN_IF_ERROR(OpenExistingRegistry().status());
    RegistryOptions ro;
    ro.path = registry_path_;
    ro.lock_timeout = options_.lock_timeout;
    LARDER_ASSIGN_OR_RETURN(service_registry_, Registry::Open(ro));
    Registry* registry = service_registry_.get();
    LARDER_ASSIGN_OR_RETURN(OnlineStore * online, Online());
    serving::OnlineServiceOptions service;
    service.version = [registry, project = config_.project] {
      return registry->Version(project);
    };
    service.load = [registry, project = config_.project] { return registry->Load(project); };
    service.refresh_interval = RegistryRefreshInterval();
    service.window_value_cache_bytes = options_.window_value_cache_bytes;
    online_service_ = std::make_unique<serving::OnlineService>(online, std::move(service));
  }
  return online_service_.get();
}

Result<OnlineFeaturesResponse> FeatureStore::GetOnlineFeatures(
    const OnlineFeaturesRequest& request, const OnlineReadOptions& options) {
  LARDER_ASSIGN_OR_RETURN(serving::OnlineService * service, OnlineServing());
  return service->GetOnlineFeatures(request, options);
}

std::chrono::milliseconds FeatureStore::RegistryRefreshInterval() const {
  if (options_.registry_refresh_interval) return *options_.registry_refresh_interval;
  if (!config_.registry_cache_ttl_seconds) return std::chrono::seconds(1);
  // 0 is Feast's "never expires"; a century stands for it (longer would
  // overflow the nanosecond clock it is compared with).
  if (*config_.registry_cache_ttl_seconds == 0) return std::chrono::hours(24 * 365 * 100);
  return std::chrono::seconds(*config_.registry_cache_ttl_seconds);
}

Result<Registry*> FeatureStore::OpenRegistry() {
  if (registry_ == nullptr) {
    RegistryOptions ro;
    ro.path = registry_path_;
    ro.lock_timeout = options_.lock_timeout;
    LARDER_ASSIGN_OR_RETURN(registry_, Registry::Open(ro));
  }
  return registry_.get();
}

Result<Registry*> FeatureStore::OpenExistingRegistry() {
  std::error_code ec;
  if (registry_ == nullptr && !fs::exists(registry_path_, ec)) {
    return Status::NotFound("project '" + config_.project + "' has not been applied (no registry at " +
                            registry_path_ + "); run `larder apply` first");
  }
  return OpenRegistry();
}

}  // namespace larder
