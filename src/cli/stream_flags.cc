#include "cli/stream_flags.h"

#include <chrono>

#include "cli/store_access.h"

namespace larder::cli {

bool ParseStreamFlags(const Invocation& inv, Output& o, StreamOptions* options) {
  if (inv.Has("--shard-count") &&
      !ParseInt(inv.Flag("--shard-count"), 1, 1 << 20, &options->shard_count)) {
    o.err << "larder: --shard-count takes 1..1048576\n";
    return false;
  }
  if (inv.Has("--shard-index") &&
      !ParseInt(inv.Flag("--shard-index"), 0, options->shard_count - 1, &options->shard_index)) {
    o.err << "larder: --shard-index takes 0.." << options->shard_count - 1
          << " (one less than --shard-count)\n";
    return false;
  }
  // Each reader checks its own bound: Kinesis's 10,000 per call, or Kafka's
  // 100,000 per pass.
  if (inv.Has("--records-per-call") &&
      !ParseInt(inv.Flag("--records-per-call"), 1, 100000, &options->records_per_call)) {
    o.err << "larder: --records-per-call takes 1..100000\n";
    return false;
  }
  if (inv.Has("--consumer-id")) options->consumer_id = inv.Flag("--consumer-id");
  if (inv.Has("--poll-ms")) {
    int ms = 0;
    if (!ParseInt(inv.Flag("--poll-ms"), 1, 60000, &ms)) {
      o.err << "larder: --poll-ms takes 1..60000\n";
      return false;
    }
    options->poll_interval = std::chrono::milliseconds(ms);
  }
  return true;
}

BackgroundStream::BackgroundStream(FeatureStore& store, StreamOptions options,
                                   server::StreamMetrics& metrics,
                                   std::function<void(const std::string&)> log)
    : store_(store), options_(std::move(options)), metrics_(metrics), log_(std::move(log)) {
  options_.stop = [this] { return stop_.load(); };
  options_.progress = [this](const StreamProgress& p) { metrics_.Update(p); };
  thread_ = std::thread([this] { Run(); });
}

BackgroundStream::~BackgroundStream() { Stop(); }

void BackgroundStream::Stop() {
  stop_.store(true);
  if (thread_.joinable()) thread_.join();
}

void BackgroundStream::Run() {
  auto backoff = std::chrono::milliseconds(1000);
  while (!stop_.load()) {
    metrics_.SetRunning(true);
    const auto started = std::chrono::steady_clock::now();
    Result<StreamProgress> done = store_.Stream(options_);
    metrics_.SetRunning(false);
    if (done.ok()) break;  // stopped
    metrics_.AddFailure();
    if (std::chrono::steady_clock::now() - started > std::chrono::minutes(1)) {
      backoff = std::chrono::milliseconds(1000);  // it had been running fine
    }
    log_("larder stream: " + done.status().ToString() + "; starting again in " +
         std::to_string(backoff.count() / 1000) + " s");
    for (auto waited = std::chrono::milliseconds(0); waited < backoff && !stop_.load();
         waited += std::chrono::milliseconds(100)) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    backoff = std::min(backoff * 2, std::chrono::milliseconds(30'000));
  }
}

}  // namespace larder::cli
