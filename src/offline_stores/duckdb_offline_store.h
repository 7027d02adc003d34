// The embedded DuckDB offline store (`offline_store: {type: duckdb, path}`),
// Larder's default: one database file under the repo holds model tables,
// pushed rows and watermarks; file sources are read in place.
#pragma once

#include <optional>
#include <string>

#include "larder/offline_store.h"

namespace larder::offline_stores {

class DuckDbOfflineStore final : public OfflineStore {
 public:
  static constexpr const char* kType = "duckdb";

  explicit DuckDbOfflineStore(OfflineStoreOptions options);

  const std::string& type() const override { return type_; }
  Result<std::vector<ColumnInfo>> SourceSchema(const DataSource& source,
                                               const std::string& abs_path) override;
  Result<RunReport> RunModels(const FeatureRepo& repo, const RunOptions& options) override;
  Result<TestReport> TestModels(const FeatureRepo& repo, const TestOptions& options) override;
  Result<std::unique_ptr<HistoricalRetrievalJob>> GetHistoricalFeatures(
      const FeatureRepo& repo, const HistoricalFeaturesRequest& request,
      const HistoricalRetrievalOptions& options) override;
  Result<MaterializeReport> Materialize(const FeatureRepo& repo, OnlineStore& online,
                                        std::optional<TimestampMicros> start, TimestampMicros end,
                                        const MaterializeOptions& options) override;
  Status ForgetWatermarks(const std::vector<std::string>* views) override;
  Result<OfflineAppend> PushFile(const FeatureRepo& repo, const std::string& push_source,
                                 const std::string& file,
                                 TimestampMicros latest_event_time) override;
  Result<OfflineAppend> PushRows(const FeatureRepo& repo, const std::string& push_source,
                                 const ColumnTable& rows,
                                 TimestampMicros latest_event_time) override;

 private:
  // The database file, absolute.
  std::string DatabasePath() const;
  // `repo` located at this store: its root and offline_store section are
  // this store's (the code under it finds the database through them). `repo`
  // itself when it already is; else a copy, kept in `copy`.
  const FeatureRepo& Here(const FeatureRepo& repo, std::optional<FeatureRepo>& copy) const;

  OfflineStoreOptions options_;
  std::string type_ = kType;
};

}  // namespace larder::offline_stores
