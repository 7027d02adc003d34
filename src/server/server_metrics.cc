#include "server/server_metrics.h"

#include <cstdio>

namespace larder::server {
namespace {

std::string FormatDouble(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

}  // namespace

size_t ServerMetrics::EndpointIndex(std::string_view path) {
  for (size_t i = 0; i + 1 < kEndpoints.size(); ++i) {
    if (kEndpoints[i] == path) return i;
  }
  return kEndpoints.size() - 1;
}

size_t ServerMetrics::StatusIndex(int status) {
  for (size_t i = 0; i + 1 < kStatuses.size(); ++i) {
    if (kStatuses[i] == status) return i;
  }
  return kStatuses.size() - 1;
}

void ServerMetrics::Record(std::string_view path, int status, double seconds) {
  Series& s = series_[EndpointIndex(path)][StatusIndex(status)];
  s.count.fetch_add(1, std::memory_order_relaxed);
  s.sum_nanos.fetch_add(static_cast<uint64_t>(seconds * 1e9), std::memory_order_relaxed);
  for (size_t b = 0; b < kBuckets.size(); ++b) {
    if (seconds <= kBuckets[b]) {
      s.buckets[b].fetch_add(1, std::memory_order_relaxed);
      break;
    }
  }
}

void ServerMetrics::AddRowsPushed(bool online, int64_t rows) {
  (online ? rows_online_ : rows_offline_).fetch_add(rows, std::memory_order_relaxed);
}

void ServerMetrics::AddOnlineStoreError() { store_errors_.fetch_add(1, std::memory_order_relaxed); }

void ServerMetrics::SetRegistryVersion(int64_t version) {
  registry_version_.store(version, std::memory_order_relaxed);
}

std::string ServerMetrics::Render() const {
  std::string out;
  out +=
      "# HELP larder_requests_total Requests answered, by endpoint and HTTP status.\n"
      "# TYPE larder_requests_total counter\n";
  std::string histogram =
      "# HELP larder_request_duration_seconds Time to handle a request, by endpoint and "
      "status.\n"
      "# TYPE larder_request_duration_seconds histogram\n";
  for (size_t e = 0; e < kEndpoints.size(); ++e) {
    for (size_t st = 0; st < kStatuses.size(); ++st) {
      const Series& s = series_[e][st];
      const uint64_t count = s.count.load(std::memory_order_relaxed);
      if (count == 0) continue;
      const std::string status = kStatuses[st] == 0 ? "other" : std::to_string(kStatuses[st]);
      const std::string labels =
          "endpoint=\"" + std::string(kEndpoints[e]) + "\",status=\"" + status + "\"";
      out += "larder_requests_total{" + labels + "} " + std::to_string(count) + "\n";
      uint64_t cumulative = 0;
      for (size_t b = 0; b < kBuckets.size(); ++b) {
        cumulative += s.buckets[b].load(std::memory_order_relaxed);
        histogram += "larder_request_duration_seconds_bucket{" + labels + ",le=\"" +
                     FormatDouble(kBuckets[b]) + "\"} " + std::to_string(cumulative) + "\n";
      }
      histogram += "larder_request_duration_seconds_bucket{" + labels + ",le=\"+Inf\"} " +
                   std::to_string(count) + "\n";
      histogram += "larder_request_duration_seconds_sum{" + labels + "} " +
                   FormatDouble(static_cast<double>(s.sum_nanos.load(std::memory_order_relaxed)) /
                                1e9) +
                   "\n";
      histogram += "larder_request_duration_seconds_count{" + labels + "} " +
                   std::to_string(count) + "\n";
    }
  }
  out += histogram;
  out +=
      "# HELP larder_rows_pushed_total Rows written by /push and /write-to-online-store.\n"
      "# TYPE larder_rows_pushed_total counter\n"
      "larder_rows_pushed_total{target=\"online\"} " +
      std::to_string(rows_online_.load()) +
      "\n"
      "larder_rows_pushed_total{target=\"offline\"} " +
      std::to_string(rows_offline_.load()) +
      "\n"
      "# HELP larder_online_store_errors_total Requests failed by an online store error.\n"
      "# TYPE larder_online_store_errors_total counter\n"
      "larder_online_store_errors_total " +
      std::to_string(store_errors_.load()) +
      "\n"
      "# HELP larder_registry_version Version of the registered definitions being served.\n"
      "# TYPE larder_registry_version gauge\n"
      "larder_registry_version " +
      std::to_string(registry_version_.load()) + "\n";
  const auto load = [](const auto& counter) {
    return std::to_string(counter.load(std::memory_order_relaxed));
  };
  out +=
      "# HELP larder_connections_open Connections open now.\n"
      "# TYPE larder_connections_open gauge\n"
      "larder_connections_open " + load(http_.connections_open) + "\n"
      "# HELP larder_connections_refused_total Connections refused: at --max-connections with "
      "none idle to close, or left waiting because the process was out of file descriptors "
      "(once per pause of accepting).\n"
      "# TYPE larder_connections_refused_total counter\n"
      "larder_connections_refused_total{reason=\"max_connections\"} " +
      load(http_.refused_max_connections) + "\n"
      "larder_connections_refused_total{reason=\"out_of_file_descriptors\"} " +
      load(http_.accept_out_of_fds) + "\n"
      "# HELP larder_idle_connections_closed_total Idle connections closed to make room for a "
      "new one at --max-connections.\n"
      "# TYPE larder_idle_connections_closed_total counter\n"
      "larder_idle_connections_closed_total " + load(http_.idle_closed) + "\n"
      "# HELP larder_requests_refused_for_memory_total Requests refused by the memory budget "
      "of bodies being read and parsed: busy (503) or too large alone (413).\n"
      "# TYPE larder_requests_refused_for_memory_total counter\n"
      "larder_requests_refused_for_memory_total{reason=\"busy\"} " + load(http_.memory_busy) +
      "\n"
      "larder_requests_refused_for_memory_total{reason=\"too_large\"} " +
      load(http_.memory_too_large) + "\n";
  if (stream_ != nullptr) out += stream_->Render();
  if (section_) out += section_();
  return out;
}

}  // namespace larder::server
