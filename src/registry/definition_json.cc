#include "registry/definition_json.h"

#include <charconv>
#include <exception>
#include <set>
#include <utility>

namespace larder {
namespace {

using nlohmann::json;

// --- Writing ----------------------------------------------------------------

void PutString(json& j, const char* key, const std::string& value) {
  if (!value.empty()) j[key] = value;
}

void PutStringList(json& j, const char* key,
                   const std::vector<std::string>& values) {
  if (values.empty()) return;
  json list = json::array();
  for (const auto& v : values) list.push_back(v);
  j[key] = std::move(list);
}

void PutStringMap(json& j, const char* key,
                  const std::map<std::string, std::string>& values) {
  if (values.empty()) return;
  json map = json::object();
  for (const auto& [k, v] : values) map[k] = v;
  j[key] = std::move(map);
}

json FieldToJson(const Field& field) {
  json j = json::object();
  j["name"] = field.name;
  j["dtype"] = ValueTypeName(field.dtype);
  PutString(j, "description", field.description);
  PutStringMap(j, "tags", field.tags);
  return j;
}

void PutFields(json& j, const char* key, const std::vector<Field>& fields) {
  if (fields.empty()) return;
  json list = json::array();
  for (const auto& f : fields) list.push_back(FieldToJson(f));
  j[key] = std::move(list);
}

constexpr std::string_view kLifetime = "lifetime";

json AggregationToJson(const Aggregation& a) {
  json j = json::object();
  j["column"] = a.column;
  j["function"] = AggregationFunctionText(a);
  j["time_window"] = a.lifetime ? std::string(kLifetime) : FormatDuration(a.window);
  j["name"] = a.name;
  j["dtype"] = ValueTypeName(a.column_dtype);
  PutString(j, "description", a.description);
  return j;
}

// --- Reading ----------------------------------------------------------------

// Reads the members of one JSON object, remembering which keys were used so
// that Finish() can refuse unknown ones. Every error names the object.
class ObjectReader {
 public:
  ObjectReader(const json& j, std::string what)
      : j_(j), what_(std::move(what)) {}

  const std::string& what() const { return what_; }

  Status Error(std::string_view msg) const {
    return Status::Corruption(what_ + ": " + std::string(msg));
  }

  Status CheckObject() const {
    if (!j_.is_object()) return Error("expected a JSON object");
    return Status::OK();
  }

  // Returns the member or nullptr when absent; marks it as used.
  const json* Find(std::string_view key) {
    auto it = j_.find(key);
    if (it == j_.end()) return nullptr;
    used_.emplace(key);
    return &*it;
  }

  Status String(std::string_view key, std::string* out, bool required) {
    out->clear();
    const json* v = Find(key);
    if (v == nullptr) {
      return required ? Missing(key) : Status::OK();
    }
    if (!v->is_string()) return WrongType(key, "a string");
    *out = v->get_ref<const std::string&>();
    return Status::OK();
  }

  Status StringList(std::string_view key, std::vector<std::string>* out) {
    out->clear();
    const json* v = Find(key);
    if (v == nullptr) return Status::OK();
    if (!v->is_array()) return WrongType(key, "an array of strings");
    for (const auto& item : *v) {
      if (!item.is_string()) return WrongType(key, "an array of strings");
      out->push_back(item.get_ref<const std::string&>());
    }
    return Status::OK();
  }

  Status StringMap(std::string_view key,
                   std::map<std::string, std::string>* out) {
    out->clear();
    const json* v = Find(key);
    if (v == nullptr) return Status::OK();
    if (!v->is_object()) return WrongType(key, "an object of strings");
    for (const auto& [k, item] : v->items()) {
      if (!item.is_string()) return WrongType(key, "an object of strings");
      (*out)[k] = item.get_ref<const std::string&>();
    }
    return Status::OK();
  }

  Status Bool(std::string_view key, bool* out) {
    const json* v = Find(key);
    if (v == nullptr) return Missing(key);
    if (!v->is_boolean()) return WrongType(key, "true or false");
    *out = v->get<bool>();
    return Status::OK();
  }

  Status Type(std::string_view key, ValueType* out) {
    std::string text;
    LARDER_RETURN_IF_ERROR(String(key, &text, /*required=*/true));
    auto parsed = ParseValueType(text);
    if (!parsed.ok()) {
      return Error("field `" + std::string(key) +
                   "`: " + parsed.status().message());
    }
    *out = *parsed;
    return Status::OK();
  }

  Status Dur(std::string_view key, Duration* out);

  // An optional number; *out is unset when absent.
  Status OptionalNumber(std::string_view key, std::optional<double>* out) {
    out->reset();
    const json* v = Find(key);
    if (v == nullptr) return Status::OK();
    if (!v->is_number()) return WrongType(key, "a number");
    *out = v->get<double>();
    return Status::OK();
  }

  // An optional array member; *out is nullptr when absent.
  Status Array(std::string_view key, const json** out) {
    *out = Find(key);
    if (*out != nullptr && !(*out)->is_array()) {
      return WrongType(key, "an array");
    }
    return Status::OK();
  }

  Status Finish() const {
    for (const auto& [key, value] : j_.items()) {
      if (used_.count(key) == 0) return Error("unknown field `" + key + "`");
    }
    return Status::OK();
  }

 private:
  Status Missing(std::string_view key) const {
    return Error("missing field `" + std::string(key) + "`");
  }
  Status WrongType(std::string_view key, std::string_view expected) const {
    return Error("field `" + std::string(key) + "` must be " +
                 std::string(expected));
  }

  const json& j_;
  std::string what_;
  std::set<std::string, std::less<>> used_;
};

// FormatDuration writes a sub-second remainder as "<n>us", which
// ParseDuration does not accept; accept it here so that every Duration
// round-trips.
Result<Duration> ParseStoredDuration(std::string_view text) {
  int64_t extra = 0;
  if (text.ends_with("us")) {
    size_t end = text.size() - 2;
    size_t begin = end;
    while (begin > 0 && text[begin - 1] >= '0' && text[begin - 1] <= '9') {
      --begin;
    }
    auto [ptr, ec] =
        std::from_chars(text.data() + begin, text.data() + end, extra);
    if (begin == end || ec != std::errc() || ptr != text.data() + end) {
      return Status::InvalidArgument("bad duration '" + std::string(text) +
                                     "'");
    }
    text = text.substr(0, begin);
    if (text.empty()) return Duration{extra};
  }
  LARDER_ASSIGN_OR_RETURN(Duration d, ParseDuration(text));
  d.micros += extra;
  return d;
}

Status ObjectReader::Dur(std::string_view key, Duration* out) {
  std::string text;
  LARDER_RETURN_IF_ERROR(String(key, &text, /*required=*/true));
  auto parsed = ParseStoredDuration(text);
  if (!parsed.ok()) {
    return Error("field `" + std::string(key) +
                 "`: " + parsed.status().message());
  }
  *out = *parsed;
  return Status::OK();
}

// "entity user", or "entity (unnamed)" when the name cannot be read.
std::string Describe(ObjectKind kind, const json& j) {
  std::string what(ObjectKindName(kind));
  what += ' ';
  if (j.is_object()) {
    auto it = j.find("name");
    if (it != j.end() && it->is_string()) {
      what += it->get_ref<const std::string&>();
      return what;
    }
  }
  what += "(unnamed)";
  return what;
}

// The metadata every object kind carries.
template <typename T>
Status ReadMetadata(ObjectReader& r, T* out) {
  LARDER_RETURN_IF_ERROR(
      r.String("description", &out->description, /*required=*/false));
  LARDER_RETURN_IF_ERROR(r.StringMap("tags", &out->tags));
  return r.String("owner", &out->owner, /*required=*/false);
}

// Sets *out to the enumerator of `values` whose name is the string at `key`;
// `label` names the enumeration in the error.
template <typename E, typename NameFn>
Status ReadEnum(ObjectReader& r, std::string_view key, std::string_view label,
                std::initializer_list<E> values, NameFn name, E* out) {
  std::string text;
  LARDER_RETURN_IF_ERROR(r.String(key, &text, /*required=*/true));
  for (E value : values) {
    if (name(value) == text) {
      *out = value;
      return Status::OK();
    }
  }
  return r.Error("unknown " + std::string(label) + " '" + text + "'");
}

Status ReadField(const json& j, const std::string& what, Field* out) {
  ObjectReader r(j, what);
  LARDER_RETURN_IF_ERROR(r.CheckObject());
  LARDER_RETURN_IF_ERROR(r.String("name", &out->name, /*required=*/true));
  LARDER_RETURN_IF_ERROR(r.Type("dtype", &out->dtype));
  LARDER_RETURN_IF_ERROR(
      r.String("description", &out->description, /*required=*/false));
  LARDER_RETURN_IF_ERROR(r.StringMap("tags", &out->tags));
  return r.Finish();
}

Status ReadFields(ObjectReader& r, std::string_view key,
                  std::vector<Field>* out) {
  out->clear();
  const json* list = nullptr;
  LARDER_RETURN_IF_ERROR(r.Array(key, &list));
  if (list == nullptr) return Status::OK();
  for (size_t i = 0; i < list->size(); ++i) {
    Field f;
    LARDER_RETURN_IF_ERROR(ReadField(
        (*list)[i], r.what() + ": " + std::string(key) + "[" +
                        std::to_string(i) + "]",
        &f));
    out->push_back(std::move(f));
  }
  return Status::OK();
}

Status ReadAggregation(const json& j, const std::string& what, Aggregation* out) {
  ObjectReader r(j, what);
  LARDER_RETURN_IF_ERROR(r.CheckObject());
  LARDER_RETURN_IF_ERROR(r.String("column", &out->column, /*required=*/true));
  std::string function;
  LARDER_RETURN_IF_ERROR(r.String("function", &function, /*required=*/true));
  Status parsed = ParseAggregationFunction(function, &out->function, &out->n);
  if (!parsed.ok()) return r.Error("field `function`: " + parsed.message());
  std::string window;
  LARDER_RETURN_IF_ERROR(r.String("time_window", &window, /*required=*/true));
  out->lifetime = window == kLifetime;
  if (!out->lifetime) LARDER_RETURN_IF_ERROR(r.Dur("time_window", &out->window));
  LARDER_RETURN_IF_ERROR(r.String("name", &out->name, /*required=*/true));
  LARDER_RETURN_IF_ERROR(r.Type("dtype", &out->column_dtype));
  LARDER_RETURN_IF_ERROR(r.String("description", &out->description, /*required=*/false));
  return r.Finish();
}

Status ReadDataTest(const json& j, const std::string& what, DataTest* out) {
  ObjectReader r(j, what);
  LARDER_RETURN_IF_ERROR(r.CheckObject());
  LARDER_RETURN_IF_ERROR(ReadEnum(
      r, "kind", "test kind",
      {DataTestKind::kNotNull, DataTestKind::kUnique, DataTestKind::kAcceptedValues,
       DataTestKind::kAcceptedRange, DataTestKind::kRelationships,
       DataTestKind::kFreshness},
      DataTestKindName, &out->kind));
  LARDER_RETURN_IF_ERROR(r.String("column", &out->column, /*required=*/false));
  LARDER_RETURN_IF_ERROR(r.StringList("values", &out->values));
  LARDER_RETURN_IF_ERROR(r.OptionalNumber("min_value", &out->min_value));
  LARDER_RETURN_IF_ERROR(r.OptionalNumber("max_value", &out->max_value));
  LARDER_RETURN_IF_ERROR(r.String("to", &out->to, /*required=*/false));
  LARDER_RETURN_IF_ERROR(r.String("field", &out->field, /*required=*/false));
  if (out->kind == DataTestKind::kFreshness) {
    LARDER_RETURN_IF_ERROR(r.Dur("max_age", &out->max_age));
  }
  return r.Finish();
}

// nlohmann's accessors used here do not throw on the paths taken, but
// allocation can; keep every exception inside this file.
template <typename Fn>
Status Guarded(ObjectKind kind, const json& j, Fn&& fn) {
  try {
    return fn(Describe(kind, j));
  } catch (const std::exception& e) {
    return Status::Corruption(Describe(kind, j) + ": " + e.what());
  }
}

}  // namespace

// --- Kinds ------------------------------------------------------------------

std::string_view ObjectKindId(ObjectKind kind) {
  switch (kind) {
    case ObjectKind::kEntity: return "entity";
    case ObjectKind::kDataSource: return "data_source";
    case ObjectKind::kSqlModel: return "sql_model";
    case ObjectKind::kFeatureView: return "feature_view";
    case ObjectKind::kFeatureService: return "feature_service";
  }
  return "unknown";
}

std::string_view ObjectKindPluralId(ObjectKind kind) {
  switch (kind) {
    case ObjectKind::kEntity: return "entities";
    case ObjectKind::kDataSource: return "data_sources";
    case ObjectKind::kSqlModel: return "sql_models";
    case ObjectKind::kFeatureView: return "feature_views";
    case ObjectKind::kFeatureService: return "feature_services";
  }
  return "unknown";
}

std::optional<ObjectKind> ObjectKindFromId(std::string_view id) {
  for (ObjectKind kind : kAllObjectKinds) {
    if (ObjectKindId(kind) == id) return kind;
  }
  return std::nullopt;
}

// --- ToJson -----------------------------------------------------------------

json ToJson(const Entity& entity) {
  json j = json::object();
  j["name"] = entity.name;
  PutStringList(j, "join_keys", entity.join_keys);
  j["value_type"] = ValueTypeName(entity.value_type);
  PutString(j, "description", entity.description);
  PutStringMap(j, "tags", entity.tags);
  PutString(j, "owner", entity.owner);
  return j;
}

json ToJson(const DataSource& source) {
  json j = json::object();
  j["name"] = source.name;
  j["type"] = std::string(DataSourceKindName(source.kind));
  PutString(j, "path", source.path);
  j["file_format"] = std::string(FileFormatName(source.file_format));
  PutString(j, "batch_source", source.batch_source);
  PutString(j, "stream_name", source.stream_name);
  PutString(j, "region", source.region);
  PutString(j, "endpoint_url", source.endpoint_url);
  PutString(j, "starting_position", source.starting_position);
  PutString(j, "record_format", source.record_format);
  PutString(j, "to", source.stream_to);
  PutString(j, "bootstrap_servers", source.bootstrap_servers);
  PutString(j, "topic", source.topic);
  PutString(j, "group_id", source.group_id);
  PutString(j, "model", source.model);
  PutString(j, "query", source.query);
  PutString(j, "table", source.table);
  PutString(j, "project_dir", source.project_dir);
  PutString(j, "target_path", source.target_path);
  PutString(j, "database_path", source.database_path);
  PutString(j, "dbt_executable", source.dbt_executable);
  PutString(j, "timestamp_field", source.timestamp_field);
  PutString(j, "created_timestamp_column", source.created_timestamp_column);
  PutStringMap(j, "field_mapping", source.field_mapping);
  PutString(j, "description", source.description);
  PutStringMap(j, "tags", source.tags);
  PutString(j, "owner", source.owner);
  return j;
}

json ToJson(const DataTest& test) {
  json j = json::object();
  j["kind"] = std::string(DataTestKindName(test.kind));
  PutString(j, "column", test.column);
  PutStringList(j, "values", test.values);
  if (test.min_value) j["min_value"] = *test.min_value;
  if (test.max_value) j["max_value"] = *test.max_value;
  PutString(j, "to", test.to);
  PutString(j, "field", test.field);
  if (test.kind == DataTestKind::kFreshness) j["max_age"] = FormatDuration(test.max_age);
  return j;
}

// A scheduled object's "schedule" member; left out when unscheduled, so that
// definitions stored before schedules existed compare unchanged.
void PutSchedule(json& j, const BatchSchedule& s) {
  if (!s.scheduled()) return;
  json o = json::object();
  o["batch_schedule"] = s.batch_schedule;
  o["timezone"] = s.timezone;
  o["catchup"] = s.catchup;
  o["retries"] = s.retries;
  o["retry_delay"] = FormatDuration(s.retry_delay);
  o["materialization_lookback"] = FormatDuration(s.materialization_lookback);
  j["schedule"] = std::move(o);
}

json ToJson(const SqlModel& model) {
  json j = json::object();
  j["name"] = model.name;
  PutString(j, "sql", model.sql);
  PutString(j, "description", model.description);
  if (!model.tests.empty()) {
    json tests = json::array();
    for (const auto& t : model.tests) tests.push_back(ToJson(t));
    j["tests"] = std::move(tests);
  }
  PutSchedule(j, model.schedule);
  return j;
}

json ToJson(const FeatureView& view) {
  json j = json::object();
  j["name"] = view.name;
  PutStringList(j, "entities", view.entities);
  j["ttl"] = FormatDuration(view.ttl);
  PutFields(j, "schema", view.schema);
  PutFields(j, "entity_columns", view.entity_columns);
  // Both keys are left out for a view without aggregations, so that the
  // definitions stored before aggregations existed compare unchanged.
  if (!view.aggregations.empty() || view.aggregation_interval.micros != 0) {
    j["aggregation_interval"] = FormatDuration(view.aggregation_interval);
  }
  if (!view.aggregations.empty()) {
    json list = json::array();
    for (const auto& a : view.aggregations) list.push_back(AggregationToJson(a));
    j["aggregations"] = std::move(list);
  }
  PutString(j, "source", view.source);
  j["online"] = view.online;
  PutSchedule(j, view.schedule);
  PutString(j, "description", view.description);
  PutStringMap(j, "tags", view.tags);
  PutString(j, "owner", view.owner);
  return j;
}

json ToJson(const FeatureService& service) {
  json j = json::object();
  j["name"] = service.name;
  if (!service.features.empty()) {
    json items = json::array();
    for (const auto& item : service.features) {
      json i = json::object();
      i["feature_view"] = item.feature_view;
      PutStringList(i, "features", item.features);
      items.push_back(std::move(i));
    }
    j["features"] = std::move(items);
  }
  PutString(j, "description", service.description);
  PutStringMap(j, "tags", service.tags);
  PutString(j, "owner", service.owner);
  return j;
}

// --- FromJson ---------------------------------------------------------------

Status FromJson(const json& j, Entity* out) {
  return Guarded(ObjectKind::kEntity, j, [&](std::string what) -> Status {
    Entity e;
    ObjectReader r(j, std::move(what));
    LARDER_RETURN_IF_ERROR(r.CheckObject());
    LARDER_RETURN_IF_ERROR(r.String("name", &e.name, /*required=*/true));
    LARDER_RETURN_IF_ERROR(r.StringList("join_keys", &e.join_keys));
    LARDER_RETURN_IF_ERROR(r.Type("value_type", &e.value_type));
    LARDER_RETURN_IF_ERROR(ReadMetadata(r, &e));
    LARDER_RETURN_IF_ERROR(r.Finish());
    *out = std::move(e);
    return Status::OK();
  });
}

Status FromJson(const json& j, DataSource* out) {
  return Guarded(ObjectKind::kDataSource, j, [&](std::string what) -> Status {
    DataSource s;
    ObjectReader r(j, std::move(what));
    LARDER_RETURN_IF_ERROR(r.CheckObject());
    LARDER_RETURN_IF_ERROR(r.String("name", &s.name, /*required=*/true));

    LARDER_RETURN_IF_ERROR(ReadEnum(
        r, "type", "source type",
        {DataSourceKind::kFile, DataSourceKind::kPush, DataSourceKind::kModel,
         DataSourceKind::kQuery, DataSourceKind::kKinesis, DataSourceKind::kKafka,
         DataSourceKind::kDbt, DataSourceKind::kSpark},
        DataSourceKindName, &s.kind));
    LARDER_RETURN_IF_ERROR(ReadEnum(
        r, "file_format", "file_format",
        {FileFormat::kParquet, FileFormat::kCsv, FileFormat::kOrc, FileFormat::kJson,
         FileFormat::kDelta},
        FileFormatName, &s.file_format));

    LARDER_RETURN_IF_ERROR(r.String("path", &s.path, /*required=*/false));
    LARDER_RETURN_IF_ERROR(
        r.String("batch_source", &s.batch_source, /*required=*/false));
    LARDER_RETURN_IF_ERROR(r.String("stream_name", &s.stream_name, /*required=*/false));
    LARDER_RETURN_IF_ERROR(r.String("region", &s.region, /*required=*/false));
    LARDER_RETURN_IF_ERROR(r.String("endpoint_url", &s.endpoint_url, /*required=*/false));
    LARDER_RETURN_IF_ERROR(
        r.String("starting_position", &s.starting_position, /*required=*/false));
    LARDER_RETURN_IF_ERROR(r.String("record_format", &s.record_format, /*required=*/false));
    LARDER_RETURN_IF_ERROR(r.String("to", &s.stream_to, /*required=*/false));
    LARDER_RETURN_IF_ERROR(
        r.String("bootstrap_servers", &s.bootstrap_servers, /*required=*/false));
    LARDER_RETURN_IF_ERROR(r.String("topic", &s.topic, /*required=*/false));
    LARDER_RETURN_IF_ERROR(r.String("group_id", &s.group_id, /*required=*/false));
    LARDER_RETURN_IF_ERROR(r.String("model", &s.model, /*required=*/false));
    LARDER_RETURN_IF_ERROR(r.String("query", &s.query, /*required=*/false));
    LARDER_RETURN_IF_ERROR(r.String("table", &s.table, /*required=*/false));
    LARDER_RETURN_IF_ERROR(r.String("project_dir", &s.project_dir, /*required=*/false));
    LARDER_RETURN_IF_ERROR(r.String("target_path", &s.target_path, /*required=*/false));
    LARDER_RETURN_IF_ERROR(r.String("database_path", &s.database_path, /*required=*/false));
    LARDER_RETURN_IF_ERROR(
        r.String("dbt_executable", &s.dbt_executable, /*required=*/false));
    LARDER_RETURN_IF_ERROR(
        r.String("timestamp_field", &s.timestamp_field, /*required=*/false));
    LARDER_RETURN_IF_ERROR(r.String("created_timestamp_column",
                                    &s.created_timestamp_column,
                                    /*required=*/false));
    LARDER_RETURN_IF_ERROR(r.StringMap("field_mapping", &s.field_mapping));
    LARDER_RETURN_IF_ERROR(ReadMetadata(r, &s));
    LARDER_RETURN_IF_ERROR(r.Finish());
    *out = std::move(s);
    return Status::OK();
  });
}

// Reads the optional "schedule" member that PutSchedule writes.
Status ReadSchedule(ObjectReader& parent, BatchSchedule* out) {
  const json* j = parent.Find("schedule");
  if (j == nullptr) return Status::OK();
  ObjectReader r(*j, parent.what() + ": schedule");
  LARDER_RETURN_IF_ERROR(r.CheckObject());
  BatchSchedule s;
  LARDER_RETURN_IF_ERROR(r.String("batch_schedule", &s.batch_schedule, /*required=*/true));
  LARDER_RETURN_IF_ERROR(r.String("timezone", &s.timezone, /*required=*/true));
  LARDER_RETURN_IF_ERROR(r.Bool("catchup", &s.catchup));
  const json* retries = r.Find("retries");
  if (retries == nullptr || !retries->is_number_integer()) {
    return r.Error("field `retries`: expected a whole number");
  }
  s.retries = retries->get<int>();
  LARDER_RETURN_IF_ERROR(r.Dur("retry_delay", &s.retry_delay));
  LARDER_RETURN_IF_ERROR(r.Dur("materialization_lookback", &s.materialization_lookback));
  LARDER_RETURN_IF_ERROR(r.Finish());
  *out = std::move(s);
  return Status::OK();
}

Status FromJson(const json& j, SqlModel* out) {
  return Guarded(ObjectKind::kSqlModel, j, [&](std::string what) -> Status {
    SqlModel m;
    ObjectReader r(j, std::move(what));
    LARDER_RETURN_IF_ERROR(r.CheckObject());
    LARDER_RETURN_IF_ERROR(r.String("name", &m.name, /*required=*/true));
    LARDER_RETURN_IF_ERROR(r.String("sql", &m.sql, /*required=*/false));
    LARDER_RETURN_IF_ERROR(
        r.String("description", &m.description, /*required=*/false));
    const json* tests = nullptr;
    LARDER_RETURN_IF_ERROR(r.Array("tests", &tests));
    for (size_t i = 0; tests != nullptr && i < tests->size(); ++i) {
      DataTest t;
      LARDER_RETURN_IF_ERROR(
          ReadDataTest((*tests)[i], r.what() + ": tests[" + std::to_string(i) + "]", &t));
      m.tests.push_back(std::move(t));
    }
    LARDER_RETURN_IF_ERROR(ReadSchedule(r, &m.schedule));
    LARDER_RETURN_IF_ERROR(r.Finish());
    *out = std::move(m);
    return Status::OK();
  });
}

Status FromJson(const json& j, FeatureView* out) {
  return Guarded(ObjectKind::kFeatureView, j, [&](std::string what) -> Status {
    FeatureView v;
    ObjectReader r(j, std::move(what));
    LARDER_RETURN_IF_ERROR(r.CheckObject());
    LARDER_RETURN_IF_ERROR(r.String("name", &v.name, /*required=*/true));
    LARDER_RETURN_IF_ERROR(r.StringList("entities", &v.entities));
    LARDER_RETURN_IF_ERROR(r.Dur("ttl", &v.ttl));
    LARDER_RETURN_IF_ERROR(ReadFields(r, "schema", &v.schema));
    LARDER_RETURN_IF_ERROR(ReadFields(r, "entity_columns", &v.entity_columns));
    // Definitions stored before aggregations existed have neither key.
    if (r.Find("aggregation_interval") != nullptr) {
      LARDER_RETURN_IF_ERROR(r.Dur("aggregation_interval", &v.aggregation_interval));
    }
    const json* aggregations = nullptr;
    LARDER_RETURN_IF_ERROR(r.Array("aggregations", &aggregations));
    for (size_t i = 0; aggregations != nullptr && i < aggregations->size(); ++i) {
      Aggregation a;
      LARDER_RETURN_IF_ERROR(ReadAggregation(
          (*aggregations)[i], r.what() + ": aggregations[" + std::to_string(i) + "]", &a));
      v.aggregations.push_back(std::move(a));
    }
    LARDER_RETURN_IF_ERROR(r.String("source", &v.source, /*required=*/false));
    LARDER_RETURN_IF_ERROR(r.Bool("online", &v.online));
    LARDER_RETURN_IF_ERROR(ReadSchedule(r, &v.schedule));
    LARDER_RETURN_IF_ERROR(ReadMetadata(r, &v));
    LARDER_RETURN_IF_ERROR(r.Finish());
    *out = std::move(v);
    return Status::OK();
  });
}

Status FromJson(const json& j, FeatureService* out) {
  return Guarded(
      ObjectKind::kFeatureService, j, [&](std::string what) -> Status {
        FeatureService s;
        ObjectReader r(j, std::move(what));
        LARDER_RETURN_IF_ERROR(r.CheckObject());
        LARDER_RETURN_IF_ERROR(r.String("name", &s.name, /*required=*/true));
        const json* items = nullptr;
        LARDER_RETURN_IF_ERROR(r.Array("features", &items));
        if (items != nullptr) {
          for (size_t i = 0; i < items->size(); ++i) {
            FeatureServiceItem item;
            ObjectReader ir((*items)[i],
                            r.what() + ": features[" + std::to_string(i) + "]");
            LARDER_RETURN_IF_ERROR(ir.CheckObject());
            LARDER_RETURN_IF_ERROR(ir.String("feature_view", &item.feature_view,
                                             /*required=*/true));
            LARDER_RETURN_IF_ERROR(ir.StringList("features", &item.features));
            LARDER_RETURN_IF_ERROR(ir.Finish());
            s.features.push_back(std::move(item));
          }
        }
        LARDER_RETURN_IF_ERROR(ReadMetadata(r, &s));
        LARDER_RETURN_IF_ERROR(r.Finish());
        *out = std::move(s);
        return Status::OK();
      });
}

// --- Text -------------------------------------------------------------------

Result<std::string> CanonicalJsonText(const json& j, std::string_view what) {
  try {
    // Strict UTF-8: a silent replacement would hide a real change.
    return j.dump(-1, ' ', /*ensure_ascii=*/false,
                  json::error_handler_t::strict);
  } catch (const json::type_error&) {
    return Status::InvalidArgument(std::string(what) +
                                   ": text is not valid UTF-8");
  } catch (const std::exception& e) {
    return Status::Internal(std::string(what) + ": " + e.what());
  }
}

Result<json> ParseJsonText(std::string_view text, std::string_view what) {
  try {
    json j = json::parse(text.begin(), text.end(), /*cb=*/nullptr,
                         /*allow_exceptions=*/false);
    if (j.is_discarded()) {
      return Status::Corruption(std::string(what) +
                                ": stored definition is not valid JSON");
    }
    return j;
  } catch (const std::exception& e) {
    return Status::Corruption(std::string(what) +
                              ": stored definition is not valid JSON: " +
                              e.what());
  }
}

}  // namespace larder
