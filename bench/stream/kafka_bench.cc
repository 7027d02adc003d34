// Benchmark: `larder stream`'s consumer reading from a real Kafka broker.
//
//   bench/stream/run.sh kafka [--records N] [--partitions N] [--records-per-call N]
//                             [--to online|online_and_offline] [--plain-only]
//
// run.sh starts a broker (scripts/kafka.sh, from the Maven Central jars that
// scripts/bootstrap.sh installs) on a free loopback port and runs this
// program with --bootstrap. It writes a repo in DIR (default
// /tmp/larder_kafka_bench) whose kafka source feeds an aggregation view
// (mean and count of x over 1d and 7d, 10-minute interval) and a plain view
// (the latest x) per user, or with --plain-only the plain view alone. It
// produces N JSON records (100,000 users drawn at random, event times over
// the last day) into a fresh topic, lets the consumer join its group on one
// record, then times FeatureStore::Stream over the N records until it is
// caught up. It prints records/s over the wall time and over the time spent
// decoding and applying, the process's CPU time (librdkafka fetches on its
// own threads), and how the wall time splits between waiting on the broker
// and decoding, pushing and checkpointing.

#include <chrono>
#include <cstdio>
#include <random>
#include <string>

#include "larder/feature_store.h"
#include "stream/kafka/kafka_client.h"
#include "stream_bench_repo.h"

namespace {

using larder::bench::CpuSeconds;
using larder::bench::Fail;
using Clock = std::chrono::steady_clock;

constexpr std::chrono::seconds kTimeout{60};

larder::Status Produce(larder::stream::KafkaProducer& producer, const std::string& topic,
                       int records, std::mt19937_64& rng) {
  const int64_t now_s = std::chrono::duration_cast<std::chrono::seconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
  for (int i = 0; i < records; ++i) {
    const larder::bench::BenchRecord r = larder::bench::MakeBenchRecord(rng, now_s);
    LARDER_RETURN_IF_ERROR(producer.Produce(topic, -1, r.key, r.json));
  }
  return producer.Flush(kTimeout);
}

}  // namespace

int main(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  std::string bootstrap, dir = "/tmp/larder_kafka_bench", to = "online";
  int records = 200000, partitions = 4, per_call = 100000;
  bool plain_only = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--plain-only") {
      plain_only = true;
      continue;
    }
    if (i + 1 >= argc) {
      std::fprintf(stderr, "%s needs a value\n", a.c_str());
      return 2;
    }
    const std::string v = argv[++i];
    if (a == "--bootstrap") bootstrap = v;
    else if (a == "--dir") dir = v;
    else if (a == "--to") to = v;
    else if (a == "--records") records = std::stoi(v);
    else if (a == "--partitions") partitions = std::stoi(v);
    else if (a == "--records-per-call") per_call = std::stoi(v);
    else {
      std::fprintf(stderr, "unknown flag %s\n", a.c_str());
      return 2;
    }
  }
  if (bootstrap.empty() || records < 1 || partitions < 1) {
    std::fprintf(stderr, "usage: %s --bootstrap HOST:PORT [--records N] [--partitions N]\n",
                 argv[0]);
    return 2;
  }
  // A fresh topic and group per run, so that a broker can serve several runs.
  const std::string topic =
      "bench_ratings_" + std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(
                                            std::chrono::system_clock::now().time_since_epoch())
                                            .count());
  larder::Status written = larder::bench::WriteStreamBenchRepo(
      dir,
      "type: kafka, bootstrap_servers: '" + bootstrap + "', topic: " + topic + ", group_id: " + topic,
      to,
      plain_only);
  if (!written.ok()) return Fail(written);
  auto producer = larder::stream::KafkaProducer::Open({.bootstrap_servers = bootstrap});
  if (!producer.ok()) return Fail(producer.status());
  if (auto s = (*producer)->CreateTopic(topic, partitions, kTimeout); !s.ok()) return Fail(s);
  auto store = larder::FeatureStore::Open({.repo_dir = dir, .clock = {}, .after_offline_push = {}});
  if (!store.ok()) return Fail(store.status());

  larder::StreamOptions options;
  options.until_idle = true;
  options.records_per_call = per_call;
  options.poll_interval = std::chrono::milliseconds(50);
  // A static member: the timed run takes the warm-up's partitions back at
  // once instead of joining the group anew.
  options.consumer_id = "bench";
  std::mt19937_64 rng(7);
  if (auto s = Produce(**producer, topic, 1, rng); !s.ok()) return Fail(s);
  const auto join_start = Clock::now();
  auto warm = (*store)->Stream(options);
  if (!warm.ok()) return Fail(warm.status());
  std::printf("warm-up: joined the group and read %lld record in %.2f s\n",
              static_cast<long long>(warm->records),
              std::chrono::duration<double>(Clock::now() - join_start).count());

  const auto put_start = Clock::now();
  if (auto s = Produce(**producer, topic, records, rng); !s.ok()) return Fail(s);
  const double put_s = std::chrono::duration<double>(Clock::now() - put_start).count();
  std::printf("produced %d records into %d partitions in %.2f s (%.0f records/s)\n", records,
              partitions, put_s, records / put_s);

  const double cpu0 = CpuSeconds();
  const auto start = Clock::now();
  Clock::time_point first_applied{};
  options.progress = [&](const larder::StreamProgress& p) {
    if (p.records > 0 && first_applied == Clock::time_point{}) first_applied = Clock::now();
  };
  auto done = (*store)->Stream(options);
  const double wall = std::chrono::duration<double>(Clock::now() - start).count();
  const double cpu = CpuSeconds() - cpu0;
  if (!done.ok()) return Fail(done.status());
  // The run ends after two passes that each waited poll_interval for nothing.
  const double idle_tail = 2 * 0.05;
  std::printf("views: %s; to: %s; %d records per pass\n",
              plain_only ? "latest (plain)" : "agg (4 windows) + latest", to.c_str(), per_call);
  std::printf("consumed %lld records (%lld rows pushed, %lld dead letters) in %.2f s: %.0f "
              "records/s (%.0f/s without the %.1f s idle tail)\n",
              static_cast<long long>(done->records), static_cast<long long>(done->rows_pushed),
              static_cast<long long>(done->dead_letters), wall,
              static_cast<double>(done->records) / wall,
              static_cast<double>(done->records) / std::max(1e-9, wall - idle_tail), idle_tail);
  std::printf("decode + apply + checkpoint: %.2f s, %.0f records/s, %.2f us per record\n",
              done->apply_seconds,
              static_cast<double>(done->records) / std::max(1e-9, done->apply_seconds),
              1e6 * done->apply_seconds / static_cast<double>(std::max<int64_t>(1, done->records)));
  std::printf("waiting on the broker (polls): %.2f s (%.0f%% of the wall time); the first "
              "batch was applied %.2f s after the start\n",
              done->read_seconds, 100 * done->read_seconds / wall,
              std::chrono::duration<double>(first_applied - start).count());
  std::printf("process CPU %.2f s = %.0f%% of one core over the wall time\n", cpu,
              100 * cpu / wall);
  return done->records == records ? 0 : 1;
}
