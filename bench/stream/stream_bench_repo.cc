#include "stream_bench_repo.h"

#include <sys/resource.h>

#include <chrono>
#include <ctime>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "larder/feature_store.h"
#include "offline/duckdb/duckdb_connection.h"

namespace larder::bench {

Status WriteStreamBenchRepo(const std::string& dir, const std::string& source,
                            const std::string& to, bool plain_only) {
  namespace fs = std::filesystem;
  fs::remove_all(dir);
  fs::create_directories(dir + "/data");
  std::ofstream(dir + "/feature_store.yaml")
      << "project: stream_bench\nregistry: data/registry.db\nprovider: local\n"
         "online_store: {type: rocksdb, path: data/online}\n"
         "offline_store: {type: duckdb, path: data/offline.duckdb}\n";
  std::ofstream(dir + "/repo.yaml")
      << "entities:\n  - {name: user, join_keys: [user_id], value_type: Int64}\n"
         "data_sources:\n"
         "  - {name: events, type: file, path: data/events.parquet, timestamp_field: ts}\n"
         "  - {name: ratings_stream, " << source
      << ", timestamp_field: ts, batch_source: events, to: " << to << "}\n"
         "feature_views:\n"
      << (plain_only ? ""
                     : "  - name: agg\n    entities: [user]\n    source: ratings_stream\n"
                       "    aggregation_interval: 10m\n    aggregations:\n"
                       "      - {column: x, function: mean, time_window: 1d}\n"
                       "      - {column: x, function: count, time_window: 1d}\n"
                       "      - {column: x, function: mean, time_window: 7d}\n"
                       "      - {column: x, function: count, time_window: 7d}\n")
      << "  - name: latest\n    entities: [user]\n    source: ratings_stream\n"
         "    schema: [{name: x, dtype: Int64}]\n";
  LARDER_ASSIGN_OR_RETURN(auto conn, duckdb::Connection::Open(":memory:"));
  LARDER_RETURN_IF_ERROR(conn->Execute(
      "COPY (SELECT 1::BIGINT AS user_id, TIMESTAMP '2000-01-01' AS ts, 1::BIGINT AS x "
      "WHERE false) TO " + duckdb::QuoteLiteral(dir + "/data/events.parquet") +
          " (FORMAT parquet)",
      "bench"));
  FeatureStoreOptions options;
  options.repo_dir = dir;
  LARDER_ASSIGN_OR_RETURN(auto store, FeatureStore::Open(options));
  return store->Apply().status();
}

Result<std::unique_ptr<stream::KinesisClient>> SetUpStreamBench(const std::string& dir,
                                                                const std::string& endpoint,
                                                                const std::string& stream,
                                                                const std::string& to,
                                                                int shards) {
  setenv("AWS_ACCESS_KEY_ID", "AKIDLARDERBENCH", 0);
  setenv("AWS_SECRET_ACCESS_KEY", "larder-bench", 0);
  LARDER_RETURN_IF_ERROR(WriteStreamBenchRepo(
      dir, "type: kinesis, stream_name: " + stream + ", region: us-east-1, endpoint_url: '" +
               endpoint + "'",
      to));
  stream::KinesisClientOptions options;
  options.endpoint_url = endpoint;
  options.region = "us-east-1";
  LARDER_ASSIGN_OR_RETURN(auto client, stream::KinesisClient::Open(options));
  LARDER_RETURN_IF_ERROR(client->CreateStream(stream, shards));
  LARDER_RETURN_IF_ERROR(client->WaitForActive(stream, std::chrono::seconds(30)));
  return client;
}

BenchRecord MakeBenchRecord(std::mt19937_64& rng, int64_t now_s) {
  const int64_t user = 1 + static_cast<int64_t>(rng() % 100000);
  const time_t t = static_cast<time_t>(now_s - 86400 + static_cast<int64_t>(rng() % 86000));
  struct tm tm {};
  gmtime_r(&t, &tm);
  char ts[32];
  std::strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return {std::to_string(user), "{\"user_id\": " + std::to_string(user) + ", \"ts\": \"" + ts +
                                    "\", \"x\": " + std::to_string(rng() % 10) + "}"};
}

int Fail(const Status& s) {
  std::fprintf(stderr, "error: %s\n", s.ToString().c_str());
  return 1;
}

double CpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

}  // namespace larder::bench
