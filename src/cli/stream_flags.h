// The consumer's flags, shared by `larder stream` and `larder serve
// --stream`, and the thread that runs a consumer beside the feature server.
#pragma once

#include <atomic>
#include <functional>
#include <string>
#include <thread>

#include "cli/command.h"
#include "larder/feature_store.h"
#include "server/stream_metrics.h"

namespace larder::cli {

// Reads --shard-index, --shard-count, --records-per-call and --poll-ms into
// `options`; false after printing the usage error.
bool ParseStreamFlags(const Invocation& inv, Output& o, StreamOptions* options);

// Runs FeatureStore::Stream on a thread of its own until Stop(), feeding
// `metrics`. A run that fails (the stream service is down, say) is logged
// and started again after a backoff of 1 s doubling to 30 s; its
// checkpoints make the restart exact.
class BackgroundStream {
 public:
  BackgroundStream(FeatureStore& store, StreamOptions options, server::StreamMetrics& metrics,
                   std::function<void(const std::string&)> log);
  ~BackgroundStream();  // Stop()s
  // Asks the consumer to stop after its current batch and joins it.
  void Stop();

 private:
  void Run();

  FeatureStore& store_;
  StreamOptions options_;
  server::StreamMetrics& metrics_;
  std::function<void(const std::string&)> log_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace larder::cli
