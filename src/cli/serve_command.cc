// `larder serve`: the HTTP feature server, until SIGINT or SIGTERM.
#include <signal.h>

#include <charconv>
#include <chrono>
#include <cstdlib>
#include <cstdio>
#include <iostream>
#include <algorithm>
#include <thread>

#include "cli/handlers.h"
#include "cli/store_access.h"
#include "cli/stream_flags.h"
#include "orchestrate/schedule_runner.h"
#include "server/feature_endpoints.h"
#include "server/http_server.h"
#include "server/line_log.h"
#include "server/server_metrics.h"

namespace larder::cli {
namespace {

// The value of environment variable `name` when set and non-empty, else
// `fallback`.
std::string EnvOr(const char* name, const std::string& fallback) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? value : fallback;
}

// `path` relative to the repo root unless absolute; "" stays "".
std::string ResolveInRepo(const FeatureStore& store, const std::string& path) {
  if (path.empty() || path.front() == '/') return path;
  return store.repo_root() + "/" + path;
}

}  // namespace

int ServeCommand(const Invocation& inv, Output& o) {
  server::HttpServerOptions http;
  if (inv.Has("--host")) http.host = inv.Flag("--host");
  if (inv.Has("--port") && !ParseInt(inv.Flag("--port"), 0, 65535, &http.port)) {
    o.err << "larder: --port takes 0..65535\n";
    return kExitUsage;
  }
  if (inv.Has("--workers") && !ParseInt(inv.Flag("--workers"), 1, 256, &http.workers)) {
    o.err << "larder: --workers takes 1..256\n";
    return kExitUsage;
  }
  if (inv.Has("--max-connections") &&
      !ParseInt<size_t>(inv.Flag("--max-connections"), 1, size_t{1} << 24, &http.max_connections)) {
    o.err << "larder: --max-connections takes 1..16777216\n";
    return kExitUsage;
  }
  if (inv.Has("--max-inflight-bytes") &&
      !ParseInt<size_t>(inv.Flag("--max-inflight-bytes"), 1, size_t{1} << 50,
                        &http.max_inflight_bytes)) {
    o.err << "larder: --max-inflight-bytes takes a positive number of bytes\n";
    return kExitUsage;
  }
  FeatureStoreOptions store_options;
  if (inv.Has("--window-value-cache-mb")) {
    size_t mb = 0;
    if (!ParseInt<size_t>(inv.Flag("--window-value-cache-mb"), 0, size_t{1} << 20, &mb)) {
      o.err << "larder: --window-value-cache-mb takes 0..1048576\n";
      return kExitUsage;
    }
    store_options.window_value_cache_bytes = mb << 20;
  }
  auto store = OpenStore(inv, o, store_options);
  if (!store) return kExitError;
  std::shared_ptr<OnlineStore> scheduler_online;
  Result<serving::OnlineService*> service = store->OnlineServing();
  if (!service.ok()) return ReportError(o, service.status());
  if (inv.Has("--schedule")) {
    // The scheduler writes through the server's online store (an embedded
    // store admits one opener per process); taken before any thread starts.
    Result<std::shared_ptr<OnlineStore>> online = store->SharedOnlineStore();
    if (!online.ok()) return ReportError(o, online.status());
    scheduler_online = *online;
  }
  const FeatureServerConfig& config = store->config().feature_server;
  http.max_body_bytes = static_cast<size_t>(config.max_request_bytes);
  http.read_timeout = std::chrono::milliseconds(config.read_timeout_ms);
  http.tls_cert_file = ResolveInRepo(*store, config.tls_cert_file);
  http.tls_key_file = ResolveInRepo(*store, config.tls_key_file);
  server::FeatureEndpointOptions endpoints;
  endpoints.max_entity_rows = static_cast<size_t>(config.max_entity_rows);
  endpoints.auth_token = EnvOr("LARDER_AUTH_TOKEN", config.auth_token);
  endpoints.write_token = EnvOr("LARDER_WRITE_TOKEN", config.write_token);
  server::ServerMetrics metrics;
  http.counters = &metrics.http_counters();
  const bool stream = inv.Has("--stream");
  StreamOptions stream_options;
  stream_options.sources = SplitCommaList(inv.Flag("--stream-sources"));
  for (const char* flag : {"--stream-sources", "--poll-ms", "--records-per-call"}) {
    if (!stream && inv.Has(flag)) {
      o.err << "larder: " << flag << " needs --stream\n";
      return kExitUsage;
    }
  }
  if (!ParseStreamFlags(inv, o, &stream_options)) return kExitUsage;
  const bool scheduled = inv.Has("--schedule");
  orchestrate::ScheduleRunnerOptions schedule_options;
  if (inv.Has("--concurrency") &&
      (!scheduled || !ParseInt(inv.Flag("--concurrency"), 1, 64, &schedule_options.concurrency))) {
    o.err << "larder: --concurrency takes 1..64, with --schedule\n";
    return kExitUsage;
  }
  // Writes of the endpoints and of the stream consumer take turns.
  std::timed_mutex write_mutex;
  server::StreamMetrics stream_metrics;
  if (stream) metrics.AttachStream(&stream_metrics);
  // Writes wait for each other and materializations take seconds: they run
  // off the workers' event loops, so reads on the same worker go on.
  http.runs_long = [](std::string_view path) {
    return path == "/push" || path == "/write-to-online-store" || path == "/materialize" ||
           path == "/materialize-incremental";
  };

  // SIGINT and SIGTERM are taken by sigwait below, in this thread only:
  // block them before the workers start so that they inherit the mask.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  // One line per request, written in batches by a background thread.
  server::LineLog log(o.err);
  http.log = [&log](const std::string& line) { log.Add(line); };
  endpoints.log = http.log;
  // The endpoints write through `store` from one thread at a time; reads go
  // through the service, which has its own registry connection.
  server::FeatureServerHandlers handlers =
      server::FeatureEndpointHandlers({*service, store.get(), &metrics, &write_mutex}, endpoints);
  http.check_head = std::move(handlers.check_head);
  auto server = server::HttpServer::Start(http, std::move(handlers.handler));
  if (!server.ok()) return ReportError(o, server.status());
  const unsigned workers = http.workers > 0 ? static_cast<unsigned>(http.workers)
                                            : std::max(1u, std::thread::hardware_concurrency());
  o.out << "Serving " << store->config().project << " on "
        << (http.tls_cert_file.empty() ? "http" : "https") << "://" << http.host << ":"
        << (*server)->port() << " with " << workers << " workers, at most "
        << (http.max_connections > 0 ? http.max_connections : server::DefaultMaxConnections())
        << " connections"
        << (endpoints.auth_token.empty() && endpoints.write_token.empty() ? "" : ", tokens required")
        << "; stop with Ctrl-C or SIGTERM\n"
        << std::flush;
  std::unique_ptr<orchestrate::ScheduleRunner> scheduler;
  orchestrate::SchedulerMetrics scheduler_metrics;
  if (scheduled) {
    schedule_options.metrics = &scheduler_metrics;
    schedule_options.online_store = scheduler_online;

    metrics.AttachSection([&scheduler_metrics] {
      return scheduler_metrics.Render(std::chrono::duration_cast<std::chrono::microseconds>(
                                          std::chrono::system_clock::now().time_since_epoch())
                                          .count());
    });
    schedule_options.log = [&log](const std::string& line) { log.Add("larder schedule: " + line); };
    Result<std::unique_ptr<orchestrate::ScheduleRunner>> started =
        orchestrate::ScheduleRunner::Start(*store, schedule_options);
    if (!started.ok()) {
      (*server)->Stop();
      return ReportError(o, started.status());
    }
    scheduler = std::move(*started);
  }
  std::unique_ptr<BackgroundStream> consumer;
  if (stream) {
    stream_options.write_mutex = &write_mutex;
    consumer = std::make_unique<BackgroundStream>(*store, stream_options, stream_metrics,
                                                  [&log](const std::string& line) { log.Add(line); });
    log.Add("larder serve: consuming the stream sources (larder_stream_* in /metrics)");
  }
  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  log.Add("larder serve: signal " + std::to_string(signal_number) +
          ", draining in-flight requests");
  if (consumer) {
    consumer->Stop();  // after its current batch and checkpoint
    log.Add("larder serve: stream consumer stopped");
  }
  if (scheduler) {
    scheduler->Stop();  // running tasks finish
    Result<orchestrate::SchedulerReport> report = scheduler->Wait();
    log.Add(report.ok() ? "larder serve: scheduler stopped"
                        : "larder serve: scheduler stopped: " + report.status().message());
  }
  (*server)->Stop();
  log.Add("larder serve: stopped");
  return kExitOk;
}

}  // namespace larder::cli
