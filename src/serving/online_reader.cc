#include "serving/online_reader.h"
#include "repo/feature_refs.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <ctime>
#include <map>
#include <nlohmann/json.hpp>

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

struct ViewRequest {
  const FeatureView* view = nullptr;
  std::vector<size_t> feature_indexes;  // into view->schema
  std::vector<std::string> keys;
};

struct OutputRef {
  size_t view = 0;
  size_t slot = 0;  // into ViewRequest::feature_indexes
};

// Adds `ref` to its view's request, creating that on first use with the
// join keys of the view's entities.
Status AddFeature(const FeatureRepo& repo, const repo::FeatureRef& ref,
                  std::vector<ViewRequest>& views, std::vector<OutputRef>& outputs) {
  const FeatureView* view = ref.view;
  auto it = std::find_if(views.begin(), views.end(),
                         [&](const ViewRequest& r) { return r.view == view; });
  if (it == views.end()) {
    ViewRequest r;
    r.view = view;
    for (const auto& entity_name : view->entities) {
      const Entity* ent = repo.FindEntity(entity_name);
      if (ent == nullptr) {
        return Status::NotFound("feature view '" + view->name + "': entity '" + entity_name +
                                "' is not registered");
      }
      for (const auto& k : ent->join_keys) {
        if (std::find(r.keys.begin(), r.keys.end(), k) == r.keys.end()) r.keys.push_back(k);
      }
    }
    views.push_back(std::move(r));
    it = views.end() - 1;
  }
  it->feature_indexes.push_back(ref.feature_index);
  outputs.push_back({static_cast<size_t>(it - views.begin()), it->feature_indexes.size() - 1});
  return Status::OK();
}

// The value of join key `key` (of entity type `type`) as given, or parsed
// from text for integer keys.
Result<Value> KeyValue(const Value& given, const ValueType& type, const std::string& key) {
  if (given.is_null()) return Status::InvalidArgument("join key `" + key + "` has a null value");
  if (given.type() == type) return given;
  if (given.type() == ValueType{ScalarType::kString} && !type.is_array &&
      (type.scalar == ScalarType::kInt64 || type.scalar == ScalarType::kInt32)) {
    const std::string& s = given.string_value();
    int64_t n = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
    if (ec != std::errc() || p != s.data() + s.size()) {
      return Status::InvalidArgument("join key `" + key + "`: '" + s + "' is not an integer");
    }
    return type.scalar == ScalarType::kInt64 ? Value::Int64(n)
                                             : Value::Int32(static_cast<int32_t>(n));
  }
  if (given.type() == ValueType{ScalarType::kInt32} && type == ValueType{ScalarType::kInt64}) {
    return Value::Int64(given.int32_value());
  }
  return Status::InvalidArgument("join key `" + key + "` has a value of type " +
                                 ValueTypeName(given.type()) + ", but its entity has " +
                                 ValueTypeName(type));
}

const Entity* EntityOfKey(const FeatureRepo& repo, const FeatureView& view,
                          const std::string& key) {
  for (const auto& name : view.entities) {
    const Entity* ent = repo.FindEntity(name);
    if (ent != nullptr &&
        std::find(ent->join_keys.begin(), ent->join_keys.end(), key) != ent->join_keys.end()) {
      return ent;
    }
  }
  return nullptr;
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

namespace serving {

Result<OnlineFeaturesResponse> GetOnlineFeatures(const FeatureRepo& repo, OnlineStore& store,
                                                 const OnlineFeaturesRequest& request,
                                                 const OnlineReadOptions& options) {
  LARDER_ASSIGN_OR_RETURN(
      std::vector<repo::FeatureRef> refs,
      repo::ResolveFeatureRefs(repo, request.features, request.feature_service));
  std::vector<ViewRequest> views;
  std::vector<OutputRef> outputs;
  for (const auto& ref : refs) LARDER_RETURN_IF_ERROR(AddFeature(repo, ref, views, outputs));

  size_t rows = 0;
  bool first = true;
  for (const auto& [key, column] : request.entity_rows) {
    if (first) {
      rows = column.size();
      first = false;
    } else if (column.size() != rows) {
      return Status::InvalidArgument("entity rows: join key `" + key + "` has " +
                                     std::to_string(column.size()) + " values, others have " +
                                     std::to_string(rows));
    }
  }

  // Per view: its entity keys, one per entity row.
  std::map<std::string, std::vector<Value>> typed_keys;  // as read, per join key
  std::vector<OnlineView> online_views;
  online_views.reserve(views.size());
  std::vector<std::vector<EntityKey>> keys(views.size());
  std::vector<std::vector<OnlineReadResult>> results(views.size());
  for (size_t v = 0; v < views.size(); ++v) {
    const FeatureView& view = *views[v].view;
    online_views.push_back(OnlineView::FromFeatureView(view));
    std::vector<std::vector<Value>> key_columns;
    for (const auto& k : views[v].keys) {
      auto it = request.entity_rows.find(k);
      if (it == request.entity_rows.end()) {
        return Status::InvalidArgument("entity rows have no join key `" + k +
                                       "`, needed by feature view '" + view.name + "'");
      }
      const Entity* ent = EntityOfKey(repo, view, k);
      if (ent == nullptr) return Status::Internal("join key `" + k + "` has no entity");
      std::vector<Value> typed;
      for (const auto& given : it->second) {
        LARDER_ASSIGN_OR_RETURN(Value tv, KeyValue(given, ent->value_type, k));
        typed.push_back(std::move(tv));
      }
      typed_keys[k] = typed;
      key_columns.push_back(std::move(typed));
    }
    keys[v].resize(rows);
    for (size_t r = 0; r < rows; ++r) {
      keys[v][r].join_keys = views[v].keys;
      for (auto& col : key_columns) keys[v][r].values.push_back(col[r]);
    }
  }
  std::vector<OnlineViewRead> reads;
  for (size_t v = 0; v < views.size(); ++v) {
    reads.push_back(OnlineViewRead{&online_views[v], keys[v], &results[v]});
  }
  LARDER_RETURN_IF_ERROR(store.MultiGetViews(reads));

  TimestampMicros now =
      options.clock ? options.clock()
                    : std::chrono::duration_cast<std::chrono::microseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  OnlineFeaturesResponse response;
  for (const auto& [key, column] : request.entity_rows) {
    OnlineFeatureColumn c;
    c.name = key;
    auto typed = typed_keys.find(key);
    c.values = typed == typed_keys.end() ? column : typed->second;
    c.statuses.assign(rows, FeatureStatus::kPresent);
    c.event_timestamps.assign(rows, 0);
    response.columns.push_back(std::move(c));
  }
  for (const auto& out : outputs) {
    const ViewRequest& vr = views[out.view];
    size_t findex = vr.feature_indexes[out.slot];
    OnlineFeatureColumn c;
    const std::string& fname = vr.view->schema[findex].name;
    c.name = request.full_feature_names ? vr.view->name + "__" + fname : fname;
    int64_t ttl = vr.view->ttl.micros;
    for (size_t r = 0; r < rows; ++r) {
      const OnlineReadResult& res = results[out.view][r];
      if (res.state != OnlineRecordState::kFound) {
        c.values.emplace_back();
        c.statuses.push_back(FeatureStatus::kNotFound);
        c.event_timestamps.push_back(0);
        continue;
      }
      c.event_timestamps.push_back(res.event_timestamp);
      if (ttl > 0 && res.event_timestamp < now - ttl) {
        c.values.emplace_back();
        c.statuses.push_back(FeatureStatus::kOutsideMaxAge);
      } else if (res.values[findex].is_null()) {
        c.values.emplace_back();
        c.statuses.push_back(FeatureStatus::kNullValue);
      } else {
        c.values.push_back(res.values[findex]);
        c.statuses.push_back(FeatureStatus::kPresent);
      }
    }
    response.columns.push_back(std::move(c));
  }
  return response;
}

}  // namespace serving
}  // namespace larder
