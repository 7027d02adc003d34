// Window aggregations in training data: Larder's historical retrieval against
// a brute-force reference in plain C++ over random event sets (out-of-order
// and equal timestamps, repeated events, nulls, sub-microsecond times, entity
// rows exactly a window after an event and exactly at an event), every
// function, several windows, with and without an interval.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "aggregation/event.h"
#include "aggregation/hll.h"
#include "larder/offline_store.h"
#include "larder/repo.h"
#include "offline/duckdb/duckdb_connection.h"
#include "offline/historical/historical_retrieval.h"
#include "online/value_codec.h"
#include "serving/online_plan.h"
#include "support/test_util.h"

namespace larder::offline {
namespace {

using aggregation::Event;
using ::larder::testing::TempDir;

constexpr int64_t kSecond = 1'000'000;
constexpr int64_t kMinute = 60 * kSecond;
constexpr int64_t kHour = 60 * kMinute;
constexpr int64_t kDay = 24 * kHour;
// 2024-01-01 00:00:00 UTC.
constexpr TimestampMicros kBase = 1'704'067'200'000'000;

const ValueType kInt32{ScalarType::kInt32, false};
const ValueType kInt64{ScalarType::kInt64, false};
const ValueType kFloat32{ScalarType::kFloat32, false};
const ValueType kBool{ScalarType::kBool, false};
const ValueType kFloat64{ScalarType::kFloat64, false};
const ValueType kString{ScalarType::kString, false};
const ValueType kTimestamp{ScalarType::kUnixTimestamp, false};

// The aggregated columns of the generated source, in AggregatedColumns order
// of the views below (each view's first aggregations use them in this order).
const std::vector<std::pair<std::string, ValueType>> kColumns = {
    {"v_int", kInt64}, {"v_dbl", kFloat64}, {"v_str", kString}, {"v_ts", kTimestamp},
    {"v_i32", kInt32}, {"v_f32", kFloat32}, {"v_bool", kBool}};

// One source row: user, event time in nanoseconds (nullopt: NULL), values.
struct SourceRow {
  std::optional<int64_t> user;
  std::optional<int64_t> ts_ns;
  std::vector<Value> values;  // one per kColumns entry
};

struct EntityRow {
  std::optional<int64_t> user;
  std::optional<TimestampMicros> ts;
};

Aggregation Agg(const std::string& column, AggregationFunction f, int64_t window, int64_t n = 0) {
  Aggregation a;
  a.column = column;
  a.function = f;
  a.n = n;
  a.lifetime = window == 0;
  a.window = Duration{window};
  for (const auto& [name, type] : kColumns) {
    if (name == column) a.column_dtype = type;
  }
  a.name = AggregationDefaultName(a);
  return a;
}

// Every function over fitting columns, for each window; the first four
// aggregations use the columns in kColumns order.
std::vector<Aggregation> AllAggregations(const std::vector<int64_t>& windows) {
  using F = AggregationFunction;
  std::vector<Aggregation> out;
  for (int64_t w : windows) {
    out.push_back(Agg("v_int", F::kCount, w));
    out.push_back(Agg("v_dbl", F::kSum, w));
    out.push_back(Agg("v_str", F::kFirst, w));
    out.push_back(Agg("v_ts", F::kMax, w));
    out.push_back(Agg("v_i32", F::kSum, w));
    out.push_back(Agg("v_f32", F::kMean, w));
    out.push_back(Agg("v_bool", F::kFirst, w));
    out.push_back(Agg("v_i32", F::kMax, w));
    out.push_back(Agg("v_f32", F::kMin, w));
    out.push_back(Agg("v_f32", F::kSum, w));
    out.push_back(Agg("v_f32", F::kLastN, w, 2));
    out.push_back(Agg("v_bool", F::kLastN, w, 2));
    out.push_back(Agg("v_bool", F::kCount, w));
    out.push_back(Agg("v_f32", F::kCountDistinct, w));
    out.push_back(Agg("v_i32", F::kApproxCountDistinct, w));
    out.push_back(Agg("v_f32", F::kApproxCountDistinct, w));
    out.push_back(Agg("v_int", F::kSum, w));
    out.push_back(Agg("v_int", F::kMean, w));
    out.push_back(Agg("v_dbl", F::kMean, w));
    out.push_back(Agg("v_int", F::kMin, w));
    out.push_back(Agg("v_int", F::kMax, w));
    out.push_back(Agg("v_dbl", F::kMin, w));
    out.push_back(Agg("v_str", F::kMax, w));
    out.push_back(Agg("v_ts", F::kMin, w));
    out.push_back(Agg("v_dbl", F::kStddev, w));
    out.push_back(Agg("v_int", F::kVariance, w));
    out.push_back(Agg("v_int", F::kFirst, w));
    out.push_back(Agg("v_dbl", F::kLast, w));
    out.push_back(Agg("v_str", F::kLast, w));
    out.push_back(Agg("v_ts", F::kLast, w));
    out.push_back(Agg("v_int", F::kFirstN, w, 3));
    out.push_back(Agg("v_str", F::kLastN, w, 2));
    out.push_back(Agg("v_dbl", F::kLastN, w, 4));
    out.push_back(Agg("v_ts", F::kFirstN, w, 2));
    out.push_back(Agg("v_dbl", F::kCountDistinct, w));
    out.push_back(Agg("v_str", F::kCountDistinct, w));
    out.push_back(Agg("v_int", F::kApproxCountDistinct, w));
    out.push_back(Agg("v_dbl", F::kApproxCountDistinct, w));
  }
  return out;
}

// -0.0 counts as 0.0 for the distinct counts.
Value Canonical(const Value& v) {
  if (!v.is_null() && v.type() == kFloat64) return Value::Float64(v.float64_value() + 0.0);
  if (!v.is_null() && v.type() == kFloat32) return Value::Float32(v.float32_value() + 0.0f);
  return v;
}

// The reference value of `a` over `events` (already deduplicated, sorted,
// of this entity and in the window), as a Value of AggregationOutputType.
Value Reference(const Aggregation& a, size_t column, const std::vector<Event>& events) {
  std::vector<Value> values;
  for (const Event& e : events) {
    if (!e.values[column].is_null()) values.push_back(e.values[column]);
  }
  const bool is_float = a.column_dtype == kFloat64 || a.column_dtype == kFloat32;
  auto as_double = [&](const Value& v) {
    switch (a.column_dtype.scalar) {
      case ScalarType::kInt32: return static_cast<double>(v.int32_value());
      case ScalarType::kFloat32: return static_cast<double>(v.float32_value());
      case ScalarType::kFloat64: return v.float64_value();
      default: return static_cast<double>(v.int64_value());
    }
  };
  auto less = [&](const Value& x, const Value& y) {
    switch (a.column_dtype.scalar) {
      case ScalarType::kInt32: return x.int32_value() < y.int32_value();
      case ScalarType::kFloat32: return x.float32_value() < y.float32_value();
      case ScalarType::kInt64: return x.int64_value() < y.int64_value();
      case ScalarType::kFloat64: return x.float64_value() < y.float64_value();
      case ScalarType::kString: return x.string_value() < y.string_value();
      default: return x.timestamp_value() < y.timestamp_value();
    }
  };
  auto list = [&](size_t from, size_t to) {
    switch (a.column_dtype.scalar) {
      case ScalarType::kFloat32: {
        std::vector<float> out;
        for (size_t i = from; i < to; ++i) out.push_back(values[i].float32_value());
        return Value::Float32Array(out);
      }
      case ScalarType::kBool: {
        std::vector<bool> out;
        for (size_t i = from; i < to; ++i) out.push_back(values[i].bool_value());
        return Value::BoolArray(out);
      }
      case ScalarType::kInt64: {
        std::vector<int64_t> out;
        for (size_t i = from; i < to; ++i) out.push_back(values[i].int64_value());
        return Value::Int64Array(out);
      }
      case ScalarType::kFloat64: {
        std::vector<double> out;
        for (size_t i = from; i < to; ++i) out.push_back(values[i].float64_value());
        return Value::Float64Array(out);
      }
      case ScalarType::kString: {
        std::vector<std::string> out;
        for (size_t i = from; i < to; ++i) out.push_back(values[i].string_value());
        return Value::StringArray(out);
      }
      default: {
        std::vector<TimestampMicros> out;
        for (size_t i = from; i < to; ++i) out.push_back(values[i].timestamp_value());
        return Value::UnixTimestampArray(out);
      }
    }
  };
  const size_t n = values.size();
  const bool numeric = a.column_dtype == kInt64 || a.column_dtype == kInt32 || is_float;
  double sum = 0;
  for (const Value& v : values) sum += numeric ? as_double(v) : 0;
  switch (a.function) {
    case AggregationFunction::kCount:
      return Value::Int64(static_cast<int64_t>(n));
    case AggregationFunction::kSum: {
      if (n == 0) return Value::Null();
      if (is_float) return Value::Float64(sum);
      int64_t s = 0;
      for (const Value& v : values) s += static_cast<int64_t>(as_double(v));
      return Value::Int64(s);
    }
    case AggregationFunction::kMean:
      return n == 0 ? Value::Null() : Value::Float64(sum / static_cast<double>(n));
    case AggregationFunction::kMin:
      return n == 0 ? Value::Null() : *std::min_element(values.begin(), values.end(), less);
    case AggregationFunction::kMax:
      return n == 0 ? Value::Null() : *std::max_element(values.begin(), values.end(), less);
    case AggregationFunction::kStddev:
    case AggregationFunction::kVariance: {
      if (n < 2) return Value::Null();
      const double mean = sum / static_cast<double>(n);
      double squares = 0;
      for (const Value& v : values) squares += (as_double(v) - mean) * (as_double(v) - mean);
      const double variance = squares / static_cast<double>(n - 1);
      return Value::Float64(a.function == AggregationFunction::kStddev ? std::sqrt(variance)
                                                                      : variance);
    }
    case AggregationFunction::kFirst:
      return n == 0 ? Value::Null() : values.front();
    case AggregationFunction::kLast:
      return n == 0 ? Value::Null() : values.back();
    case AggregationFunction::kFirstN:
      return n == 0 ? Value::Null() : list(0, std::min<size_t>(n, a.n));
    case AggregationFunction::kLastN:
      return n == 0 ? Value::Null() : list(n - std::min<size_t>(n, a.n), n);
    case AggregationFunction::kCountDistinct: {
      std::set<std::string> seen;
      for (const Value& v : values) {
        std::string bytes;
        online::EncodeValue(Canonical(v), &bytes);
        seen.insert(bytes);
      }
      return Value::Int64(static_cast<int64_t>(seen.size()));
    }
    case AggregationFunction::kApproxCountDistinct: {
      aggregation::Hll hll;
      for (const Value& v : values) hll.Add(aggregation::DistinctHash(Canonical(v)));
      return Value::Int64(hll.Estimate());
    }
  }
  return Value::Null();
}

bool Close(double got, double want) {
  return std::fabs(got - want) <= 1e-9 * std::max(1.0, std::fabs(want));
}

bool Matches(const Value& got, const Value& want) {
  if (got.is_null() || want.is_null()) return got.is_null() == want.is_null();
  if (want.type() == kFloat64) return Close(got.float64_value(), want.float64_value());
  return got == want;
}

// The DuckDB literal of a value of kColumns' types.
std::string Literal(const Value& v) {
  if (v.is_null()) return "NULL";
  switch (v.type().scalar) {
    case ScalarType::kInt64: return std::to_string(v.int64_value());
    case ScalarType::kInt32: return std::to_string(v.int32_value());
    case ScalarType::kFloat32: return "CAST(" + std::to_string(v.float32_value()) + " AS FLOAT)";
    case ScalarType::kBool: return v.bool_value() ? "true" : "false";
    case ScalarType::kFloat64: {
      // Exact in decimal: multiples of 1/4.
      if (v.float64_value() == 0 && std::signbit(v.float64_value())) return "'-0.0'::DOUBLE";
      return "CAST(" + std::to_string(v.float64_value()) + " AS DOUBLE)";
    }
    case ScalarType::kString: return duckdb::QuoteLiteral(v.string_value());
    default: return "make_timestamp(" + std::to_string(v.timestamp_value()) + ")";
  }
}

struct Scenario {
  std::vector<SourceRow> rows;
  std::vector<EntityRow> entities;
};

Scenario Generate(uint64_t seed) {
  std::mt19937_64 rng(seed);
  auto pick = [&](int64_t n) { return static_cast<int64_t>(rng() % static_cast<uint64_t>(n)); };
  Scenario sc;
  const int rows = static_cast<int>(50 + pick(250));
  std::vector<TimestampMicros> event_times;
  for (int i = 0; i < rows; ++i) {
    if (i > 0 && pick(10) == 0) {  // the same event again
      sc.rows.push_back(sc.rows[static_cast<size_t>(pick(i))]);
      continue;
    }
    SourceRow r;
    if (pick(40) != 0) r.user = 1 + pick(4);
    // Five-minute slots over three days force equal times; some rows are a
    // few nanoseconds or microseconds off a slot (rounded up to the µs).
    int64_t ns = (kBase + pick(3 * 24 * 12) * 5 * kMinute) * 1000;
    switch (pick(6)) {
      case 0: ns += 1 + pick(999); break;
      case 1: ns += pick(5000) * 1000; break;
      default: break;
    }
    if (pick(50) != 0) r.ts_ns = ns;
    const int64_t dbl = pick(12);
    r.values = {
        pick(6) == 0 ? Value::Null() : Value::Int64(pick(20) - 5),
        pick(6) == 0 ? Value::Null()
                     : Value::Float64(dbl == 0 ? -0.0 : static_cast<double>(dbl - 4) / 4.0),
        pick(6) == 0 ? Value::Null() : Value::String("s" + std::to_string(pick(8))),
        pick(6) == 0 ? Value::Null() : Value::UnixTimestamp(kBase + pick(100) * kMinute),
        pick(6) == 0 ? Value::Null() : Value::Int32(static_cast<int32_t>(pick(9) - 3)),
        pick(6) == 0 ? Value::Null() : Value::Float32(static_cast<float>(pick(10)) / 4.0f - 1.0f),
        pick(6) == 0 ? Value::Null() : Value::Bool(pick(2) == 0),
    };
    if (r.ts_ns) event_times.push_back((*r.ts_ns + 999) / 1000);
    sc.rows.push_back(std::move(r));
  }
  const int64_t offsets[] = {0, kHour, kDay, 10 * kMinute, 1, -1};
  const int entities = static_cast<int>(30 + pick(60));
  for (int i = 0; i < entities; ++i) {
    EntityRow e;
    if (pick(30) != 0) e.user = 1 + pick(5);  // user 5 has no events
    if (pick(40) != 0) {
      if (!event_times.empty() && pick(2) == 0) {
        // Exactly at an event, or a window (or an interval) after one.
        e.ts = event_times[static_cast<size_t>(pick(static_cast<int64_t>(event_times.size())))] +
               offsets[pick(6)];
      } else {
        e.ts = kBase - kHour + pick(4 * kDay / kSecond) * kSecond + pick(3) * 123'457;
      }
    }
    sc.entities.push_back(e);
  }
  return sc;
}

FeatureRepo MakeRepo(const std::string& root, const std::string& source_path) {
  FeatureRepo repo;
  repo.root = root;
  repo.config.project = "agg";
  repo.config.offline_store.options["path"] = root + "/offline.duckdb";
  Entity user;
  user.name = "user";
  user.join_keys = {"user_id"};
  user.value_type = kInt64;
  repo.entities = {user};
  DataSource source;
  source.name = "events";
  source.kind = DataSourceKind::kFile;
  source.path = source_path;
  source.file_format = FileFormat::kParquet;
  source.timestamp_field = "ts";
  repo.data_sources = {source};
  FeatureView continuous;
  continuous.name = "agg_continuous";
  continuous.entities = {"user"};
  continuous.source = "events";
  continuous.aggregations = AllAggregations({kHour, kDay, 0});
  FeatureView tiled = continuous;
  tiled.name = "agg_tiled";
  tiled.aggregation_interval = Duration{10 * kMinute};
  tiled.aggregations = AllAggregations({kHour, 2 * kDay});
  // Other aggregations over the same events: they share agg_continuous's
  // statement.
  FeatureView more = continuous;
  more.name = "agg_continuous_more";
  more.aggregations = AllAggregations({30 * kMinute});
  repo.feature_views = {continuous, more, tiled};
  return repo;
}

void WriteSource(duckdb::Connection& conn, const Scenario& sc, const std::string& path) {
  std::string sql =
      "CREATE OR REPLACE TABLE src (user_id BIGINT, ts TIMESTAMP_NS, v_int BIGINT, "
      "v_dbl DOUBLE, v_str VARCHAR, v_ts TIMESTAMP, v_i32 INTEGER, v_f32 FLOAT, v_bool BOOLEAN); "
      "INSERT INTO src VALUES ";
  for (size_t i = 0; i < sc.rows.size(); ++i) {
    const SourceRow& r = sc.rows[i];
    sql += std::string(i ? ", (" : "(") + (r.user ? std::to_string(*r.user) : "NULL") + ", " +
           (r.ts_ns ? "make_timestamp_ns(" + std::to_string(*r.ts_ns) + ")" : "NULL");
    for (const Value& v : r.values) sql += ", " + Literal(v);
    sql += ")";
  }
  sql += "; COPY src TO " + duckdb::QuoteLiteral(path) + " (FORMAT parquet)";
  ASSERT_TRUE(conn.Execute(sql, "write source").ok());
}

std::string WriteEntities(duckdb::Connection& conn, const Scenario& sc, const std::string& dir) {
  std::string sql =
      "CREATE OR REPLACE TABLE ents (user_id BIGINT, event_timestamp TIMESTAMP, label BIGINT); "
      "INSERT INTO ents VALUES ";
  for (size_t i = 0; i < sc.entities.size(); ++i) {
    const EntityRow& e = sc.entities[i];
    sql += std::string(i ? ", (" : "(") + (e.user ? std::to_string(*e.user) : "NULL") + ", " +
           (e.ts ? "make_timestamp(" + std::to_string(*e.ts) + ")" : "NULL") + ", " +
           std::to_string(i) + ")";
  }
  const std::string path = dir + "/entities.parquet";
  sql += "; COPY ents TO " + duckdb::QuoteLiteral(path) + " (FORMAT parquet)";
  EXPECT_TRUE(conn.Execute(sql, "write entities").ok());
  return path;
}

// The events of `user`, deduplicated, in event order.
std::vector<Event> EventsOf(const Scenario& sc, int64_t user) {
  std::vector<Event> events;
  for (const SourceRow& r : sc.rows) {
    if (!r.user || *r.user != user || !r.ts_ns) continue;
    Event e;
    e.time = (*r.ts_ns + 999) / 1000;  // rounded up to the microsecond
    e.values = r.values;
    e.tie = aggregation::EventTieKey(e.values);
    events.push_back(std::move(e));
  }
  std::sort(events.begin(), events.end(), aggregation::EventLess);
  events.erase(std::unique(events.begin(), events.end(), aggregation::SameEvent), events.end());
  return events;
}

// How a result column is read back, as a Value of `t`.
std::string ReadSql(const std::string& column, const ValueType& t) {
  const std::string c = duckdb::QuoteIdentifier(column);
  if (t.scalar != ScalarType::kUnixTimestamp) return c;
  return t.is_array ? "list_transform(" + c + ", x -> epoch_us(x))" : "epoch_us(" + c + ")";
}

void RunSeed(uint64_t seed) {
  SCOPED_TRACE("seed " + std::to_string(seed));
  TempDir tmp;
  auto conn = duckdb::Connection::Open(":memory:");
  ASSERT_TRUE(conn.ok());
  Scenario sc = Generate(seed);
  const std::string source_path = tmp.Join("events.parquet");
  WriteSource(**conn, sc, source_path);
  // The reference reads the rows back as stored (Parquet's dictionary
  // encoding, for one, may store a -0.0 as 0.0).
  auto stored = (*conn)->QueryValues(
      "SELECT user_id, epoch_ns(ts), v_int, v_dbl, v_str, epoch_us(v_ts), v_i32, v_f32, v_bool "
      "FROM read_parquet(" +
          duckdb::QuoteLiteral(source_path) + ")",
      "stored source",
      std::vector<ValueType>{kInt64, kInt64, kInt64, kFloat64, kString, kTimestamp, kInt32,
                             kFloat32, kBool});
  ASSERT_TRUE(stored.ok()) << stored.status().ToString();
  sc.rows.clear();
  for (const std::vector<Value>& r : *stored) {
    SourceRow row;
    if (!r[0].is_null()) row.user = r[0].int64_value();
    if (!r[1].is_null()) row.ts_ns = r[1].int64_value();
    row.values.assign(r.begin() + 2, r.end());
    sc.rows.push_back(std::move(row));
  }
  FeatureRepo repo = MakeRepo(tmp.path(), source_path);

  HistoricalFeaturesRequest request;
  request.entity_path = WriteEntities(**conn, sc, tmp.path());
  request.full_feature_names = true;
  struct Wanted {
    const FeatureView* view;
    size_t aggregation;
  };
  std::vector<Wanted> wanted;
  std::mt19937_64 rng(seed * 31 + 7);
  for (const FeatureView& view : repo.feature_views) {
    for (size_t a = 0; a < view.aggregations.size(); ++a) {
      if (rng() % 4 == 0) continue;  // not every feature, not in one block
      wanted.push_back({&view, a});
      request.features.push_back(view.name + ":" + view.aggregations[a].name);
    }
  }
  auto job = PrepareHistoricalRetrieval(repo, request);
  ASSERT_TRUE(job.ok()) << job.status().ToString();
  // agg_continuous and agg_continuous_more read the same events: one
  // statement serves both, another agg_tiled.
  EXPECT_NE((*job)->sql().find("__larder_a1 AS"), std::string::npos);
  EXPECT_EQ((*job)->sql().find("__larder_a2 AS"), std::string::npos);
  const std::string out = tmp.Join("out.parquet");
  auto written = (*job)->WriteToFile(out);
  ASSERT_TRUE(written.ok()) << written.status().ToString() << "\n" << (*job)->sql();
  ASSERT_EQ(*written, static_cast<int64_t>(sc.entities.size()));

  std::string select = "label";
  std::vector<ValueType> types{kInt64};
  for (const Wanted& w : wanted) {
    const Aggregation& a = w.view->aggregations[w.aggregation];
    types.push_back(AggregationOutputType(a));
    select += ", " + ReadSql(w.view->name + "__" + a.name, types.back());
  }
  auto got = (*conn)->QueryValues(
      "SELECT " + select + " FROM read_parquet(" + duckdb::QuoteLiteral(out) + ")", "output",
      types);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  ASSERT_EQ(got->size(), sc.entities.size());

  std::map<int64_t, std::vector<Event>> events;
  for (int64_t user = 1; user <= 5; ++user) events[user] = EventsOf(sc, user);
  int mismatches = 0;
  for (size_t i = 0; i < sc.entities.size(); ++i) {
    const EntityRow& e = sc.entities[i];
    const std::vector<Value>& row = (*got)[i];
    ASSERT_EQ(row[0], Value::Int64(static_cast<int64_t>(i))) << "input order";
    for (size_t w = 0; w < wanted.size(); ++w) {
      const FeatureView& view = *wanted[w].view;
      const Aggregation& a = view.aggregations[wanted[w].aggregation];
      Value want;  // NULL for an entity row without a time
      if (e.ts) {
        const int64_t interval = view.aggregation_interval.micros;
        const TimestampMicros t =
            interval > 0 ? *e.ts - (((*e.ts % interval) + interval) % interval) : *e.ts;
        std::vector<Event> in_window;
        if (e.user) {
          for (const Event& ev : events[*e.user]) {
            if (ev.time < t && (a.lifetime || ev.time >= t - a.window.micros)) {
              in_window.push_back(ev);
            }
          }
        }
        size_t column = 0;
        while (kColumns[column].first != a.column) ++column;
        want = Reference(a, column, in_window);
      }
      if (!Matches(row[w + 1], want) && ++mismatches <= 8) {
        ADD_FAILURE() << "entity row " << i << " (user "
                      << (e.user ? std::to_string(*e.user) : "NULL") << ", t "
                      << (e.ts ? std::to_string(*e.ts) : "NULL") << ") " << view.name << ":"
                      << a.name << ": got " << row[w + 1] << ", expected " << want;
      }
    }
  }
  if (mismatches > 0) ADD_FAILURE() << (*job)->sql();
}

TEST(HistoricalAggregation, MatchesBruteForceReference) {
  for (uint64_t seed = 1; seed <= 12; ++seed) RunSeed(seed);
}

// Schema features of an aggregation view and of another view still come from
// the ASOF join, beside the aggregations, through a feature service; the
// entity table's columns and order are kept.
TEST(HistoricalAggregation, MixesWithPlainFeaturesThroughAFeatureService) {
  TempDir tmp;
  auto conn = duckdb::Connection::Open(":memory:");
  ASSERT_TRUE(conn.ok());
  const std::string source_path = tmp.Join("events.parquet");
  auto at = [](int64_t micros) { return "make_timestamp(" + std::to_string(micros) + ")"; };
  ASSERT_TRUE((*conn)
                  ->Execute("COPY (SELECT * FROM (VALUES (1, " + at(kBase) +
                                ", 4, 1.0, 's1', NULL), (1, " + at(kBase + kHour) +
                                ", 6, 2.0, 's2', NULL), (2, " + at(kBase + kHour) +
                                ", 10, 3.0, 's3', NULL)) v(user_id, ts, v_int, v_dbl, v_str, "
                                "v_ts)) TO " + duckdb::QuoteLiteral(source_path) +
                                " (FORMAT parquet)",
                            "source")
                  .ok());
  FeatureRepo repo = MakeRepo(tmp.path(), source_path);
  FeatureView& tiled = repo.feature_views[2];
  tiled.aggregations = {Agg("v_int", AggregationFunction::kSum, 2 * kDay),
                        Agg("v_int", AggregationFunction::kCount, kHour)};
  Field plain;
  plain.name = "v_str";
  plain.dtype = kString;
  tiled.schema = {plain};
  FeatureView other;
  other.name = "plain_view";
  other.entities = {"user"};
  other.source = "events";
  Field dbl;
  dbl.name = "v_dbl";
  dbl.dtype = kFloat64;
  other.schema = {dbl};
  repo.feature_views.push_back(other);
  FeatureService service;
  service.name = "svc";
  service.features = {{"agg_tiled", {}}, {"plain_view", {}}};
  repo.feature_services = {service};

  const std::string entities = tmp.Join("entities.parquet");
  // Row 3 is exactly 2 hours after the first event: T rounds to it, so the
  // 1-hour count sees only the event at kBase + 1h.
  ASSERT_TRUE((*conn)
                  ->Execute("COPY (SELECT * FROM (VALUES ('c', 2, " + at(kBase + 2 * kHour) +
                                "), ('a', 1, " + at(kBase + kHour + 5 * kMinute) + "), ('b', 1, " +
                                at(kBase + 2 * kHour) + "), ('d', 3, " + at(kBase + 2 * kHour) +
                                ")) v(tag, user_id, event_timestamp)) TO " +
                                duckdb::QuoteLiteral(entities) + " (FORMAT parquet)",
                            "entities")
                  .ok());
  HistoricalFeaturesRequest request;
  request.entity_path = entities;
  request.feature_service = "svc";
  auto job = PrepareHistoricalRetrieval(repo, request);
  ASSERT_TRUE(job.ok()) << job.status().ToString();
  EXPECT_EQ((*job)->column_names(),
            (std::vector<std::string>{"tag", "user_id", "event_timestamp", "v_str",
                                      "v_int_sum_2d", "v_int_count_1h", "v_dbl"}));
  const std::string out = tmp.Join("out.parquet");
  ASSERT_TRUE((*job)->WriteToFile(out).ok());
  auto got = (*conn)->Query("SELECT tag, v_str, v_int_sum_2d, v_int_count_1h, v_dbl, "
                            "typeof(v_int_sum_2d), typeof(v_int_count_1h) FROM read_parquet(" +
                                duckdb::QuoteLiteral(out) + ")",
                            "output");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  using Row = std::vector<std::optional<std::string>>;
  const std::optional<std::string> null;
  ASSERT_EQ(got->rows.size(), 4u);
  EXPECT_EQ(got->rows[0], (Row{"c", "s3", "10", "1", "3.0", "BIGINT", "BIGINT"}));
  // 1h05m rounds down to 1h00m: the event at 1h is not before it.
  EXPECT_EQ(got->rows[1], (Row{"a", "s2", "4", "1", "2.0", "BIGINT", "BIGINT"}));
  EXPECT_EQ(got->rows[2], (Row{"b", "s2", "10", "1", "2.0", "BIGINT", "BIGINT"}));
  EXPECT_EQ(got->rows[3], (Row{"d", null, null, "0", null, "BIGINT", "BIGINT"}));
}

// The mean of integers is their exact sum over the count, divided in
// double arithmetic as online states and the spark store divide: 8025 over
// 2807 is 2.858924118275739, where a division in extended precision rounds
// twice and gives 2.8589241182757394.
TEST(HistoricalAggregation, TheMeanOfIntegersDividesInDouble) {
  TempDir tmp;
  auto conn = duckdb::Connection::Open(":memory:");
  ASSERT_TRUE(conn.ok());
  const std::string source_path = tmp.Join("events.parquet");
  ASSERT_TRUE((*conn)
                  ->Execute("COPY (SELECT 1 AS user_id, make_timestamp(" + std::to_string(kBase) +
                                " + i) AS ts, (CASE WHEN i < 2411 THEN 3 ELSE 2 END)::BIGINT AS "
                                "v_int, 0.0 AS v_dbl, 's' AS v_str, NULL::TIMESTAMP AS v_ts FROM "
                                "range(2807) t(i)) TO " + duckdb::QuoteLiteral(source_path) +
                                " (FORMAT parquet)",
                            "source")
                  .ok());
  FeatureRepo repo = MakeRepo(tmp.path(), source_path);
  FeatureView& view = repo.feature_views[2];
  view.aggregations = {Agg("v_int", AggregationFunction::kMean, kDay)};
  const std::string entities = tmp.Join("entities.parquet");
  ASSERT_TRUE((*conn)
                  ->Execute("COPY (SELECT 1 AS user_id, make_timestamp(" +
                                std::to_string(kBase + 2 * kHour) +
                                ") AS event_timestamp) TO " + duckdb::QuoteLiteral(entities) +
                                " (FORMAT parquet)",
                            "entities")
                  .ok());
  HistoricalFeaturesRequest request;
  request.entity_path = entities;
  request.features = {view.name + ":" + view.aggregations[0].name};
  auto job = PrepareHistoricalRetrieval(repo, request);
  ASSERT_TRUE(job.ok()) << job.status().ToString();
  const std::string out = tmp.Join("out.parquet");
  ASSERT_TRUE((*job)->WriteToFile(out).ok());
  const std::vector<ValueType> types = {ValueType{ScalarType::kFloat64}};
  auto got = (*conn)->QueryValues("SELECT " + view.aggregations[0].name + " FROM read_parquet(" +
                                      duckdb::QuoteLiteral(out) + ")",
                                  "output", types);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  ASSERT_EQ(got->size(), 1u);
  EXPECT_EQ((*got)[0][0].float64_value(), 8025.0 / 2807.0);
  EXPECT_EQ((*got)[0][0].float64_value(), 2.858924118275739);
}

// Names reach SQL only quoted: a column and an output name full of quotes
// and semicolons aggregate like any other; a missing column is named.
TEST(HistoricalAggregation, QuotesHostileNamesAndNamesAMissingColumn) {
  TempDir tmp;
  auto conn = duckdb::Connection::Open(":memory:");
  ASSERT_TRUE(conn.ok());
  const std::string source_path = tmp.Join("events.parquet");
  const std::string column = "v\"); DROP TABLE x; --";
  ASSERT_TRUE((*conn)
                  ->Execute("COPY (SELECT 1 AS user_id, make_timestamp(" +
                                std::to_string(kBase) + ") AS ts, 5 AS " +
                                duckdb::QuoteIdentifier(column) + ") TO " +
                                duckdb::QuoteLiteral(source_path) + " (FORMAT parquet)",
                            "source")
                  .ok());
  FeatureRepo repo = MakeRepo(tmp.path(), source_path);
  FeatureView& tiled = repo.feature_views[2];
  Aggregation sum;
  sum.column = column;
  sum.column_dtype = kInt64;
  sum.function = AggregationFunction::kSum;
  sum.window = Duration{kDay};
  sum.name = "s'; SELECT \"1";
  tiled.aggregations = {sum};
  const std::string entities = tmp.Join("entities.parquet");
  ASSERT_TRUE((*conn)
                  ->Execute("COPY (SELECT 1 AS user_id, make_timestamp(" +
                                std::to_string(kBase + kHour) + ") AS event_timestamp) TO " +
                                duckdb::QuoteLiteral(entities) + " (FORMAT parquet)",
                            "entities")
                  .ok());
  HistoricalFeaturesRequest request;
  request.entity_path = entities;
  request.features = {"agg_tiled:" + sum.name};
  auto job = PrepareHistoricalRetrieval(repo, request);
  ASSERT_TRUE(job.ok()) << job.status().ToString();
  const std::string out = tmp.Join("out.parquet");
  ASSERT_TRUE((*job)->WriteToFile(out).ok()) << (*job)->sql();
  auto got = (*conn)->Query("SELECT " + duckdb::QuoteIdentifier(sum.name) +
                                " FROM read_parquet(" + duckdb::QuoteLiteral(out) + ")",
                            "output");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  ASSERT_EQ(got->rows.size(), 1u);
  EXPECT_EQ(got->rows[0][0], std::optional<std::string>("5"));

  tiled.aggregations[0].column = "missing";
  auto refused = PrepareHistoricalRetrieval(repo, request);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("feature view 'agg_tiled'"), std::string::npos)
      << refused.status().ToString();
  EXPECT_NE(refused.status().message().find("no column `missing`"), std::string::npos)
      << refused.status().ToString();
}

TEST(HistoricalAggregation, OnlinePlansReadAggregationsFromStates) {
  FeatureRepo repo = MakeRepo("/nonexistent", "/nonexistent/events.parquet");
  auto plan = serving::PlanOnlineRead(repo, {"agg_tiled:v_int_count_1h"}, "", false);
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  ASSERT_EQ(plan->views.size(), 1u);
  EXPECT_TRUE(plan->views[0].reads_aggregations);
  EXPECT_FALSE(plan->views[0].reads_records);
  ASSERT_EQ(plan->outputs.size(), 1u);
  EXPECT_TRUE(plan->outputs[0].aggregation);
}

}  // namespace
}  // namespace larder::offline
