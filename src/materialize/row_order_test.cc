// The total order of rows, end to end: training data (the point-in-time
// join), materialization and direct online writes (as a push makes) pick the
// same row among rows tied on event and created time, whatever the order of
// the source rows or of the writes, on every online backend. And source
// times finer than a microsecond are rounded up, never down, in both paths.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "larder/offline_store.h"
#include "larder/online_store.h"
#include "materialize/materializer.h"
#include "offline/duckdb/duckdb_connection.h"
#include "offline/historical/historical_retrieval.h"
#include "support/dynalite_server.h"
#include "support/redis_server.h"
#include "support/test_util.h"

namespace larder {
namespace {

using ::larder::testing::TempDir;

// 2023-01-01T12:00:00Z
constexpr TimestampMicros kNoon = 1672574400LL * 1'000'000;
constexpr int kKeys = 200;
constexpr int kTiesPerKey = 3;

// The `online_store:` config of `backend`, on a server shared by the tests.
StoreConfig BackendConfig(const std::string& backend, const std::string& dir) {
  std::string error;
  if (backend == "redis") {
    ::larder::testing::RedisServer* server = ::larder::testing::RedisServer::Shared(&error);
    if (server == nullptr) {
      ADD_FAILURE() << "cannot start the test redis-server: " << error;
      return {"redis", {{"port", "0"}}};
    }
    return {"redis", {{"host", server->host()}, {"port", std::to_string(server->port())}}};
  }
  if (backend == "dynamodb") {
    ::larder::testing::DynaliteServer::SetFakeCredentials();
    ::larder::testing::DynaliteServer* server =
        ::larder::testing::DynaliteServer::Shared(&error);
    if (server == nullptr) {
      ADD_FAILURE() << "cannot start the test dynalite: " << error;
      return {"dynamodb", {{"endpoint_url", "http://127.0.0.1:1"}}};
    }
    return {"dynamodb", {{"endpoint_url", server->endpoint_url()}}};
  }
  return {"rocksdb", {{"path", dir + "/online"}}};
}

// One source row: the key, its times and its features (a, b, c, d).
struct Row {
  int64_t user_id = 0;
  TimestampMicros ts = 0;
  TimestampMicros created = 0;
  std::vector<Value> values;
};

std::string Sql(const Value& v) {
  if (v.is_null()) return "NULL";
  switch (v.type().scalar) {
    case ScalarType::kInt64:
      return std::to_string(v.int64_value()) + "::BIGINT";
    case ScalarType::kFloat32:
      return std::to_string(v.float32_value()) + "::FLOAT";
    case ScalarType::kFloat64:
      return std::to_string(v.float64_value()) + "::DOUBLE";
    default:
      return duckdb::QuoteLiteral(v.string_value());
  }
}

class RowOrderTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    repo_.root = tmp_.path();
    repo_.config.project = "ties_" + GetParam();
    repo_.config.offline_store.options["path"] = tmp_.Join("offline.duckdb");
    Entity user;
    user.name = "user";
    user.join_keys = {"user_id"};
    user.value_type = ValueType{ScalarType::kInt64};
    repo_.entities.push_back(user);
    DataSource src;
    src.name = "events";
    src.kind = DataSourceKind::kFile;
    src.path = "events.parquet";
    src.file_format = FileFormat::kParquet;
    src.timestamp_field = "ts";
    src.created_timestamp_column = "created";
    repo_.data_sources.push_back(src);
    FeatureView view;
    view.name = "scores";
    view.entities = {"user"};
    view.schema = {Field{"a", ValueType{ScalarType::kInt64}, "", {}, {}},
                   Field{"b", ValueType{ScalarType::kFloat32}, "", {}, {}},
                   Field{"c", ValueType{ScalarType::kString}, "", {}, {}},
                   Field{"d", ValueType{ScalarType::kFloat64}, "", {}, {}}};
    view.source = "events";
    repo_.feature_views.push_back(view);
    OnlineStoreOptions options;
    options.config = BackendConfig(GetParam(), tmp_.path());
    options.project = repo_.config.project;
    options.repo_root = tmp_.path();
    auto store = OnlineStore::Open(options);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(*store);
    oview_ = std::make_unique<OnlineView>(OnlineView::FromFeatureView(repo_.feature_views[0]));
    auto conn = duckdb::Connection::Open(":memory:");
    ASSERT_TRUE(conn.ok());
    conn_ = std::move(*conn);
  }
  void TearDown() override {
    if (store_ != nullptr) {
      EXPECT_TRUE(store_->DeleteProject().ok());
    }
  }

  // Writes `rows`, in this order, as the source file.
  void WriteSource(const std::vector<Row>& rows) {
    std::string sql =
        "CREATE OR REPLACE TABLE src (user_id BIGINT, ts TIMESTAMP, created TIMESTAMP, a BIGINT, "
        "b FLOAT, c VARCHAR, d DOUBLE); INSERT INTO src VALUES ";
    for (size_t i = 0; i < rows.size(); ++i) {
      const Row& r = rows[i];
      sql += std::string(i ? ", (" : "(") + std::to_string(r.user_id) + ", make_timestamp(" +
             std::to_string(r.ts) + "), make_timestamp(" + std::to_string(r.created) + ")";
      for (const Value& v : r.values) sql += ", " + Sql(v);
      sql += ")";
    }
    // One thread keeps the file in the given row order.
    sql += "; SET threads = 1; COPY src TO " + duckdb::QuoteLiteral(tmp_.Join("events.parquet")) +
           " (FORMAT parquet); RESET threads";
    ASSERT_TRUE(conn_->Execute(sql, "write the source").ok());
  }

  // Values per key of the online store.
  std::vector<std::string> ReadOnline() {
    std::vector<EntityKey> keys;
    for (int64_t u = 0; u < kKeys; ++u) keys.push_back(EntityKey{{"user_id"}, {Value::Int64(u)}});
    std::vector<OnlineReadResult> results;
    Status s = store_->MultiGet(*oview_, keys, &results);
    EXPECT_TRUE(s.ok()) << s.ToString();
    std::vector<std::string> out;
    for (const OnlineReadResult& r : results) {
      std::string line = r.state == OnlineRecordState::kFound ? "" : "not found";
      for (const Value& v : r.values) line += v.DebugString() + " ";
      out.push_back(line);
    }
    return out;
  }

  // Values per key of training data for entity rows at `at`.
  std::vector<std::string> ReadHistorical(TimestampMicros at) {
    HistoricalFeaturesRequest request;
    request.entity_sql = "SELECT range AS user_id, make_timestamp(" + std::to_string(at) +
                         ")::TIMESTAMPTZ AS event_timestamp FROM range(" +
                         std::to_string(kKeys) + ")";
    request.features = {"scores:a", "scores:b", "scores:c", "scores:d"};
    auto job = offline::PrepareHistoricalRetrieval(repo_, request);
    EXPECT_TRUE(job.ok()) << job.status().ToString();
    if (!job.ok()) return {};
    const std::string out = tmp_.Join("hist.parquet");
    auto written = (*job)->WriteToFile(out);
    EXPECT_TRUE(written.ok()) << written.status().ToString();
    const std::vector<ValueType> types = {{ScalarType::kInt64},
                                          {ScalarType::kFloat32},
                                          {ScalarType::kString},
                                          {ScalarType::kFloat64}};
    auto rows = conn_->QueryValues(
        "SELECT a, b, c, d FROM read_parquet(" + duckdb::QuoteLiteral(out) + ") ORDER BY user_id",
        "training data", types);
    EXPECT_TRUE(rows.ok()) << rows.status().ToString();
    std::vector<std::string> lines;
    if (!rows.ok()) return lines;
    for (const auto& row : *rows) {
      std::string line;
      for (const Value& v : row) line += v.DebugString() + " ";
      lines.push_back(line);
    }
    return lines;
  }

  TempDir tmp_;
  FeatureRepo repo_;
  std::unique_ptr<OnlineStore> store_;
  std::unique_ptr<OnlineView> oview_;
  std::unique_ptr<duckdb::Connection> conn_;
};

TEST_P(RowOrderTest, TiedRowsGiveTheSameRowOnlineAndInTrainingDataInEveryOrder) {
  std::mt19937 rng(2026);
  std::vector<Row> rows;
  for (int64_t u = 0; u < kKeys; ++u) {
    // An older row, then rows tied on event time; for half of the keys the
    // created times tie too, for the others the latest created time wins.
    const bool created_ties = u % 2 == 0;
    rows.push_back({u, kNoon - 1000, kNoon, {Value::Int64(-1), Value::Float32(0), Value::String("old"), Value::Null()}});
    for (int t = 0; t < kTiesPerKey; ++t) {
      rows.push_back({u, kNoon, created_ties ? kNoon : kNoon + (t == 1 ? 5 : t),
                      {Value::Int64(static_cast<int64_t>(rng() % 7)),
                       Value::Float32(static_cast<float>(rng() % 9) / 4),
                       rng() % 5 == 0 ? Value::Null() : Value::String("s" + std::to_string(rng() % 11)),
                       Value::Float64(static_cast<double>(rng() % 3))}});
    }
  }
  std::vector<std::string> first_online;
  for (int order = 0; order < 3; ++order) {
    SCOPED_TRACE("order " + std::to_string(order));
    std::shuffle(rows.begin(), rows.end(), rng);
    WriteSource(rows);
    ASSERT_TRUE(store_->DeleteView("scores").ok());
    auto report = materialize::Materialize(repo_, *store_, kNoon - 3600'000'000LL, kNoon + 60, {});
    ASSERT_TRUE(report.ok()) << report.status().ToString();
    std::vector<std::string> online = ReadOnline();
    std::vector<std::string> training = ReadHistorical(kNoon + 59);
    ASSERT_EQ(training.size(), online.size());
    int differ = 0;
    for (int u = 0; u < kKeys; ++u) {
      if (online[u] != training[u] && ++differ <= 5) {
        ADD_FAILURE() << "user " << u << ": online " << online[u] << " training " << training[u];
      }
    }
    EXPECT_EQ(differ, 0) << "of " << kKeys << " keys";
    if (order == 0) first_online = online;
    EXPECT_EQ(online, first_online);

    // Every source row written directly (as pushes), shuffled, in batches:
    // the same records win.
    ASSERT_TRUE(store_->DeleteView("scores").ok());
    std::vector<Row> pushed = rows;
    std::shuffle(pushed.begin(), pushed.end(), rng);
    for (size_t start = 0; start < pushed.size();) {
      const size_t len = std::min<size_t>(1 + rng() % 50, pushed.size() - start);
      std::vector<OnlineRecord> batch;
      for (size_t i = start; i < start + len; ++i) {
        batch.push_back({EntityKey{{"user_id"}, {Value::Int64(pushed[i].user_id)}},
                         pushed[i].ts, pushed[i].created, pushed[i].values});
      }
      auto w = store_->Write(*oview_, batch);
      ASSERT_TRUE(w.ok()) << w.status().ToString();
      start += len;
    }
    EXPECT_EQ(ReadOnline(), online);
  }
}

// A source time with nanoseconds is rounded up to the microsecond, so a row
// stamped 12:00:00.000000500 is not joined to an entity row at 12:00:00 and
// not materialized by a window ending (exclusively) at 12:00:00.000001.
TEST_P(RowOrderTest, NanosecondSourceTimesRoundUp) {
  ASSERT_TRUE(
      conn_
          ->Execute("COPY (SELECT * FROM (VALUES "
                    "(1::BIGINT, TIMESTAMP_NS '2023-01-01 11:00:00', TIMESTAMP_NS '2023-01-01 "
                    "11:00:00', 1::BIGINT, 1::FLOAT, 'past', 1::DOUBLE), "
                    "(1::BIGINT, TIMESTAMP_NS '2023-01-01 12:00:00.000000500', TIMESTAMP_NS "
                    "'2023-01-01 12:00:00.000000500', 2::BIGINT, 2::FLOAT, 'future', 2::DOUBLE)) "
                    "t(user_id, ts, created, a, b, c, d)) TO " +
                        duckdb::QuoteLiteral(tmp_.Join("events.parquet")) + " (FORMAT parquet)",
                    "write the source")
          .ok());
  auto type = conn_->QueryScalar("SELECT typeof(ts) FROM " +
                                     duckdb::QuoteLiteral(tmp_.Join("events.parquet")) + " LIMIT 1",
                                 "source type");
  ASSERT_TRUE(type.ok());
  EXPECT_EQ(type->value_or(""), "TIMESTAMP_NS");

  EXPECT_EQ(ReadHistorical(kNoon)[1], "Int64(1) Float32(1) String(\"past\") Float64(1) ");
  EXPECT_EQ(ReadHistorical(kNoon + 1)[1], "Int64(2) Float32(2) String(\"future\") Float64(2) ");

  auto report = materialize::Materialize(repo_, *store_, kNoon - 3600'000'000LL, kNoon + 1, {});
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(ReadOnline()[1], "Int64(1) Float32(1) String(\"past\") Float64(1) ");
  report = materialize::Materialize(repo_, *store_, kNoon, kNoon + 2, {});
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(ReadOnline()[1], "Int64(2) Float32(2) String(\"future\") Float64(2) ");
}

// A source time that DuckDB reads truncated (a Parquet TIMESTAMP(NANOS)
// adjusted to UTC; fixture in tests/data/parquet_time_units) is refused by
// training data and materialization, which may read files that changed after
// `apply` checked them; a feature column of that encoding is read.
TEST_P(RowOrderTest, UtcNanosecondSourceTimesAreRefused) {
  const std::string fixture =
      std::string(LARDER_SOURCE_DIR) + "/tests/data/parquet_time_units/utc_nanos.parquet";
  DataSource& src = repo_.data_sources[0];
  src.path = fixture;
  src.created_timestamp_column.clear();
  repo_.feature_views[0].schema = {Field{"score", ValueType{ScalarType::kFloat64}, "", {}, {}},
                                   Field{"utc_ns", ValueType{ScalarType::kUnixTimestamp}, "", {},
                                         {}}};
  // What training data and materialization report for timestamp_field `ts`.
  auto outcomes = [&](const std::string& ts) {
    src.timestamp_field = ts;
    HistoricalFeaturesRequest request;
    request.entity_sql =
        "SELECT 1 AS user_id, TIMESTAMPTZ '2023-11-14 22:13:20+00' AS event_timestamp";
    request.features = {"scores:score", "scores:utc_ns"};
    auto job = offline::PrepareHistoricalRetrieval(repo_, request);
    Status training = job.ok() ? (*job)->WriteToFile(tmp_.Join("hist.parquet")).status() : job.status();
    Status online = materialize::Materialize(repo_, *store_, 0, kNoon * 2, {}).status();
    return std::pair<Status, Status>{training, online};
  };
  const std::string refusal =
      "file " + fixture +
      ": column `utc_ns` (the timestamp_field of data source 'events') is a Parquet "
      "TIMESTAMP(NANOS) adjusted to UTC, which DuckDB reads truncated to the microsecond";
  auto [training, online] = outcomes("utc_ns");
  EXPECT_EQ(training.code(), StatusCode::kInvalidArgument) << training.ToString();
  EXPECT_NE(training.message().find(refusal), std::string::npos) << training.ToString();
  EXPECT_EQ(online.code(), StatusCode::kInvalidArgument) << online.ToString();
  EXPECT_NE(online.message().find(refusal), std::string::npos) << online.ToString();

  std::tie(training, online) = outcomes("naive_ns");
  EXPECT_TRUE(training.ok()) << training.ToString();
  EXPECT_TRUE(online.ok()) << online.ToString();
}

INSTANTIATE_TEST_SUITE_P(Backends, RowOrderTest,
                         ::testing::Values("rocksdb", "redis", "dynamodb"),
                         [](const ::testing::TestParamInfo<std::string>& p) { return p.param; });

}  // namespace
}  // namespace larder
