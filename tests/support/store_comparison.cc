#include "support/store_comparison.h"

#include <utility>

#include "offline/duckdb/duckdb_connection.h"
#include "offline_stores/duckdb_offline_store.h"
#include "offline_stores/spark_offline_store.h"

namespace larder::testing {

OfflineStoreOptions StoreOptions(const std::string& repo_root, const std::string& project,
                                 StoreConfig config) {
  OfflineStoreOptions o;
  o.config = std::move(config);
  o.repo_root = repo_root;
  o.project = project;
  return o;
}

std::string ParquetRows(const std::string& path) {
  auto conn = duckdb::Connection::Open(":memory:");
  if (!conn.ok()) return conn.status().ToString();
  auto text = (*conn)->QueryScalar(
      "SELECT string_agg(CAST(t AS VARCHAR), '\n' ORDER BY n) FROM "
      "(SELECT row_number() OVER () AS n, * FROM read_parquet(" + duckdb::QuoteLiteral(path) +
          ")) t",
      "rows");
  return text.ok() ? text->value_or("") : text.status().ToString();
}

std::string TrainingRows(OfflineStore& store, const FeatureRepo& repo,
                         const HistoricalFeaturesRequest& request, const std::string& out) {
  auto job = store.GetHistoricalFeatures(repo, request, {});
  if (!job.ok()) return job.status().ToString();
  auto rows = (*job)->WriteToFile(out);
  if (!rows.ok()) return rows.status().ToString();
  return ParquetRows(out);
}

std::unique_ptr<OfflineStore> DuckDbStore(const std::string& repo_root, const std::string& project,
                                          const std::string& duckdb_path) {
  return std::make_unique<offline_stores::DuckDbOfflineStore>(
      StoreOptions(repo_root, project, {"duckdb", {{"path", duckdb_path}}}));
}

std::unique_ptr<OfflineStore> SparkStore(const std::string& repo_root, const std::string& project,
                                         const std::string& remote,
                                         std::map<std::string, std::string> extra) {
  StoreConfig config{"spark", {{"remote", remote}}};
  config.options.merge(extra);
  return std::make_unique<offline_stores::SparkOfflineStore>(
      StoreOptions(repo_root, project, std::move(config)));
}

Result<std::unique_ptr<OnlineStore>> RocksDbStore(const std::string& repo_root,
                                                  const std::string& project,
                                                  const std::string& path) {
  OnlineStoreOptions o;
  o.config = {"rocksdb", {{"path", path}}};
  o.project = project;
  o.repo_root = repo_root;
  return OnlineStore::Open(o);
}

}  // namespace larder::testing
