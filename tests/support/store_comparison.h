// Helpers for tests that run one repo through two offline stores and compare
// what they give: training data as text rows, and their online stores.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "larder/offline_store.h"
#include "larder/online_store.h"
#include "larder/repo.h"

namespace larder::testing {

// The rows of the parquet file at `path`, one line each in file order, as
// DuckDB prints a row (struct text); a status text on error.
std::string ParquetRows(const std::string& path);

// The training data of `request` from `store` written to `out` (parquet),
// as ParquetRows; the status text of a failure.
std::string TrainingRows(OfflineStore& store, const FeatureRepo& repo,
                         const HistoricalFeaturesRequest& request, const std::string& out);

// Options of an offline store configured by `config` for the repo at
// `repo_root` of project `project`.
OfflineStoreOptions StoreOptions(const std::string& repo_root, const std::string& project,
                                 StoreConfig config);

// The offline stores of `repo_root` (project `project`): the DuckDB store
// with its database at `duckdb_path`, and the Spark store of Spark Connect
// server `remote` with `extra` options (spark_conf.* and the like).
std::unique_ptr<OfflineStore> DuckDbStore(const std::string& repo_root, const std::string& project,
                                          const std::string& duckdb_path);
std::unique_ptr<OfflineStore> SparkStore(const std::string& repo_root, const std::string& project,
                                         const std::string& remote,
                                         std::map<std::string, std::string> extra = {});

// A RocksDB online store at `path` for project `project`.
Result<std::unique_ptr<OnlineStore>> RocksDbStore(const std::string& repo_root,
                                                  const std::string& project,
                                                  const std::string& path);

}  // namespace larder::testing
