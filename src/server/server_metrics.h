// ServerMetrics: the feature server's counters, rendered for Prometheus
// (GET /metrics, text exposition format 0.0.4).
//
//   larder_requests_total{endpoint="/push",status="200"}      counter
//   larder_request_duration_seconds{endpoint=...,status=...}  histogram
//   larder_rows_pushed_total{target="online"|"offline"}       counter
//   larder_online_store_errors_total                          counter
//   larder_registry_version                                   gauge
//   larder_connections_open                                   gauge
//   larder_connections_refused_total{reason=...}              counter
//   larder_idle_connections_closed_total                      counter
//   larder_requests_refused_for_memory_total{reason=...}      counter
//   larder_stream_*, when a stream consumer runs in the server (server/stream_metrics.h)
//
// The connection and memory counts are HttpServerCounters that the
// HttpServer keeps (give it http_counters()).
// Endpoints are a fixed list (unknown paths count as "other"); statuses are
// those the server sends. Recording is lock-free (relaxed atomics), so it
// costs a few nanoseconds on the request path.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "server/http_server.h"
#include "server/stream_metrics.h"

namespace larder::server {

class ServerMetrics {
 public:
  static constexpr std::array<std::string_view, 10> kEndpoints{
      "/health",      "/get-online-features",     "/push",    "/write-to-online-store",
      "/delete-from-online-store", "/materialize", "/materialize-incremental", "/metrics",
      "/",            "other"};
  static constexpr std::array<int, 11> kStatuses{200, 400, 401, 403, 404, 405,
                                                 413, 500, 503, 507, 0};
  // Histogram bucket upper bounds, in seconds.
  static constexpr std::array<double, 14> kBuckets{0.0001, 0.00025, 0.0005, 0.001, 0.0025,
                                                   0.005,  0.01,    0.025,  0.05,  0.1,
                                                   0.25,   1,       5,      30};

  // Counts one request to `path` that got `status` after `seconds`.
  void Record(std::string_view path, int status, double seconds);
  void AddRowsPushed(bool online, int64_t rows);
  void AddOnlineStoreError();
  void SetRegistryVersion(int64_t version);
  // What the HttpServer counts of connections and memory refusals.
  HttpServerCounters& http_counters() { return http_; }
  // The stream consumer's metrics, rendered after the server's (`larder
  // serve --stream`); not owned, must outlive this.
  void AttachStream(const StreamMetrics* stream) { stream_ = stream; }
  // More metrics, rendered last: the scheduler's (`larder serve
  // --schedule`). Called from the threads that render; must be thread-safe.
  void AttachSection(std::function<std::string()> render) { section_ = std::move(render); }

  // The text exposition of every metric.
  std::string Render() const;

 private:
  struct Series {
    std::atomic<uint64_t> count{0};
    std::atomic<uint64_t> sum_nanos{0};
    std::array<std::atomic<uint64_t>, kBuckets.size()> buckets{};  // non-cumulative
  };
  static size_t EndpointIndex(std::string_view path);
  static size_t StatusIndex(int status);

  std::array<std::array<Series, kStatuses.size()>, kEndpoints.size()> series_{};
  std::atomic<int64_t> rows_online_{0};
  std::atomic<int64_t> rows_offline_{0};
  std::atomic<int64_t> store_errors_{0};
  std::atomic<int64_t> registry_version_{0};
  HttpServerCounters http_;
  const StreamMetrics* stream_ = nullptr;
  std::function<std::string()> section_;
};

}  // namespace larder::server
