// The repo the stream benchmarks consume into: a kinesis source on
// `endpoint` feeding an aggregation view `agg` (mean and count of x over 1d
// and 7d, 10-minute interval) and a plain view `latest` (the latest x) per
// user, with an empty parquet file as the batch source.
#pragma once

#include <memory>
#include <string>

#include "larder/status.h"
#include "stream/kinesis/kinesis_client.h"

namespace larder::bench {

// Writes the repo into `dir` (emptied first) and applies it. `to` is the
// source's push target ("online", "online_and_offline").
Status WriteStreamBenchRepo(const std::string& dir, const std::string& endpoint,
                            const std::string& stream, const std::string& to);

// Sets test credentials (kinesalite checks only that requests are signed),
// writes the repo as above, and creates its stream of `shards` shards on
// `endpoint`; returns a client of it.
Result<std::unique_ptr<stream::KinesisClient>> SetUpStreamBench(const std::string& dir,
                                                                const std::string& endpoint,
                                                                const std::string& stream,
                                                                const std::string& to,
                                                                int shards);

// Prints `s` to stderr; returns the exit code 1.
int Fail(const Status& s);

// Process CPU time (user + system), in seconds.
double CpuSeconds();

}  // namespace larder::bench
