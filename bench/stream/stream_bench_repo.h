// The repo the stream benchmarks consume into: a stream source feeding an
// aggregation view `agg` (mean and count of x over 1d and 7d, 10-minute
// interval) and a plain view `latest` (the latest x) per user, with an
// empty parquet file as the batch source.
#pragma once

#include <cstdint>
#include <memory>
#include <random>
#include <string>

#include "larder/status.h"
#include "stream/kinesis/kinesis_client.h"

namespace larder::bench {

// Writes the repo into `dir` (emptied first) and applies it. `source` is
// the stream source's own fields as YAML flow items ("type: kinesis,
// stream_name: ..., ..."); `to` its push target ("online",
// "online_and_offline"). With `plain_only`, the repo has only `latest`.
Status WriteStreamBenchRepo(const std::string& dir, const std::string& source,
                            const std::string& to, bool plain_only = false);

// Sets test credentials (kinesalite checks only that requests are signed),
// writes the repo as above, and creates its stream of `shards` shards on
// `endpoint`; returns a client of it.
Result<std::unique_ptr<stream::KinesisClient>> SetUpStreamBench(const std::string& dir,
                                                                const std::string& endpoint,
                                                                const std::string& stream,
                                                                const std::string& to,
                                                                int shards);

// A record of the bench's source: one of 100,000 users drawn at random, an
// event time in the day before `now_s` (seconds), x in 0..9. Its user is
// the partition key.
struct BenchRecord {
  std::string key;
  std::string json;
};
BenchRecord MakeBenchRecord(std::mt19937_64& rng, int64_t now_s);

// Prints `s` to stderr; returns the exit code 1.
int Fail(const Status& s);

// Process CPU time (user + system), in seconds.
double CpuSeconds();

}  // namespace larder::bench
