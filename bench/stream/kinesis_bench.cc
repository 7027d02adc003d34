// Benchmark: `larder stream`'s consumer reading from a real kinesalite.
//
//   bench/stream/run.sh [--records N] [--shards N] [--records-per-call N]
//                       [--to online|online_and_offline]
//
// run.sh starts kinesalite (npm, installed by scripts/bootstrap.sh) on a
// free loopback port and runs this program with --endpoint. It writes a
// repo in DIR (default /tmp/larder_stream_bench) whose kinesis source feeds
// an aggregation view (mean and count of x over 1d and 7d, 10-minute
// interval) and a plain view (the latest x) per user, puts N JSON records
// (100,000 users drawn at random, event times over the last day) into a
// fresh stream of S shards, then times FeatureStore::Stream until it is
// caught up. It prints the consumer's records/s, its CPU time over its wall
// time (kinesalite runs in its own process), and how the wall time splits
// between waiting on kinesalite (ListShards, GetShardIterator, GetRecords)
// and decoding, pushing and checkpointing.

#include <chrono>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "larder/feature_store.h"
#include "offline/duckdb/duckdb_connection.h"
#include "stream/kinesis/kinesis_client.h"
#include "stream_bench_repo.h"

namespace {

using larder::bench::Fail;
using Clock = std::chrono::steady_clock;

using larder::bench::CpuSeconds;

}  // namespace

int main(int argc, char** argv) {
  std::string endpoint, dir = "/tmp/larder_stream_bench", to = "online_and_offline";
  int records = 50000, shards = 4, per_call = 10000;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i], v = argv[i + 1];
    if (a == "--endpoint") endpoint = v;
    else if (a == "--dir") dir = v;
    else if (a == "--to") to = v;
    else if (a == "--records") records = std::stoi(v);
    else if (a == "--shards") shards = std::stoi(v);
    else if (a == "--records-per-call") per_call = std::stoi(v);
    else {
      std::fprintf(stderr, "unknown flag %s\n", a.c_str());
      return 2;
    }
  }
  if (endpoint.empty() || records < 1 || shards < 1) {
    std::fprintf(stderr, "usage: %s --endpoint URL [--records N] [--shards N] [--dir DIR]\n",
                 argv[0]);
    return 2;
  }
  const std::string stream = "bench_ratings";
  auto client = larder::bench::SetUpStreamBench(dir, endpoint, stream, to, shards);
  if (!client.ok()) return Fail(client.status());
  auto store = larder::FeatureStore::Open({.repo_dir = dir, .clock = {}, .after_offline_push = {}});
  if (!store.ok()) return Fail(store.status());

  std::mt19937_64 rng(7);
  const int64_t now_s = std::chrono::duration_cast<std::chrono::seconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
  const auto put_start = Clock::now();
  std::vector<larder::stream::PutRecordsEntry> batch;
  for (int i = 0; i < records; ++i) {
    larder::bench::BenchRecord r = larder::bench::MakeBenchRecord(rng, now_s);
    batch.push_back({std::move(r.key), std::move(r.json)});
    if (batch.size() == 500 || i + 1 == records) {
      auto put = (*client)->PutRecords(stream, batch);
      if (!put.ok()) return Fail(put.status());
      if (put->failed != 0) return Fail(larder::Status::IOError("records failed to put"));
      batch.clear();
    }
  }
  const double put_s = std::chrono::duration<double>(Clock::now() - put_start).count();
  std::printf("put %d records into %d shards in %.2f s (%.0f records/s, kinesalite's PutRecords)\n",
              records, shards, put_s, records / put_s);

  larder::StreamOptions options;
  options.until_idle = true;
  options.records_per_call = per_call;
  options.poll_interval = std::chrono::milliseconds(50);
  const double cpu0 = CpuSeconds();
  const auto start = Clock::now();
  auto done = (*store)->Stream(options);
  const double wall = std::chrono::duration<double>(Clock::now() - start).count();
  const double cpu = CpuSeconds() - cpu0;
  if (!done.ok()) return Fail(done.status());
  std::printf("consumed %lld records (%lld rows pushed, %lld dead letters) in %.2f s: %.0f records/s\n",
              static_cast<long long>(done->records), static_cast<long long>(done->rows_pushed),
              static_cast<long long>(done->dead_letters), wall,
              static_cast<double>(done->records) / wall);
  std::printf("consumer CPU %.2f s = %.0f%% of one core over the wall time\n", cpu,
              100 * cpu / wall);
  std::printf("wall time: %.2f s (%.0f%%) waiting on kinesalite, %.2f s (%.0f%%) decoding, pushing "
              "and checkpointing (%.1f us per record)\n",
              done->read_seconds, 100 * done->read_seconds / wall, done->apply_seconds,
              100 * done->apply_seconds / wall,
              1e6 * done->apply_seconds / static_cast<double>(std::max<int64_t>(1, done->records)));
  return done->records == records ? 0 : 1;
}
