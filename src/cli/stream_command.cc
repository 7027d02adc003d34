// `larder stream`: consume the repo's kinesis sources (larder/stream.h).
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>

#include "cli/handlers.h"
#include "cli/store_access.h"
#include "cli/stream_flags.h"
#include "server/http_server.h"
#include "server/stream_metrics.h"
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
  options.views = SplitCommaList(inv.Flag("--views"));
  if (!options.sources.empty() && !options.views.empty()) {
    o.err << "larder: give --sources or --views, not both\n";
    return kExitUsage;
  }
  if (!ParseStreamFlags(inv, o, &options)) return kExitUsage;
  int metrics_port = -1;
  if (inv.Has("--metrics-port") && !ParseInt(inv.Flag("--metrics-port"), 0, 65535, &metrics_port)) {
    o.err << "larder: --metrics-port takes 0..65535\n";
    return kExitUsage;
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
  // GET /metrics (server/stream_metrics.h) and /health, while consuming.
  server::StreamMetrics metrics;
  std::unique_ptr<server::HttpServer> metrics_server;
  if (metrics_port >= 0) {
    server::HttpServerOptions http;
    http.host = inv.Has("--metrics-host") ? inv.Flag("--metrics-host") : "127.0.0.1";
    http.port = metrics_port;
    http.workers = 1;
    // The server's thread leaves SIGINT and SIGTERM to this one.
    sigset_t stop_signals, old_mask;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop_signals, &old_mask);
    auto started = server::HttpServer::Start(http, [&metrics](const server::HttpRequest& r) {
      const std::string path = r.target.substr(0, r.target.find('?'));
      if (r.method != "GET") return server::HttpResponse{405, R"({"error":"use GET"})"};
      if (path == "/metrics") return server::HttpResponse{200, metrics.Render(), "text/plain; version=0.0.4"};
      if (path == "/health") return server::HttpResponse{200, R"({"status":"ok"})"};
      return server::HttpResponse{404, R"({"error":"endpoints: GET /metrics, /health"})"};
    });
    pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);
    if (!started.ok()) return ReportError(o, started.status().WithContext("--metrics-port"));
    metrics_server = std::move(*started);
    o.err << "larder stream: metrics on http://" << http.host << ":" << metrics_server->port()
          << "/metrics\n";
    o.err.flush();
  }
  auto progress = std::move(options.progress);
  options.progress = [&](const StreamProgress& p) {
    metrics.Update(p);
    progress(p);
  };
  metrics.SetRunning(true);
  Result<StreamProgress> done = store->Stream(options);
  metrics.SetRunning(false);
  if (metrics_server) metrics_server->Stop();
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
