#include "materialize/materializer.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <sstream>

#include "larder/offline_store.h"
#include "offline/duckdb/duckdb_connection.h"
#include "offline/historical/historical_retrieval.h"
#include "serving/online_reader.h"
#include "support/test_util.h"

namespace larder {
namespace {

using ::larder::testing::TempDir;

constexpr TimestampMicros kDay = Duration::kDay;
// 2023-01-01T00:00:00Z
constexpr TimestampMicros kJan1 = 1672531200LL * 1'000'000;
TimestampMicros Jan(int day) { return kJan1 + (day - 1) * kDay; }

class MaterializeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    tmp_.Write("events.csv",
               "user_id,ts,created,score\n"
               "1,2023-01-01 00:00:00,2023-01-01 00:00:00,1.0\n"
               "1,2023-01-02 00:00:00,2023-01-03 00:00:00,2.5\n"
               "1,2023-01-02 00:00:00,2023-01-02 00:00:00,2.0\n"
               "1,2023-01-05 00:00:00,2023-01-05 00:00:00,5.0\n"
               "2,2022-12-31 00:00:00,2022-12-31 00:00:00,9.0\n"
               "2,2023-01-03 00:00:00,2023-01-03 00:00:00,3.0\n"
               "3,2023-01-06 00:00:00,2023-01-06 00:00:00,6.0\n"
               "4,2023-01-03 00:00:00,2023-01-03 00:00:00,\n");
    repo_.root = tmp_.path();
    repo_.config.project = "proj";
    repo_.config.offline_store.options["path"] = tmp_.Join("offline.duckdb");
    Entity user;
    user.name = "user";
    user.join_keys = {"user_id"};
    user.value_type = ValueType{ScalarType::kInt64};
    repo_.entities.push_back(user);
    DataSource src;
    src.name = "events";
    src.kind = DataSourceKind::kFile;
    src.path = "events.csv";
    src.file_format = FileFormat::kCsv;
    src.timestamp_field = "ts";
    src.created_timestamp_column = "created";
    repo_.data_sources.push_back(src);
    FeatureView view;
    view.name = "scores";
    view.entities = {"user"};
    view.schema = {Field{"score", ValueType{ScalarType::kFloat64}, "", {}, {}}};
    view.source = "events";
    repo_.feature_views.push_back(view);
    OnlineStoreOptions options;
    options.config = StoreConfig{"rocksdb", {{"path", tmp_.Join("online")}}};
    options.project = "proj";
    auto store = OnlineStore::Open(options);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(*store);
    oview_ = std::make_unique<OnlineView>(OnlineView::FromFeatureView(repo_.feature_views[0]));
  }

  // user_id -> (score, event ts); missing users absent.
  std::map<int64_t, std::pair<Value, TimestampMicros>> Read() {
    std::vector<EntityKey> keys;
    for (int64_t u = 1; u <= 4; ++u) keys.push_back(EntityKey{{"user_id"}, {Value::Int64(u)}});
    std::vector<OnlineReadResult> results;
    EXPECT_TRUE(store_->MultiGet(*oview_, keys, &results).ok());
    std::map<int64_t, std::pair<Value, TimestampMicros>> out;
    for (size_t i = 0; i < results.size(); ++i) {
      if (results[i].state == OnlineRecordState::kFound) {
        out[static_cast<int64_t>(i) + 1] = {results[i].values[0], results[i].event_timestamp};
      }
    }
    return out;
  }

  // Adds the Parquet file source `name`, holding the rows of DuckDB's `select`.
  void AddParquetSource(const std::string& name, const std::string& select) {
    const std::string file = tmp_.Join(name + ".parquet");
    auto conn = duckdb::Connection::Open(":memory:");
    ASSERT_TRUE(conn.ok());
    ASSERT_TRUE((*conn)
                    ->Execute("COPY (" + select + ") TO '" + file + "' (FORMAT parquet)",
                              "write " + file)
                    .ok());
    DataSource src;
    src.name = name;
    src.kind = DataSourceKind::kFile;
    src.path = name + ".parquet";
    src.file_format = FileFormat::kParquet;
    src.timestamp_field = "ts";
    repo_.data_sources.push_back(src);
    std::sort(repo_.data_sources.begin(), repo_.data_sources.end(),
              [](const DataSource& a, const DataSource& b) { return a.name < b.name; });
  }

  TempDir tmp_;
  FeatureRepo repo_;
  std::unique_ptr<OnlineStore> store_;
  std::unique_ptr<OnlineView> oview_;
};

TEST_F(MaterializeTest, WritesLatestRowPerEntityInWindow) {
  auto report = materialize::Materialize(repo_, *store_, Jan(1), Jan(5), {});
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  ASSERT_EQ(report->views.size(), 1u);
  EXPECT_EQ(report->views[0].rows, 3);  // users 1, 2, 4
  EXPECT_EQ(report->views[0].written, 3);
  auto got = Read();
  ASSERT_EQ(got.size(), 3u);
  // The created timestamp breaks the tie at Jan 2; Jan 5 is past the end.
  EXPECT_EQ(got[1].first, Value::Float64(2.5));
  EXPECT_EQ(got[1].second, Jan(2));
  // Dec 31 is before the start.
  EXPECT_EQ(got[2].first, Value::Float64(3.0));
  EXPECT_TRUE(got[4].first.is_null());
  EXPECT_FALSE(got.contains(3));
}

// Every dtype, arrays and nulls included, arrives in the online store as the
// source holds it.
TEST_F(MaterializeTest, EveryDtypeRoundTrips) {
  AddParquetSource("typed",
                   "SELECT * FROM (VALUES "
                   "(1::BIGINT, TIMESTAMP '2023-01-02', 7::INTEGER, 8::BIGINT, "
                   "1.5::FLOAT, 2.25::DOUBLE, 'héllo', '\\x00\\xFFab'::BLOB, true, "
                   "TIMESTAMP '2022-05-06 07:08:09.123456', [1, 2]::INTEGER[], "
                   "[3, 4]::BIGINT[], [0.5, -1.5]::FLOAT[], [1e300]::DOUBLE[], "
                   "['a', '']::VARCHAR[], ['\\x01'::BLOB], [true, false], "
                   "[TIMESTAMP '1960-01-01'], []::VARCHAR[]), "
                   "(2, TIMESTAMP '2023-01-02', NULL, NULL, NULL, NULL, NULL, NULL, "
                   "NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, "
                   "NULL)) t(user_id, ts, i32, i64, f32, f64, s, b, flag, t, ai, al, "
                   "af, ad, avs, ab, abo, ats, empty)");
  if (HasFatalFailure()) return;
  auto type = [](ScalarType s, bool array = false) { return ValueType{s, array}; };
  FeatureView view;
  view.name = "typed_view";
  view.entities = {"user"};
  view.source = "typed";
  const std::vector<std::pair<std::string, ValueType>> fields = {
      {"i32", type(ScalarType::kInt32)},
      {"i64", type(ScalarType::kInt64)},
      {"f32", type(ScalarType::kFloat32)},
      {"f64", type(ScalarType::kFloat64)},
      {"s", type(ScalarType::kString)},
      {"b", type(ScalarType::kBytes)},
      {"flag", type(ScalarType::kBool)},
      {"t", type(ScalarType::kUnixTimestamp)},
      {"ai", type(ScalarType::kInt32, true)},
      {"al", type(ScalarType::kInt64, true)},
      {"af", type(ScalarType::kFloat32, true)},
      {"ad", type(ScalarType::kFloat64, true)},
      {"avs", type(ScalarType::kString, true)},
      {"ab", type(ScalarType::kBytes, true)},
      {"abo", type(ScalarType::kBool, true)},
      {"ats", type(ScalarType::kUnixTimestamp, true)},
      {"empty", type(ScalarType::kString, true)},
  };
  for (const auto& [name, dtype] : fields) view.schema.push_back(Field{name, dtype, "", {}, {}});
  repo_.feature_views.push_back(view);  // "typed_view" sorts after "scores"
  MaterializeOptions only;
  only.views = {"typed_view"};
  auto report = materialize::Materialize(repo_, *store_, Jan(1), Jan(5), only);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(report->views[0].written, 2);

  OnlineView oview = OnlineView::FromFeatureView(view);
  std::vector<EntityKey> keys = {EntityKey{{"user_id"}, {Value::Int64(1)}},
                                 EntityKey{{"user_id"}, {Value::Int64(2)}}};
  std::vector<OnlineReadResult> results;
  ASSERT_TRUE(store_->MultiGet(oview, keys, &results).ok());
  ASSERT_EQ(results[0].state, OnlineRecordState::kFound);
  const std::vector<Value> want = {
      Value::Int32(7),
      Value::Int64(8),
      Value::Float32(1.5f),
      Value::Float64(2.25),
      Value::String("h\xc3\xa9llo"),
      Value::Bytes(std::string("\x00\xff" "ab", 4)),
      Value::Bool(true),
      Value::UnixTimestamp(1651820889123456),
      Value::Int32Array({1, 2}),
      Value::Int64Array({3, 4}),
      Value::Float32Array({0.5f, -1.5f}),
      Value::Float64Array({1e300}),
      Value::StringArray({"a", ""}),
      Value::BytesArray({std::string("\x01")}),
      Value::BoolArray({true, false}),
      Value::UnixTimestampArray({-315619200LL * 1'000'000}),
      Value::StringArray({}),
  };
  ASSERT_EQ(results[0].values.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(results[0].values[i], want[i]) << fields[i].first;
  }
  ASSERT_EQ(results[1].state, OnlineRecordState::kFound);
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_TRUE(results[1].values[i].is_null()) << fields[i].first;
  }
}

// DuckDB's arg_max over a STRUCT value (the latest row) turns -0.0 into 0.0;
// the materialized values keep their sign, and NaN and the infinities.
TEST_F(MaterializeTest, FloatsKeepNegativeZeroAndNonFiniteValues) {
  AddParquetSource("floats",
                   "SELECT 1::BIGINT AS user_id, TIMESTAMP '2023-01-02' AS ts, "
                   "'-0.0'::FLOAT AS f32, '-0.0'::DOUBLE AS f64, ['-0.0'::FLOAT, 0.0] AS af, "
                   "['-0.0'::DOUBLE, 'inf'::DOUBLE, 'nan'::DOUBLE] AS ad, "
                   "'-inf'::DOUBLE AS ninf, 0.0::DOUBLE AS zero");
  if (HasFatalFailure()) return;
  FeatureView view;
  view.name = "floats_view";
  view.entities = {"user"};
  view.source = "floats";
  const ValueType f32{ScalarType::kFloat32}, f64{ScalarType::kFloat64};
  view.schema = {Field{"f32", f32, "", {}, {}}, Field{"f64", f64, "", {}, {}},
                 Field{"af", ValueType{ScalarType::kFloat32, true}, "", {}, {}},
                 Field{"ad", ValueType{ScalarType::kFloat64, true}, "", {}, {}},
                 Field{"ninf", f64, "", {}, {}}, Field{"zero", f64, "", {}, {}}};
  repo_.feature_views.insert(repo_.feature_views.begin(), view);  // before "scores"
  MaterializeOptions only;
  only.views = {"floats_view"};
  auto report = materialize::Materialize(repo_, *store_, Jan(1), Jan(5), only);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  const std::vector<EntityKey> keys = {EntityKey{{"user_id"}, {Value::Int64(1)}}};
  std::vector<OnlineReadResult> results;
  ASSERT_TRUE(store_->MultiGet(OnlineView::FromFeatureView(view), keys, &results).ok());
  ASSERT_EQ(results[0].state, OnlineRecordState::kFound);
  const std::vector<Value>& v = results[0].values;
  EXPECT_TRUE(std::signbit(v[0].float32_value()));
  EXPECT_TRUE(std::signbit(v[1].float64_value()));
  ASSERT_EQ(v[2].float32_array().size(), 2u);
  EXPECT_TRUE(std::signbit(v[2].float32_array()[0]));
  EXPECT_FALSE(std::signbit(v[2].float32_array()[1]));
  ASSERT_EQ(v[3].float64_array().size(), 3u);
  EXPECT_TRUE(std::signbit(v[3].float64_array()[0]));
  EXPECT_EQ(v[3].float64_array()[1], std::numeric_limits<double>::infinity());
  EXPECT_TRUE(std::isnan(v[3].float64_array()[2]));
  EXPECT_EQ(v[4].float64_value(), -std::numeric_limits<double>::infinity());
  EXPECT_FALSE(std::signbit(v[5].float64_value()));
}

TEST_F(MaterializeTest, RerunIsIdempotentAndPartitionsAgree) {
  MaterializeOptions many;
  many.partitions = 3;
  many.chunk_rows = 1;
  auto first = materialize::Materialize(repo_, *store_, Jan(1), Jan(7), many);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(first->views[0].written, 4);
  auto after_first = Read();
  auto second = materialize::Materialize(repo_, *store_, Jan(1), Jan(7), {});
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->views[0].written, 0);
  EXPECT_EQ(second->views[0].skipped, 4);
  EXPECT_EQ(Read(), after_first);
  EXPECT_EQ(after_first[1].first, Value::Float64(5.0));
}

TEST_F(MaterializeTest, IncrementalStartsAtWatermarkOrTtl) {
  // No watermark, ttl 0: the beginning of time.
  auto all = materialize::Materialize(repo_, *store_, std::nullopt, Jan(2), {});
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  EXPECT_EQ(all->views[0].rows, 2);  // user 1 (Jan 1), user 2 (Dec 31)
  auto mark = materialize::ReadWatermark(repo_, "scores");
  ASSERT_TRUE(mark.ok());
  ASSERT_TRUE(mark->has_value());
  EXPECT_EQ(**mark, Jan(2));
  // From the watermark: Jan 2 .. Jan 6 (exclusive).
  auto next = materialize::Materialize(repo_, *store_, std::nullopt, Jan(6), {});
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(next->views[0].start, Jan(2));
  EXPECT_EQ(next->views[0].rows, 3);  // users 1, 2, 4
  EXPECT_EQ(Read()[1].first, Value::Float64(5.0));

  // A view with a ttl and no watermark starts at end - ttl.
  repo_.feature_views[0].name = "scores_ttl";
  repo_.feature_views[0].ttl = Duration{2 * kDay};
  auto ttl = materialize::Materialize(repo_, *store_, std::nullopt, Jan(4), {});
  ASSERT_TRUE(ttl.ok());
  EXPECT_EQ(ttl->views[0].start, Jan(2));
  EXPECT_EQ(ttl->views[0].rows, 3);  // users 1 (Jan 2), 2 (Jan 3), 4 (Jan 3)
}

TEST_F(MaterializeTest, WatermarkMovesOnlyAfterSuccess) {
  repo_.data_sources[0].path = "missing.csv";
  auto failed = materialize::Materialize(repo_, *store_, std::nullopt, Jan(6), {});
  EXPECT_FALSE(failed.ok());
  auto mark = materialize::ReadWatermark(repo_, "scores");
  ASSERT_TRUE(mark.ok());
  EXPECT_FALSE(mark->has_value());
}

TEST_F(MaterializeTest, OnlineStatuses) {
  repo_.feature_views[0].ttl = Duration{2 * kDay};
  ASSERT_TRUE(materialize::Materialize(repo_, *store_, Jan(1), Jan(5), {}).ok());
  OnlineFeaturesRequest request;
  request.features = {"scores:score"};
  request.entity_rows["user_id"] = {Value::Int64(1), Value::Int64(2), Value::Int64(3),
                                    Value::Int64(4)};
  OnlineReadOptions at;
  at.clock = [] { return Jan(4) + 1; };  // user 1 (Jan 2) is just past 2 days
  auto r = serving::GetOnlineFeatures(repo_, *store_, request, at);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->columns.size(), 2u);
  EXPECT_EQ(r->columns[0].name, "user_id");
  const auto& c = r->columns[1];
  EXPECT_EQ(c.name, "score");
  EXPECT_EQ(c.statuses, (std::vector<FeatureStatus>{
                            FeatureStatus::kOutsideMaxAge, FeatureStatus::kPresent,
                            FeatureStatus::kNotFound, FeatureStatus::kNullValue}));
  EXPECT_EQ(c.values[1], Value::Float64(3.0));
  EXPECT_EQ(c.event_timestamps[1], Jan(3));
  EXPECT_NE(r->ToJson().find("\"OUTSIDE_MAX_AGE\""), std::string::npos);

  at.clock = [] { return Jan(3); };
  auto fresh = serving::GetOnlineFeatures(repo_, *store_, request, at);
  ASSERT_TRUE(fresh.ok());
  EXPECT_EQ(fresh->columns[1].statuses[0], FeatureStatus::kPresent);
  EXPECT_EQ(fresh->columns[1].values[0], Value::Float64(2.5));

  OnlineFeaturesRequest missing;
  missing.features = {"scores:score"};
  missing.entity_rows["isbn"] = {Value::String("x")};
  auto bad = serving::GetOnlineFeatures(repo_, *store_, missing, at);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("user_id"), std::string::npos);
}

// The online values after a full materialize equal what a point-in-time join
// returns for entity rows just before `end` (materialize's end is exclusive).
TEST_F(MaterializeTest, MatchesHistoricalAtSameInstant) {
  ASSERT_TRUE(materialize::Materialize(repo_, *store_, Jan(1) - 3650 * kDay, Jan(6), {}).ok());
  HistoricalFeaturesRequest hreq;
  hreq.entity_sql =
      "SELECT user_id, TIMESTAMPTZ '2023-01-05 23:59:59.999999+00' AS event_timestamp "
      "FROM (VALUES (1), (2), (3), (4)) t(user_id)";
  hreq.features = {"scores:score"};
  auto job = offline::PrepareHistoricalRetrieval(repo_, hreq);
  ASSERT_TRUE(job.ok()) << job.status().ToString();
  std::string out = tmp_.Join("hist.csv");
  ASSERT_TRUE((*job)->WriteToFile(out).ok());
  std::istringstream lines(::larder::testing::ReadFileText(out));
  std::string line;
  std::getline(lines, line);  // header
  auto online = Read();
  int rows = 0;
  while (std::getline(lines, line)) {
    ++rows;
    int64_t user = std::stoll(line.substr(0, line.find(',')));
    std::string score = line.substr(line.rfind(',') + 1);
    if (score.empty()) {
      EXPECT_TRUE(!online.contains(user) || online[user].first.is_null()) << user;
    } else {
      ASSERT_TRUE(online.contains(user)) << user;
      EXPECT_EQ(online[user].first, Value::Float64(std::stod(score))) << user;
    }
  }
  EXPECT_EQ(rows, 4);
}

}  // namespace
}  // namespace larder
