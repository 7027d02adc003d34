// OnlineFeaturesResponse::ToJson writes JSON by hand for speed; these tests
// check it against nlohmann::json's rendering of the same document.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <ctime>
#include <limits>
#include <nlohmann/json.hpp>
#include <random>

#include "larder/online_features.h"

namespace larder {
namespace {

using Json = nlohmann::ordered_json;

// As Feast writes event timestamps: no fraction on a whole second, else
// milliseconds when exact, else microseconds.
std::string Iso(TimestampMicros micros) {
  int64_t secs = micros >= 0 ? micros / 1'000'000 : (micros - 999'999) / 1'000'000;
  const int64_t fraction = micros - secs * 1'000'000;
  std::time_t t = static_cast<std::time_t>(secs);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  char frac[16] = "";
  if (fraction % 1000 != 0) {
    std::snprintf(frac, sizeof frac, ".%06lld", static_cast<long long>(fraction));
  } else if (fraction != 0) {
    std::snprintf(frac, sizeof frac, ".%03lld", static_cast<long long>(fraction / 1000));
  }
  return std::string(buf) + frac + "Z";
}

// One column of `values`, each PRESENT at `stamp`.
OnlineFeatureColumn Column(std::string name, std::vector<Value> values, TimestampMicros stamp) {
  OnlineFeatureColumn c;
  c.name = std::move(name);
  c.statuses.assign(values.size(), FeatureStatus::kPresent);
  c.event_timestamps.assign(values.size(), stamp);
  c.values = std::move(values);
  return c;
}

TEST(OnlineJson, MatchesAJsonLibraryOnEveryDtype) {
  OnlineFeaturesResponse r;
  const double inf = std::numeric_limits<double>::infinity();
  r.columns.push_back(Column("i", {Value::Int32(-7), Value::Int64(std::numeric_limits<int64_t>::min()), Value()}, 0));
  r.columns.push_back(Column("f", {Value::Float64(0.0), Value::Float64(19.0), Value::Float64(2.6666666666666665),
                                   Value::Float64(1e300), Value::Float64(-1e-7), Value::Float64(1e16),
                                   Value::Float64(123456.789), Value::Float32(0.1f), Value::Float64(inf),
                                   Value::Float64(std::nan("")), Value::Float64(-inf), Value::Float64(-0.0),
                                   Value::Float32(-std::numeric_limits<float>::infinity())},
                            1672531200LL * 1'000'000));
  r.columns.push_back(Column("s\"\\\n", {Value::String("plain"), Value::String("quote\" back\\ tab\t nl\n \x01"),
                                         Value::String("h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x93\x9a")}, -1));
  r.columns.push_back(Column("b", {Value::Bool(true), Value::Bool(false), Value::Bytes(std::string("\x00\xff", 2)),
                                   Value::UnixTimestamp(1'500'000'999'999)}, -86'400'000'001LL));
  r.columns.push_back(Column("a", {Value::Int64Array({1, -2}), Value::Float64Array({0.5, 3.0, -inf, -0.0}),
                                   Value::Float32Array({std::nanf(""), 2.5f}),
                                   Value::StringArray({"x", ""}), Value::BoolArray({true}),
                                   Value::Int32Array({}), Value::UnixTimestampArray({2'000'000}),
                                   Value::BytesArray({"ab"})}, 253402300799LL * 1'000'000));
  r.columns[0].statuses[2] = FeatureStatus::kNotFound;

  // The reference: the same document through nlohmann.
  Json names = Json::array();
  Json results = Json::array();
  auto value_json = [](const Value& v) -> Json {
    if (v.is_null()) return nullptr;
    const ValueType t = v.type();
    auto num = [](double d) -> Json {
      if (std::isnan(d)) return "NaN";
      if (std::isinf(d)) return d > 0 ? "Infinity" : "-Infinity";
      return d;
    };
    if (!t.is_array) {
      switch (t.scalar) {
        case ScalarType::kInt32: return v.int32_value();
        case ScalarType::kInt64: return v.int64_value();
        case ScalarType::kFloat32: return num(v.float32_value());
        case ScalarType::kFloat64: return num(v.float64_value());
        case ScalarType::kString: return v.string_value();
        case ScalarType::kBytes: return v.string_value().size() == 2 ? "AP8=" : "?";
        case ScalarType::kBool: return v.bool_value();
        case ScalarType::kUnixTimestamp: return v.timestamp_value() / 1'000'000;
      }
    }
    Json a = Json::array();
    switch (t.scalar) {
      case ScalarType::kInt32: for (auto x : v.int32_array()) a.push_back(x); break;
      case ScalarType::kInt64: for (auto x : v.int64_array()) a.push_back(x); break;
      case ScalarType::kUnixTimestamp: for (auto x : v.int64_array()) a.push_back(x / 1'000'000); break;
      case ScalarType::kFloat32: for (auto x : v.float32_array()) a.push_back(num(x)); break;
      case ScalarType::kFloat64: for (auto x : v.float64_array()) a.push_back(num(x)); break;
      case ScalarType::kString: for (const auto& x : v.string_array()) a.push_back(x); break;
      case ScalarType::kBytes: a.push_back("YWI="); break;
      case ScalarType::kBool: for (bool x : v.bool_array()) a.push_back(x); break;
    }
    return a;
  };
  for (const auto& c : r.columns) {
    names.push_back(c.name);
    Json values = Json::array();
    Json statuses = Json::array();
    Json stamps = Json::array();
    for (size_t i = 0; i < c.values.size(); ++i) {
      values.push_back(value_json(c.values[i]));
      statuses.push_back(FeatureStatusName(c.statuses[i]));
      stamps.push_back(Iso(c.event_timestamps[i]));
    }
    results.push_back({{"values", values}, {"statuses", statuses}, {"event_timestamps", stamps}});
  }
  const Json reference = {{"metadata", {{"feature_names", names}}}, {"results", results}};
  EXPECT_EQ(r.ToJson(), reference.dump());
  // And it parses.
  EXPECT_FALSE(Json::parse(r.ToJson(), nullptr, false).is_discarded());
}

// Feast's server sends NaN and the infinities as protobuf's JSON strings
// (its feature_server_utils); a null would read as a missing value while the
// status says PRESENT.
TEST(OnlineJson, NonFiniteFloatsAreFeastsStrings) {
  OnlineFeaturesResponse r;
  const double inf = std::numeric_limits<double>::infinity();
  r.columns.push_back(Column("x",
                            {Value::Float64(inf), Value::Float64(-inf), Value::Float64(std::nan("")),
                             Value::Float32(std::numeric_limits<float>::infinity()),
                             Value::Float64Array({-inf, 1.0, std::nan("")})},
                            0));
  const std::string json = r.ToJson();
  EXPECT_NE(
      json.find(R"("values":["Infinity","-Infinity","NaN","Infinity",["-Infinity",1.0,"NaN"]])"),
      std::string::npos)
      << json;
  EXPECT_EQ(json.find("null"), std::string::npos) << json;
}

TEST(OnlineJson, NegativeZeroKeepsItsSign) {
  OnlineFeaturesResponse r;
  r.columns.push_back(Column("x", {Value::Float64(-0.0), Value::Float32(-0.0f), Value::Float64(0.0),
                                   Value::Float64Array({-0.0})}, 0));
  const std::string json = r.ToJson();
  EXPECT_NE(json.find(R"("values":[-0.0,-0.0,0.0,[-0.0]])"), std::string::npos) << json;
  const Json parsed = Json::parse(json);
  EXPECT_TRUE(std::signbit(parsed["results"][0]["values"][0].get<double>()));
}

TEST(OnlineJson, TimestampsMatchGmtimeOverCenturies) {
  std::mt19937_64 rng(11);
  std::uniform_int_distribution<int64_t> seconds(-5'000'000'000LL, 10'000'000'000LL);
  for (int i = 0; i < 20000; ++i) {
    const TimestampMicros t = seconds(rng) * 1'000'000 + static_cast<int64_t>(rng() % 1'000'000);
    OnlineFeaturesResponse r;
    r.columns.push_back(Column("x", {Value::Int64(1)}, t));
    const std::string json = r.ToJson();
    ASSERT_NE(json.find("\"" + Iso(t) + "\""), std::string::npos) << t << " " << json;
  }
}

TEST(OnlineJson, SubSecondTimestampsKeepTheirDigits) {
  OnlineFeaturesResponse r;
  const TimestampMicros t = 1672531200LL * 1'000'000;  // 2023-01-01T00:00:00Z
  r.columns.push_back(Column("x", {Value::Int64(1)}, 0));
  r.columns[0].event_timestamps = {t, t + 500'000, t + 1, t + 120'450, -1, 0};
  r.columns[0].values.resize(6);
  r.columns[0].statuses.resize(6);
  const std::string json = r.ToJson();
  EXPECT_NE(json.find(R"("event_timestamps":["2023-01-01T00:00:00Z","2023-01-01T00:00:00.500Z",)"
                      R"("2023-01-01T00:00:00.000001Z","2023-01-01T00:00:00.120450Z",)"
                      R"("1969-12-31T23:59:59.999999Z","1970-01-01T00:00:00Z"])"),
            std::string::npos)
      << json;
}

TEST(OnlineJson, InvalidUtf8BecomesReplacementCharacters) {
  OnlineFeaturesResponse r;
  r.columns.push_back(Column("x", {Value::String("ok\xff\xc3(\xed\xa0\x80!")}, 0));
  const std::string json = r.ToJson();
  EXPECT_FALSE(Json::parse(json, nullptr, false).is_discarded()) << json;
  EXPECT_NE(json.find("ok\xef\xbf\xbd\xef\xbf\xbd("), std::string::npos) << json;
}

}  // namespace
}  // namespace larder
