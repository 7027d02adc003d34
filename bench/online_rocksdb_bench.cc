// Benchmark: the RocksDB online store's batched reads and conditional writes.
//
//   larder_bench_online_rocksdb [--entities N] [--iters N] [--dir DIR]
//
// Writes N entities (default 200000) of a view shaped like the example's
// user_agg_rating_features (a Float64 and an Int64) in batches of 1000 and
// reports the write rate; replays the same batches (every record skipped:
// the conditional-write read path); reopens the store so reads come from
// tables, warms up, then times OnlineStore::MultiGet for 1 key and for 100
// random keys (a tenth of them absent), then MultiGetViews over six such
// views (a feature service) for 1 and 100 keys, and prints p50/p99/max in
// microseconds.
// Single thread, in process; the store lives in a fresh temp dir unless
// --dir is given.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "larder/online_store.h"

namespace {

using Clock = std::chrono::steady_clock;
using larder::EntityKey;
using larder::OnlineRecord;
using larder::OnlineStore;
using larder::OnlineView;
using larder::ScalarType;
using larder::Value;

double Micros(Clock::duration d) {
  return std::chrono::duration<double, std::micro>(d).count();
}

void Report(const char* what, std::vector<double> samples) {
  std::sort(samples.begin(), samples.end());
  auto at = [&](double q) { return samples[static_cast<size_t>(q * (samples.size() - 1))]; };
  std::printf("%-28s n=%-7zu p50=%8.2f us  p99=%8.2f us  max=%9.2f us\n", what, samples.size(),
              at(0.5), at(0.99), samples.back());
}

EntityKey User(int64_t id) { return {{"user_id"}, {Value::Int64(id)}}; }

int Fail(const larder::Status& s) {
  std::fprintf(stderr, "error: %s\n", s.ToString().c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  int64_t entities = 200000;
  int iters = 20000;
  std::string dir;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    if (flag == "--entities") entities = std::atoll(argv[i + 1]);
    else if (flag == "--iters") iters = std::atoi(argv[i + 1]);
    else if (flag == "--dir") dir = argv[i + 1];
    else {
      std::fprintf(stderr, "usage: %s [--entities N] [--iters N] [--dir DIR]\n", argv[0]);
      return 2;
    }
  }
  bool temp = dir.empty();
  if (temp) {
    char tmpl[] = "/tmp/larder_online_bench_XXXXXX";
    if (mkdtemp(tmpl) == nullptr) return 1;
    dir = tmpl;
  }
  larder::OnlineStoreOptions options;
  options.project = "bench";
  options.repo_root = dir;
  OnlineView view("user_agg_rating_features",
                  {{"avg_yr_user_rating", {ScalarType::kFloat64, false}},
                   {"count_yr_user_rating", {ScalarType::kInt64, false}}});
  std::vector<std::vector<OnlineRecord>> batches;
  for (int64_t start = 0; start < entities; start += 1000) {
    std::vector<OnlineRecord> batch;
    for (int64_t id = start; id < std::min(entities, start + 1000); ++id) {
      batch.push_back({User(id), 1700000000000000 + id, 0,
                       {Value::Float64(static_cast<double>(id % 10)), Value::Int64(id % 97)}});
    }
    batches.push_back(std::move(batch));
  }
  {
    auto store = OnlineStore::Open(options);
    if (!store.ok()) return Fail(store.status());
    for (int pass = 0; pass < 2; ++pass) {
      auto t0 = Clock::now();
      int64_t written = 0, skipped = 0;
      for (const auto& b : batches) {
        auto w = (*store)->Write(view, b);
        if (!w.ok()) return Fail(w.status());
        written += w->written;
        skipped += w->skipped;
      }
      double secs = Micros(Clock::now() - t0) / 1e6;
      std::printf("%s %lld records: %.3f s (%.0f records/s; written %lld, skipped %lld)\n",
                  pass == 0 ? "write " : "replay", static_cast<long long>(entities), secs,
                  static_cast<double>(entities) / secs, static_cast<long long>(written),
                  static_cast<long long>(skipped));
    }
  }
  auto store = OnlineStore::Open(options);  // reopen: reads come from tables
  if (!store.ok()) return Fail(store.status());
  std::mt19937_64 rng(42);
  std::vector<larder::OnlineReadResult> results;
  auto random_key = [&] {
    // A tenth of the keys are absent (ids beyond the written range).
    int64_t id = static_cast<int64_t>(rng() % static_cast<uint64_t>(entities + entities / 9));
    return User(id);
  };
  for (int i = 0; i < 20000; ++i) {  // warm the cache
    std::vector<EntityKey> k{random_key()};
    if (auto s = (*store)->MultiGet(view, k, &results); !s.ok()) return Fail(s);
  }
  for (int batch : {1, 100}) {
    int n = batch == 1 ? iters : std::max(1, iters / 10);
    std::vector<double> samples;
    samples.reserve(n);
    std::vector<EntityKey> keys(batch);
    for (int i = 0; i < n; ++i) {
      for (auto& k : keys) k = random_key();
      auto t0 = Clock::now();
      larder::Status s = (*store)->MultiGet(view, keys, &results);
      samples.push_back(Micros(Clock::now() - t0));
      if (!s.ok()) return Fail(s);
    }
    Report(batch == 1 ? "MultiGet 1 key" : "MultiGet 100 keys", std::move(samples));
  }
  // A feature service: the same entities in six views, read in one call.
  std::vector<OnlineView> views;
  for (int v = 0; v < 6; ++v) views.emplace_back("view_" + std::to_string(v), view.features());
  for (const OnlineView& v : views) {
    for (const auto& b : batches) {
      auto w = (*store)->Write(v, b);
      if (!w.ok()) return Fail(w.status());
    }
  }
  store->reset();
  store = OnlineStore::Open(options);
  if (!store.ok()) return Fail(store.status());
  for (int batch : {1, 100}) {
    int n = batch == 1 ? iters : std::max(1, iters / 10);
    std::vector<double> samples;
    samples.reserve(n);
    std::vector<EntityKey> keys(batch);
    std::vector<std::vector<larder::OnlineReadResult>> per_view(views.size());
    std::vector<larder::OnlineViewRead> reads;
    for (size_t v = 0; v < views.size(); ++v) reads.push_back({&views[v], keys, &per_view[v]});
    for (int i = -2000; i < n; ++i) {  // negative i: warm-up
      for (auto& k : keys) k = random_key();
      auto t0 = Clock::now();
      larder::Status s = (*store)->MultiGetViews(reads);
      if (i >= 0) samples.push_back(Micros(Clock::now() - t0));
      if (!s.ok()) return Fail(s);
    }
    Report(batch == 1 ? "MultiGetViews 6 views x 1" : "MultiGetViews 6 views x 100",
           std::move(samples));
  }
  store->reset();
  if (temp) {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
  return 0;
}
