#include "offline_stores/duckdb_offline_store.h"

#include <utility>

#include "materialize/materializer.h"
#include "offline/duckdb/duckdb_connection.h"
#include "offline/historical/historical_retrieval.h"
#include "offline/offline_push.h"
#include "offline/source_relation.h"
#include "offline_stores/offline_stores.h"
#include "transform/model_runner.h"

namespace larder::offline_stores {

DuckDbOfflineStore::DuckDbOfflineStore(OfflineStoreOptions options)
    : options_(std::move(options)) {}

std::string DuckDbOfflineStore::DatabasePath() const {
  FeatureRepo here;
  here.root = options_.repo_root;
  here.config.offline_store = options_.config;
  return offline::OfflineDatabasePath(here);
}

const FeatureRepo& DuckDbOfflineStore::Here(const FeatureRepo& repo,
                                            std::optional<FeatureRepo>& copy) const {
  return RepoForStore(repo, options_, copy);
}

Result<std::vector<ColumnInfo>> DuckDbOfflineStore::SourceSchema(const DataSource& source,
                                                                 const std::string& abs_path) {
  return offline::ReadSourceSchema(source, abs_path);
}

Result<RunReport> DuckDbOfflineStore::RunModels(const FeatureRepo& repo,
                                                const RunOptions& options) {
  std::optional<FeatureRepo> copy;
  LARDER_ASSIGN_OR_RETURN(std::unique_ptr<duckdb::Connection> conn,
                          duckdb::Connection::Open(DatabasePath()));
  return transform::RunModels(Here(repo, copy), *conn, options);
}

Result<TestReport> DuckDbOfflineStore::TestModels(const FeatureRepo& repo,
                                                  const TestOptions& options) {
  std::optional<FeatureRepo> copy;
  LARDER_ASSIGN_OR_RETURN(std::unique_ptr<duckdb::Connection> conn,
                          duckdb::Connection::Open(DatabasePath()));
  return transform::RunDataTests(Here(repo, copy), *conn, options);
}

Result<std::unique_ptr<HistoricalRetrievalJob>> DuckDbOfflineStore::GetHistoricalFeatures(
    const FeatureRepo& repo, const HistoricalFeaturesRequest& request,
    const HistoricalRetrievalOptions& options) {
  std::optional<FeatureRepo> copy;
  return offline::PrepareHistoricalRetrieval(Here(repo, copy), request, options);
}

Result<MaterializeReport> DuckDbOfflineStore::Materialize(const FeatureRepo& repo,
                                                          OnlineStore& online,
                                                          std::optional<TimestampMicros> start,
                                                          TimestampMicros end,
                                                          const MaterializeOptions& options) {
  std::optional<FeatureRepo> copy;
  return materialize::Materialize(Here(repo, copy), online, start, end, options);
}

Status DuckDbOfflineStore::ForgetWatermarks(const std::vector<std::string>* views) {
  return materialize::ForgetWatermarks(DatabasePath(), options_.project, views);
}

Result<OfflineAppend> DuckDbOfflineStore::PushFile(const FeatureRepo& repo,
                                                   const std::string& push_source,
                                                   const std::string& file,
                                                   TimestampMicros latest_event_time) {
  std::optional<FeatureRepo> copy;
  LARDER_ASSIGN_OR_RETURN(std::unique_ptr<duckdb::Connection> conn,
                          duckdb::Connection::Open(DatabasePath()));
  offline::OfflinePushOptions options;
  options.latest_event_time = latest_event_time;
  return offline::PushToOffline(Here(repo, copy), push_source, file, *conn, options);
}

Result<OfflineAppend> DuckDbOfflineStore::PushRows(const FeatureRepo& repo,
                                                   const std::string& push_source,
                                                   const ColumnTable& rows,
                                                   TimestampMicros latest_event_time) {
  std::optional<FeatureRepo> copy;
  LARDER_ASSIGN_OR_RETURN(std::unique_ptr<duckdb::Connection> conn,
                          duckdb::Connection::Open(DatabasePath()));
  offline::OfflinePushOptions options;
  options.latest_event_time = latest_event_time;
  return offline::PushRowsToOffline(Here(repo, copy), push_source, rows, *conn, options);
}

}  // namespace larder::offline_stores
