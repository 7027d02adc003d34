#include "server/request_parsers.h"

#include <limits>
#include <optional>
#include <nlohmann/json.hpp>

namespace larder::server {
namespace {

using Json = nlohmann::json;

Status Bad(const std::string& where, const std::string& what) {
  return Status::InvalidArgument(where + ": " + what);
}

Result<Json> ParseObject(std::string_view body) {
  Json doc = Json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return Status::InvalidArgument("body: malformed JSON");
  if (!doc.is_object()) return Status::InvalidArgument("body: expected a JSON object");
  return doc;
}

// A value's place in the body, e.g. "df.rating[0]". Callers pass the
// column's prefix and the index and build the text only for an error: a
// string per cell would make a long column name times many cells quadratic.
std::string At(const std::string& prefix, size_t index) {
  return prefix + "[" + std::to_string(index) + "]";
}

// An integer j as an Int64; nullopt above the Int64 range.
std::optional<int64_t> JsonInt64(const Json& j) {
  if (j.is_number_integer() && !j.is_number_unsigned()) return j.get<int64_t>();
  const uint64_t u = j.get<uint64_t>();
  if (u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return std::nullopt;
  return static_cast<int64_t>(u);
}

Status OutOfInt64Range(const Json& j, const std::string& where) {
  return Bad(where, j.dump() + " is out of the Int64 range");
}

// One JSON entity value (prefix[index]) as a Value; integer keys stay Int64
// and text stays String (GetOnlineFeatures converts to the entity's type).
Result<Value> EntityValue(const Json& j, const std::string& prefix, size_t index) {
  switch (j.type()) {
    case Json::value_t::number_integer:
    case Json::value_t::number_unsigned: {
      const std::optional<int64_t> v = JsonInt64(j);
      if (!v) return OutOfInt64Range(j, At(prefix, index));
      return Value::Int64(*v);
    }
    case Json::value_t::string:
      return Value::String(j.get<std::string>());
    case Json::value_t::boolean:
      return Value::Bool(j.get<bool>());
    case Json::value_t::number_float:
      return Bad(At(prefix, index),
                 j.dump() + " is not a valid join key value (a number with a fraction)");
    default:
      return Bad(At(prefix, index),
                 "expected a number or a string, got " + std::string(j.type_name()));
  }
}

// A JSON array (prefix[index]) as an array Value: all integers ->
// Array(Int64), integers and fractions -> Array(Float64), strings ->
// Array(String), booleans -> Array(Bool); [] -> an empty array (which fits
// every array dtype).
Result<Value> ArrayCell(const Json& j, const std::string& prefix, size_t index) {
  bool ints = true, numbers = true, strings = true, bools = true;
  for (size_t i = 0; i < j.size(); ++i) {
    const Json& e = j[i];
    if (e.is_null()) return Bad(At(At(prefix, index), i), "array elements cannot be null");
    ints = ints && e.is_number_integer();
    numbers = numbers && e.is_number();
    strings = strings && e.is_string();
    bools = bools && e.is_boolean();
  }
  if (ints) {
    std::vector<int64_t> out;
    for (size_t i = 0; i < j.size(); ++i) {
      const std::optional<int64_t> v = JsonInt64(j[i]);
      if (!v) return OutOfInt64Range(j[i], At(At(prefix, index), i));
      out.push_back(*v);
    }
    return Value::Int64Array(std::move(out));
  }
  if (numbers) {
    std::vector<double> out;
    for (const Json& e : j) out.push_back(e.get<double>());
    return Value::Float64Array(std::move(out));
  }
  if (strings) {
    std::vector<std::string> out;
    for (const Json& e : j) out.push_back(e.get<std::string>());
    return Value::StringArray(std::move(out));
  }
  if (bools) {
    std::vector<bool> out;
    for (const Json& e : j) out.push_back(e.get<bool>());
    return Value::BoolArray(std::move(out));
  }
  return Bad(At(prefix, index), "array elements must all be numbers, all strings or all booleans");
}

// One df cell (prefix[index]): null, a number, a string, a boolean or an
// array of those.
Result<Value> DfCell(const Json& j, const std::string& prefix, size_t index) {
  switch (j.type()) {
    case Json::value_t::null:
      return Value::Null();
    case Json::value_t::number_float:
      return Value::Float64(j.get<double>());
    case Json::value_t::array:
      return ArrayCell(j, prefix, index);
    case Json::value_t::object:
    case Json::value_t::binary:
    case Json::value_t::discarded:
      return Bad(At(prefix, index), "expected a number, string, boolean, array or null, got " +
                                        std::string(j.type_name()));
    default:
      return EntityValue(j, prefix, index);
  }
}

Result<ColumnTable> ParseDf(const Json& j) {
  if (!j.is_object()) return Bad("df", "expected an object of column -> values");
  ColumnTable df;
  size_t rows = 0;
  for (const auto& [name, column] : j.items()) {
    const std::string where = "df." + name;
    if (!column.is_array()) return Bad(where, "expected an array");
    if (df.empty()) rows = column.size();
    if (column.size() != rows) {
      return Bad(where, std::to_string(column.size()) + " values, but column `" +
                            df.begin()->first + "` has " + std::to_string(rows));
    }
    std::vector<Value>& values = df[name];
    values.reserve(column.size());
    for (size_t i = 0; i < column.size(); ++i) {
      LARDER_ASSIGN_OR_RETURN(Value v, DfCell(column[i], where, i));
      values.push_back(std::move(v));
    }
  }
  if (df.empty()) return Bad("df", "no columns");
  return df;
}

Result<std::string> String(const Json& j, const std::string& where) {
  if (!j.is_string()) return Bad(where, "expected a string");
  return j.get<std::string>();
}

Result<bool> Bool(const Json& j, const std::string& where) {
  if (!j.is_boolean()) return Bad(where, "expected true or false");
  return j.get<bool>();
}

Result<TimestampMicros> Timestamp(const Json& j, const std::string& where) {
  LARDER_ASSIGN_OR_RETURN(std::string text, String(j, where));
  TimestampMicros t = 0;
  if (!ParseIsoTimestamp(text, &t)) {
    return Bad(where, "`" + text + "` is not an ISO 8601 time, e.g. 2022-01-01T00:00:00Z");
  }
  return t;
}

Result<std::vector<std::string>> StringList(const Json& j, const std::string& where) {
  if (!j.is_array()) return Bad(where, "expected an array of strings");
  std::vector<std::string> out;
  for (size_t i = 0; i < j.size(); ++i) {
    LARDER_ASSIGN_OR_RETURN(out.emplace_back(), String(j[i], where + "[" + std::to_string(i) + "]"));
  }
  return out;
}

Status Missing(const std::string& field) {
  return Status::InvalidArgument(field + ": missing");
}

Status Unknown(const std::string& key, std::string_view expected) {
  return Status::InvalidArgument(key + ": unknown field (expected " + std::string(expected) + ")");
}

// "entities": {"join_key": [v, ...], ...} into `out`.
Status ParseEntities(const Json& value, std::map<std::string, std::vector<Value>>* out) {
  if (!value.is_object()) return Bad("entities", "expected an object of join key -> values");
  for (const auto& [join_key, column] : value.items()) {
    const std::string where = "entities." + join_key;
    if (!column.is_array()) return Bad(where, "expected an array");
    std::vector<Value>& values = (*out)[join_key];
    values.reserve(column.size());
    for (size_t i = 0; i < column.size(); ++i) {
      LARDER_ASSIGN_OR_RETURN(Value v, EntityValue(column[i], where, i));
      values.push_back(std::move(v));
    }
  }
  return Status::OK();
}

}  // namespace

size_t RowCount(const ColumnTable& df) {
  size_t n = 0;
  for (const auto& [name, values] : df) n = std::max(n, values.size());
  return n;
}

Result<OnlineFeaturesRequest> ParseOnlineFeaturesRequest(std::string_view body) {
  LARDER_ASSIGN_OR_RETURN(Json doc, ParseObject(body));
  OnlineFeaturesRequest request;
  for (const auto& [key, value] : doc.items()) {
    if (key == "features") {
      if (!value.is_array()) return Bad("features", "expected an array");
      for (size_t i = 0; i < value.size(); ++i) {
        if (!value[i].is_string()) {
          return Bad("features[" + std::to_string(i) + "]", "expected a \"view:feature\" string");
        }
        request.features.push_back(value[i].get<std::string>());
      }
    } else if (key == "feature_service") {
      LARDER_ASSIGN_OR_RETURN(request.feature_service, String(value, key));
    } else if (key == "full_feature_names") {
      LARDER_ASSIGN_OR_RETURN(request.full_feature_names, Bool(value, key));
    } else if (key == "include_feature_view_version_metadata") {
      // Feast's remote client sends it (false unless asked for).
      LARDER_ASSIGN_OR_RETURN(bool include, Bool(value, key));
      if (include) return Bad(key, "true is not supported (views are not versioned)");
    } else if (key == "entities") {
      LARDER_RETURN_IF_ERROR(ParseEntities(value, &request.entity_rows));
    } else {
      return Unknown(key, "features or feature_service, entities, full_feature_names");
    }
  }
  if (request.entity_rows.empty()) {
    return Status::InvalidArgument("entities: missing; give at least one join key");
  }
  return request;
}

Result<PushBody> ParsePushRequest(std::string_view body) {
  LARDER_ASSIGN_OR_RETURN(Json doc, ParseObject(body));
  PushBody push;
  bool has_source = false, has_df = false;
  for (const auto& [key, value] : doc.items()) {
    if (key == "push_source_name") {
      LARDER_ASSIGN_OR_RETURN(push.push_source_name, String(value, key));
      has_source = true;
    } else if (key == "df") {
      LARDER_ASSIGN_OR_RETURN(push.df, ParseDf(value));
      has_df = true;
    } else if (key == "to") {
      LARDER_ASSIGN_OR_RETURN(std::string to, String(value, key));
      Result<PushTarget> target = ParsePushTarget(to);
      if (!target.ok()) return Bad("to", target.status().message());
      push.to = *target;
    } else if (key == "allow_registry_cache" || key == "transform_on_write") {
      LARDER_RETURN_IF_ERROR(Bool(value, key).status());  // accepted; Larder always caches
    } else {
      return Unknown(key, "push_source_name, df, to");
    }
  }
  if (!has_source) return Missing("push_source_name");
  if (!has_df) return Missing("df");
  return push;
}

Result<WriteBody> ParseWriteRequest(std::string_view body) {
  LARDER_ASSIGN_OR_RETURN(Json doc, ParseObject(body));
  WriteBody write;
  bool has_view = false, has_df = false;
  for (const auto& [key, value] : doc.items()) {
    if (key == "feature_view_name") {
      LARDER_ASSIGN_OR_RETURN(write.feature_view_name, String(value, key));
      has_view = true;
    } else if (key == "df") {
      LARDER_ASSIGN_OR_RETURN(write.df, ParseDf(value));
      has_df = true;
    } else if (key == "allow_registry_cache" || key == "transform_on_write") {
      LARDER_RETURN_IF_ERROR(Bool(value, key).status());
    } else {
      return Unknown(key, "feature_view_name, df");
    }
  }
  if (!has_view) return Missing("feature_view_name");
  if (!has_df) return Missing("df");
  return write;
}

Result<DeleteBody> ParseDeleteRequest(std::string_view body) {
  LARDER_ASSIGN_OR_RETURN(Json doc, ParseObject(body));
  DeleteBody request;
  for (const auto& [key, value] : doc.items()) {
    if (key == "entities") {
      LARDER_RETURN_IF_ERROR(ParseEntities(value, &request.entities));
    } else if (key == "feature_views") {
      if (!value.is_null()) {
        LARDER_ASSIGN_OR_RETURN(request.feature_views, StringList(value, key));
      }
    } else {
      return Unknown(key, "entities, feature_views");
    }
  }
  if (request.entities.empty()) {
    return Status::InvalidArgument("entities: missing; give at least one join key");
  }
  return request;
}

Result<MaterializeBody> ParseMaterializeRequest(std::string_view body, bool incremental) {
  LARDER_ASSIGN_OR_RETURN(Json doc, ParseObject(body));
  MaterializeBody request;
  bool has_end = false;
  for (const auto& [key, value] : doc.items()) {
    if (key == "start_ts" && !incremental) {
      LARDER_ASSIGN_OR_RETURN(request.start, Timestamp(value, key));
    } else if (key == "end_ts") {
      LARDER_ASSIGN_OR_RETURN(request.end, Timestamp(value, key));
      has_end = true;
    } else if (key == "feature_views") {
      if (!value.is_null()) {
        LARDER_ASSIGN_OR_RETURN(request.feature_views, StringList(value, key));
      }
    } else if (key == "disable_event_timestamp") {
      LARDER_ASSIGN_OR_RETURN(bool disable, Bool(value, key));
      if (disable) return Bad(key, "true is not supported; give start_ts and end_ts");
    } else {
      return Unknown(key, incremental ? "end_ts, feature_views" : "start_ts, end_ts, feature_views");
    }
  }
  if (!incremental && !request.start) return Missing("start_ts");
  if (!has_end) return Missing("end_ts");
  return request;
}

}  // namespace larder::server
