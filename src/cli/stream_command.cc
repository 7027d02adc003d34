// `larder stream`: consume the repo's kinesis sources (larder/stream.h).
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>

#include "cli/handlers.h"
#include "cli/store_access.h"
#include "common/progress.h"

namespace larder::cli {
namespace {

std::atomic<bool> g_stop{false};

void OnStopSignal(int) { g_stop.store(true); }

// "12,345 records (2,345/s), 12,300 rows pushed, 45 dead letters, 2 shards, 150 ms behind".
std::string StatusLine(const StreamProgress& p, double rate) {
  int64_t behind = 0;
  for (const auto& s : p.shards) behind = std::max(behind, s.millis_behind_latest);
  char line[256];
  std::snprintf(line, sizeof line,
                "%lld records (%.0f/s), %lld rows pushed, %lld dead letters, %zu shards, "
                "%lld ms behind",
                static_cast<long long>(p.records), rate, static_cast<long long>(p.rows_pushed),
                static_cast<long long>(p.dead_letters), p.shards.size(),
                static_cast<long long>(behind));
  return line;
}

}  // namespace

int StreamCommand(const Invocation& inv, Output& o) {
  StreamOptions options;
  options.sources = SplitCommaList(inv.Flag("--sources"));
  if (inv.Has("--shard-count") && !ParseInt(inv.Flag("--shard-count"), 1, 1 << 20,
                                            &options.shard_count)) {
    o.err << "larder: --shard-count takes 1..1048576\n";
    return kExitUsage;
  }
  if (inv.Has("--shard-index") &&
      !ParseInt(inv.Flag("--shard-index"), 0, options.shard_count - 1, &options.shard_index)) {
    o.err << "larder: --shard-index takes 0.." << options.shard_count - 1
          << " (one less than --shard-count)\n";
    return kExitUsage;
  }
  if (inv.Has("--records-per-call") &&
      !ParseInt(inv.Flag("--records-per-call"), 1, 10000, &options.records_per_call)) {
    o.err << "larder: --records-per-call takes 1..10000\n";
    return kExitUsage;
  }
  if (inv.Has("--poll-ms")) {
    int ms = 0;
    if (!ParseInt(inv.Flag("--poll-ms"), 1, 60000, &ms)) {
      o.err << "larder: --poll-ms takes 1..60000\n";
      return kExitUsage;
    }
    options.poll_interval = std::chrono::milliseconds(ms);
  }
  options.until_idle = inv.Has("--until-idle");
  // SIGINT and SIGTERM finish the current batch and its checkpoint, then stop.
  struct sigaction action {};
  action.sa_handler = OnStopSignal;
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
  options.stop = [] { return g_stop.load(); };
  const bool interactive = IsTerminal(STDERR_FILENO);
  auto last_line = std::chrono::steady_clock::now();
  int64_t last_records = 0;
  options.progress = [&](const StreamProgress& p) {
    const auto now = std::chrono::steady_clock::now();
    const double since = std::chrono::duration<double>(now - last_line).count();
    if (since < (interactive ? 1.0 : 10.0)) return;
    const std::string line =
        StatusLine(p, static_cast<double>(p.records - last_records) / since);
    o.err << (interactive ? "\r" : "") << "larder stream: " << line << (interactive ? "" : "\n");
    o.err.flush();
    last_line = now;
    last_records = p.records;
  };

  auto store = OpenStore(inv, o);
  if (!store) return kExitError;
  Result<StreamProgress> done = store->Stream(options);
  if (interactive) o.err << "\n";
  if (!done.ok()) return ReportError(o, done.status());
  o.out << "Streamed " << StatusLine(*done, done->seconds > 0
                                                ? static_cast<double>(done->records) / done->seconds
                                                : 0)
        << " in " << static_cast<int64_t>(done->seconds * 1000) << " ms"
        << (g_stop.load() ? " (stopped by a signal; checkpoints saved)" : "") << "\n";
  for (const StreamShardProgress& s : done->shards) {
    o.out << "  " << s.source << " " << s.shard << ": " << s.records << " records, "
          << s.dead_letters << " dead letters, checkpoint " << (s.checkpoint.empty() ? "-" : s.checkpoint)
          << (s.closed ? " (drained)" : "") << "\n";
  }
  return kExitOk;
}

}  // namespace larder::cli
