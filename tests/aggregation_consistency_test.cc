// One aggregation definition, four computations, equal at every instant:
//   (a) training data (`GetHistoricalFeatures`) at t;
//   (b) online at t after materializing every event;
//   (c) online at t after pushing the same events one by one, shuffled;
//   (d) a brute-force reference (support/reference_aggregates.h);
// and (e) online after materializing half of the events and pushing the rest.
// Events are random per seed: out of order, equal times, on window edges,
// exact duplicates, nulls, -0.0; every function, several windows, with and
// without an interval.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "aggregation/event.h"
#include "larder/feature_store.h"
#include "offline/duckdb/duckdb_connection.h"
#include "support/reference_aggregates.h"
#include "support/test_util.h"

namespace larder {
namespace {

using aggregation::Event;
using ::larder::testing::TempDir;

constexpr int64_t kMin = Duration::kMinute;
constexpr int64_t kHour = Duration::kHour;
constexpr int64_t kDay = Duration::kDay;
constexpr TimestampMicros kBase = 1'704'067'200'000'000;  // 2024-01-01 UTC
const ValueType kInt64{ScalarType::kInt64, false};
const ValueType kFloat64{ScalarType::kFloat64, false};
const ValueType kString{ScalarType::kString, false};

// Every function, over windows 10m, 1h, 1d and lifetime, as YAML and as the
// definition the reference evaluates.
struct ViewUnderTest {
  std::string name;
  int64_t interval;
  FeatureView definition;
};

std::string AggregationsYaml(FeatureView* view) {
  struct Spec {
    const char* column;
    ValueType dtype;
    AggregationFunction function;
    int64_t n;
  };
  using F = AggregationFunction;
  const Spec specs[] = {
      {"x", kInt64, F::kCount, 0},       {"x", kInt64, F::kSum, 0},
      {"y", kFloat64, F::kSum, 0},       {"y", kFloat64, F::kMean, 0},
      {"x", kInt64, F::kMean, 0},        {"y", kFloat64, F::kStddev, 0},
      {"x", kInt64, F::kVariance, 0},    {"x", kInt64, F::kMin, 0},
      {"s", kString, F::kMax, 0},        {"y", kFloat64, F::kMin, 0},
      {"s", kString, F::kFirst, 0},      {"y", kFloat64, F::kLast, 0},
      {"x", kInt64, F::kFirstN, 3},      {"s", kString, F::kLastN, 2},
      {"s", kString, F::kCountDistinct, 0}, {"y", kFloat64, F::kCountDistinct, 0},
      {"x", kInt64, F::kApproxCountDistinct, 0},
  };
  std::string yaml = "    aggregations:\n";
  for (const char* window : {"10m", "1h", "1d", "lifetime"}) {
    for (const Spec& s : specs) {
      Aggregation a;
      a.column = s.column;
      a.column_dtype = s.dtype;
      a.function = s.function;
      a.n = s.n;
      a.lifetime = std::string(window) == "lifetime";
      if (!a.lifetime) a.window = *ParseDuration(window);
      a.name = AggregationDefaultName(a);
      yaml += "      - {column: " + a.column + ", function: " + AggregationFunctionText(a) +
              ", time_window: " + window + "}\n";
      view->aggregations.push_back(a);
    }
  }
  return yaml;
}

// Writes the repo; the events file holds `file_events` of (user, event).
void WriteRepo(const TempDir& dir, std::vector<ViewUnderTest>* views) {
  dir.Write("feature_store.yaml",
            "project: agg\nregistry: data/registry.db\nprovider: local\n"
            "online_store: {type: rocksdb, path: data/online}\n"
            "offline_store: {type: duckdb, path: data/offline.duckdb}\n"
            "push_max_future_skew: 3650d\n");
  dir.Write("data/.keep", "");
  std::string yaml =
      "entities:\n  - {name: user, join_keys: [user_id], value_type: Int64}\n"
      "data_sources:\n"
      "  - {name: events, type: file, path: data/events.parquet, timestamp_field: ts}\n"
      "  - {name: events_push, type: push, batch_source: events}\n"
      "feature_views:\n";
  for (ViewUnderTest& v : *views) {
    v.definition = FeatureView();
    v.definition.name = v.name;
    v.definition.aggregation_interval.micros = v.interval;
    yaml += "  - name: " + v.name + "\n    entities: [user]\n    source: events_push\n";
    if (v.interval > 0) yaml += "    aggregation_interval: " + FormatDuration({v.interval}) + "\n";
    yaml += AggregationsYaml(&v.definition);
  }
  dir.Write("repo.yaml", yaml);
}

struct UserEvent {
  int64_t user;
  Event event;
};

std::string Sql(const Value& v) {
  if (v.is_null()) return "NULL";
  if (v.type() == kInt64) return std::to_string(v.int64_value());
  if (v.type() == kFloat64) {
    const double d = v.float64_value();
    return std::signbit(d) && d == 0 ? "CAST('-0.0' AS DOUBLE)" : "CAST(" + std::to_string(d) + " AS DOUBLE)";
  }
  return duckdb::QuoteLiteral(v.string_value());
}

void WriteEvents(const std::string& path, const std::vector<UserEvent>& events) {
  auto conn = duckdb::Connection::Open(":memory:");
  ASSERT_TRUE(conn.ok());
  ASSERT_TRUE((*conn)->Execute("CREATE TABLE e (user_id BIGINT, ts TIMESTAMP, x BIGINT, "
                               "y DOUBLE, s VARCHAR)", "test").ok());
  for (const UserEvent& e : events) {
    ASSERT_TRUE((*conn)->Execute("INSERT INTO e VALUES (" + std::to_string(e.user) +
                                     ", make_timestamp(" + std::to_string(e.event.time) + "), " +
                                     Sql(e.event.values[0]) + ", " + Sql(e.event.values[1]) +
                                     ", " + Sql(e.event.values[2]) + ")",
                                 "test").ok());
  }
  ASSERT_TRUE((*conn)->Execute("COPY e TO " + duckdb::QuoteLiteral(path) + " (FORMAT parquet)",
                               "test").ok());
}

std::vector<UserEvent> RandomEvents(std::mt19937_64& rng, const std::vector<TimestampMicros>& edges) {
  std::uniform_int_distribution<int64_t> offset(0, 2 * kDay);
  std::uniform_int_distribution<int> small(0, 9);
  std::vector<UserEvent> out;
  for (int i = 0; i < 120; ++i) {
    UserEvent u;
    u.user = 1 + small(rng) % 3;
    Event& e = u.event;
    switch (small(rng) % 4) {
      case 0: e.time = kBase + offset(rng); break;
      case 1: e.time = edges[rng() % edges.size()] + small(rng) % 3 - 1; break;
      case 2: e.time = out.empty() ? kBase : out[rng() % out.size()].event.time; break;
      default: e.time = kBase + offset(rng) / (10 * kMin) * (10 * kMin); break;
    }
    e.values.push_back(small(rng) == 0 ? Value() : Value::Int64(small(rng) - 3));
    const int y = small(rng);
    e.values.push_back(y == 0 ? Value() : Value::Float64(y == 1 ? -0.0 : 0.25 * (y - 5)));
    e.values.push_back(small(rng) < 2 ? Value() : Value::String(std::string(1, 'a' + small(rng))));
    e.tie = aggregation::EventTieKey(e.values);
    out.push_back(u);
    if (small(rng) == 0) out.push_back(u);  // an exact duplicate
  }
  std::shuffle(out.begin(), out.end(), rng);
  return out;
}

// The pushed rows of `events`, column-wise.
ColumnTable Rows(const std::vector<UserEvent>& events) {
  ColumnTable rows;
  for (const UserEvent& e : events) {
    rows["user_id"].push_back(Value::Int64(e.user));
    rows["ts"].push_back(Value::UnixTimestamp(e.event.time));
    rows["x"].push_back(e.event.values[0]);
    rows["y"].push_back(e.event.values[1]);
    rows["s"].push_back(e.event.values[2]);
  }
  return rows;
}

// A store over its own copy of the repo, with a settable clock.
struct Store {
  TempDir dir;
  TimestampMicros now = kBase;
  std::unique_ptr<FeatureStore> fs;

  Store(std::vector<ViewUnderTest>* views, const std::vector<UserEvent>& file_events) {
    WriteRepo(dir, views);
    WriteEvents(dir.Join("data/events.parquet"), file_events);
    FeatureStoreOptions o;
    o.repo_dir = dir.path();
    o.clock = [this] { return now; };
    auto opened = FeatureStore::Open(o);
    EXPECT_TRUE(opened.ok()) << opened.status().ToString();
    fs = std::move(*opened);
    auto applied = fs->Apply();
    EXPECT_TRUE(applied.ok()) << applied.status().ToString();
  }

  // Each view's values per user at `t`, read online.
  std::vector<Value> Online(const ViewUnderTest& view, int64_t user, TimestampMicros t) {
    OnlineFeaturesRequest req;
    for (const Aggregation& a : view.definition.aggregations) {
      req.features.push_back(view.name + ":" + a.name);
    }
    req.entity_rows["user_id"] = {Value::Int64(user)};
    OnlineReadOptions options;
    options.clock = [t] { return t; };
    auto got = fs->GetOnlineFeatures(req, options);
    EXPECT_TRUE(got.ok()) << got.status().ToString();
    std::vector<Value> values;
    if (!got.ok()) return values;
    for (const Aggregation& a : view.definition.aggregations) {
      for (const OnlineFeatureColumn& c : got->columns) {
        if (c.name == a.name) values.push_back(c.values[0]);
      }
    }
    return values;
  }
};

void ExpectAgree(const ViewUnderTest& view, const std::vector<Value>& want,
                 const std::vector<Value>& got, const std::string& what) {
  ASSERT_EQ(want.size(), got.size()) << what;
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_TRUE(aggregation::AggregatesAgree(want[i], got[i]))
        << what << " " << view.name << ":" << view.definition.aggregations[i].name << " want "
        << want[i].DebugString() << " got " << got[i].DebugString();
  }
}

class AggregationConsistency : public ::testing::TestWithParam<int> {};

TEST_P(AggregationConsistency, TrainingDataOnlineAndPushesAgreeWithTheReference) {
  std::mt19937_64 rng(static_cast<uint64_t>(GetParam()));
  std::vector<ViewUnderTest> views = {{"agg_continuous", 0, {}}, {"agg_10m", 10 * kMin, {}}};
  // Instants over the events' second day and just after, ascending; events
  // also fall on their windows' edges.
  std::vector<TimestampMicros> instants;
  for (int i = 0; i < 6; ++i) instants.push_back(kBase + kDay + static_cast<int64_t>(rng() % (kDay + 2 * kHour)));
  std::sort(instants.begin(), instants.end());
  std::vector<TimestampMicros> edges;
  for (TimestampMicros t : instants) {
    const TimestampMicros end = t / (10 * kMin) * (10 * kMin);
    for (int64_t w : {int64_t{0}, 10 * kMin, kHour, kDay}) {
      edges.push_back(t - w);
      edges.push_back(end - w);
    }
  }
  const std::vector<UserEvent> events = RandomEvents(rng, edges);
  const TimestampMicros after_all = kBase + 3 * kDay;

  // (b): every event in the file, materialized.
  Store materialized(&views, events);
  // (c): no event in the file; each pushed alone, in another order.
  Store pushed(&views, {});
  std::vector<UserEvent> shuffled = events;
  std::shuffle(shuffled.begin(), shuffled.end(), rng);
  pushed.now = instants.front();
  for (const UserEvent& e : shuffled) {
    auto r = pushed.fs->Push("events_push", Rows({e}), PushTarget::kOnline);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
  }
  // (e): half in the file and materialized, the rest pushed.
  const std::vector<UserEvent> first_half(shuffled.begin(), shuffled.begin() + shuffled.size() / 2);
  const std::vector<UserEvent> second_half(shuffled.begin() + shuffled.size() / 2, shuffled.end());
  Store mixed(&views, first_half);
  mixed.now = instants.front();
  ASSERT_TRUE(mixed.fs->MaterializeIncremental(after_all).ok());
  ASSERT_TRUE(mixed.fs->Push("events_push", Rows(second_half), PushTarget::kOnline).ok());

  // (a): training data for every (user, instant) at once.
  std::string entity_sql = "SELECT * FROM (VALUES ";
  for (size_t i = 0; i < instants.size() * 3; ++i) {
    entity_sql += (i ? ", (" : "(") + std::to_string(1 + i % 3) + "::BIGINT, make_timestamp(" +
                  std::to_string(instants[i / 3]) + "))";
  }
  entity_sql += ") t(user_id, event_timestamp)";
  std::map<std::string, std::vector<std::vector<Value>>> training;  // view -> row -> values
  for (const ViewUnderTest& view : views) {
    HistoricalFeaturesRequest req;
    req.entity_sql = entity_sql;
    std::vector<ValueType> types;
    for (const Aggregation& a : view.definition.aggregations) {
      req.features.push_back(view.name + ":" + a.name);
      types.push_back(AggregationOutputType(a));
    }
    auto job = materialized.fs->GetHistoricalFeatures(req);
    ASSERT_TRUE(job.ok()) << job.status().ToString();
    const std::string out = materialized.dir.Join(view.name + ".parquet");
    ASSERT_TRUE((*job)->WriteToFile(out).ok());
    auto conn = duckdb::Connection::Open(":memory:");
    ASSERT_TRUE(conn.ok());
    auto rows = (*conn)->QueryValues("SELECT * EXCLUDE (user_id, event_timestamp) FROM read_parquet(" +
                                         duckdb::QuoteLiteral(out) + ")",
                                     "training data", types);
    ASSERT_TRUE(rows.ok()) << rows.status().ToString();
    ASSERT_EQ(rows->size(), instants.size() * 3);
    training[view.name] = std::move(*rows);
  }

  for (size_t i = 0; i < instants.size(); ++i) {
    const TimestampMicros t = instants[i];
    materialized.now = t;
    ASSERT_TRUE(materialized.fs->MaterializeIncremental(t).ok());
    for (int64_t user = 1; user <= 3; ++user) {
      std::vector<Event> own;
      for (const UserEvent& e : events) {
        if (e.user == user) own.push_back(e.event);
      }
      for (const ViewUnderTest& view : views) {
        const std::vector<Value> want = aggregation::ReferenceAggregates(view.definition, own, t);
        const std::string at = "user " + std::to_string(user) + " t=" + std::to_string(t);
        ExpectAgree(view, want, training[view.name][i * 3 + static_cast<size_t>(user - 1)],
                    "(a) training data, " + at);
        ExpectAgree(view, want, materialized.Online(view, user, t), "(b) materialized, " + at);
        ExpectAgree(view, want, pushed.Online(view, user, t), "(c) pushed, " + at);
        ExpectAgree(view, want, mixed.Online(view, user, t), "(e) half and half, " + at);
      }
    }
  }
}

// Reads within one interval are answered from the window value cache while
// the state is unchanged; each push changes the state, so the next read at
// the same instant must see it.
TEST(AggregationConsistency, ReadsWithinAnIntervalSeeEveryPush) {
  std::mt19937_64 rng(3);
  std::vector<ViewUnderTest> views = {{"agg_10m", 10 * kMin, {}}};
  const TimestampMicros t = kBase + 2 * kDay + 3 * kMin;
  std::vector<UserEvent> events = RandomEvents(rng, {t - kHour, t - kDay});
  std::erase_if(events, [&](const UserEvent& e) { return e.event.time >= t - 3 * kMin; });
  Store store(&views, {});
  store.now = t;
  std::vector<Event> seen;
  for (size_t i = 0; i < events.size() && i < 40; ++i) {
    if (events[i].user != 1) continue;
    ASSERT_TRUE(store.fs->Push("events_push", Rows({events[i]}), PushTarget::kOnline).ok());
    seen.push_back(events[i].event);
    const std::vector<Value> want = aggregation::ReferenceAggregates(views[0].definition, seen, t);
    for (int read = 0; read < 2; ++read) {  // the second read is a cache hit
      ExpectAgree(views[0], want, store.Online(views[0], 1, t),
                  "after push " + std::to_string(i) + ", read " + std::to_string(read));
    }
  }
  ASSERT_GE(seen.size(), 5u);
}

// An online delete takes the entity's windows too, and materializing again
// brings them back even though the view's watermark has not moved.
TEST(AggregationConsistency, DeletedStatesComeBackWithTheNextMaterialization) {
  std::mt19937_64 rng(7);
  std::vector<ViewUnderTest> views = {{"agg_10m", 10 * kMin, {}}};
  const TimestampMicros t = kBase + 2 * kDay;
  const std::vector<UserEvent> events = RandomEvents(rng, {t - kHour, t - kDay});
  Store store(&views, events);
  store.now = t;
  ASSERT_TRUE(store.fs->MaterializeIncremental(t).ok());
  std::vector<Event> own;
  for (const UserEvent& e : events) {
    if (e.user == 1) own.push_back(e.event);
  }
  const std::vector<Value> want = aggregation::ReferenceAggregates(views[0].definition, own, t);
  ExpectAgree(views[0], want, store.Online(views[0], 1, t), "materialized");
  size_t lifetime_count = 0;
  while (views[0].definition.aggregations[lifetime_count].name != "x_count_lifetime") {
    ++lifetime_count;
  }
  ASSERT_GT(want[lifetime_count].int64_value(), 0);

  auto deleted = store.fs->DeleteOnline({{"user_id", {Value::Int64(1)}}}, {"agg_10m"});
  ASSERT_TRUE(deleted.ok()) << deleted.status().ToString();
  EXPECT_EQ(store.Online(views[0], 1, t)[lifetime_count], Value::Int64(0));
  ASSERT_TRUE(store.fs->MaterializeIncremental(t).ok());  // the watermark is already t
  ExpectAgree(views[0], want, store.Online(views[0], 1, t), "materialized again");
}

INSTANTIATE_TEST_SUITE_P(Seeds, AggregationConsistency, ::testing::Values(1, 2, 3));

}  // namespace
}  // namespace larder
