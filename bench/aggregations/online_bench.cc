// Benchmark: the online side of window aggregations on the book-recommendation
// example: applying pushed events to tiles in RocksDB, and serving model_v4
// (three aggregation views beside two plain ones) next to a service of plain
// views only.
//
//   larder_bench_aggregations_online [--scale S] [--dir DIR] [--batches 10000,100000]
//                                    [--iters N] [--skip-push] [--skip-read] [--end-now]
//                                    [--no-window-cache]
//
// Setup (reused when present): the example repo at DIR (default
// /tmp/larder_agg_online_bench_s<S>, or ..._s<S>_now with --end-now) as
// bench/bench_support.h prepares it (data at scale S, applied, SQL models
// built; with --end-now the data's timeline ends at the current second
// instead of 2023-01-01, so that a server reading at the real clock, as
// bench/serve_bench.sh --repo DIR runs one, sees the last year of ratings in
// its windows). Its aggregation views, at a 10-minute aggregation_interval,
// over the ratings (the push source user_ratings_push; agg_user_features_1d
// over the kinesis source book_ratings_stream, whose rows are the same):
//   agg_user_features_1d      per user: mean and count of rating over 1d and 7d
//   user_agg_rating_features  per user: mean and count of rating over 365d
//   book_agg_rating_features  per book: mean and count of rating over 365d
// model_v4 = book_features, user_features and those three (5 views, 13
// features); the bench adds model_v4_plain, its like-for-like twin of plain
// views: book_features, user_features, avg_book_category_rating_features and
// three plain views with the aggregation views' feature names and dtypes
// (13 features, six views, as model_v4 was before its aggregations became
// aggregation views), read from Parquet files of per-entity rating means and
// counts that the bench writes with DuckDB.
//
// 1. Push apply: every rating as an event, in time order, in batches of each
//    --batches size, through aggregation::ApplyEvents into all three views of
//    a fresh RocksDB store (DIR/push_store, recreated per batch size), "now"
//    being the batch's last event. Reported separately: the ratings before
//    the last 365 days (into a store that starts empty) and the last 365
//    days' (into a store already holding a year of events). Events/s counts ratings; each
//    lands in three views. The time includes building the per-entity event
//    lists from the in-memory ratings. Then the same batches through
//    aggregation::MergeEvents alone, the states in a hash map (no store),
//    with the bytes of the states it writes.
// 2. Online reads: materializes every online view (history up to the last
//    rating) into the repo's store, then times FeatureStore::GetOnlineFeatures
//    for one (user_id, isbn) pair per call, pairs drawn from 20,000 real
//    ratings, alternating model_v4 and model_v4_plain call by call, with "now"
//    just after the last rating, and prints p50/p99/p999/max in microseconds
//    and each service's share of PRESENT values (exit code 1 if either is
//    below 20%, so misses are not measured as reads). Unless --skip-push,
//    the warm-up also compares every aggregation value of model_v4 with
//    the one read from the push store at the same instant, and exits 1 if
//    any differs: pushed and materialized events must give the same states.
//    Pairs repeat across calls, so reads of unchanged states within the
//    interval come from the window value cache (aggregation/value_cache.h);
//    --no-window-cache evaluates every read.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include "aggregation/online_tiles.h"
#include "aggregation/tile_state.h"
#include "aggregation/tile_layout.h"
#include "bench_support.h"
#include "book_recs/generator/book_recs_data.h"
#include "larder/feature_store.h"
#include "larder/online_store.h"
#include "offline/duckdb/duckdb_connection.h"
#include "repo/templates.h"

namespace {
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using larder::Status;
using larder::Value;
using larder::ValueType;
using larder::bench::Fail;

constexpr int64_t kYear = 365LL * 86'400'000'000;

struct Flags {
  double scale = 1.0;
  std::string dir;
  std::vector<size_t> batches = {10000, 100000};
  int iters = 100000;
  bool skip_push = false;
  bool skip_read = false;
  bool end_now = false;
  bool no_window_cache = false;
};

bool ParseFlags(int argc, char** argv, Flags* flags) {
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--skip-push" || a == "--skip-read" || a == "--end-now" ||
        a == "--no-window-cache") {
      (a == "--skip-push"   ? flags->skip_push
       : a == "--skip-read" ? flags->skip_read
       : a == "--end-now"   ? flags->end_now
                            : flags->no_window_cache) = true;
      continue;
    }
    if (i + 1 >= argc) return false;
    std::string v = argv[++i];
    if (a == "--scale") flags->scale = std::stod(v);
    else if (a == "--dir") flags->dir = v;
    else if (a == "--iters") flags->iters = std::stoi(v);
    else if (a == "--batches") {
      flags->batches.clear();
      for (size_t start = 0; start < v.size();) {
        size_t comma = std::min(v.find(',', start), v.size());
        flags->batches.push_back(std::stoul(v.substr(start, comma - start)));
        start = comma + 1;
      }
    }
    else return false;
  }
  if (flags->dir.empty()) {
    char name[64];
    std::snprintf(name, sizeof name, "/tmp/larder_agg_online_bench_s%g%s", flags->scale,
                  flags->end_now ? "_now" : "");
    flags->dir = name;
  }
  return flags->scale > 0 && flags->iters >= 100 && !flags->batches.empty() &&
         std::all_of(flags->batches.begin(), flags->batches.end(), [](size_t b) { return b > 0; });
}

constexpr const char* kPlainTwin = R"(# Written by larder_bench_aggregations_online: model_v4 with its three
# aggregation views replaced by plain views of the same features.
data_sources:
  - name: twin_user_ratings
    type: file
    path: data/bench_twin_users.parquet
    timestamp_field: event_timestamp
  - name: twin_book_ratings
    type: file
    path: data/bench_twin_books.parquet
    timestamp_field: event_timestamp
feature_views:
  - name: twin_book_agg_rating_features
    entities: [book]
    ttl: 36500d
    schema:
      - {name: avg_yr_book_rating, dtype: Float64}
      - {name: count_yr_book_rating, dtype: Int64}
    source: twin_book_ratings
  - name: twin_user_agg_rating_features
    entities: [user]
    ttl: 36500d
    schema:
      - {name: avg_yr_user_rating, dtype: Float64}
      - {name: count_yr_user_rating, dtype: Int64}
    source: twin_user_ratings
  - name: twin_agg_user_features_1d
    entities: [user]
    ttl: 36500d
    schema:
      - {name: avg_day_user_rating, dtype: Float64}
      - {name: count_day_user_rating, dtype: Int64}
      - {name: avg_week_user_rating, dtype: Float64}
      - {name: count_week_user_rating, dtype: Int64}
    source: twin_user_ratings
feature_services:
  - name: model_v4_plain
    features: [book_features, user_features, twin_book_agg_rating_features,
               twin_user_agg_rating_features, twin_agg_user_features_1d,
               avg_book_category_rating_features]
)";

constexpr const char* kAggViewNames[] = {"agg_user_features_1d", "user_agg_rating_features",
                                         "book_agg_rating_features"};

// Adds model_v4_plain, its views and their data to the prepared example
// repo (once).
Status AddPlainTwin(const fs::path& dir) {
  fs::remove(dir / "plain_service.yaml");  // the former, smaller baseline
  const fs::path extra = dir / "plain_twin.yaml";
  if (fs::exists(extra)) return Status::OK();
  LARDER_ASSIGN_OR_RETURN(auto conn, larder::duckdb::Connection::Open(":memory:"));
  const std::string ratings =
      "read_parquet(" +
      larder::duckdb::QuoteLiteral((dir / "data/raw/ratings.parquet").string()) + ")";
  const std::string users =
      "COPY (SELECT user_id, max(rating_timestamp) AS event_timestamp, "
      "avg(rating)::DOUBLE AS avg_yr_user_rating, count(rating) AS count_yr_user_rating, "
      "avg(rating)::DOUBLE AS avg_day_user_rating, count(rating) AS count_day_user_rating, "
      "avg(rating)::DOUBLE AS avg_week_user_rating, count(rating) AS count_week_user_rating "
      "FROM " + ratings + " GROUP BY user_id) TO " +
      larder::duckdb::QuoteLiteral((dir / "data/bench_twin_users.parquet").string()) +
      " (FORMAT parquet)";
  const std::string books =
      "COPY (SELECT isbn, max(rating_timestamp) AS event_timestamp, "
      "avg(rating)::DOUBLE AS avg_yr_book_rating, count(rating) AS count_yr_book_rating "
      "FROM " + ratings + " GROUP BY isbn) TO " +
      larder::duckdb::QuoteLiteral((dir / "data/bench_twin_books.parquet").string()) +
      " (FORMAT parquet)";
  LARDER_RETURN_IF_ERROR(conn->Execute(users, "twin users"));
  LARDER_RETURN_IF_ERROR(conn->Execute(books, "twin books"));
  std::ofstream(extra) << kPlainTwin;
  return Status::OK();
}

struct Rating {
  int64_t user_id;
  std::string isbn;
  int64_t time;
  Value rating;
};

larder::Result<std::vector<Rating>> LoadRatings(const fs::path& dir, ValueType rating_type) {
  LARDER_ASSIGN_OR_RETURN(auto conn, larder::duckdb::Connection::Open(":memory:"));
  const std::string ratings =
      "read_parquet(" +
      larder::duckdb::QuoteLiteral((dir / "data/raw/ratings.parquet").string()) + ")";
  const ValueType types[] = {{larder::ScalarType::kInt64}, {larder::ScalarType::kString},
                             {larder::ScalarType::kInt64}, rating_type};
  LARDER_ASSIGN_OR_RETURN(
      auto rows, conn->QueryValues("SELECT user_id, isbn, epoch_us(rating_timestamp), rating FROM " +
                                       ratings + " ORDER BY 3, 1, 2",
                                   "ratings", types));
  std::vector<Rating> out;
  out.reserve(rows.size());
  for (auto& row : rows) {
    out.push_back({row[0].int64_value(), row[1].string_value(), row[2].int64_value(),
                   std::move(row[3])});
  }
  return out;
}

// One view's events of ratings[begin, end), grouped by entity.
std::vector<larder::aggregation::EntityEvents> Group(const std::vector<Rating>& ratings,
                                                    size_t begin, size_t end, bool by_book) {
  std::vector<larder::aggregation::EntityEvents> batch;
  std::unordered_map<std::string, size_t> users_or_books;
  users_or_books.reserve(end - begin);
  for (size_t i = begin; i < end; ++i) {
    const Rating& r = ratings[i];
    std::string key = by_book ? r.isbn : std::to_string(r.user_id);
    auto [it, inserted] = users_or_books.emplace(std::move(key), batch.size());
    if (inserted) {
      larder::aggregation::EntityEvents e;
      e.key.join_keys = {by_book ? "isbn" : "user_id"};
      e.key.values = {by_book ? Value::String(r.isbn) : Value::Int64(r.user_id)};
      batch.push_back(std::move(e));
    }
    batch[it->second].events.push_back(larder::aggregation::MakeEvent(r.time, {r.rating}));
  }
  return batch;
}

struct Pair {
  int64_t user_id;
  std::string isbn;
};

struct Layouts {
  std::vector<std::string> names;
  std::vector<larder::aggregation::TileLayout> layouts;
  std::vector<bool> by_book;
};

// Leaves in *kept the store of the last batch size, holding every rating.
int BenchPush(const Flags& flags, const Layouts& views, const std::vector<Rating>& ratings,
              std::unique_ptr<larder::OnlineStore>* kept) {
  const size_t split = static_cast<size_t>(
      std::lower_bound(ratings.begin(), ratings.end(), ratings.back().time - kYear,
                       [](const Rating& r, int64_t t) { return r.time < t; }) -
      ratings.begin());
  std::printf("\npush apply: %zu ratings (%zu before the last year), 3 views, one thread\n",
              ratings.size(), split);
  for (size_t batch_size : flags.batches) {
    const fs::path path = fs::path(flags.dir) / "push_store";
    kept->reset();
    fs::remove_all(path);
    larder::OnlineStoreOptions options;
    options.config = larder::StoreConfig{"rocksdb", {{"path", path.string()}}};
    options.project = "agg_bench";
    auto store = larder::OnlineStore::Open(options);
    if (!store.ok()) return Fail(store.status());
    auto run = [&](size_t begin, size_t end, const char* what) -> int {
      const auto start = Clock::now();
      for (size_t b = begin; b < end; b += batch_size) {
        const size_t e = std::min(end, b + batch_size);
        const int64_t now = ratings[e - 1].time + 1;
        for (size_t v = 0; v < views.names.size(); ++v) {
          Status st = larder::aggregation::ApplyEvents(**store, views.names[v], views.layouts[v],
                                                       Group(ratings, b, e, views.by_book[v]), now);
          if (!st.ok()) return Fail(st);
        }
      }
      const double s = larder::bench::Seconds(Clock::now() - start);
      std::printf("  batch %6zu, %-46s %8zu events in %6.2f s: %9.0f events/s\n", batch_size,
                  what, end - begin, s, static_cast<double>(end - begin) / s);
      return 0;
    };
    if (int rc = run(0, split, "all but the last year, into an empty store"); rc != 0) return rc;
    if (int rc = run(split, ratings.size(), "the last year, into a store holding a year"); rc != 0) {
      return rc;
    }
    *kept = std::move(*store);
  }
  return 0;
}

// The same batches through aggregation::MergeEvents alone, the states kept in
// a hash map instead of a store: what the merge costs without RocksDB.
int BenchMergeOnly(const Flags& flags, const Layouts& views, const std::vector<Rating>& ratings,
                   size_t* state_bytes) {
  std::printf("\nmerge only (states in memory, no store), one thread\n");
  for (size_t batch_size : flags.batches) {
    std::vector<std::unordered_map<std::string, std::string>> states(views.names.size());
    const auto start = Clock::now();
    size_t bytes = 0, writes = 0;
    for (size_t b = 0; b < ratings.size(); b += batch_size) {
      const size_t e = std::min(ratings.size(), b + batch_size);
      const int64_t now = ratings[e - 1].time + 1;
      for (size_t v = 0; v < views.names.size(); ++v) {
        for (auto& entity : Group(ratings, b, e, views.by_book[v])) {
          std::string& state = states[v][entity.key.values[0].DebugString()];
          std::string next;
          bool changed = false;
          Status st = larder::aggregation::MergeEvents(views.layouts[v], &state,
                                                       std::move(entity.events), now, &next,
                                                       &changed);
          if (!st.ok()) return Fail(st);
          bytes += next.size();
          ++writes;
          state = std::move(next);
        }
      }
    }
    const double s = larder::bench::Seconds(Clock::now() - start);
    std::printf("  batch %6zu, all ratings: %8zu events in %6.2f s: %9.0f events/s; %.0f MB of "
                "states written\n",
                batch_size, ratings.size(), s, static_cast<double>(ratings.size()) / s,
                static_cast<double>(bytes) / 1e6);
    *state_bytes = writes > 0 ? bytes / writes : 0;
  }
  return 0;
}

// What the store costs for the keys a push touches, with no merge at all:
// per batch and view, the distinct entities' keys (as ApplyEvents makes
// them), each given a placeholder of the average state size. First through
// OnlineStore::UpdateStates (the read-modify-write a push performs: MultiGet,
// one write batch, the record cache), then as blind puts straight into a
// fresh RocksDB (sorted, one write batch per batch and view; no read). The
// second is a floor for any design that keeps a key per entity and view.
int BenchStoreFloor(const Flags& flags, const Layouts& views, const std::vector<Rating>& ratings,
                    size_t state_bytes) {
  std::printf("\nthe store alone, the same keys per batch, %zu-byte values, one thread\n",
              state_bytes);
  for (size_t batch_size : flags.batches) {
    for (const bool blind : {false, true}) {
      const fs::path path = fs::path(flags.dir) / "floor_store";
      fs::remove_all(path);
      std::unique_ptr<larder::OnlineStore> store;
      std::unique_ptr<rocksdb::DB> db;
      if (blind) {
        rocksdb::Options o;
        o.create_if_missing = true;
        rocksdb::DB* raw = nullptr;
        if (!rocksdb::DB::Open(o, path.string(), &raw).ok()) {
          return Fail(Status::IOError("cannot open " + path.string()));
        }
        db.reset(raw);
      } else {
        larder::OnlineStoreOptions options;
        options.config = larder::StoreConfig{"rocksdb", {{"path", path.string()}}};
        options.project = "agg_bench";
        auto opened = larder::OnlineStore::Open(options);
        if (!opened.ok()) return Fail(opened.status());
        store = std::move(*opened);
      }
      size_t keys_written = 0;
      const auto start = Clock::now();
      for (size_t b = 0; b < ratings.size(); b += batch_size) {
        const size_t e = std::min(ratings.size(), b + batch_size);
        // Differs per batch, so that every update writes.
        std::string value(state_bytes, static_cast<char>('a' + (b / batch_size) % 26));
        for (size_t v = 0; v < views.names.size(); ++v) {
          std::vector<larder::aggregation::EntityEvents> batch =
              Group(ratings, b, e, views.by_book[v]);
          keys_written += batch.size();
          if (!blind) {
            std::vector<larder::EntityKey> keys;
            keys.reserve(batch.size());
            for (auto& entity : batch) keys.push_back(std::move(entity.key));
            Status st = store->UpdateStates(
                views.names[v], keys,
                [&](size_t, const std::string*, std::string* out) {
                  *out = value;
                  return Status::OK();
                });
            if (!st.ok()) return Fail(st);
            continue;
          }
          std::vector<std::string> keys;
          keys.reserve(batch.size());
          for (const auto& entity : batch) {
            keys.push_back(views.names[v] + "#states|" + entity.key.values[0].DebugString());
          }
          std::sort(keys.begin(), keys.end());
          rocksdb::WriteBatch wb;
          for (const std::string& k : keys) wb.Put(k, value);
          if (!db->Write(rocksdb::WriteOptions(), &wb).ok()) {
            return Fail(Status::IOError("rocksdb write failed"));
          }
        }
      }
      const double s = larder::bench::Seconds(Clock::now() - start);
      std::printf("  batch %6zu, %-36s %8zu keys in %6.2f s: %9.0f events/s (%.2f keys per event)\n",
                  batch_size, blind ? "blind sorted puts, RocksDB directly" :
                                      "OnlineStore::UpdateStates, no merge",
                  keys_written, s, static_cast<double>(ratings.size()) / s,
                  static_cast<double>(keys_written) / static_cast<double>(ratings.size()));
    }
  }
  fs::remove_all(fs::path(flags.dir) / "floor_store");
  return 0;
}

// The number of values of `response` (model_v4 for `p`) that differ
// from the aggregates read from `pushed` (the store every rating was pushed
// into) at `now`: pushed and materialized states must agree exactly.
larder::Result<int64_t> CountPushedDifferences(larder::OnlineStore& pushed, const Layouts& views,
                                               const Pair& p, int64_t now,
                                               const larder::OnlineFeaturesResponse& response) {
  int64_t differ = 0;
  for (size_t v = 0; v < views.names.size(); ++v) {
    larder::EntityKey key;
    key.join_keys = {views.by_book[v] ? "isbn" : "user_id"};
    key.values = {views.by_book[v] ? Value::String(p.isbn) : Value::Int64(p.user_id)};
    std::vector<std::vector<Value>> values;
    LARDER_RETURN_IF_ERROR(larder::aggregation::ReadAggregates(
        pushed, views.names[v], views.layouts[v], std::span(&key, 1), now, &values));
    const auto& aggs = views.layouts[v].aggregations();
    for (size_t a = 0; a < aggs.size(); ++a) {
      auto column = std::find_if(response.columns.begin(), response.columns.end(),
                                 [&](const auto& c) { return c.name == aggs[a].name; });
      if (column == response.columns.end()) {
        return Status::NotFound("response column " + aggs[a].name);
      }
      differ += !(column->values[0] == values[0][a]);
    }
  }
  return differ;
}

larder::OnlineFeaturesRequest Request(const std::string& service, const Pair& p) {
  larder::OnlineFeaturesRequest request;
  request.feature_service = service;
  request.entity_rows["user_id"].push_back(Value::Int64(p.user_id));
  request.entity_rows["isbn"].push_back(Value::String(p.isbn));
  return request;
}

int BenchRead(const Flags& flags, larder::FeatureStore& store, const std::vector<Rating>& ratings,
              const Layouts& views, larder::OnlineStore* pushed) {
  const int64_t now = ratings.back().time + 1;
  const auto start = Clock::now();
  // Plain views up to far past the data; aggregation views pruned at "now".
  auto report = store.Materialize(-2208988800LL * 1'000'000, now);
  if (!report.ok()) return Fail(report.status());
  int64_t rows = 0;
  for (const auto& v : report->views) rows += v.rows;
  std::printf("\nmaterialize: %zu views, %lld rows in %.2f s\n", report->views.size(),
              static_cast<long long>(rows), larder::bench::Seconds(Clock::now() - start));

  std::mt19937_64 rng(42);
  std::vector<Pair> pairs;
  for (int i = 0; i < 20000; ++i) {
    const Rating& r = ratings[rng() % ratings.size()];
    pairs.push_back({r.user_id, r.isbn});
  }
  larder::OnlineReadOptions read_options;
  read_options.clock = [now] { return now; };
  const char* services[] = {"model_v4", "model_v4_plain"};
  int64_t values[2] = {0, 0};
  int64_t checked = 0;
  int64_t differ = 0;
  int64_t present[2] = {0, 0};
  std::vector<double> micros[2];
  for (int w = 0; w < 2; ++w) {
    // The first pass over every pair warms the caches; the second is timed.
    const bool timed = w == 1;
    const size_t n = timed ? static_cast<size_t>(flags.iters) : pairs.size();
    for (size_t i = 0; i < n; ++i) {
      const Pair& p = timed ? pairs[rng() % pairs.size()] : pairs[i];
      for (int s = 0; s < 2; ++s) {
        auto request = Request(services[s], p);
        const auto t0 = Clock::now();
        auto response = store.GetOnlineFeatures(request, read_options);
        const auto took = Clock::now() - t0;
        if (!response.ok()) return Fail(response.status());
        if (!timed && s == 0 && pushed != nullptr) {
          auto d = CountPushedDifferences(*pushed, views, p, now, *response);
          if (!d.ok()) return Fail(d.status());
          differ += *d;
          ++checked;
        }
        if (!timed) {
          for (const auto& column : response->columns) {
            for (auto st : column.statuses) {
              ++values[s];
              present[s] += st == larder::FeatureStatus::kPresent;
            }
          }
        } else {
          micros[s].push_back(larder::bench::Micros(took));
        }
      }
    }
  }
  bool ok = differ == 0;
  if (pushed != nullptr) {
    std::printf("\npushed vs materialized states: %lld pairs checked, %lld values differ\n",
                static_cast<long long>(checked), static_cast<long long>(differ));
  }
  std::printf("\nGetOnlineFeatures, 1 pair per call, RocksDB, calls alternating:\n");
  for (int s = 0; s < 2; ++s) {
    const double share = static_cast<double>(present[s]) / static_cast<double>(values[s]);
    std::printf("%s: %.1f%% of values PRESENT\n", services[s], 100 * share);
    larder::bench::ReportLatency(services[s], std::move(micros[s]));
    ok = ok && share > 0.2;
  }
  return ok ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  Flags flags;
  if (!ParseFlags(argc, argv, &flags)) {
    std::fprintf(stderr,
                 "usage: %s [--scale S] [--dir DIR] [--batches N,N] [--iters N>=100] "
                 "[--skip-push] [--skip-read] [--end-now]\n",
                 argv[0]);
    return 2;
  }
  fs::create_directories(flags.dir);
  flags.dir = fs::canonical(flags.dir).string();
  if (flags.end_now && !fs::exists(fs::path(flags.dir) / "data/raw/ratings.parquet")) {
    if (!fs::exists(fs::path(flags.dir) / "feature_store.yaml")) {
      if (Status st = larder::repo::WriteTemplate("book_recs", flags.dir); !st.ok()) return Fail(st);
    }
    larder::book_recs::GenerateOptions gen;
    gen.scale = flags.scale;
    gen.out_dir = (fs::path(flags.dir) / "data/raw").string();
    gen.end = std::chrono::duration_cast<std::chrono::seconds>(
                  std::chrono::system_clock::now().time_since_epoch())
                  .count();
    auto stats = larder::book_recs::Generate(gen);
    if (!stats.ok()) return Fail(stats.status());
    std::printf("setup: generated %lld ratings ending now in %.1fs\n",
                static_cast<long long>(stats->ratings), stats->seconds);
  }
  if (Status st = larder::bench::PrepareBookRecsRepo(flags.scale, flags.dir); !st.ok()) {
    return Fail(st);
  }
  if (Status st = AddPlainTwin(flags.dir); !st.ok()) return Fail(st);
  larder::FeatureStoreOptions store_options;
  store_options.repo_dir = flags.dir;
  if (flags.no_window_cache) store_options.window_value_cache_bytes = 0;
  auto store = larder::FeatureStore::Open(store_options);
  if (!store.ok()) return Fail(store.status());
  if (auto applied = (*store)->Apply(); !applied.ok()) return Fail(applied.status());
  auto repo = (*store)->Registered();
  if (!repo.ok()) return Fail(repo.status());

  Layouts views;
  for (const char* name : kAggViewNames) {
    auto view = std::find_if(repo->feature_views.begin(), repo->feature_views.end(),
                             [&](const larder::FeatureView& v) { return v.name == name; });
    if (view == repo->feature_views.end()) {
      return Fail(Status::NotFound(std::string("feature view ") + name));
    }
    auto layout = larder::aggregation::TileLayout::ForView(*view);
    if (!layout.ok()) return Fail(layout.status());
    views.names.push_back(name);
    views.layouts.push_back(std::move(*layout));
    views.by_book.push_back(view->entities == std::vector<std::string>{"book"});
  }
  auto ratings = LoadRatings(flags.dir, views.layouts[0].columns()[0].dtype);
  if (!ratings.ok()) return Fail(ratings.status());
  if (ratings->size() < 100) return Fail(Status::Internal("too few ratings"));

  std::unique_ptr<larder::OnlineStore> pushed;
  if (!flags.skip_push) {
    if (int rc = BenchPush(flags, views, *ratings, &pushed); rc != 0) return rc;
    size_t state_bytes = 0;
    if (int rc = BenchMergeOnly(flags, views, *ratings, &state_bytes); rc != 0) return rc;
    if (int rc = BenchStoreFloor(flags, views, *ratings, state_bytes); rc != 0) return rc;
  }
  if (!flags.skip_read) return BenchRead(flags, **store, *ratings, views, pushed.get());
  return 0;
}
