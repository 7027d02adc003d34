// StreamMetrics: the stream consumer's progress (larder/stream.h) for
// Prometheus, from `larder serve --stream` (with the server's metrics) or
// `larder stream --metrics-port`:
//
//   larder_stream_records_total{source,shard}              counter
//   larder_stream_records_per_second{source,shard}         gauge, over ~10 s
//   larder_stream_dead_letters_total{source,shard}         counter
//   larder_stream_millis_behind_latest{source,shard}       gauge (Kinesis MillisBehindLatest)
//   larder_stream_iterator_age_milliseconds{source,shard}  gauge: now - the arrival of the
//                                                          last record read, while behind
//   larder_stream_last_checkpoint_timestamp_seconds{source,shard}  gauge
//   larder_stream_shard_drained{source,shard}              gauge, 1 after a reshard
//   larder_stream_view_rows_total{view,outcome}            counter: written | skipped
//   larder_stream_running                                  gauge, 1 while consuming
//   larder_stream_failures_total                           counter: consumer runs that failed
//
// Thread-safe: Update from the consumer, Render from request threads.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <utility>

#include "larder/stream.h"

namespace larder::server {

class StreamMetrics {
 public:
  using Clock = std::chrono::steady_clock;

  // The consumer's totals after a checkpoint (StreamOptions::progress).
  void Update(const StreamProgress& progress);
  void SetRunning(bool running);
  void AddFailure();

  // The text exposition; `now_ms` is the wall clock in ms since the epoch.
  std::string Render(int64_t now_ms) const;
  std::string Render() const;

 private:
  struct Shard {
    StreamShardProgress progress;
    std::deque<std::pair<Clock::time_point, int64_t>> samples;  // (when, records)
  };

  mutable std::mutex mu_;
  std::map<std::pair<std::string, std::string>, Shard> shards_;
  std::map<std::string, StreamViewProgress> views_;
  bool running_ = false;
  int64_t failures_ = 0;
};

}  // namespace larder::server
