// The Spark offline store (`offline_store: {type: spark, remote: sc://...}`),
// over Spark Connect (docs/spark.md). Work in progress: it reads the schemas
// of file, query and model sources, builds SQL models and runs their data
// tests (transform/spark_model_runner.h), computes training data for schema
// features, and materializes views without aggregations on Spark; offline
// pushes are not on Spark yet, and say so. Until they are, the config
// loader refuses `type: spark`, so only tests and benchmarks open this store.
// Larder's own state (materialization watermarks, the models' run history)
// stays in a local DuckDB file, data/offline_store.duckdb under the repo.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "larder/offline_store.h"
#include "offline/spark/spark_connect_client.h"

namespace larder::offline_stores {

class SparkOfflineStore final : public OfflineStore {
 public:
  static constexpr const char* kType = "spark";

  // Options (options.config.options):
  //   remote              Spark Connect's connection string, sc://host:port
  //                       (default: $SPARK_REMOTE, as pyspark reads it)
  //   spark_conf.<key>    session configuration sent on connect; Larder's
  //                       sessions run in UTC, so spark.sql.session.timeZone
  //                       may only be UTC
  //   connect_timeout_ms  how long to wait for the server (default 10000)
  //   query_timeout_ms    the deadline of each query (default 600000)
  //   database            the Spark database that model tables are built in
  //                       (default larder_<project>); created when missing
  // Connects on first use.
  explicit SparkOfflineStore(OfflineStoreOptions options);

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
  // The local file of Larder's state: materialization watermarks and the
  // models' run history.
  std::string StatePath() const;
  // `repo` with the store's root and offline_store config: `repo` itself when
  // it has them, else `copy`, filled in.
  const FeatureRepo& Here(const FeatureRepo& repo, std::optional<FeatureRepo>& copy) const;
  // The session, connected on first use; a failure to connect is kept and
  // returned by later calls.
  Result<std::shared_ptr<offline::spark::SparkConnectClient>> Client();
  Result<std::shared_ptr<offline::spark::SparkConnectClient>> Connect() const;

  OfflineStoreOptions options_;
  std::string type_ = kType;
  std::shared_ptr<offline::spark::SparkConnectClient> client_;
  Status connect_error_;
};

}  // namespace larder::offline_stores
