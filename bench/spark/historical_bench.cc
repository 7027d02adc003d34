// Benchmark: training data and materialization on Spark against the same on
// DuckDB, for the example's views over files, through the two OfflineStore
// backends.
//
//   larder_bench_spark_historical --remote sc://127.0.0.1:PORT [--scale S] [--dir DIR]
//                                 [--reps N]
//
// bench/spark/run.sh starts a local Spark Connect server and runs this. The
// repo at DIR (default /tmp/larder_bench_s<S>) is the example at scale S,
// with an entity file of every rating (as bench/historical_bench.cc makes
// them). The features are those of the example's views over parquet files
// (kFeatures): the spark store does not read model sources or compute
// window aggregations yet. Prints, N times each, the time to write the
// training data to parquet through (a) the duckdb store and (b) the spark
// store, Larder's peak RSS during each, and the rows whose values or order
// differ between them (must be 0; the exit code is 1 otherwise). Then, once
// each, a full materialization of those views (book_features,
// user_features) into a fresh RocksDB store through each store: time,
// records written and Larder's peak RSS (the written counts must be equal).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <string>
#include <vector>

#include "bench_support.h"
#include "larder/offline_store.h"
#include "larder/online_store.h"
#include "larder/repo.h"
#include "offline/duckdb/duckdb_connection.h"
#include "offline_stores/duckdb_offline_store.h"
#include "offline_stores/spark_offline_store.h"

namespace {
namespace fs = std::filesystem;
using larder::Status;
using larder::bench::Fail;

const std::vector<std::string> kFeatures = {"book_features:language", "book_features:category",
                                            "user_features:country"};

struct Flags {
  double scale = 1.0;
  std::string dir;
  std::string remote;
  int reps = 3;
};

bool ParseFlags(int argc, char** argv, Flags* flags) {
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    const std::string v = argv[i + 1];
    if (a == "--scale") {
      flags->scale = std::stod(v);
    } else if (a == "--dir") {
      flags->dir = v;
    } else if (a == "--remote") {
      flags->remote = v;
    } else if (a == "--reps") {
      flags->reps = std::stoi(v);
    } else {
      return false;
    }
  }
  if (argc % 2 == 0) return false;
  if (flags->dir.empty()) flags->dir = larder::bench::DefaultBenchDir(flags->scale);
  return !flags->remote.empty() && flags->reps > 0 && flags->scale > 0;
}

Status PrepareEntities(const fs::path& dir) {
  const fs::path entities = dir / "data/entities.parquet";
  if (fs::exists(entities)) return Status::OK();
  auto conn = larder::duckdb::Connection::Open(":memory:");
  if (!conn.ok()) return conn.status();
  return (*conn)->Execute(
      "COPY (SELECT user_id, isbn, rating_timestamp AS event_timestamp FROM read_parquet(" +
          larder::duckdb::QuoteLiteral((dir / "data/raw/ratings.parquet").string()) + ")) TO " +
          larder::duckdb::QuoteLiteral(entities.string()) + " (FORMAT parquet)",
      "entity file");
}

// Rows of `a` and `b` that differ in value or position.
larder::Result<int64_t> DifferingRows(const std::string& a, const std::string& b) {
  auto conn = larder::duckdb::Connection::Open(":memory:");
  if (!conn.ok()) return conn.status();
  auto numbered = [](const std::string& path) {
    return "(SELECT row_number() OVER () AS n, * FROM read_parquet(" +
           larder::duckdb::QuoteLiteral(path) + "))";
  };
  auto n = (*conn)->QueryScalar("SELECT count(*) FROM ((SELECT * FROM " + numbered(a) +
                                    " EXCEPT ALL SELECT * FROM " + numbered(b) +
                                    ") UNION ALL (SELECT * FROM " + numbered(b) +
                                    " EXCEPT ALL SELECT * FROM " + numbered(a) + "))",
                                "comparison");
  if (!n.ok()) return n.status();
  return std::stoll(n->value_or("-1"));
}

}  // namespace

int main(int argc, char** argv) {
  Flags flags;
  if (!ParseFlags(argc, argv, &flags)) {
    std::fprintf(stderr,
                 "usage: %s --remote sc://HOST:PORT [--scale S] [--dir DIR] [--reps N]\n",
                 argv[0]);
    return 2;
  }
  fs::create_directories(flags.dir);
  const fs::path dir = fs::canonical(flags.dir);
  if (Status st = larder::bench::PrepareBookRecsRepo(flags.scale, dir.string()); !st.ok()) {
    return Fail(st);
  }
  if (Status st = PrepareEntities(dir); !st.ok()) return Fail(st);
  auto loaded = larder::LoadFeatureRepo(dir.string());
  if (!loaded.ok()) return Fail(loaded.status());
  larder::FeatureRepo repo = std::move(loaded).value();
  repo.root = dir.string();

  larder::OfflineStoreOptions options;
  options.repo_root = dir.string();
  options.project = repo.config.project;
  options.config = repo.config.offline_store;
  larder::offline_stores::DuckDbOfflineStore duck(options);
  options.config = {"spark", {{"remote", flags.remote}}};
  larder::offline_stores::SparkOfflineStore spark(options);

  larder::HistoricalFeaturesRequest request;
  request.entity_path = (dir / "data/entities.parquet").string();
  request.features = kFeatures;
  larder::HistoricalRetrievalOptions retrieval;
  retrieval.temp_directory = (dir / "data/spill").string();
  fs::create_directories(retrieval.temp_directory);

  struct Side {
    const char* name = "";
    larder::OfflineStore* store = nullptr;
    std::string out;
    std::vector<double> seconds;
    double peak_mb = 0;
    int64_t rows = 0;
  };
  std::vector<Side> sides(2);
  sides[0] = {"duckdb", &duck, (dir / "data/bench_duckdb.parquet").string(), {}, 0, 0};
  sides[1] = {"spark", &spark, (dir / "data/bench_spark.parquet").string(), {}, 0, 0};
  for (int rep = 0; rep < flags.reps; ++rep) {
    for (Side& side : sides) {
      larder::bench::ResetPeakRss();
      const auto start = std::chrono::steady_clock::now();
      auto job = side.store->GetHistoricalFeatures(repo, request, retrieval);
      if (!job.ok()) return Fail(job.status());
      auto rows = (*job)->WriteToFile(side.out);
      if (!rows.ok()) return Fail(rows.status());
      side.rows = *rows;
      side.seconds.push_back(larder::bench::Seconds(std::chrono::steady_clock::now() - start));
      side.peak_mb = std::max(side.peak_mb, larder::bench::PeakRssMb());
      std::printf("rep %d %-6s %8.2f s  %lld rows\n", rep + 1, side.name, side.seconds.back(),
                  static_cast<long long>(side.rows));
      std::fflush(stdout);
    }
  }
  auto differing = DifferingRows(sides[0].out, sides[1].out);
  if (!differing.ok()) return Fail(differing.status());
  std::printf("\nscale %g, %lld entity rows, features: %zu\n", flags.scale,
              static_cast<long long>(sides[0].rows), kFeatures.size());
  for (const Side& side : sides) {
    std::printf("%-6s best %7.2f s  median %7.2f s  Larder peak RSS %6.0f MB\n", side.name,
                *std::min_element(side.seconds.begin(), side.seconds.end()),
                larder::bench::Median(side.seconds), side.peak_mb);
  }
  std::printf("rows differing in value or order: %lld\n", static_cast<long long>(*differing));

  // Full materialization of the file views into a fresh RocksDB store each.
  larder::MaterializeOptions materialize;
  materialize.views = {"book_features", "user_features"};
  std::vector<int64_t> written;
  for (const Side& side : sides) {
    const fs::path online_dir = dir / ("data/bench_online_" + std::string(side.name));
    fs::remove_all(online_dir);
    larder::OnlineStoreOptions online_options;
    online_options.config = {"rocksdb", {{"path", online_dir.string()}}};
    online_options.project = repo.config.project;
    online_options.repo_root = dir.string();
    auto online = larder::OnlineStore::Open(online_options);
    if (!online.ok()) return Fail(online.status());
    larder::bench::ResetPeakRss();
    const auto start = std::chrono::steady_clock::now();
    auto report = side.store->Materialize(repo, **online, std::numeric_limits<int64_t>::min() + 1,
                                          std::numeric_limits<int64_t>::max(), materialize);
    if (!report.ok()) return Fail(report.status());
    const double seconds = larder::bench::Seconds(std::chrono::steady_clock::now() - start);
    int64_t records = 0;
    for (const auto& v : report->views) records += v.written;
    written.push_back(records);
    std::printf("materialize %-6s %7.2f s  %lld records written  Larder peak RSS %6.0f MB\n",
                side.name, seconds, static_cast<long long>(records), larder::bench::PeakRssMb());
  }
  const bool same_written = written[0] == written[1];
  if (!same_written) std::printf("the stores wrote different numbers of records\n");
  return *differing == 0 && same_written ? 0 : 1;
}
