#include "serving/online_reader.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <deque>

#include "aggregation/online_tiles.h"

namespace larder::serving {

Result<Value> JoinKeyValue(const Value& given, const ValueType& type, const std::string& key) {
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

namespace {

// The join key columns in their entity types: the given column itself when
// it already has the type, else converted once.
struct TypedKeys {
  struct Column {
    std::string key;
    ValueType type;
    const std::vector<Value>* values;  // the given column, or `converted`
    std::vector<Value> converted;
  };
  std::deque<Column> columns;  // a deque: pointers into it stay valid as it grows

  Result<const std::vector<Value>*> Get(const std::vector<Value>& given, const std::string& key,
                                        const ValueType& type) {
    for (const Column& c : columns) {
      if (c.key == key && c.type == type) return c.values;
    }
    if (std::all_of(given.begin(), given.end(), [&](const Value& v) {
          return !v.is_null() && v.type() == type;
        })) {
      columns.push_back(Column{key, type, &given, {}});
      return &given;
    }
    Column& c = columns.emplace_back(Column{key, type, nullptr, {}});
    c.converted.reserve(given.size());
    for (const Value& v : given) {
      Result<Value> typed = JoinKeyValue(v, type, key);
      if (!typed.ok()) {
        columns.pop_back();
        return typed.status();
      }
      c.converted.push_back(std::move(*typed));
    }
    c.values = &c.converted;
    return c.values;
  }
};

}  // namespace

Result<OnlineFeaturesResponse> ReadOnlineFeatures(
    const OnlinePlan& plan, OnlineStore& store,
    const std::map<std::string, std::vector<Value>>& entity_rows,
    const OnlineReadOptions& options, aggregation::WindowValueCache* window_values) {
  size_t rows = 0;
  bool first = true;
  for (const auto& [key, column] : entity_rows) {
    if (first) {
      rows = column.size();
      first = false;
    } else if (column.size() != rows) {
      return Status::InvalidArgument("entity rows: join key `" + key + "` has " +
                                     std::to_string(column.size()) + " values, others have " +
                                     std::to_string(rows));
    }
  }

  // Per view: its entity keys, one per entity row. Views with the same join
  // keys (all the user views of a service, say) share one key vector.
  TypedKeys typed;
  const size_t nviews = plan.views.size();
  std::vector<std::vector<EntityKey>> keys;  // per distinct join key list
  keys.reserve(nviews);
  std::vector<const OnlineViewPlan*> key_owners;  // parallel to keys
  std::vector<std::vector<OnlineReadResult>> results(nviews);
  std::vector<OnlineViewRead> reads;
  reads.reserve(nviews);
  std::vector<size_t> key_set(nviews);  // into keys, per view
  for (size_t v = 0; v < nviews; ++v) {
    const OnlineViewPlan& view = plan.views[v];
    size_t shared = 0;
    while (shared < key_owners.size() && (key_owners[shared]->join_keys != view.join_keys ||
                                          key_owners[shared]->key_types != view.key_types)) {
      ++shared;
    }
    if (shared == key_owners.size()) {
      const size_t nkeys = view.join_keys.size();
      std::vector<const std::vector<Value>*> columns(nkeys);
      for (size_t k = 0; k < nkeys; ++k) {
        const std::string& key = view.join_keys[k];
        auto it = entity_rows.find(key);
        if (it == entity_rows.end()) {
          return Status::InvalidArgument("entity rows have no join key `" + key +
                                         "`, needed by feature view '" + view.view.name() + "'");
        }
        LARDER_ASSIGN_OR_RETURN(columns[k], typed.Get(it->second, key, view.key_types[k]));
      }
      std::vector<EntityKey>& built = keys.emplace_back(rows);
      for (size_t r = 0; r < rows; ++r) {
        EntityKey& ek = built[r];
        ek.join_keys = view.join_keys;
        ek.values.reserve(nkeys);
        for (size_t k = 0; k < nkeys; ++k) ek.values.push_back((*columns[k])[r]);
      }
      key_owners.push_back(&view);
    }
    key_set[v] = shared;
    if (view.reads_records) reads.push_back(OnlineViewRead{&view.view, keys[shared], &results[v]});
  }
  if (!reads.empty()) LARDER_RETURN_IF_ERROR(store.MultiGetViews(reads));

  const TimestampMicros now =
      options.clock ? options.clock()
                    : std::chrono::duration_cast<std::chrono::microseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  // Aggregations: the window values at now, per view and row.
  std::vector<std::vector<std::vector<Value>>> aggregates(nviews);
  for (size_t v = 0; v < nviews; ++v) {
    const OnlineViewPlan& view = plan.views[v];
    if (!view.reads_aggregations) continue;
    LARDER_RETURN_IF_ERROR(aggregation::ReadAggregates(store, view.view.name(), *view.tiles,
                                                       keys[key_set[v]], now, &aggregates[v],
                                                       window_values));
  }
  OnlineFeaturesResponse response;
  response.columns.reserve(entity_rows.size() + plan.outputs.size());
  // The join key columns, each in its entity's dtype: as a view read it,
  // else converted now. Columns that are no join key are not echoed.
  auto project_key = plan.project_keys.begin();
  for (const auto& [key, column] : entity_rows) {
    while (project_key != plan.project_keys.end() && project_key->name < key) ++project_key;
    if (project_key == plan.project_keys.end() || project_key->name != key) continue;
    const std::vector<Value>* values = nullptr;
    for (const TypedKeys::Column& t : typed.columns) {
      if (t.key == key) {
        values = t.values;
        break;
      }
    }
    if (values == nullptr && project_key->type) {
      Result<const std::vector<Value>*> converted = typed.Get(column, key, *project_key->type);
      if (converted.ok()) values = *converted;
    }
    // No view reads it, and it does not convert (or entities disagree on its
    // dtype): echoed as given, as Feast echoes it.
    if (values == nullptr) values = &column;
    OnlineFeatureColumn c;
    c.name = key;
    c.values = *values;
    c.statuses.assign(rows, FeatureStatus::kPresent);
    c.event_timestamps.assign(rows, 0);
    response.columns.push_back(std::move(c));
  }
  for (const OnlineOutputPlan& out : plan.outputs) {
    const int64_t ttl = plan.views[out.view].ttl_micros;
    OnlineFeatureColumn c;
    c.name = out.name;
    c.values.resize(rows);
    c.statuses.resize(rows);
    c.event_timestamps.resize(rows);
    if (out.aggregation) {
      // A window's value is as of the window's end.
      const TimestampMicros end = plan.views[out.view].tiles->WindowEnd(now);
      for (size_t r = 0; r < rows; ++r) {
        Value& v = aggregates[out.view][r][out.feature];
        c.event_timestamps[r] = end;
        c.statuses[r] = v.is_null() ? FeatureStatus::kNullValue : FeatureStatus::kPresent;
        c.values[r] = std::move(v);
      }
      response.columns.push_back(std::move(c));
      continue;
    }
    for (size_t r = 0; r < rows; ++r) {
      OnlineReadResult& res = results[out.view][r];
      if (res.state != OnlineRecordState::kFound) {
        c.statuses[r] = FeatureStatus::kNotFound;
        continue;
      }
      c.event_timestamps[r] = res.event_timestamp;
      if (ttl > 0 && res.event_timestamp < now - ttl) {
        c.statuses[r] = FeatureStatus::kOutsideMaxAge;
      } else if (res.values[out.feature].is_null()) {
        c.statuses[r] = FeatureStatus::kNullValue;
      } else {
        c.values[r] = std::move(res.values[out.feature]);  // each feature is output once
        c.statuses[r] = FeatureStatus::kPresent;
      }
    }
    response.columns.push_back(std::move(c));
  }
  return response;
}

Result<OnlineFeaturesResponse> GetOnlineFeatures(const FeatureRepo& repo, OnlineStore& store,
                                                 const OnlineFeaturesRequest& request,
                                                 const OnlineReadOptions& options) {
  LARDER_ASSIGN_OR_RETURN(OnlinePlan plan,
                          PlanOnlineRead(repo, request.features, request.feature_service,
                                         request.full_feature_names));
  return ReadOnlineFeatures(plan, store, request.entity_rows, options);
}

}  // namespace larder::serving
