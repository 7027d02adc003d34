#include "server/stream_metrics.h"

#include <cstdio>

namespace larder::server {
namespace {

constexpr auto kRateWindow = std::chrono::seconds(10);

// A label value with `\`, `"` and newlines escaped, as the format asks.
std::string LabelValue(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '\\' || c == '"') out.push_back('\\');
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out.push_back(c);
  }
  return out;
}

void Family(std::string& out, const char* name, const char* type, const char* help) {
  out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
}

std::string Number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.15g", v);
  return buf;
}

}  // namespace

void StreamMetrics::Update(const StreamProgress& progress) {
  const auto now = Clock::now();
  std::lock_guard lock(mu_);
  for (const StreamShardProgress& p : progress.shards) {
    Shard& s = shards_[{p.source, p.shard}];
    s.progress = p;
    s.samples.emplace_back(now, p.records);
    while (s.samples.size() > 2 && now - s.samples[1].first >= kRateWindow) s.samples.pop_front();
  }
  for (const StreamViewProgress& v : progress.views) views_[v.view] = v;
}

void StreamMetrics::SetRunning(bool running) {
  std::lock_guard lock(mu_);
  running_ = running;
}

void StreamMetrics::AddFailure() {
  std::lock_guard lock(mu_);
  ++failures_;
}

std::string StreamMetrics::Render() const {
  return Render(std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::system_clock::now().time_since_epoch())
                    .count());
}

std::string StreamMetrics::Render(int64_t now_ms) const {
  const auto now = Clock::now();
  std::lock_guard lock(mu_);
  std::string out;
  Family(out, "larder_stream_running", "gauge", "1 while the stream consumer runs.");
  out += std::string("larder_stream_running ") + (running_ ? "1" : "0") + "\n";
  Family(out, "larder_stream_failures_total", "counter",
         "Consumer runs that stopped with an error (and were started again).");
  out += "larder_stream_failures_total " + std::to_string(failures_) + "\n";

  struct Gauge {
    const char* name;
    const char* type;
    const char* help;
    double (*value)(const Shard&, Clock::time_point, int64_t);
  };
  static const Gauge kGauges[] = {
      {"larder_stream_records_total", "counter", "Records read, by source and shard.",
       [](const Shard& s, Clock::time_point, int64_t) {
         return static_cast<double>(s.progress.records);
       }},
      {"larder_stream_records_per_second", "gauge",
       "Records read per second over about the last 10 seconds.",
       [](const Shard& s, Clock::time_point at, int64_t) {
         if (s.samples.empty()) return 0.0;
         const auto& [first_t, first_n] = s.samples.front();
         const auto& [last_t, last_n] = s.samples.back();
         // A shard with no batch for a while reads nothing now.
         if (at - last_t >= kRateWindow) return 0.0;
         const double dt = std::chrono::duration<double>(at - first_t).count();
         return dt > 0 ? static_cast<double>(last_n - first_n) / dt : 0.0;
       }},
      {"larder_stream_dead_letters_total", "counter",
       "Records that did not decode or were refused, written to larder_stream_dead_letters.",
       [](const Shard& s, Clock::time_point, int64_t) {
         return static_cast<double>(s.progress.dead_letters);
       }},
      {"larder_stream_millis_behind_latest", "gauge",
       "How far the last read was behind the newest record of the shard, in ms.",
       [](const Shard& s, Clock::time_point, int64_t) {
         return static_cast<double>(s.progress.millis_behind_latest);
       }},
      {"larder_stream_iterator_age_milliseconds", "gauge",
       "While behind: now minus the arrival time of the last record read; 0 when caught up.",
       [](const Shard& s, Clock::time_point, int64_t wall_ms) {
         if (s.progress.millis_behind_latest <= 0 || s.progress.last_arrival_ms <= 0) return 0.0;
         return static_cast<double>(std::max<int64_t>(0, wall_ms - s.progress.last_arrival_ms));
       }},
      {"larder_stream_last_checkpoint_timestamp_seconds", "gauge",
       "When the shard's last checkpoint was committed, in seconds since the epoch.",
       [](const Shard& s, Clock::time_point, int64_t) {
         return static_cast<double>(s.progress.checkpointed_at_ms) / 1000.0;
       }},
      {"larder_stream_shard_drained", "gauge",
       "1 when the shard was closed by a reshard and read to its end.",
       [](const Shard& s, Clock::time_point, int64_t) { return s.progress.closed ? 1.0 : 0.0; }},
  };
  for (const Gauge& g : kGauges) {
    Family(out, g.name, g.type, g.help);
    for (const auto& [key, shard] : shards_) {
      out += std::string(g.name) + "{source=\"" + LabelValue(key.first) + "\",shard=\"" +
             LabelValue(key.second) + "\"} " + Number(g.value(shard, now, now_ms)) + "\n";
    }
  }
  Family(out, "larder_stream_view_rows_total", "counter",
         "Rows the consumer pushed to each online feature view: written, or skipped as not "
         "newer than the stored record.");
  for (const auto& [name, v] : views_) {
    const std::string view = LabelValue(name);
    out += "larder_stream_view_rows_total{view=\"" + view + "\",outcome=\"written\"} " +
           std::to_string(v.written) + "\n";
    out += "larder_stream_view_rows_total{view=\"" + view + "\",outcome=\"skipped\"} " +
           std::to_string(v.skipped) + "\n";
  }
  return out;
}

}  // namespace larder::server
