// Feast's get-online-features JSON for OnlineFeaturesResponse, and the
// names of feature statuses.
#include <cmath>
#include <ctime>
#include <nlohmann/json.hpp>

#include "larder/online_features.h"

namespace larder {

const char* FeatureStatusName(FeatureStatus status) {
  switch (status) {
    case FeatureStatus::kPresent:
      return "PRESENT";
    case FeatureStatus::kNullValue:
      return "NULL_VALUE";
    case FeatureStatus::kNotFound:
      return "NOT_FOUND";
    case FeatureStatus::kOutsideMaxAge:
      return "OUTSIDE_MAX_AGE";
  }
  return "INVALID";
}

namespace {

std::string Base64(const std::string& in) {
  static const char* kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    uint32_t n = (static_cast<uint8_t>(in[i]) << 16) | (static_cast<uint8_t>(in[i + 1]) << 8) |
                 static_cast<uint8_t>(in[i + 2]);
    for (int s = 18; s >= 0; s -= 6) out.push_back(kAlphabet[(n >> s) & 63]);
  }
  if (i < in.size()) {
    uint32_t n = static_cast<uint32_t>(static_cast<uint8_t>(in[i])) << 16;
    if (i + 1 < in.size()) n |= static_cast<uint32_t>(static_cast<uint8_t>(in[i + 1])) << 8;
    out.push_back(kAlphabet[(n >> 18) & 63]);
    out.push_back(kAlphabet[(n >> 12) & 63]);
    out.push_back(i + 1 < in.size() ? kAlphabet[(n >> 6) & 63] : '=');
    out.push_back('=');
  }
  return out;
}

nlohmann::ordered_json Number(double d) {
  if (!std::isfinite(d)) return nullptr;
  return d;
}

std::string Rfc3339(TimestampMicros micros) {
  int64_t secs = micros >= 0 ? micros / 1'000'000 : (micros - 999'999) / 1'000'000;
  std::time_t t = static_cast<std::time_t>(secs);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

nlohmann::ordered_json ValueJson(const Value& v) {
  if (v.is_null()) return nullptr;
  ValueType t = v.type();
  if (!t.is_array) {
    switch (t.scalar) {
      case ScalarType::kInt32:
        return v.int32_value();
      case ScalarType::kInt64:
        return v.int64_value();
      case ScalarType::kFloat32:
        return Number(v.float32_value());
      case ScalarType::kFloat64:
        return Number(v.float64_value());
      case ScalarType::kString:
        return v.string_value();
      case ScalarType::kBytes:
        return Base64(v.string_value());
      case ScalarType::kBool:
        return v.bool_value();
      case ScalarType::kUnixTimestamp:
        return v.timestamp_value() / 1'000'000;  // Feast: seconds
    }
  }
  nlohmann::ordered_json a = nlohmann::ordered_json::array();
  switch (t.scalar) {
    case ScalarType::kInt32:
      for (auto x : v.int32_array()) a.push_back(x);
      break;
    case ScalarType::kInt64:
      for (auto x : v.int64_array()) a.push_back(x);
      break;
    case ScalarType::kUnixTimestamp:
      for (auto x : v.int64_array()) a.push_back(x / 1'000'000);
      break;
    case ScalarType::kFloat32:
      for (auto x : v.float32_array()) a.push_back(Number(x));
      break;
    case ScalarType::kFloat64:
      for (auto x : v.float64_array()) a.push_back(Number(x));
      break;
    case ScalarType::kString:
      for (const auto& x : v.string_array()) a.push_back(x);
      break;
    case ScalarType::kBytes:
      for (const auto& x : v.string_array()) a.push_back(Base64(x));
      break;
    case ScalarType::kBool:
      for (bool x : v.bool_array()) a.push_back(x);
      break;
  }
  return a;
}

}  // namespace

std::string OnlineFeaturesResponse::ToJson() const {
  // Ordered, so that the keys come in Feast's order.
  using Json = nlohmann::ordered_json;
  Json names = Json::array();
  Json results = Json::array();
  for (const auto& c : columns) {
    names.push_back(c.name);
    Json values = Json::array();
    Json statuses = Json::array();
    Json stamps = Json::array();
    for (size_t i = 0; i < c.values.size(); ++i) {
      values.push_back(ValueJson(c.values[i]));
      statuses.push_back(FeatureStatusName(c.statuses[i]));
      stamps.push_back(Rfc3339(c.event_timestamps[i]));
    }
    results.push_back({{"values", values}, {"statuses", statuses}, {"event_timestamps", stamps}});
  }
  Json out = {{"metadata", {{"feature_names", names}}}, {"results", results}};
  return out.dump();
}

}  // namespace larder
