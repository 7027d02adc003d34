// Benchmark: training data for the book-recommendation example.
//
//   larder_bench_historical [--scale S] [--dir DIR] [--reps N] [--memory-limit SIZE]
//
// Builds (or reuses) the example repo at DIR (default /tmp/larder_bench_s<S>):
// data generated at scale S, definitions applied, the SQL models run
// (FeatureStore::Run), and an entity file of every rating
// (user_id, isbn, rating_timestamp AS event_timestamp). Setup runs in a
// child process, so the peak memory reported below is the timed work's.
//
// The features are those of the example's plain (point-in-time join) views,
// kFeatures below. The window aggregation views have their own benchmark
// against a hand-written window query: bench/aggregations/historical_bench.cc.
//
// Then, N times each, in this process on the same data:
//   (a) Larder: FeatureStore::GetHistoricalFeatures(kFeatures), to parquet;
//   (b) a hand-written DuckDB ASOF LEFT JOIN query giving the same values
//       (ttl included, input order kept), to parquet, with the same
//       DuckDB settings (memory_limit, temp_directory);
// prints the best and median times, their ratio, the peak RSS of each, and
// the number of rows whose values differ between (a) and (b), and the number
// of rows of (a) not in the entity file's order (both must be 0; the exit
// code is 1 otherwise).
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "bench_support.h"
#include "larder/feature_store.h"
#include "offline/duckdb/duckdb_connection.h"

namespace {
namespace fs = std::filesystem;
using larder::Status;
using larder::bench::Fail;
using larder::bench::Median;
using larder::bench::PeakRssMb;
using larder::bench::ResetPeakRss;

// Every feature of the example's plain views, in output order.
const std::vector<std::string> kFeatures = {
    "book_features:language",
    "book_features:category",
    "user_features:country",
    "user_age_features:bucketed_age",
    "avg_book_category_rating_features:avg_yr_category_rating",
    "avg_book_category_rating_features:count_yr_category_rating"};

struct Flags {
  double scale = 1.0;
  std::string dir;
  int reps = 3;
  std::string memory_limit = "1GB";
};

// The benchmark's own setup (runs in a child process): the example repo, and
// an entity file of every rating.
int Setup(const Flags& flags) {
  const fs::path dir = flags.dir;
  Status st = larder::bench::PrepareBookRecsRepo(flags.scale, flags.dir);
  if (!st.ok()) return Fail(st);
  const fs::path entities = dir / "data/entities.parquet";
  if (!fs::exists(entities)) {
    auto conn = larder::duckdb::Connection::Open(":memory:");
    if (!conn.ok()) return Fail(conn.status());
    st = (*conn)->Execute(
        "COPY (SELECT user_id, isbn, rating_timestamp AS event_timestamp FROM read_parquet(" +
            larder::duckdb::QuoteLiteral((dir / "data/raw/ratings.parquet").string()) +
            ")) TO " + larder::duckdb::QuoteLiteral(entities.string()) + " (FORMAT parquet)",
        "entity file");
    if (!st.ok()) return Fail(st);
  }
  return 0;
}

// (b): the query a DuckDB user would write by hand for kFeatures, with the
// same values as Larder's: each view's latest row at or before the entity
// row's time, nulled when older than the view's ttl; rows in input order.
std::string HandWrittenSql(const fs::path& dir) {
  auto file = [&](const char* name) {
    return "read_parquet(" + larder::duckdb::QuoteLiteral((dir / name).string()) + ")";
  };
  // ttl bounds in microseconds: epoch arithmetic is exact in UTC and far
  // cheaper than TIMESTAMPTZ - INTERVAL, which goes through ICU's calendar.
  const std::string y150 = "54750 * 86400000000";
  const std::string y3 = "1095 * 86400000000";
  return "WITH e AS (SELECT *, row_number() OVER () AS rn FROM " +
         file("data/entities.parquet") +
         ")\n"
         "SELECT e.user_id, e.isbn, e.event_timestamp,\n"
         "  CASE WHEN epoch_us(b.created_at) >= epoch_us(e.event_timestamp) - " + y150 + " THEN b.language END AS language,\n"
         "  CASE WHEN epoch_us(b.created_at) >= epoch_us(e.event_timestamp) - " + y150 + " THEN b.category END AS category,\n"
         "  CASE WHEN epoch_us(u.signup_date) >= epoch_us(e.event_timestamp) - " + y3 + " THEN u.country END AS country,\n"
         "  CASE WHEN epoch_us(ba.signup_date) >= epoch_us(e.event_timestamp) - " + y3 + " THEN ba.bucketed_age END AS bucketed_age,\n"
         "  CASE WHEN epoch_us(ac.rating_timestamp) >= epoch_us(e.event_timestamp) - " + y3 + " THEN ac.avg_yr_category_rating END AS avg_yr_category_rating,\n"
         "  CASE WHEN epoch_us(ac.rating_timestamp) >= epoch_us(e.event_timestamp) - " + y3 + " THEN ac.count_yr_category_rating END AS count_yr_category_rating\n"
         "FROM e\n"
         "ASOF LEFT JOIN " + file("data/raw/books.parquet") +
         " b ON e.isbn = b.isbn AND e.event_timestamp >= b.created_at\n"
         "ASOF LEFT JOIN " + file("data/raw/users.parquet") +
         " u ON e.user_id = u.user_id AND e.event_timestamp >= u.signup_date\n"
         "ASOF LEFT JOIN bucketed_age ba ON e.user_id = ba.user_id AND e.event_timestamp >= ba.signup_date\n"
         "ASOF LEFT JOIN avg_book_category_ratings ac ON e.isbn = ac.isbn AND e.event_timestamp >= ac.rating_timestamp\n"
         "ORDER BY e.rn";
}

bool ParseFlags(int argc, char** argv, Flags* flags) {
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (i + 1 >= argc) return false;
    std::string v = argv[++i];
    if (a == "--scale") {
      flags->scale = std::stod(v);
    } else if (a == "--dir") {
      flags->dir = v;
    } else if (a == "--reps") {
      flags->reps = std::stoi(v);
    } else if (a == "--memory-limit") {
      flags->memory_limit = v;
    } else {
      return false;
    }
  }
  if (flags->dir.empty()) flags->dir = larder::bench::DefaultBenchDir(flags->scale);
  return flags->reps > 0 && flags->scale > 0;
}

}  // namespace

int main(int argc, char** argv) {
  Flags flags;
  if (!ParseFlags(argc, argv, &flags)) {
    std::fprintf(stderr,
                 "usage: %s [--scale S] [--dir DIR] [--reps N] [--memory-limit SIZE]\n",
                 argv[0]);
    return 2;
  }
  fs::create_directories(flags.dir);
  flags.dir = fs::canonical(flags.dir).string();
  std::fflush(stdout);
  pid_t child = fork();
  if (child == 0) {
    int rc = Setup(flags);
    std::fflush(stdout);
    _exit(rc);
  }
  int wstatus = 0;
  waitpid(child, &wstatus, 0);
  if (!WIFEXITED(wstatus) || WEXITSTATUS(wstatus) != 0) {
    std::fprintf(stderr, "setup failed\n");
    return 1;
  }

  const fs::path dir = flags.dir;
  const std::string out_a = (dir / "data/bench_larder.parquet").string();
  const std::string out_b = (dir / "data/bench_handwritten.parquet").string();
  const std::string spill = (dir / "data/spill").string();
  fs::create_directories(spill);

  auto store = larder::FeatureStore::Open({.repo_dir = flags.dir});
  if (!store.ok()) return Fail(store.status());
  larder::HistoricalFeaturesRequest request;
  request.entity_path = (dir / "data/entities.parquet").string();
  request.features = kFeatures;
  larder::HistoricalRetrievalOptions options;
  options.memory_limit = flags.memory_limit;
  options.temp_directory = spill;

  std::vector<double> times_a;
  std::vector<double> times_b;
  double peak_a = 0;
  double peak_b = 0;
  int64_t rows_a = 0;
  int64_t rows_b = 0;
  // (a) and (b) alternate which goes first, so that neither always runs on
  // a colder page cache.
  auto run_a = [&]() -> Status {
    ResetPeakRss();
    auto start = std::chrono::steady_clock::now();
    auto job = (*store)->GetHistoricalFeatures(request, options);
    if (!job.ok()) return job.status();
    auto rows = (*job)->WriteToFile(out_a);
    if (!rows.ok()) return rows.status();
    rows_a = *rows;
    times_a.push_back(larder::bench::Seconds(std::chrono::steady_clock::now() - start));
    peak_a = std::max(peak_a, PeakRssMb());
    return Status::OK();
  };
  auto run_b = [&]() -> Status {
    ResetPeakRss();
    auto start = std::chrono::steady_clock::now();
    auto conn = larder::duckdb::Connection::Open(":memory:");
    if (!conn.ok()) return conn.status();
    Status st = (*conn)->Execute(
        "SET memory_limit = " + larder::duckdb::QuoteLiteral(flags.memory_limit) +
            "; SET temp_directory = " + larder::duckdb::QuoteLiteral(spill) + "; ATTACH " +
            larder::duckdb::QuoteLiteral((dir / "data/offline_store.duckdb").string()) +
            " AS o (READ_ONLY); USE o",
        "hand-written setup");
    if (!st.ok()) return st;
    auto rows = (*conn)->QueryScalar("COPY (" + HandWrittenSql(dir) + ") TO " +
                                         larder::duckdb::QuoteLiteral(out_b) +
                                         " (FORMAT parquet)",
                                     "hand-written query");
    if (!rows.ok()) return rows.status();
    rows_b = std::stoll(rows->value_or("0"));
    times_b.push_back(larder::bench::Seconds(std::chrono::steady_clock::now() - start));
    peak_b = std::max(peak_b, PeakRssMb());
    return Status::OK();
  };
  for (int rep = 0; rep < flags.reps; ++rep) {
    Status first = rep % 2 == 0 ? run_a() : run_b();
    if (!first.ok()) return Fail(first);
    Status second = rep % 2 == 0 ? run_b() : run_a();
    if (!second.ok()) return Fail(second);
    std::printf("rep %d: larder %.2fs, hand-written %.2fs\n", rep + 1, times_a.back(),
                times_b.back());
    std::fflush(stdout);
  }

  // Compare every value, row by row in output order.
  auto conn = larder::duckdb::Connection::Open(":memory:");
  if (!conn.ok()) return Fail(conn.status());
  std::string diff =
      "SELECT count(*) FROM (SELECT * FROM read_parquet(" + larder::duckdb::QuoteLiteral(out_a) +
      ")) a POSITIONAL JOIN (SELECT * FROM read_parquet(" + larder::duckdb::QuoteLiteral(out_b) +
      ")) b WHERE ";
  const char* cols[] = {"user_id", "isbn", "event_timestamp", "language", "category", "country",
                        "bucketed_age", "avg_yr_category_rating", "count_yr_category_rating"};
  std::string cond;
  for (const char* c : cols) {
    cond += std::string(cond.empty() ? "" : " OR ") + "a." + c + " IS DISTINCT FROM b." + c;
  }
  auto mismatches = (*conn)->QueryScalar(diff + cond, "comparison");
  if (!mismatches.ok()) return Fail(mismatches.status());
  // Input order: (a)'s entity columns must equal the entity file's, row by row.
  auto misordered = (*conn)->QueryScalar(
      "SELECT count(*) FROM (SELECT * FROM read_parquet(" +
          larder::duckdb::QuoteLiteral(request.entity_path) +
          ")) e POSITIONAL JOIN (SELECT * FROM read_parquet(" +
          larder::duckdb::QuoteLiteral(out_a) +
          ")) a WHERE e.user_id IS DISTINCT FROM a.user_id OR e.isbn IS DISTINCT FROM a.isbn "
          "OR e.event_timestamp IS DISTINCT FROM a.event_timestamp",
      "input order check");
  if (!misordered.ok()) return Fail(misordered.status());
  auto nonnull = (*conn)->QueryScalar(
      "SELECT count(bucketed_age) || ' / ' || count(country) || ' / ' || "
      "count(avg_yr_category_rating) FROM read_parquet(" + larder::duckdb::QuoteLiteral(out_a) +
          ")",
      "non-null counts");

  double best_a = *std::min_element(times_a.begin(), times_a.end());
  double best_b = *std::min_element(times_b.begin(), times_b.end());
  std::printf("\nscale %g, %lld entity rows, the example's plain views (4 views, %zu features), "
              "%d reps\n",
              flags.scale, static_cast<long long>(rows_a), kFeatures.size(), flags.reps);
  std::printf("larder GetHistoricalFeatures: best %.2fs, median %.2fs, peak RSS %.0f MB\n",
              best_a, Median(times_a), peak_a);
  std::printf("hand-written ASOF LEFT JOIN:  best %.2fs, median %.2fs, peak RSS %.0f MB\n",
              best_b, Median(times_b), peak_b);
  std::printf("ratio larder / hand-written:  best %.3f, median %.3f\n", best_a / best_b,
              Median(times_a) / Median(times_b));
  std::printf("rows: larder %lld, hand-written %lld; rows with a differing value: %s\n",
              static_cast<long long>(rows_a), static_cast<long long>(rows_b),
              mismatches->value_or("?").c_str());
  std::printf("rows of (a) not in the entity file's order: %s\n",
              misordered->value_or("?").c_str());
  if (nonnull.ok()) {
    std::printf("non-null bucketed_age / country / avg_yr_category_rating: %s\n",
                nonnull->value_or("?").c_str());
  }
  std::printf("process peak RSS (VmHWM since last reset): %.0f MB\n", PeakRssMb());
  return mismatches->value_or("") == "0" && misordered->value_or("") == "0" && rows_a == rows_b
             ? 0
             : 1;
}
