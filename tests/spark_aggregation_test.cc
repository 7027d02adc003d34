// Window aggregations on the spark offline store against the duckdb one: the
// same repo and files through both, for training data and materialization.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "aggregation/online_tiles.h"
#include "aggregation/tile_layout.h"
#include "larder/offline_store.h"
#include "larder/online_store.h"
#include "larder/repo.h"
#include "offline/duckdb/duckdb_connection.h"
#include "support/spark_server.h"
#include "support/store_comparison.h"
#include "support/test_util.h"

namespace larder {
namespace {

using ::larder::testing::SparkServer;
using ::larder::testing::TempDir;
using ::testing::HasSubstr;

constexpr const char* kProject = "sparkaggs";

// Three views over one parquet file of events: `spend` (10-minute interval,
// every function, a lifetime window), `twin` (the same events, so it shares
// spend's statements) and `flow` (continuous). The events hold NULL values,
// keys and times, exact duplicates, ties on time, integers past 2^53 (whose
// mean needs exact sums: user 200) and user 100's events at known times.
void WriteRepo(const TempDir& dir) {
  dir.Write("feature_store.yaml", std::string("project: ") + kProject + "\n");
  dir.Write("entities.yaml", "entities:\n  - name: user\n    join_keys: [user_id]\n"
                             "    value_type: Int64\n");
  dir.Write("data_sources.yaml",
            "data_sources:\n"
            "  - name: events_source\n    type: file\n    path: data/events.parquet\n"
            "    timestamp_field: ts\n    field_mapping: {raw_qty: qty}\n");
  dir.Write("feature_views.yaml",
            "feature_views:\n"
            "  - name: spend\n    entities: [user]\n    source: events_source\n"
            "    ttl: 1h\n    aggregation_interval: 10m\n    aggregations:\n"
            "      - {column: amount, dtype: Int64, function: count, time_window: 1h}\n"
            "      - {column: price, dtype: Float64, function: min, time_window: 1h}\n"
            "      - {column: qty, dtype: Int32, function: count_distinct, time_window: 6h}\n"
            "      - {column: name, dtype: String, function: max, time_window: 1d}\n"
            "      - {column: seen, dtype: UnixTimestamp, function: max, time_window: 1d}\n"
            "      - {column: amount, dtype: Int64, function: sum, time_window: 1d}\n"
            "      - {column: amount, dtype: Int64, function: mean, time_window: 1d}\n"
            "      - {column: amount, dtype: Int64, function: variance, time_window: lifetime}\n"
            "      - {column: price, dtype: Float64, function: sum, time_window: 1d}\n"
            "      - {column: price, dtype: Float64, function: mean, time_window: lifetime}\n"
            "      - {column: price, dtype: Float64, function: stddev, time_window: 1d}\n"
            "      - {column: price, dtype: Float64, function: count_distinct, time_window: 1d}\n"
            "      - {column: qty, dtype: Int32, function: mean, time_window: 1d}\n"
            "      - {column: seen, dtype: UnixTimestamp, function: min, time_window: lifetime}\n"
            "      - {column: name, dtype: String, function: first, time_window: 1d}\n"
            "      - {column: amount, dtype: Int64, function: last, time_window: 6h}\n"
            "      - {column: qty, dtype: Int32, function: first_n(3), time_window: 1d}\n"
            "      - {column: price, dtype: Float64, function: last_n(2), time_window: lifetime}\n"
            "      - {column: name, dtype: String, function: approx_count_distinct, time_window: 1d}\n"
            "  - name: twin\n    entities: [user]\n    source: events_source\n"
            "    aggregation_interval: 10m\n    aggregations:\n"
            "      - {column: amount, dtype: Int64, function: count, time_window: 2d}\n"
            "      - {column: price, dtype: Float64, function: sum, time_window: 2h}\n"
            "      - {column: qty, dtype: Int32, function: mean, time_window: 3h}\n"
            "      - {column: name, dtype: String, function: min, time_window: 1d}\n"
            "      - {column: seen, dtype: UnixTimestamp, function: last, time_window: 2d}\n"
            "  - name: flow\n    entities: [user]\n    source: events_source\n"
            "    aggregations:\n"
            "      - {column: amount, dtype: Int64, function: count, time_window: 2h}\n"
            "      - {column: qty, dtype: Int32, function: sum, time_window: lifetime}\n"
            "      - {column: price, dtype: Float64, function: max, time_window: 30m}\n"
            "      - {column: amount, dtype: Int64, function: variance, time_window: 1d}\n"
            "      - {column: name, dtype: String, function: last, time_window: 1d}\n");
  auto conn = duckdb::Connection::Open(":memory:");
  ASSERT_TRUE(conn.ok()) << conn.status().ToString();
  std::filesystem::create_directories(dir.Join("data"));
  const std::string base = "TIMESTAMP '2024-03-01 00:00:00'";
  // 2400 events over 40 users and 3 days, a tenth of them twice.
  const std::string events =
      "SELECT (i % 40)::BIGINT AS user_id, " + base + " + to_seconds(i * 97 % 259200) AS ts,"
      " CASE WHEN i % 17 = 0 THEN NULL ELSE (i * 37 % 1000 - 300)::BIGINT END AS amount,"
      " CASE WHEN i % 11 = 0 THEN NULL ELSE (i % 13) / 4.0 - 1 END AS price,"
      " (i % 7)::INTEGER AS raw_qty,"
      " CASE WHEN i % 19 = 0 THEN NULL ELSE 'n' || (i % 9) END AS name,"
      " " + base + " + to_seconds(i * 97 % 259200) - to_minutes(i % 5) AS seen FROM range(2400) t(i)";
  ASSERT_TRUE((*conn)->Execute(
      "COPY (SELECT * FROM (" + events + ") UNION ALL SELECT * FROM (" + events +
      ") WHERE (amount % 10) = 3"
      // Ties on time with other values; integers past 2^53.
      " UNION ALL SELECT 5, " + base + " + INTERVAL 3 HOUR, 1, 0.5, 1, 'tie', NULL"
      " UNION ALL SELECT 5, " + base + " + INTERVAL 3 HOUR, 2, 0.25, 2, 'tie', NULL"
      " UNION ALL SELECT 200, " + base + " + INTERVAL 4 HOUR, 9007199254740993, 1, 1, 'big', NULL"
      " UNION ALL SELECT 200, " + base + " + INTERVAL 4 HOUR + INTERVAL 1 MINUTE, 9007199254740993,"
      "   1, 1, 'big', NULL"
      " UNION ALL SELECT 200, " + base + " + INTERVAL 4 HOUR + INTERVAL 2 MINUTE, 2, 1, 1, 'big', NULL"
      // NULL keys and times.
      " UNION ALL SELECT NULL, " + base + " + INTERVAL 1 HOUR, 1, 1, 1, 'nokey', NULL"
      " UNION ALL SELECT 7, NULL, 1, 1, 1, 'notime', NULL"
      // User 100: 1:00 twice, 1:30, 2:00.
      " UNION ALL SELECT 100, " + base + " + INTERVAL 1 HOUR, 5, 1, 1, 'a', NULL"
      " UNION ALL SELECT 100, " + base + " + INTERVAL 1 HOUR, 5, 1, 1, 'a', NULL"
      " UNION ALL SELECT 100, " + base + " + INTERVAL 90 MINUTE, 7, 2, 2, 'b', NULL"
      " UNION ALL SELECT 100, " + base + " + INTERVAL 2 HOUR, 11, 3, 3, 'c', NULL"
      ") TO '" + dir.Join("data/events.parquet") + "' (FORMAT parquet)",
      "events").ok());
  // 400 entity rows over 45 users (40..44 without events), some at event
  // times, before every event and after; plus awkward ones.
  ASSERT_TRUE((*conn)->Execute(
      "COPY (SELECT (i % 45)::BIGINT AS user_id,"
      " " + base + " - INTERVAL 2 HOUR + to_seconds(i * 863 % 280000) AS event_timestamp, i AS label"
      " FROM range(400) t(i)"
      " UNION ALL SELECT 5, " + base + " + INTERVAL 3 HOUR + INTERVAL 1 SECOND, -1"
      " UNION ALL SELECT 200, " + base + " + INTERVAL 5 HOUR, -2"
      " UNION ALL SELECT 100, " + base + " + INTERVAL 2 HOUR, -3"
      " UNION ALL SELECT 100, " + base + " + INTERVAL 2 HOUR, -3"
      " UNION ALL SELECT 3, NULL, -4"
      " UNION ALL SELECT NULL, " + base + " + INTERVAL 5 HOUR, -5"
      ") TO '" + dir.Join("entities.parquet") + "' (FORMAT parquet)",
      "entities").ok());
}

// The rows of parquet file `path` without `except` columns, as text.
std::string RowsExcept(const std::string& path, const std::vector<std::string>& except) {
  auto conn = duckdb::Connection::Open(":memory:");
  if (!conn.ok()) return conn.status().ToString();
  std::string excluded;
  for (const auto& c : except) excluded += (excluded.empty() ? "" : ", ") + duckdb::QuoteIdentifier(c);
  auto text = (*conn)->QueryScalar(
      "SELECT string_agg(CAST(t AS VARCHAR), '\n' ORDER BY n) FROM (SELECT row_number() OVER () "
      "AS n, * EXCLUDE (" + excluded + ") FROM read_parquet(" + duckdb::QuoteLiteral(path) +
          ")) t",
      "rows");
  return text.ok() ? text->value_or("") : text.status().ToString();
}

// The rows (1-based) and columns of `columns` where the files differ by more
// than a relative 1e-12, or in nullness; empty when none do.
std::string FarApart(const std::string& a, const std::string& b,
                     const std::vector<std::string>& columns) {
  auto conn = duckdb::Connection::Open(":memory:");
  if (!conn.ok()) return conn.status().ToString();
  std::string out;
  for (const auto& c : columns) {
    const std::string q = duckdb::QuoteIdentifier(c);
    auto far = (*conn)->QueryScalar(
        "SELECT string_agg(n || ': ' || coalesce(x::VARCHAR, 'NULL') || ' vs ' || "
        "coalesce(y::VARCHAR, 'NULL'), '; ') FROM (SELECT row_number() OVER () AS n, " + q +
            " AS x FROM read_parquet(" + duckdb::QuoteLiteral(a) + ")) JOIN (SELECT "
            "row_number() OVER () AS n, " + q + " AS y FROM read_parquet(" +
            duckdb::QuoteLiteral(b) + ")) USING (n) WHERE (x IS NULL) <> (y IS NULL) OR "
            "abs(x - y) > 1e-12 * greatest(abs(x), abs(y))",
        "far apart");
    if (!far.ok()) return far.status().ToString();
    if (far->has_value()) out += c + ": " + **far + "\n";
  }
  return out;
}

class SparkAggregation : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string error;
    server_ = SparkServer::Shared(&error);
    ASSERT_NE(server_, nullptr) << error;
    WriteRepo(dir_);
    auto repo = LoadFeatureRepo(dir_.path());
    ASSERT_TRUE(repo.ok()) << repo.status().ToString();
    repo_ = std::move(repo).value();
    repo_.root = dir_.path();
  }

  std::unique_ptr<OfflineStore> Spark() const {
    return testing::SparkStore(dir_.path(), kProject, server_->remote());
  }
  std::unique_ptr<OfflineStore> DuckDb() const {
    return testing::DuckDbStore(dir_.path(), kProject, dir_.Join("offline.duckdb"));
  }
  Result<std::unique_ptr<OnlineStore>> OpenOnline(const std::string& relative) const {
    return testing::RocksDbStore(dir_.path(), kProject, dir_.Join(relative));
  }
  // Training data of `request` from both stores into duck.parquet and
  // spark.parquet; the error text of either, or empty.
  std::string TrainBoth(const HistoricalFeaturesRequest& request) {
    for (const auto& [store, file] : {std::pair{DuckDb(), "duck.parquet"},
                                      std::pair{Spark(), "spark.parquet"}}) {
      auto job = store->GetHistoricalFeatures(repo_, request, {});
      if (!job.ok()) return std::string(file) + ": " + job.status().ToString();
      auto rows = (*job)->WriteToFile(dir_.Join(file));
      if (!rows.ok()) return std::string(file) + ": " + rows.status().ToString();
    }
    return "";
  }

  SparkServer* server_ = nullptr;
  TempDir dir_;
  FeatureRepo repo_;
};

// Stddev and variance are compared within a relative 1e-12; everything else
// value for value.
const std::vector<std::string> kStatistics = {"amount_variance_lifetime", "price_stddev_1d"};

TEST_F(SparkAggregation, TrainingDataEqualsDuckDb) {
  HistoricalFeaturesRequest request;
  request.entity_path = dir_.Join("entities.parquet");
  for (const Field& f : ViewFeatures(*repo_.FindFeatureView("spend"))) {
    request.features.push_back("spend:" + f.name);
  }
  request.features.push_back("flow:amount_count_2h");
  request.features.push_back("twin:price_sum_2h");
  request.features.push_back("flow:name_last_1d");
  request.features.push_back("twin:seen_last_2d");
  ASSERT_EQ(TrainBoth(request), "");
  const std::string duck = RowsExcept(dir_.Join("duck.parquet"), kStatistics);
  ASSERT_THAT(duck, HasSubstr("\n"));
  EXPECT_EQ(RowsExcept(dir_.Join("spark.parquet"), kStatistics), duck);
  EXPECT_EQ(FarApart(dir_.Join("duck.parquet"), dir_.Join("spark.parquet"), kStatistics), "");
  // User 100 at 2:00: the 1h window [1:00, 2:00) holds 1:00 once and 1:30,
  // not the event at 2:00 itself.
  EXPECT_THAT(duck, HasSubstr("'user_id': 100, 'event_timestamp': '2024-03-01 02:00:00+00', "
                              "'label': -3, 'amount_count_1h': 2, 'price_min_1h': 1.0"));
  // The mean of 2^53 + 1, 2^53 + 1 and 2 needs the exact sum.
  EXPECT_THAT(duck, HasSubstr("'label': -2, 'amount_count_1h': 3, "));
  EXPECT_THAT(duck, HasSubstr("'amount_sum_1d': 18014398509481988, "
                              "'amount_mean_1d': 6004799503160663.0"));
  // An entity row without a time gets NULL, even for counts.
  EXPECT_THAT(duck, HasSubstr("'label': -4, 'amount_count_1h': NULL"));
  // A key without events: counts 0, the rest NULL.
  EXPECT_THAT(duck, HasSubstr("'user_id': 44, "));
}

TEST_F(SparkAggregation, FullFeatureNamesAndTheContinuousView) {
  HistoricalFeaturesRequest request;
  request.entity_path = dir_.Join("entities.parquet");
  request.full_feature_names = true;
  for (const char* view : {"flow", "twin"}) {
    for (const Field& f : ViewFeatures(*repo_.FindFeatureView(view))) {
      request.features.push_back(std::string(view) + ":" + f.name);
    }
  }
  ASSERT_EQ(TrainBoth(request), "");
  const std::vector<std::string> statistics = {"flow__amount_variance_1d"};
  const std::string duck = RowsExcept(dir_.Join("duck.parquet"), statistics);
  EXPECT_THAT(duck, HasSubstr("'flow__amount_count_2h': "));
  EXPECT_EQ(RowsExcept(dir_.Join("spark.parquet"), statistics), duck);
  EXPECT_EQ(FarApart(dir_.Join("duck.parquet"), dir_.Join("spark.parquet"), statistics), "");
}

TEST_F(SparkAggregation, AMissingColumnNamesTheView) {
  FeatureView* spend = nullptr;
  for (auto& v : repo_.feature_views) {
    if (v.name == "spend") spend = &v;
  }
  ASSERT_NE(spend, nullptr);
  spend->aggregations[0].column = "no_such_column";
  HistoricalFeaturesRequest request;
  request.entity_path = dir_.Join("entities.parquet");
  request.features = {"spend:amount_count_1h"};
  const std::string error = Spark()->GetHistoricalFeatures(repo_, request, {}).status().ToString();
  EXPECT_THAT(error, HasSubstr("feature view 'spend'"));
  EXPECT_THAT(error, HasSubstr("no column `no_such_column`"));
}

// Every view's state bytes and values at `now` for users 0..44, 100 and 200.
std::string OnlineStates(OnlineStore& store, const FeatureRepo& repo, TimestampMicros now) {
  std::string out;
  std::vector<EntityKey> keys;
  for (int64_t u = 0; u < 45; ++u) keys.push_back({{"user_id"}, {Value::Int64(u)}});
  keys.push_back({{"user_id"}, {Value::Int64(100)}});
  keys.push_back({{"user_id"}, {Value::Int64(200)}});
  for (const char* name : {"spend", "twin", "flow"}) {
    const FeatureView& view = *repo.FindFeatureView(name);
    Status st = store.VisitStates(name, keys, [&](size_t i, std::string_view bytes, uint64_t) {
      out += std::string(name) + " " + std::to_string(i) + ": " + std::to_string(bytes.size()) +
             " bytes, hash " + std::to_string(std::hash<std::string_view>{}(bytes)) + "\n";
      return Status::OK();
    });
    if (!st.ok()) return st.ToString();
    auto layout = aggregation::TileLayout::ForView(view);
    if (!layout.ok()) return layout.status().ToString();
    std::vector<std::vector<Value>> values;
    st = aggregation::ReadAggregates(store, name, *layout, keys, now, &values);
    if (!st.ok()) return st.ToString();
    for (size_t i = 0; i < values.size(); ++i) {
      out += std::string(name) + " " + std::to_string(i) + ":";
      for (const Value& v : values[i]) out += " " + v.DebugString();
      out += "\n";
    }
  }
  return out;
}

TEST_F(SparkAggregation, MaterializeEqualsDuckDbOnline) {
  auto duck_online = OpenOnline("online_duck");
  auto spark_online = OpenOnline("online_spark");
  ASSERT_TRUE(duck_online.ok() && spark_online.ok());
  // 2024-03-02 12:05: the 1d and 6h windows cut the events; lifetime keeps all.
  const TimestampMicros end = 1'709'381'100'000'000;
  auto duck = DuckDb()->Materialize(repo_, **duck_online, std::nullopt, end, {});
  ASSERT_TRUE(duck.ok()) << duck.status().ToString();
  auto spark_store = Spark();
  auto spark = spark_store->Materialize(repo_, **spark_online, std::nullopt, end, {});
  ASSERT_TRUE(spark.ok()) << spark.status().ToString();
  ASSERT_EQ(spark->views.size(), duck->views.size());
  for (size_t v = 0; v < duck->views.size(); ++v) {
    EXPECT_EQ(spark->views[v].rows, duck->views[v].rows) << duck->views[v].view;
    EXPECT_EQ(spark->views[v].written, duck->views[v].written) << duck->views[v].view;
  }
  const std::string expected = OnlineStates(**duck_online, repo_, end);
  EXPECT_THAT(expected, HasSubstr("spend 45: "));
  EXPECT_EQ(OnlineStates(**spark_online, repo_, end), expected);

  // A later run, with now an hour on: the states drop the same events.
  MaterializeOptions later;
  later.now = end + 3'600'000'000;
  const TimestampMicros end2 = end + 3'600'000'000;
  ASSERT_TRUE(DuckDb()->Materialize(repo_, **duck_online, std::nullopt, end2, later).ok());
  auto again = spark_store->Materialize(repo_, **spark_online, std::nullopt, end2, later);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(OnlineStates(**spark_online, repo_, end2), OnlineStates(**duck_online, repo_, end2));
}

}  // namespace
}  // namespace larder
