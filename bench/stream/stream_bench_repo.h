// The repo the stream benchmarks consume into: a kinesis source on
// `endpoint` feeding an aggregation view `agg` (mean and count of x over 1d
// and 7d, 10-minute interval) and a plain view `latest` (the latest x) per
// user, with an empty parquet file as the batch source.
#pragma once

#include <string>

#include "larder/status.h"

namespace larder::bench {

// Writes the repo into `dir` (emptied first) and applies it. `to` is the
// source's push target ("online", "online_and_offline").
Status WriteStreamBenchRepo(const std::string& dir, const std::string& endpoint,
                            const std::string& stream, const std::string& to);

// Process CPU time (user + system), in seconds.
double CpuSeconds();

}  // namespace larder::bench
