#include "larder/feature_store.h"

#include <algorithm>
#include <filesystem>
#include <thread>

#include "offline/duckdb/file_schema.h"
#include "offline/historical/historical_retrieval.h"
#include "registry/plan.h"
#include "offline/offline_push.h"
#include "materialize/records_from_rows.h"
#include "offline/source_relation.h"
#include "transform/model_runner.h"
#include "materialize/materializer.h"
#include "serving/online_service.h"

namespace larder {
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
    load.schema_resolver = [](const DataSource& source, const std::string& path) {
      return duckdb::ReadFileSourceSchema(source, path);
    };
  }
  return LoadFeatureRepo(root_, load);
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
  return materialize::ForgetWatermarks(OfflineDatabasePath(), config_.project, &views);
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
  LARDER_RETURN_IF_ERROR(
      materialize::ForgetWatermarks(OfflineDatabasePath(), config_.project, nullptr)
          .WithContext("removing the project's materialization watermarks (run `larder "
                       "teardown` again to finish)"));
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
  return offline::PrepareHistoricalRetrieval(repo, request, options);
}

Result<PushReport> FeatureStore::PushFile(const std::string& source, const std::string& file,
                                          PushTarget to) {
  if (to != PushTarget::kOffline) {
    LARDER_ASSIGN_OR_RETURN(ColumnTable rows, ReadFileColumnTable(file));
    return Push(source, rows, to);
  }
  LARDER_ASSIGN_OR_RETURN(FeatureRepo repo, RegisteredHere());
  LARDER_ASSIGN_OR_RETURN(std::unique_ptr<duckdb::Connection> conn,
                          duckdb::Connection::Open(offline::OfflineDatabasePath(repo)));
  PushReport report;
  LARDER_ASSIGN_OR_RETURN(report.offline_rows, offline::PushToOffline(repo, source, file, *conn));
  report.rows = report.offline_rows;
  return report;
}

Result<PushReport> FeatureStore::Push(const std::string& push_source, const ColumnTable& rows,
                                      PushTarget to) {
  LARDER_ASSIGN_OR_RETURN(FeatureRepo repo, RegisteredHere());
  const DataSource* source = repo.FindDataSource(push_source);
  if (source == nullptr || source->kind != DataSourceKind::kPush) {
    return Status::NotFound("push_source_name: no push source '" + push_source + "'");
  }
  PushReport report;
  report.rows = rows.empty() ? 0 : static_cast<int64_t>(rows.begin()->second.size());
  // Every record is built (and so checked) before anything is written.
  std::vector<std::pair<const FeatureView*, std::vector<OnlineRecord>>> writes;
  if (to != PushTarget::kOffline) {
    for (const auto& view : repo.feature_views) {
      if (view.source != push_source || !view.online) continue;
      LARDER_ASSIGN_OR_RETURN(auto records, materialize::RecordsFromRows(repo, view, rows));
      writes.emplace_back(&view, std::move(records));
    }
  }
  if (to != PushTarget::kOnline) {
    LARDER_ASSIGN_OR_RETURN(std::unique_ptr<duckdb::Connection> conn,
                            duckdb::Connection::Open(offline::OfflineDatabasePath(repo)));
    LARDER_ASSIGN_OR_RETURN(report.offline_rows,
                            offline::PushRowsToOffline(repo, push_source, rows, *conn));
  }
  for (const auto& [view, records] : writes) {
    LARDER_ASSIGN_OR_RETURN(OnlineViewWrite written, WriteOnline(*view, records));
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
  LARDER_ASSIGN_OR_RETURN(auto records, materialize::RecordsFromRows(repo, *view, rows));
  PushReport report;
  report.rows = static_cast<int64_t>(records.size());
  LARDER_ASSIGN_OR_RETURN(OnlineViewWrite written, WriteOnline(*view, records));
  report.online.push_back(std::move(written));
  return report;
}

Result<OnlineViewWrite> FeatureStore::WriteOnline(const FeatureView& view,
                                                  const std::vector<OnlineRecord>& records) {
  LARDER_ASSIGN_OR_RETURN(OnlineStore * online, Online());
  LARDER_ASSIGN_OR_RETURN(OnlineWriteSummary summary,
                          online->Write(OnlineView::FromFeatureView(view), records));
  return OnlineViewWrite{view.name, summary.written, summary.skipped};
}

Result<std::string> FeatureStore::RegistryJson() {
  LARDER_ASSIGN_OR_RETURN(Registry * registry, OpenExistingRegistry());
  return registry->DumpJson(config_.project);
}

// Models run from the repo directory's files, as dbt does: a model can be
// built and tested before it is applied.
Result<RunReport> FeatureStore::Run(const RunOptions& options) {
  LARDER_ASSIGN_OR_RETURN(FeatureRepo repo, LoadDefinitions());
  LARDER_ASSIGN_OR_RETURN(std::unique_ptr<duckdb::Connection> conn,
                          duckdb::Connection::Open(offline::OfflineDatabasePath(repo)));
  return transform::RunModels(repo, *conn, options);
}

Result<TestReport> FeatureStore::TestModels(const TestOptions& options) {
  LARDER_ASSIGN_OR_RETURN(FeatureRepo repo, LoadDefinitions());
  LARDER_ASSIGN_OR_RETURN(std::unique_ptr<duckdb::Connection> conn,
                          duckdb::Connection::Open(offline::OfflineDatabasePath(repo)));
  return transform::RunDataTests(repo, *conn, options);
}

Result<OnlineStore*> FeatureStore::Online() {
  if (online_ == nullptr) {
    OnlineStoreOptions options;
    options.config = config_.online_store;
    options.project = config_.project;
    options.repo_root = root_;
    LARDER_ASSIGN_OR_RETURN(online_, OnlineStore::Open(options));
  }
  return online_.get();
}

Result<MaterializeReport> FeatureStore::Materialize(TimestampMicros start, TimestampMicros end,
                                                    const MaterializeOptions& options) {
  LARDER_ASSIGN_OR_RETURN(FeatureRepo repo, RegisteredHere());
  LARDER_ASSIGN_OR_RETURN(OnlineStore * online, Online());
  return materialize::Materialize(repo, *online, start, end, options);
}

Result<MaterializeReport> FeatureStore::MaterializeIncremental(TimestampMicros end,
                                                               const MaterializeOptions& options) {
  LARDER_ASSIGN_OR_RETURN(FeatureRepo repo, RegisteredHere());
  LARDER_ASSIGN_OR_RETURN(OnlineStore * online, Online());
  return materialize::Materialize(repo, *online, std::nullopt, end, options);
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
