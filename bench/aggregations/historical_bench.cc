// Benchmark: training data with window aggregations for the book-recommendation
// example, against a hand-written DuckDB query of the same windows.
//
//   larder_bench_aggregations_historical [--scale S] [--dir DIR] [--reps N]
//                                        [--memory-limit SIZE] [--print-sql 1]
//                                        [--distinct approx|exact]
//
// Setup (reused when present): the example's data generated at scale S
// (book_recs::Generate, timeline ending 2023-01-01) into DIR/raw (default
// /tmp/larder_agg_bench_s<S>), and an entity file of every rating
// (user_id, isbn, rating_timestamp AS event_timestamp).
//
// The views, built in C++ over the ratings file (all at a 10-minute
// aggregation_interval, as the example declares them):
//   agg_user_features_1d      per user: mean and count of rating over 1d and 7d
//   user_agg_rating_features  per user: mean and count of rating over 365d
//   book_agg_rating_features  per book: mean and count of rating over 365d
//
// Then, N times each, alternating which goes first, in this process:
//   (a) Larder: offline::PrepareHistoricalRetrieval of those 8 features for
//       every rating as an entity row, written to parquet;
//   (b) a hand-written DuckDB query of the same windows: per entity, the
//       ratings' distinct (key, time, rating) events and the entity rows (at
//       their time rounded down to 10 minutes) in one relation, AVG and COUNT
//       over RANGE frames ending 1 µs before the row, joined back by row
//       number, to parquet, with the same DuckDB settings;
// prints the best and median times, their ratio, peak RSS, the number of rows
// whose values differ (counts exactly, means beyond 1e-9) and the rows of (a)
// out of the entity file's order; exit code 1 unless both are 0.
// --print-sql 1 prints the SQL of (a) and (b) instead of running them.
// --distinct approx|exact times (a) alone, N times, for one other feature
// instead: approx_count_distinct or count_distinct of the books a user rated
// over 365 days (user_agg_rating_features:books_365d).
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "bench_support.h"
#include "book_recs/generator/book_recs_data.h"
#include "larder/definitions.h"
#include "larder/offline_store.h"
#include "larder/repo.h"
#include "offline/duckdb/duckdb_connection.h"
#include "offline/historical/historical_retrieval.h"

namespace {
namespace fs = std::filesystem;
using larder::Status;
using larder::bench::Fail;
using larder::bench::Median;
using larder::bench::PeakRssMb;
using larder::bench::ResetPeakRss;
using larder::duckdb::QuoteLiteral;

constexpr int64_t kDay = 86'400'000'000;
constexpr int64_t kInterval = 600'000'000;  // 10 minutes

struct Flags {
  double scale = 1.0;
  std::string dir;
  int reps = 3;
  std::string memory_limit = "1GB";
  bool print_sql = false;
  std::string distinct;  // "", "approx" or "exact"
};

// The output columns: (view, feature name, entity key, window in days, is mean).
struct Output {
  const char* view;
  const char* name;
  const char* key;
  int days;
  bool mean;
};
constexpr Output kOutputs[] = {
    {"agg_user_features_1d", "avg_day_user_rating", "user_id", 1, true},
    {"agg_user_features_1d", "count_day_user_rating", "user_id", 1, false},
    {"agg_user_features_1d", "avg_week_user_rating", "user_id", 7, true},
    {"agg_user_features_1d", "count_week_user_rating", "user_id", 7, false},
    {"user_agg_rating_features", "avg_yr_user_rating", "user_id", 365, true},
    {"user_agg_rating_features", "count_yr_user_rating", "user_id", 365, false},
    {"book_agg_rating_features", "avg_yr_book_rating", "isbn", 365, true},
    {"book_agg_rating_features", "count_yr_book_rating", "isbn", 365, false},
};

int Setup(const Flags& flags) {
  const fs::path dir = flags.dir;
  if (!fs::exists(dir / "raw/ratings.parquet")) {
    larder::book_recs::GenerateOptions gen;
    gen.scale = flags.scale;
    gen.out_dir = (dir / "raw").string();
    auto stats = larder::book_recs::Generate(gen);
    if (!stats.ok()) return Fail(stats.status());
    std::printf("setup: generated %lld ratings in %.1fs\n",
                static_cast<long long>(stats->ratings), stats->seconds);
  }
  const fs::path entities = dir / "entities.parquet";
  if (!fs::exists(entities)) {
    auto conn = larder::duckdb::Connection::Open(":memory:");
    if (!conn.ok()) return Fail(conn.status());
    Status st = (*conn)->Execute(
        "COPY (SELECT user_id, isbn, rating_timestamp AS event_timestamp FROM read_parquet(" +
            QuoteLiteral((dir / "raw/ratings.parquet").string()) + ")) TO " +
            QuoteLiteral(entities.string()) + " (FORMAT parquet)",
        "entity file");
    if (!st.ok()) return Fail(st);
  }
  return 0;
}

// The repo of the three aggregation views over the ratings file; with
// `distinct`, user_agg_rating_features also counts the distinct books a user
// rated over 365 days (approx_count_distinct or count_distinct).
larder::FeatureRepo MakeRepo(const fs::path& dir, const std::string& distinct) {
  using larder::Aggregation;
  using larder::AggregationFunction;
  larder::FeatureRepo repo;
  repo.root = dir.string();
  repo.config.project = "agg_bench";
  // No offline store database: the views read the ratings file.
  repo.config.offline_store.options["path"] = (dir / "no_offline_store.duckdb").string();
  larder::Entity user;
  user.name = "user";
  user.join_keys = {"user_id"};
  user.value_type = {larder::ScalarType::kInt64, false};
  larder::Entity book;
  book.name = "book";
  book.join_keys = {"isbn"};
  book.value_type = {larder::ScalarType::kString, false};
  repo.entities = {book, user};
  larder::DataSource ratings;
  ratings.name = "ratings_source";
  ratings.kind = larder::DataSourceKind::kFile;
  ratings.path = (dir / "raw/ratings.parquet").string();
  ratings.file_format = larder::FileFormat::kParquet;
  ratings.timestamp_field = "rating_timestamp";
  repo.data_sources = {ratings};
  for (const char* view_name :
       {"agg_user_features_1d", "book_agg_rating_features", "user_agg_rating_features"}) {
    larder::FeatureView view;
    view.name = view_name;
    view.source = ratings.name;
    view.aggregation_interval = larder::Duration{kInterval};
    for (const Output& out : kOutputs) {
      if (std::string(out.view) != view_name) continue;
      view.entities = {std::string(out.key) == "isbn" ? "book" : "user"};
      Aggregation a;
      a.column = "rating";
      a.column_dtype = {larder::ScalarType::kInt64, false};
      a.function = out.mean ? AggregationFunction::kMean : AggregationFunction::kCount;
      a.window = larder::Duration{out.days * kDay};
      a.name = out.name;
      view.aggregations.push_back(a);
    }
    if (!distinct.empty() && std::string(view_name) == "user_agg_rating_features") {
      Aggregation books;
      books.column = "isbn";
      books.column_dtype = {larder::ScalarType::kString, false};
      books.function = distinct == "approx" ? AggregationFunction::kApproxCountDistinct
                                            : AggregationFunction::kCountDistinct;
      books.window = larder::Duration{365 * kDay};
      books.name = "books_365d";
      view.aggregations.push_back(books);
    }
    repo.feature_views.push_back(view);  // in name order, as FindFeatureView expects
  }
  return repo;
}

// (b): the query a DuckDB user would write for the same values.
std::string HandWrittenSql(const fs::path& dir) {
  auto file = [&](const char* name) {
    return "read_parquet(" + QuoteLiteral((dir / name).string()) + ")";
  };
  const std::string ratings = file("raw/ratings.parquet");
  const std::string entities = file("entities.parquet");
  auto frame = [](int days) {
    return "RANGE BETWEEN " + std::to_string(days * kDay) + " PRECEDING AND 1 PRECEDING";
  };
  // One windowed pass per entity key: its events (distinct key, time,
  // rating) and the entity rows at their 10-minute boundary.
  auto pass = [&](const char* key) {
    std::string select = "SELECT rn";
    std::vector<int> days;
    for (const Output& out : kOutputs) {
      if (std::string(out.key) != key) continue;
      select += std::string(", ") + (out.mean ? "avg" : "count") + "(rating) OVER w" +
                std::to_string(out.days) + " AS " + out.name;
      if (std::find(days.begin(), days.end(), out.days) == days.end()) days.push_back(out.days);
    }
    std::string windows;
    for (int d : days) {
      windows += std::string(windows.empty() ? "" : ", ") + "w" + std::to_string(d) +
                 " AS (PARTITION BY " + key + " ORDER BY t " + frame(d) + ")";
    }
    return select + " FROM (SELECT " + key + ", t, rating, NULL AS rn FROM (SELECT DISTINCT " +
           key + ", epoch_us(rating_timestamp) AS t, rating FROM " + ratings + " WHERE " + key +
           " IS NOT NULL AND rating_timestamp IS NOT NULL) UNION ALL SELECT " + key +
           ", t, NULL, rn FROM e) WINDOW " + windows + " QUALIFY rn IS NOT NULL";
  };
  std::string projection = "e.user_id, e.isbn, e.event_timestamp";
  for (const Output& out : kOutputs) {
    projection += std::string(", ") + (std::string(out.key) == "isbn" ? "b." : "u.") + out.name;
  }
  return "WITH e AS (SELECT *, row_number() OVER () AS rn, epoch_us(event_timestamp) // " +
         std::to_string(kInterval) + " * " + std::to_string(kInterval) + " AS t FROM " +
         entities + "),\nu AS (" + pass("user_id") + "),\nb AS (" + pass("isbn") +
         ")\nSELECT " + projection + " FROM e LEFT JOIN u ON u.rn = e.rn LEFT JOIN b ON b.rn = "
         "e.rn ORDER BY e.rn";
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
    } else if (a == "--print-sql") {
      flags->print_sql = v == "1";
    } else if (a == "--distinct" && (v == "approx" || v == "exact")) {
      flags->distinct = v;
    } else {
      return false;
    }
  }
  if (flags->dir.empty()) {
    char name[64];
    std::snprintf(name, sizeof name, "/tmp/larder_agg_bench_s%g", flags->scale);
    flags->dir = name;
  }
  return flags->reps > 0 && flags->scale > 0;
}

}  // namespace

int main(int argc, char** argv) {
  Flags flags;
  if (!ParseFlags(argc, argv, &flags)) {
    std::fprintf(stderr,
                 "usage: %s [--scale S] [--dir DIR] [--reps N] [--memory-limit SIZE] "
                 "[--print-sql 1] [--distinct approx|exact]\n",
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
  const std::string out_a = (dir / "bench_larder.parquet").string();
  const std::string out_b = (dir / "bench_handwritten.parquet").string();
  const std::string spill = (dir / "spill").string();
  fs::create_directories(spill);

  const larder::FeatureRepo repo = MakeRepo(dir, flags.distinct);
  larder::HistoricalFeaturesRequest request;
  request.entity_path = (dir / "entities.parquet").string();
  for (const Output& out : kOutputs) {
    request.features.push_back(std::string(out.view) + ":" + out.name);
  }
  if (!flags.distinct.empty()) request.features = {"user_agg_rating_features:books_365d"};
  larder::HistoricalRetrievalOptions options;
  options.memory_limit = flags.memory_limit;
  options.temp_directory = spill;

  if (flags.print_sql) {
    auto job = larder::offline::PrepareHistoricalRetrieval(repo, request, options);
    if (!job.ok()) return Fail(job.status());
    std::printf("-- (a) Larder\n%s;\n-- (b) hand-written\n%s;\n", (*job)->sql().c_str(),
                HandWrittenSql(dir).c_str());
    return 0;
  }

  std::vector<double> times_a;
  std::vector<double> times_b;
  double peak_a = 0;
  double peak_b = 0;
  int64_t rows_a = 0;
  int64_t rows_b = 0;
  auto run_a = [&]() -> Status {
    ResetPeakRss();
    auto start = std::chrono::steady_clock::now();
    auto job = larder::offline::PrepareHistoricalRetrieval(repo, request, options);
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
    Status st = (*conn)->Execute("SET memory_limit = " + QuoteLiteral(flags.memory_limit) +
                                     "; SET temp_directory = " + QuoteLiteral(spill),
                                 "hand-written setup");
    if (!st.ok()) return st;
    auto rows = (*conn)->QueryScalar(
        "COPY (" + HandWrittenSql(dir) + ") TO " + QuoteLiteral(out_b) + " (FORMAT parquet)",
        "hand-written query");
    if (!rows.ok()) return rows.status();
    rows_b = std::stoll(rows->value_or("0"));
    times_b.push_back(larder::bench::Seconds(std::chrono::steady_clock::now() - start));
    peak_b = std::max(peak_b, PeakRssMb());
    return Status::OK();
  };
  if (!flags.distinct.empty()) {
    for (int rep = 0; rep < flags.reps; ++rep) {
      Status st = run_a();
      if (!st.ok()) return Fail(st);
    }
    std::printf("%s count of distinct books per user over 365d, %lld entity rows: best %.2fs, "
                "median %.2fs, peak RSS %.0f MB\n",
                flags.distinct.c_str(), static_cast<long long>(rows_a),
                *std::min_element(times_a.begin(), times_a.end()), Median(times_a), peak_a);
    return 0;
  }
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
  std::string cond;
  for (const Output& out : kOutputs) {
    const std::string a = std::string("a.") + out.name;
    const std::string b = std::string("b.") + out.name;
    cond += std::string(cond.empty() ? "" : " OR ") +
            (out.mean ? "(" + a + " IS NULL) <> (" + b + " IS NULL) OR abs(" + a + " - " + b +
                            ") > 1e-9"
                      : a + " IS DISTINCT FROM " + b);
  }
  auto mismatches = (*conn)->QueryScalar(
      "SELECT count(*) FROM (SELECT * FROM read_parquet(" + QuoteLiteral(out_a) +
          ")) a POSITIONAL JOIN (SELECT * FROM read_parquet(" + QuoteLiteral(out_b) +
          ")) b WHERE " + cond,
      "comparison");
  if (!mismatches.ok()) return Fail(mismatches.status());
  auto misordered = (*conn)->QueryScalar(
      "SELECT count(*) FROM (SELECT * FROM read_parquet(" + QuoteLiteral(request.entity_path) +
          ")) e POSITIONAL JOIN (SELECT * FROM read_parquet(" + QuoteLiteral(out_a) +
          ")) a WHERE e.user_id IS DISTINCT FROM a.user_id OR e.isbn IS DISTINCT FROM a.isbn "
          "OR e.event_timestamp IS DISTINCT FROM a.event_timestamp",
      "input order check");
  if (!misordered.ok()) return Fail(misordered.status());
  auto summary = (*conn)->QueryScalar(
      "SELECT 'mean count_day_user_rating ' || round(avg(count_day_user_rating), 3) || "
      "', mean count_yr_book_rating ' || round(avg(count_yr_book_rating), 2) || "
      "', rows with a 1d user mean ' || count(avg_day_user_rating) FROM read_parquet(" +
          QuoteLiteral(out_a) + ")",
      "summary");

  const double best_a = *std::min_element(times_a.begin(), times_a.end());
  const double best_b = *std::min_element(times_b.begin(), times_b.end());
  std::printf("\nscale %g, %lld entity rows, 3 aggregation views (8 features: mean and count of "
              "rating per user over 1d, 7d, 365d and per book over 365d, 10m interval), %d reps\n",
              flags.scale, static_cast<long long>(rows_a), flags.reps);
  std::printf("larder historical:           best %.2fs, median %.2fs, peak RSS %.0f MB\n", best_a,
              Median(times_a), peak_a);
  std::printf("hand-written window query:   best %.2fs, median %.2fs, peak RSS %.0f MB\n", best_b,
              Median(times_b), peak_b);
  std::printf("ratio larder / hand-written: best %.3f, median %.3f\n", best_a / best_b,
              Median(times_a) / Median(times_b));
  std::printf("rows: larder %lld, hand-written %lld; rows with a differing value: %s\n",
              static_cast<long long>(rows_a), static_cast<long long>(rows_b),
              mismatches->value_or("?").c_str());
  std::printf("rows of (a) not in the entity file's order: %s\n",
              misordered->value_or("?").c_str());
  if (summary.ok()) std::printf("%s\n", summary->value_or("").c_str());
  return mismatches->value_or("") == "0" && misordered->value_or("") == "0" && rows_a == rows_b
             ? 0
             : 1;
}
