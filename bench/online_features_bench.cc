// Benchmark: materializing the book-recommendation example into an online
// store, then FeatureStore::GetOnlineFeatures for feature service model_v4
// (6 views, 3 of them window aggregations; 13 features), in process.
//
//   larder_bench_online_features [--scale S] [--dir DIR] [--online rocksdb|redis|dynamodb]
//                                [--iters N] [--skip-materialize] [--views a,b]
//
// Prepares (or reuses) the example repo at DIR (default /tmp/larder_bench_s<S>:
// data, apply, models), then materializes the full history of all 7 online
// views (or --views) and reports the time. With --online redis it starts its
// own redis-server on a free loopback port (no persistence), with --online
// dynamodb its own dynalite (in memory, from third_party/node), and stops it
// at exit.
//
// Then, with the store warm (every sampled pair read once first), it times
// GetOnlineFeatures for one (user_id, isbn) pair per call and for 100 pairs
// per call, the pairs drawn from real ratings, and prints p50/p99/p999/max in
// microseconds and the share of values that came back PRESENT (which must be
// well above zero, or the benchmark measured misses: exit code 1). "Now" for
// ttl checks is the time of the last rating, as if serving live.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "bench_support.h"
#include "larder/feature_store.h"
#include "offline/duckdb/duckdb_connection.h"
#include "support/dynalite_server.h"
#include "support/redis_server.h"

namespace {
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using larder::Status;
using larder::Value;
using larder::bench::Fail;

struct Flags {
  double scale = 1.0;
  std::string dir;
  std::string online = "rocksdb";
  int iters = 20000;
  bool skip_materialize = false;
  std::vector<std::string> views;  // empty: all
};

bool ParseFlags(int argc, char** argv, Flags* flags) {
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--skip-materialize") {
      flags->skip_materialize = true;
      continue;
    }
    if (i + 1 >= argc) return false;
    std::string v = argv[++i];
    if (a == "--scale") flags->scale = std::stod(v);
    else if (a == "--dir") flags->dir = v;
    else if (a == "--online") flags->online = v;
    else if (a == "--iters") flags->iters = std::stoi(v);
    else if (a == "--views") {
      for (size_t start = 0; start <= v.size();) {
        size_t comma = std::min(v.find(',', start), v.size());
        if (comma > start) flags->views.push_back(v.substr(start, comma - start));
        start = comma + 1;
      }
    }
    else return false;
  }
  if (flags->dir.empty()) flags->dir = larder::bench::DefaultBenchDir(flags->scale);
  return flags->scale > 0 && flags->iters >= 100 &&
         (flags->online == "rocksdb" || flags->online == "redis" || flags->online == "dynamodb");
}

struct Pair {
  int64_t user_id;
  std::string isbn;
};

struct Sample {
  std::vector<Pair> pairs;
  larder::TimestampMicros last_rating = 0;
};

// Up to `n` (user_id, isbn) pairs of real ratings, in random order, and the
// time of the last rating.
larder::Result<Sample> SamplePairs(const fs::path& dir, int n) {
  LARDER_ASSIGN_OR_RETURN(auto conn, larder::duckdb::Connection::Open(":memory:"));
  const std::string ratings =
      "read_parquet(" +
      larder::duckdb::QuoteLiteral((dir / "data/raw/ratings.parquet").string()) + ")";
  LARDER_ASSIGN_OR_RETURN(
      auto result, conn->Query("SELECT user_id, isbn FROM " + ratings + " USING SAMPLE " +
                                   std::to_string(n) + " ROWS (reservoir, 42)",
                               "sample pairs"));
  Sample sample;
  for (const auto& row : result.rows) {
    if (row[0] && row[1]) sample.pairs.push_back({std::stoll(*row[0]), *row[1]});
  }
  LARDER_ASSIGN_OR_RETURN(
      auto last, conn->QueryScalar("SELECT epoch_us(max(rating_timestamp)) FROM " + ratings,
                                   "last rating"));
  sample.last_rating = std::stoll(last.value_or("0"));
  return sample;
}

larder::OnlineFeaturesRequest Request(const std::vector<Pair>& pairs, size_t first, size_t n) {
  larder::OnlineFeaturesRequest request;
  request.feature_service = "model_v4";
  auto& users = request.entity_rows["user_id"];
  auto& books = request.entity_rows["isbn"];
  for (size_t i = 0; i < n; ++i) {
    const Pair& p = pairs[(first + i) % pairs.size()];
    users.push_back(Value::Int64(p.user_id));
    books.push_back(Value::String(p.isbn));
  }
  return request;
}

}  // namespace

int main(int argc, char** argv) {
  Flags flags;
  if (!ParseFlags(argc, argv, &flags)) {
    std::fprintf(stderr,
                 "usage: %s [--scale S] [--dir DIR] [--online rocksdb|redis|dynamodb] "
                 "[--iters N>=100] [--skip-materialize] [--views a,b]\n",
                 argv[0]);
    return 2;
  }
  fs::create_directories(flags.dir);
  flags.dir = fs::canonical(flags.dir).string();
  if (Status st = larder::bench::PrepareBookRecsRepo(flags.scale, flags.dir); !st.ok()) {
    return Fail(st);
  }

  larder::FeatureStoreOptions options{.repo_dir = flags.dir};
  std::unique_ptr<larder::testing::RedisServer> redis;
  if (flags.online == "redis") {
    auto server = larder::testing::RedisServer::Start();
    if (!server.ok()) return Fail(server.status());
    redis = std::move(*server);
    options.online_store =
        larder::StoreConfig{"redis", {{"port", std::to_string(redis->port())}}};
  }
  std::unique_ptr<larder::testing::DynaliteServer> dynalite;
  if (flags.online == "dynamodb") {
    larder::testing::DynaliteServer::SetFakeCredentials();
    auto server = larder::testing::DynaliteServer::Start();
    if (!server.ok()) return Fail(server.status());
    dynalite = std::move(*server);
    options.online_store = larder::StoreConfig{
        "dynamodb",
        {{"endpoint_url", "http://127.0.0.1:" + std::to_string(dynalite->port())}}};
  }
  auto store = larder::FeatureStore::Open(options);
  if (!store.ok()) return Fail(store.status());

  if (!flags.skip_materialize) {
    auto start = Clock::now();
    // The whole history: 1900-01-01 to far past the data's end.
    larder::MaterializeOptions materialize;
    materialize.views = flags.views;
    auto report =
        (*store)->Materialize(-2208988800LL * 1'000'000, 4102444800LL * 1'000'000, materialize);
    if (!report.ok()) return Fail(report.status());
    int64_t rows = 0;
    for (const auto& v : report->views) rows += v.rows;
    std::printf("materialize %s: %zu views, %lld records in %.2f s (of which optimize %.2f s)\n",
                flags.online.c_str(), report->views.size(), static_cast<long long>(rows),
                larder::bench::Seconds(Clock::now() - start), report->optimize_seconds);
  }

  auto sample = SamplePairs(flags.dir, 20000);
  if (!sample.ok()) return Fail(sample.status());
  const std::vector<Pair>* pairs = &sample->pairs;
  if (pairs->size() < 100) return Fail(Status::Internal("too few ratings to sample"));
  // "Now" is just after the last rating, as if serving live.
  larder::OnlineReadOptions read_options;
  read_options.clock = [now = sample->last_rating + 1] { return now; };

  // Warm-up: every sampled pair once, counting what is found.
  int64_t values = 0;
  int64_t present = 0;
  for (size_t i = 0; i < pairs->size(); i += 100) {
    auto response = (*store)->GetOnlineFeatures(Request(*pairs, i, 100), read_options);
    if (!response.ok()) return Fail(response.status());
    for (const auto& column : response->columns) {
      for (auto s : column.statuses) {
        ++values;
        present += s == larder::FeatureStatus::kPresent;
      }
    }
  }
  double present_share = static_cast<double>(present) / static_cast<double>(values);

  std::mt19937_64 rng(7);
  std::vector<double> one;
  one.reserve(static_cast<size_t>(flags.iters));
  for (int i = 0; i < flags.iters; ++i) {
    auto request = Request(*pairs, rng() % pairs->size(), 1);
    auto start = Clock::now();
    auto response = (*store)->GetOnlineFeatures(request, read_options);
    auto took = Clock::now() - start;
    if (!response.ok()) return Fail(response.status());
    one.push_back(larder::bench::Micros(took));
  }
  std::vector<double> hundred;
  for (int i = 0; i < flags.iters / 10; ++i) {
    auto request = Request(*pairs, rng() % pairs->size(), 100);
    auto start = Clock::now();
    auto response = (*store)->GetOnlineFeatures(request, read_options);
    auto took = Clock::now() - start;
    if (!response.ok()) return Fail(response.status());
    hundred.push_back(larder::bench::Micros(took));
  }
  std::printf("\nscale %g, %s, feature service model_v4 (6 views, 13 features); %.1f%% of "
              "values PRESENT\n",
              flags.scale, flags.online.c_str(), 100 * present_share);
  larder::bench::ReportLatency("GetOnlineFeatures 1 pair", std::move(one));
  larder::bench::ReportLatency("GetOnlineFeatures 100 pairs", std::move(hundred));
  return present_share > 0.2 ? 0 : 1;
}
