#include "server/request_parsers.h"

#include "common/json_cell.h"

#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <utility>
#include <vector>

namespace larder::server {
namespace {

using Json = nlohmann::json;

Status Bad(const std::string& where, const std::string& what) {
  return Status::InvalidArgument(where + ": " + what);
}

// A value's place in the body, e.g. "df.rating[0]". Callers pass the
// column's prefix and the index and build the text only for an error: a
// string per cell would make a long column name times many cells quadratic.
std::string At(const std::string& prefix, size_t index) {
  return prefix + "[" + std::to_string(index) + "]";
}

// Estimated bytes of the tree that nlohmann::json builds (64-bit
// libstdc++, with allocator overhead): every value, plus its share of a
// growing vector's spare room; an object's map; a member's tree node and
// key; a string's heap copy (the short-string buffer holds 15 bytes).
constexpr size_t kValueBytes = 32;
constexpr size_t kContainerBytes = 64;
constexpr size_t kMemberBytes = 80;
size_t StringBytes(size_t length) { return 48 + (length > 15 ? length + 1 : 0); }

// Builds the tree of a body through nlohmann's SAX interface, checking as it
// goes what ParseBudget and the request shapes allow (see the header), so
// that a bad or oversized body costs no more than the part read so far.
class BoundedTreeBuilder {
 public:
  BoundedTreeBuilder(Json* root, ParseBudget* budget) : root_(root), budget_(budget) {}

  const Status& error() const { return error_; }
  // Charges what is left of the estimate below kParseChargeStep.
  bool Finish() { return Charge(0, /*flush=*/true); }

  bool null() { return AddValue(Json(nullptr), 0); }
  bool boolean(bool v) { return AddValue(Json(v), 0); }
  bool number_integer(Json::number_integer_t v) { return AddValue(Json(v), 0); }
  bool number_unsigned(Json::number_unsigned_t v) { return AddValue(Json(v), 0); }
  bool number_float(Json::number_float_t v, const std::string&) { return AddValue(Json(v), 0); }
  bool string(std::string& v) {
    const size_t bytes = StringBytes(v.size());
    return AddValue(Json(std::move(v)), bytes);
  }
  bool binary(Json::binary_t&) { return Fail("body", "binary values are not JSON"); }
  bool start_object(size_t) { return Open(Json::object()); }
  bool end_object() { return Close(); }
  bool start_array(size_t) { return Open(Json::array()); }
  bool end_array() { return Close(); }

  bool key(std::string& k) {
    Frame& frame = stack_.back();
    auto [it, inserted] = frame.node->emplace(k, nullptr);
    if (!inserted) {
      const std::string object = Path(stack_.size() - 1, false);
      return Fail(object.empty() ? k : object + "." + k,
                  "duplicate key (a key may appear once in an object)");
    }
    const size_t bytes = kMemberBytes + (k.size() > 15 ? k.size() + 1 : 0);
    frame.key = std::move(k);
    frame.member = &it.value();
    return Charge(bytes);
  }

  template <class Exception>
  bool parse_error(size_t position, const std::string&, const Exception&) {
    return Fail("body", "malformed JSON (at byte " + std::to_string(position) + ")");
  }

 private:
  struct Frame {
    Json* node;
    std::string key;         // objects: the key of the member being read
    Json* member = nullptr;  // objects: where that member's value goes
  };

  // Where the next value goes: the root, the pending member of an object,
  // or the end of an array; false (with error_ set) when it may not go there.
  Json* Slot(bool container) {
    if (stack_.empty()) {
      if (!container || placed_root_) {
        Fail("body", "expected a JSON object");
        return nullptr;
      }
      placed_root_ = true;
      return root_;
    }
    if (container && stack_.size() >= kMaxJsonDepth) {
      Fail(Path(stack_.size(), true), "nested too deeply (a request has at most " +
                                    std::to_string(kMaxJsonDepth) + " levels of objects and arrays)");
      return nullptr;
    }
    Frame& frame = stack_.back();
    if (frame.node->is_object()) return std::exchange(frame.member, nullptr);
    // A column: an array that is a member of a top-level member's object.
    if (stack_.size() == 3 && stack_[1].node->is_object() &&
        frame.node->size() >= budget_->max_rows) {
      budget_->failure = ParseFailure::kTooManyRows;
      Fail(Path(2, false), "more than " + std::to_string(budget_->max_rows) +
                                    " rows, the limit per request");
      return nullptr;
    }
    frame.node->push_back(nullptr);
    return &frame.node->back();
  }

  bool AddValue(Json value, size_t bytes) {
    Json* slot = Slot(false);
    if (slot == nullptr) return false;
    *slot = std::move(value);
    return Charge(kValueBytes + bytes);
  }

  bool Open(Json container) {
    const bool is_root = stack_.empty();
    if (is_root && !container.is_object()) return Fail("body", "expected a JSON object");
    Json* slot = Slot(true);
    if (slot == nullptr) return false;
    *slot = std::move(container);
    stack_.push_back(Frame{slot, {}, nullptr});
    return Charge(kValueBytes + kContainerBytes);
  }

  bool Close() {
    stack_.pop_back();
    return true;
  }

  // Adds `bytes` to the estimate and takes it from the budget's memory in
  // steps of kParseChargeStep (all of it when `flush`).
  bool Charge(size_t bytes, bool flush = false) {
    uncharged_ += bytes;
    if (budget_->memory == nullptr || (uncharged_ < kParseChargeStep && !flush) ||
        uncharged_ == 0) {
      return true;
    }
    switch (budget_->memory->Take(uncharged_)) {
      case RequestMemory::Grant::kGranted:
        uncharged_ = 0;
        return true;
      case RequestMemory::Grant::kTooLarge:
        budget_->failure = ParseFailure::kTooLarge;
        return Fail("body", "the request would take more than " +
                                std::to_string(budget_->memory->cap()) +
                                " bytes of memory to parse, the limit per request; send fewer "
                                "rows or columns per request");
      case RequestMemory::Grant::kBusy:
        budget_->failure = ParseFailure::kBusy;
        return Fail("body", "the server is holding its limit of " +
                                std::to_string(budget_->memory->pool_limit()) +
                                " bytes of requests being read and parsed; retry later");
    }
    return false;
  }

  // The place, e.g. "df.rating[3]", of the value being read in the
  // `depth`-th frame (of the one about to be added there when `next`);
  // "body" for the root.
  std::string Path(size_t depth, bool next) const {
    std::string path;
    for (size_t i = 0; i < depth; ++i) {
      const Frame& f = stack_[i];
      if (f.node->is_object()) {
        if (!path.empty()) path += '.';
        path += f.key;
      } else {
        const size_t size = f.node->size();
        path += At("", next && i + 1 == depth ? size : size - 1);
      }
    }
    return path;
  }

  bool Fail(const std::string& where, const std::string& what) {
    if (error_.ok()) error_ = Bad(where, what);
    return false;
  }

  Json* root_;
  ParseBudget* budget_;
  std::vector<Frame> stack_;
  bool placed_root_ = false;
  size_t uncharged_ = 0;
  Status error_;
};

// The body as a JSON object, read under `budget` (null: no limits).
Result<Json> ParseObject(std::string_view body, ParseBudget* budget) {
  ParseBudget unlimited;
  if (budget == nullptr) budget = &unlimited;
  budget->failure = ParseFailure::kBadRequest;
  Json doc;
  BoundedTreeBuilder builder(&doc, budget);
  const bool ok = Json::sax_parse(body, &builder, Json::input_format_t::json, /*strict=*/true);
  if (!ok || !builder.Finish()) {
    if (!builder.error().ok()) return builder.error();
    return Status::InvalidArgument("body: malformed JSON");
  }
  if (!doc.is_object()) return Status::InvalidArgument("body: expected a JSON object");
  return doc;
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

// One df cell (prefix[index]): null, a number, a string, a boolean or an
// array of those.
Result<Value> DfCell(const Json& j, const std::string& prefix, size_t index) {
  switch (j.type()) {
    case Json::value_t::null:
      return Value::Null();
    case Json::value_t::number_float:
      return Value::Float64(j.get<double>());
    case Json::value_t::array:
      return JsonArrayCell(j, At(prefix, index));
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

Result<OnlineFeaturesRequest> ParseOnlineFeaturesRequest(std::string_view body, ParseBudget* budget) {
  LARDER_ASSIGN_OR_RETURN(Json doc, ParseObject(body, budget));
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

Result<PushBody> ParsePushRequest(std::string_view body, ParseBudget* budget) {
  LARDER_ASSIGN_OR_RETURN(Json doc, ParseObject(body, budget));
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

Result<WriteBody> ParseWriteRequest(std::string_view body, ParseBudget* budget) {
  LARDER_ASSIGN_OR_RETURN(Json doc, ParseObject(body, budget));
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

Result<DeleteBody> ParseDeleteRequest(std::string_view body, ParseBudget* budget) {
  LARDER_ASSIGN_OR_RETURN(Json doc, ParseObject(body, budget));
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

Result<MaterializeBody> ParseMaterializeRequest(std::string_view body, bool incremental,
                                                        ParseBudget* budget) {
  LARDER_ASSIGN_OR_RETURN(Json doc, ParseObject(body, budget));
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
