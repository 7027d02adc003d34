#include "support/stream_test_repo.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <thread>

#include "offline/duckdb/duckdb_connection.h"

namespace larder::testing {
namespace {

std::string Iso(TimestampMicros t) {
  const time_t secs = static_cast<time_t>(t / 1'000'000);
  struct tm tm {};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%06lldZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<long long>(t % 1'000'000));
  return buf;
}

}  // namespace

TimestampMicros NowMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::vector<StreamEvent> StreamEvents(std::mt19937_64& rng, TimestampMicros base, int count,
                                      int offset) {
  std::vector<StreamEvent> out;
  for (int i = 0; i < count; ++i) {
    out.push_back({1 + static_cast<int64_t>(rng() % 7),
                   base + kStreamHour + (offset + i) * 37 * 1'000'000LL +
                       static_cast<int64_t>(rng() % 1000),
                   static_cast<int64_t>(rng() % 100) - 20});
  }
  return out;
}

std::string StreamRecordJson(const StreamEvent& e) {
  return "{\"uid\": " + std::to_string(e.user) + ", \"event_time\": \"" + Iso(e.time) +
         "\", \"x\": " + std::to_string(e.x) + "}";
}

const std::vector<std::string>& BadStreamRecords() {
  static const std::vector<std::string> bad = {
      "{\"uid\": 1, \"event_time\": ",                                            // malformed JSON
      "{\"uid\": 2, \"x\": 5}",                                                   // no event time
      "{\"uid\": 3, \"event_time\": \"2024-01-01T00:00:00Z\", \"x\": \"many\"}",  // wrong type
      "{\"event_time\": \"2024-01-01T00:00:00Z\", \"x\": 1}",                    // no join key
      "{\"uid\": 4, \"event_time\": \"2024-01-01T00:00:00Z\", \"x\": 1, \"pad\": \"" +
          std::string(70'000, 'p') + "\"}",  // oversized: over a 64 KiB max_record_bytes
  };
  return bad;
}

std::string KinesisSourceYaml(const std::string& endpoint, const std::string& stream) {
  return "  - name: events_stream\n    type: kinesis\n    stream_name: " + stream +
         "\n    region: us-east-1\n    endpoint_url: " + endpoint +
         "\n    timestamp_field: event_time\n    field_mapping: {uid: user_id}\n"
         "    batch_source: events\n";
}

std::string KafkaSourceYaml(const std::string& bootstrap_servers, const std::string& topic,
                            const std::string& to) {
  return "  - name: events_stream\n    type: kafka\n    bootstrap_servers: " + bootstrap_servers +
         "\n    topic: " + topic +
         "\n    timestamp_field: event_time\n    field_mapping: {uid: user_id}\n"
         "    batch_source: events\n    to: " + to + "\n";
}

StreamTestRepo::StreamTestRepo(const std::string& source_yaml, const std::string& online_store) {
  dir.Write("feature_store.yaml",
            "project: st\nregistry: data/registry.db\nprovider: local\n"
            "online_store: " + online_store + "\n"
            "offline_store: {type: duckdb, path: data/offline.duckdb}\n");
  dir.Write("repo.yaml",
            "entities:\n  - {name: user, join_keys: [user_id], value_type: Int64}\n"
            "data_sources:\n"
            "  - {name: events, type: file, path: data/events.parquet, timestamp_field: ts}\n" +
                source_yaml +
                "feature_views:\n"
                "  - name: agg\n    entities: [user]\n    source: events_stream\n"
                "    aggregation_interval: 10m\n    aggregations:\n"
                "      - {column: x, function: count, time_window: 1d, name: n}\n"
                "      - {column: x, function: sum, time_window: 1d, name: total}\n"
                "  - name: latest\n    entities: [user]\n    source: events_stream\n"
                "    schema: [{name: x, dtype: Int64}]\n");
  dir.Write("data/.keep", "");
  auto conn = duckdb::Connection::Open(":memory:");
  EXPECT_TRUE(conn.ok());
  EXPECT_TRUE((*conn)
                  ->Execute("COPY (SELECT 1::BIGINT AS user_id, TIMESTAMP '2000-01-01' AS ts, "
                            "1::BIGINT AS x WHERE false) TO " +
                                duckdb::QuoteLiteral(dir.Join("data/events.parquet")) +
                                " (FORMAT parquet)",
                            "test")
                  .ok());
  auto fs = Open();
  auto applied = fs->Apply();
  EXPECT_TRUE(applied.ok()) << applied.status().ToString();
}

std::unique_ptr<FeatureStore> StreamTestRepo::Open() {
  FeatureStoreOptions o;
  o.repo_dir = dir.path();
  auto fs = FeatureStore::Open(o);
  EXPECT_TRUE(fs.ok()) << fs.status().ToString();
  return fs.ok() ? std::move(*fs) : nullptr;
}

std::map<int64_t, std::vector<std::string>> StreamTestRepo::Online(
    const std::vector<int64_t>& users, TimestampMicros t) {
  auto fs = Open();
  OnlineFeaturesRequest req;
  req.features = {"agg:n", "agg:total", "latest:x"};
  for (int64_t u : users) req.entity_rows["user_id"].push_back(Value::Int64(u));
  OnlineReadOptions options;
  options.clock = [t] { return t; };
  auto got = fs->GetOnlineFeatures(req, options);
  EXPECT_TRUE(got.ok()) << got.status().ToString();
  std::map<int64_t, std::vector<std::string>> out;
  if (!got.ok()) return out;
  for (size_t i = 0; i < users.size(); ++i) {
    for (const OnlineFeatureColumn& c : got->columns) {
      if (c.name != "user_id") out[users[i]].push_back(c.values[i].DebugString());
    }
  }
  return out;
}

std::vector<std::vector<Value>> StreamTestRepo::Query(const std::string& sql,
                                                      std::vector<ValueType> types) {
  // A consumer just killed may hold the file's lock for a moment longer.
  auto conn = duckdb::Connection::Open(dir.Join("data/offline.duckdb"));
  for (int i = 0; i < 100 && !conn.ok() && conn.status().code() == StatusCode::kBusy; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    conn = duckdb::Connection::Open(dir.Join("data/offline.duckdb"));
  }
  EXPECT_TRUE(conn.ok()) << conn.status().ToString();
  if (!conn.ok()) return {};
  auto rows = (*conn)->QueryValues(sql, "test", types);
  EXPECT_TRUE(rows.ok()) << rows.status().ToString();
  return rows.ok() ? *rows : std::vector<std::vector<Value>>{};
}

int64_t StreamTestRepo::OfflineRows() {
  auto exists = Query(
      "SELECT count(*)::BIGINT FROM duckdb_tables() WHERE table_name = 'push__events_stream'",
      {{ScalarType::kInt64}});
  if (exists.size() != 1 || exists[0][0].int64_value() == 0) return 0;
  auto rows = Query("SELECT count(*)::BIGINT FROM \"push__events_stream\"", {{ScalarType::kInt64}});
  return rows.size() == 1 ? rows[0][0].int64_value() : -1;
}

std::map<int64_t, std::vector<std::string>> ExpectedOnline(const std::vector<StreamEvent>& events) {
  std::map<int64_t, int64_t> n, total;
  std::map<int64_t, StreamEvent> latest;
  for (const StreamEvent& g : events) {
    ++n[g.user];
    total[g.user] += g.x;
    if (!latest.contains(g.user) || latest[g.user].time < g.time) latest[g.user] = g;
  }
  std::map<int64_t, std::vector<std::string>> out;
  for (const auto& [user, count] : n) {
    out[user] = {Value::Int64(count).DebugString(), Value::Int64(total[user]).DebugString(),
                 Value::Int64(latest[user].x).DebugString()};
  }
  return out;
}

}  // namespace larder::testing
