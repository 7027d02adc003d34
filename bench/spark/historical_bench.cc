// Benchmark: the book-recommendation example on Spark against the same on
// DuckDB, end to end through FeatureStore: model_v4's training data, the
// models, and a full materialization.
//
//   larder_bench_spark_historical --remote sc://127.0.0.1:PORT [--scale S] [--dir DIR]
//                                 [--reps N] [--redis HOST:PORT]
//
// bench/spark/run.sh starts a local Spark Connect server (and a Redis
// server) and runs this. DIR (default /tmp/larder_bench_s<S>) holds the
// DuckDB repo, examples/book_recs at scale S with its models built, and
// DIR/spark, examples/book_recs_spark pointed at the server, whose Hive
// tables book_recsys_apply.{users,books,ratings} are made from the same
// parquet files. Prints:
//   - `larder run` on Spark (both models);
//   - N times each, model_v4's training data for an entity file of every
//     rating, written to parquet, through the DuckDB repo and the Spark repo:
//     time and Larder's peak RSS; then the rows whose values or order differ
//     (must be 0; the exit code is 1 otherwise);
//   - once each, a full materialization of every online view, the
//     aggregation views' states included, into a fresh RocksDB store, and,
//     with --redis, into Redis: time, records written and Larder's peak RSS
//     (the stores must write the same numbers of records).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "bench_support.h"
#include "book_recs/generator/book_recs_data.h"
#include "larder/feature_store.h"
#include "offline/duckdb/duckdb_connection.h"
#include "offline/spark/spark_connect_client.h"

namespace {
namespace fs = std::filesystem;
using larder::Status;
using larder::bench::Fail;

struct Flags {
  double scale = 1.0;
  std::string dir;
  std::string remote;
  std::string redis;  // host:port, or empty
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
    } else if (a == "--redis") {
      flags->redis = v;
    } else if (a == "--reps") {
      flags->reps = std::stoi(v);
    } else {
      return false;
    }
  }
  if (argc % 2 == 0) return false;
  if (flags->dir.empty()) flags->dir = larder::bench::DefaultBenchDir(flags->scale);
  return !flags->remote.empty() && flags->reps > 0 && flags->scale > 0 &&
         (flags->redis.empty() || flags->redis.find(':') != std::string::npos);
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

// examples/book_recs_spark at `repo`, pointed at the server, and its Hive
// tables made from the DuckDB repo's files.
Status PrepareSparkRepo(const fs::path& dir, const fs::path& repo, const std::string& remote) {
  fs::remove_all(repo);
  fs::copy(fs::path(LARDER_SOURCE_DIR) / "examples/book_recs_spark", repo,
           fs::copy_options::recursive);
  std::ifstream in(repo / "feature_store.yaml");
  std::stringstream text;
  text << in.rdbuf();
  std::string config = text.str();
  const std::string type = "  type: spark\n";
  const size_t at = config.find(type);
  if (at == std::string::npos) return Status::Internal("no `type: spark` in the example");
  config.insert(at + type.size(), "  remote: " + remote + "\n");
  std::ofstream(repo / "feature_store.yaml", std::ios::trunc) << config;

  larder::offline::spark::SparkConnectOptions connect;
  connect.remote = remote;
  LARDER_ASSIGN_OR_RETURN(auto client, larder::offline::spark::SparkConnectClient::Connect(connect));
  LARDER_RETURN_IF_ERROR(client->ExecuteCommand("CREATE DATABASE IF NOT EXISTS book_recsys_apply"));
  for (const char* table : {"users", "books", "ratings"}) {
    const std::string name = std::string("book_recsys_apply.") + table;
    LARDER_RETURN_IF_ERROR(client->ExecuteCommand("DROP TABLE IF EXISTS " + name));
    LARDER_RETURN_IF_ERROR(client->ExecuteCommand(
        "CREATE TABLE " + name + " USING parquet AS SELECT * FROM parquet.`" +
        (dir / "data/raw" / (std::string(table) + ".parquet")).string() + "`"));
  }
  return Status::OK();
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

larder::Result<std::unique_ptr<larder::FeatureStore>> OpenStore(
    const fs::path& repo, std::optional<larder::StoreConfig> online = std::nullopt) {
  larder::FeatureStoreOptions options;
  options.repo_dir = repo.string();
  options.online_store = std::move(online);
  return larder::FeatureStore::Open(options);
}

}  // namespace

int main(int argc, char** argv) {
  Flags flags;
  if (!ParseFlags(argc, argv, &flags)) {
    std::fprintf(stderr,
                 "usage: %s --remote sc://HOST:PORT [--scale S] [--dir DIR] [--reps N] "
                 "[--redis HOST:PORT]\n",
                 argv[0]);
    return 2;
  }
  fs::create_directories(flags.dir);
  const fs::path dir = fs::canonical(flags.dir);
  const fs::path spark_dir = dir / "spark";
  if (Status st = larder::bench::PrepareBookRecsRepo(flags.scale, dir.string()); !st.ok()) {
    return Fail(st);
  }
  if (Status st = PrepareEntities(dir); !st.ok()) return Fail(st);
  if (Status st = PrepareSparkRepo(dir, spark_dir, flags.remote); !st.ok()) return Fail(st);

  auto duck = OpenStore(dir);
  if (!duck.ok()) return Fail(duck.status());
  auto spark = OpenStore(spark_dir);
  if (!spark.ok()) return Fail(spark.status());
  if (auto applied = (*spark)->Apply(); !applied.ok()) return Fail(applied.status());
  {
    larder::bench::ResetPeakRss();
    const auto start = std::chrono::steady_clock::now();
    auto run = (*spark)->Run();
    if (!run.ok()) return Fail(run.status());
    std::printf("larder run on spark: %zu models in %.2f s, Larder peak RSS %.0f MB\n",
                run->models.size(),
                larder::bench::Seconds(std::chrono::steady_clock::now() - start),
                larder::bench::PeakRssMb());
  }

  larder::HistoricalFeaturesRequest request;
  request.entity_path = (dir / "data/entities.parquet").string();
  request.feature_service = "model_v4";

  struct Side {
    const char* name = "";
    larder::FeatureStore* store = nullptr;
    fs::path repo;
    std::string out;
    std::vector<double> seconds;
    double peak_mb = 0;
    int64_t rows = 0;
  };
  std::vector<Side> sides(2);
  sides[0] = {"duckdb", duck->get(), dir, (dir / "data/bench_duckdb.parquet").string(), {}, 0, 0};
  sides[1] = {"spark", spark->get(), spark_dir, (dir / "data/bench_spark.parquet").string(),
              {}, 0, 0};
  for (int rep = 0; rep < flags.reps; ++rep) {
    for (Side& side : sides) {
      larder::bench::ResetPeakRss();
      const auto start = std::chrono::steady_clock::now();
      auto job = side.store->GetHistoricalFeatures(request);
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
  std::printf("\nscale %g, model_v4 for %lld entity rows\n", flags.scale,
              static_cast<long long>(sides[0].rows));
  for (const Side& side : sides) {
    std::printf("%-6s best %7.2f s  median %7.2f s  first %7.2f s  Larder peak RSS %6.0f MB\n",
                side.name, *std::min_element(side.seconds.begin(), side.seconds.end()),
                larder::bench::Median(side.seconds), side.seconds.front(), side.peak_mb);
  }
  std::printf("rows differing in value or order: %lld\n\n", static_cast<long long>(*differing));
  duck->reset();
  spark->reset();

  // Full materialization of every online view into a fresh store each.
  const larder::TimestampMicros end = larder::book_recs::kWorkshopEnd * 1'000'000;
  struct Target {
    std::string name;
    std::optional<larder::StoreConfig> config;
  };
  std::vector<Target> targets = {{"rocksdb", std::nullopt}};
  if (!flags.redis.empty()) {
    const size_t colon = flags.redis.rfind(':');
    targets.push_back({"redis", larder::StoreConfig{"redis",
                                                    {{"host", flags.redis.substr(0, colon)},
                                                     {"port", flags.redis.substr(colon + 1)}}}});
  }
  bool same_written = true;
  for (const Target& target : targets) {
    std::vector<int64_t> written;
    for (const Side& side : sides) {
      fs::remove_all(side.repo / "data/online_store");
      // Redis is fresh (bench/spark/run.sh starts it), and the two repos'
      // projects differ, so neither side finds records of the other.
      auto store = OpenStore(side.repo, target.config);
      if (!store.ok()) return Fail(store.status());
      larder::bench::ResetPeakRss();
      const auto start = std::chrono::steady_clock::now();
      auto report = (*store)->Materialize(0, end);
      if (!report.ok()) return Fail(report.status());
      const double seconds = larder::bench::Seconds(std::chrono::steady_clock::now() - start);
      int64_t records = 0;
      for (const auto& v : report->views) records += v.written;
      written.push_back(records);
      std::printf("materialize into %-7s %-6s %7.2f s  %lld records  Larder peak RSS %6.0f MB\n",
                  target.name.c_str(), side.name, seconds, static_cast<long long>(records),
                  larder::bench::PeakRssMb());
      std::fflush(stdout);
    }
    if (written[0] != written[1]) {
      std::printf("the stores wrote different numbers of records into %s\n",
                  target.name.c_str());
      same_written = false;
    }
  }
  return *differing == 0 && same_written ? 0 : 1;
}
