#include "repo/definition_parser.h"

#include <algorithm>
#include <cstdlib>
#include <initializer_list>
#include <optional>
#include <set>

#include "repo/definition_keys.h"
#include "common/names.h"
#include "larder/push.h"
#include "repo/yaml_reader.h"
#include "schedule/schedule.h"

namespace larder::repo {
namespace {

std::span<const KeySpec> KeysOf(std::string_view section) {
  for (const auto& s : DefinitionSections()) {
    if (s.key == section) return s.keys;
  }
  return {};
}

// Reads the object's `name`, which must be an identifier.
std::string ReadName(MapReader& r) {
  std::string name = r.String("name");
  if (!name.empty() && !IsIdentifier(name)) {
    r.FieldError("name", "`" + name +
                             "` is not a valid name: use letters, digits and "
                             "underscores, not starting with a digit");
  }
  return name;
}

void ReadCommon(MapReader& r, std::string* description, Tags* tags,
                std::string* owner) {
  *description = r.String("description");
  *tags = r.StringMap("tags");
  *owner = r.String("owner");
}

ValueType ReadDtype(MapReader& r, std::string_view key) {
  std::string text = r.String(key);
  if (text.empty()) return {};
  Result<ValueType> type = ParseValueType(text);
  if (!type.ok()) {
    r.FieldError(key, type.status().message());
    return {};
  }
  return *type;
}

void ParseEntity(const YAML::Node& node, const std::string& file,
                 FeatureRepo* repo, Diagnostics* diag) {
  MapReader r(node, file, "entity", KeysOf("entities"), diag);
  if (!r.valid()) return;
  Entity e;
  e.name = ReadName(r);
  e.location = {file, r.line()};
  e.join_keys = r.StringList("join_keys");
  if (r.Has("join_keys") && e.join_keys.empty()) {
    r.FieldError("join_keys", "must list at least one join key");
  }
  for (const auto& key : e.join_keys) {
    if (!IsIdentifier(key)) r.FieldError("join_keys", "`" + key + "` is not a valid column name");
  }
  if (e.join_keys.empty() && !e.name.empty()) e.join_keys = {e.name};
  e.value_type = ReadDtype(r, "value_type");
  if (e.value_type.is_array) r.FieldError("value_type", "a join key cannot be an array");
  ReadCommon(r, &e.description, &e.tags, &e.owner);
  repo->entities.push_back(std::move(e));
}

std::optional<FileFormat> FormatFromPath(const std::string& path) {
  auto ends = [&](std::string_view suffix) {
    return path.size() >= suffix.size() &&
           path.compare(path.size() - suffix.size(), suffix.size(), suffix) == 0;
  };
  if (ends(".parquet") || ends(".pq")) return FileFormat::kParquet;
  if (ends(".csv") || ends(".csv.gz")) return FileFormat::kCsv;
  return std::nullopt;
}

// The fields that every stream source (`kinesis`, `kafka`) has: `required`
// must be present; `positions` are the accepted starting positions, the
// first being the default.
void ParseStreamFields(MapReader& r, DataSource* s, std::string_view type,
                       std::initializer_list<const char*> required,
                       std::initializer_list<const char*> positions) {
  for (const char* key : required) {
    if (!r.Has(key)) {
      r.ObjectError("missing field `" + std::string(key) + "`, required for `" +
                    std::string(type) + "` sources");
    }
  }
  for (auto key : {"path", "file_format", "model", "query", "created_timestamp_column"}) {
    if (r.Has(key)) r.FieldError(key, "does not apply to `" + std::string(type) + "` sources");
  }
  s->batch_source = r.String("batch_source");
  s->starting_position = r.String("starting_position");
  if (s->starting_position.empty()) s->starting_position = *positions.begin();
  if (std::find(positions.begin(), positions.end(), s->starting_position) == positions.end()) {
    std::string accepted;
    for (const char* p : positions) accepted += (accepted.empty() ? "" : " or ") + std::string(p);
    r.FieldError("starting_position", "`" + s->starting_position + "` is not " + accepted);
  }
  s->record_format = r.String("record_format");
  if (s->record_format.empty()) s->record_format = "json";
  if (s->record_format != "json") {
    r.FieldError("record_format", "`" + s->record_format + "` is not supported (json)");
  }
  s->stream_to = r.String("to");
  if (s->stream_to.empty()) s->stream_to = "online_and_offline";
  if (!ParsePushTarget(s->stream_to).ok()) {
    r.FieldError("to", "`" + s->stream_to + "` is not online_and_offline, online or offline");
  }
}

// The fields of a `type: kinesis` source (docs/stream.md).
void ParseKinesisSource(MapReader& r, DataSource* s) {
  ParseStreamFields(r, s, "kinesis", {"batch_source", "stream_name", "region", "timestamp_field"},
                    {"trim_horizon", "latest"});
  s->stream_name = r.String("stream_name");
  if (r.Has("stream_name") && !IsKinesisStreamName(s->stream_name)) {
    r.FieldError("stream_name", "`" + s->stream_name +
                                    "` is not a Kinesis stream name (1 to 128 of a-z, A-Z, "
                                    "0-9, _ . -)");
  }
  s->region = r.String("region");
  if (r.Has("region") && !IsAwsRegion(s->region)) {
    r.FieldError("region", "`" + s->region + "` is not an AWS region name, e.g. us-east-1");
  }
  s->endpoint_url = r.String("endpoint_url");
  if (!s->endpoint_url.empty() && !IsHttpEndpoint(s->endpoint_url)) {
    r.FieldError("endpoint_url", "`" + s->endpoint_url +
                                     "` is not an http(s)://host[:port] endpoint (leave it out "
                                     "for AWS's own, https://kinesis.<region>.amazonaws.com)");
  }
}

// The fields of a `type: kafka` source (docs/stream.md).
void ParseKafkaSource(MapReader& r, DataSource* s) {
  ParseStreamFields(r, s, "kafka", {"batch_source", "bootstrap_servers", "topic", "timestamp_field"},
                    {"earliest", "latest"});
  s->bootstrap_servers = r.String("bootstrap_servers");
  if (r.Has("bootstrap_servers") && !IsKafkaBootstrapServers(s->bootstrap_servers)) {
    r.FieldError("bootstrap_servers",
                 "`" + s->bootstrap_servers +
                     "` is not a list of brokers, host:port[,host:port...] (plaintext; TLS "
                     "and SASL are not available yet)");
  }
  s->topic = r.String("topic");
  if (r.Has("topic") && !IsKafkaName(s->topic)) {
    r.FieldError("topic", "`" + s->topic +
                              "` is not a Kafka topic name (1 to 249 of a-z, A-Z, 0-9, _ . -)");
  }
  s->group_id = r.String("group_id");
  if (r.Has("group_id") && !IsKafkaName(s->group_id)) {
    r.FieldError("group_id", "`" + s->group_id +
                                 "` is not a consumer group name Larder accepts (1 to 249 of "
                                 "a-z, A-Z, 0-9, _ . -)");
  }
}

// A `spark` source (as Feast's SparkSource): exactly one of `table`, `query`
// and `path` (with `file_format`), read by the spark offline store.
void ParseSparkSource(MapReader& r, DataSource* s) {
  int given = 0;
  for (auto key : {"table", "query", "path"}) given += r.Has(key) ? 1 : 0;
  if (given != 1) {
    r.ObjectError(std::string(given == 0 ? "missing" : "more than one of") +
                  " `table`, `query` or `path`: a `spark` source reads exactly one");
  }
  if (!r.Has("timestamp_field")) {
    r.ObjectError("missing field `timestamp_field`, required for `spark` sources");
  }
  for (auto key : {"batch_source", "model"}) {
    if (r.Has(key)) r.FieldError(key, "does not apply to `spark` sources");
  }
  s->table = r.String("table");
  if (r.Has("table")) {
    // One or two parts, database.table; each part is quoted when it reaches SQL.
    const size_t dot = s->table.find('.');
    const bool two = dot != std::string::npos;
    if (s->table.empty() || dot == 0 || dot + 1 == s->table.size() ||
        (two && s->table.find('.', dot + 1) != std::string::npos)) {
      r.FieldError("table", "`" + s->table + "` is not a table name: give `table` or "
                            "`database.table`, e.g. book_recsys_apply.users");
    }
  }
  s->query = r.String("query");
  if (r.Has("query") && s->query.find_first_not_of(" \t\r\n") == std::string::npos) {
    r.FieldError("query", "must be a Spark SQL query");
  }
  s->path = r.String("path");
  if (r.Has("path") && s->path.empty()) r.FieldError("path", "must not be empty");
  const std::string format = r.String("file_format");
  if (r.Has("file_format") && !r.Has("path")) {
    r.FieldError("file_format", "applies to `path` only");
  }
  if (format.empty()) {
    if (r.Has("path")) {
      r.FieldError("path", "give `file_format` (parquet, orc, json or delta) with a path");
    }
  } else if (format == "parquet") {
    s->file_format = FileFormat::kParquet;
  } else if (format == "orc") {
    s->file_format = FileFormat::kOrc;
  } else if (format == "json") {
    s->file_format = FileFormat::kJson;
  } else if (format == "delta") {
    s->file_format = FileFormat::kDelta;
  } else {
    r.FieldError("file_format",
                 "`" + format + "` is not a format of `spark` sources (parquet, orc, json or "
                 "delta)");
  }
}

void ParseDataSource(const YAML::Node& node, const std::string& file,
                     FeatureRepo* repo, Diagnostics* diag) {
  MapReader r(node, file, "data source", KeysOf("data_sources"), diag);
  if (!r.valid()) return;
  DataSource s;
  s.name = ReadName(r);
  s.location = {file, r.line()};
  std::string type = r.String("type");
  // Fields that belong to other kinds of source are errors, not ignored.
  auto forbid = [&](std::string_view key, std::string_view kinds) {
    if (r.Has(key)) {
      r.FieldError(key, "only applies to " + std::string(kinds) +
                            " sources, not to `" + type + "`");
    }
  };
  auto require = [&](std::string_view key) {
    if (!r.Has(key)) {
      r.ObjectError("missing field `" + std::string(key) + "`, required for `" +
                    type + "` sources");
    }
  };
  // Sources read from a table or a query take no file or push keys.
  auto forbid_file_and_push_keys = [&] {
    forbid("path", "file and spark");
    forbid("file_format", "file and spark");
    forbid("batch_source", "push");
  };
  if (type == "file") {
    s.kind = DataSourceKind::kFile;
    require("path");
    require("timestamp_field");
    forbid("batch_source", "push");
    forbid("model", "model and dbt");
    forbid("query", "query and spark");
    s.path = r.String("path");
    std::string format = r.String("file_format");
    if (format.empty()) {
      auto f = FormatFromPath(s.path);
      if (f) {
        s.file_format = *f;
      } else if (!s.path.empty()) {
        r.FieldError("path", "cannot tell the format from `" + s.path +
                                 "`; end it in .parquet or .csv, or set `file_format`");
      }
    } else if (format == "parquet") {
      s.file_format = FileFormat::kParquet;
    } else if (format == "csv") {
      s.file_format = FileFormat::kCsv;
    } else {
      r.FieldError("file_format", "unknown format `" + format + "` (parquet or csv)");
    }
  } else if (type == "kinesis") {
    s.kind = DataSourceKind::kKinesis;
    ParseKinesisSource(r, &s);
  } else if (type == "kafka") {
    s.kind = DataSourceKind::kKafka;
    ParseKafkaSource(r, &s);
  } else if (type == "push") {
    s.kind = DataSourceKind::kPush;
    require("batch_source");
    for (auto key : {"path", "file_format", "model", "query", "timestamp_field",
                     "created_timestamp_column", "field_mapping"}) {
      if (r.Has(key)) {
        r.FieldError(key, "a push source takes its columns and timestamps from its "
                          "`batch_source`; set this there");
      }
    }
    s.batch_source = r.String("batch_source");
  } else if (type == "model") {
    s.kind = DataSourceKind::kModel;
    require("model");
    require("timestamp_field");
    forbid_file_and_push_keys();
    forbid("query", "query and spark");
    s.model = r.String("model");
  } else if (type == "query") {
    s.kind = DataSourceKind::kQuery;
    require("query");
    require("timestamp_field");
    forbid_file_and_push_keys();
    forbid("model", "model and dbt");
    s.query = r.String("query");
  } else if (type == "dbt") {
    s.kind = DataSourceKind::kDbt;
    require("project_dir");
    require("model");
    require("timestamp_field");
    forbid_file_and_push_keys();
    forbid("query", "query and spark");
    s.project_dir = r.String("project_dir");
    s.model = r.String("model");
    s.target_path = r.String("target_path", "target");
    s.database_path = r.String("database_path");
    s.dbt_executable = r.String("dbt_executable");
    if (r.Has("dbt_executable") &&
        (s.dbt_executable.empty() ||
         std::any_of(s.dbt_executable.begin(), s.dbt_executable.end(),
                     [](char c) { return static_cast<unsigned char>(c) < 0x20; }))) {
      r.FieldError("dbt_executable", "must name the dbt program (a name on PATH or a path)");
    }
    if (r.Has("project_dir") && s.project_dir.empty()) {
      r.FieldError("project_dir", "must name the dbt project's folder");
    }
    if (s.target_path.empty()) r.FieldError("target_path", "must name a folder");
  } else if (type == "spark") {
    s.kind = DataSourceKind::kSpark;
    ParseSparkSource(r, &s);
  } else if (!type.empty()) {
    r.FieldError("type", "unknown source type `" + type +
                             "` (file, push, model, query, kinesis, kafka, dbt or spark)");
  }
  if (s.kind != DataSourceKind::kSpark) forbid("table", "spark");
  if (s.kind != DataSourceKind::kDbt) {
    for (auto key : {"project_dir", "target_path", "database_path", "dbt_executable"}) {
      forbid(key, "dbt");
    }
  }
  if (s.kind != DataSourceKind::kKinesis) {
    for (auto key : {"stream_name", "region", "endpoint_url"}) forbid(key, "kinesis");
  }
  if (s.kind != DataSourceKind::kKafka) {
    for (auto key : {"bootstrap_servers", "topic", "group_id"}) forbid(key, "kafka");
  }
  if (s.kind != DataSourceKind::kKinesis && s.kind != DataSourceKind::kKafka) {
    for (auto key : {"starting_position", "record_format", "to"}) forbid(key, "kinesis and kafka");
  }
  s.timestamp_field = r.String("timestamp_field");
  s.created_timestamp_column = r.String("created_timestamp_column");
  s.field_mapping = r.StringMap("field_mapping");
  ReadCommon(r, &s.description, &s.tags, &s.owner);
  repo->data_sources.push_back(std::move(s));
}

// The items of the list at `key`, which must not be empty: `shape` and
// `item` describe one item in messages. None when the key is absent or null,
// or (after an error) not a list.
YAML::Node ListAt(MapReader& r, std::string_view key, std::string_view shape,
                  std::string_view item) {
  YAML::Node list = r.Get(key);
  if (!list.IsDefined() || list.IsNull()) return YAML::Node();
  if (!list.IsSequence()) {
    r.FieldError(key, "expected a list of " + std::string(shape) + ", found " +
                          std::string(NodeKindName(list)));
    return YAML::Node();
  }
  if (list.size() == 0) r.FieldError(key, "must list at least one " + std::string(item));
  return list;
}

// A positive duration at `key`; nullopt (after an error) otherwise.
std::optional<Duration> ReadPositiveDuration(MapReader& r, std::string_view key,
                                             std::string_view example) {
  Result<Duration> d = ParseDuration(r.String(key));
  if (!d.ok()) {
    r.FieldError(key, d.status().message());
    return std::nullopt;
  }
  if (d->micros <= 0) {
    r.FieldError(key, "must be a positive duration such as " + std::string(example));
    return std::nullopt;
  }
  return *d;
}

// One item of a view's `aggregations`. The output name gets its default
// here; a column_dtype not given as `dtype` is read from the source's files
// by the validator. Windows must be multiples of `interval` (0: continuous).
void ParseAggregation(const YAML::Node& node, const std::string& file, const std::string& view,
                      Duration interval, std::vector<Aggregation>* out, Diagnostics* diag) {
  MapReader r(node, file, "feature view '" + view + "' aggregation", AggregationKeys(), diag);
  if (!r.valid()) return;
  Aggregation a;
  a.location = {file, r.line()};
  a.column = r.String("column");
  std::string function = r.String("function");
  if (r.Has("function")) {
    Status parsed = ParseAggregationFunction(function, &a.function, &a.n);
    if (!parsed.ok()) r.FieldError("function", parsed.message());
  }
  if (r.Has("time_window")) {
    if (r.String("time_window") == "lifetime") {
      a.lifetime = true;
    } else if (auto window = ReadPositiveDuration(r, "time_window", "1d, or lifetime")) {
      a.window = *window;
      if (interval.micros > 0 && a.window.micros % interval.micros != 0) {
        r.FieldError("time_window", FormatDuration(a.window) +
                                        " is not a multiple of the view's aggregation_interval " +
                                        FormatDuration(interval));
      }
    }
  }
  a.name = r.String("name");
  if (a.name.empty() && !a.column.empty()) a.name = AggregationDefaultName(a);
  if (!a.name.empty() && !IsIdentifier(a.name)) {
    r.FieldError(r.Has("name") ? "name" : "column",
                 "`" + a.name + "` is not a valid feature name" +
                     (r.Has("name") ? "" : "; give the aggregation a `name`"));
  }
  a.dtype_given = r.Has("dtype");
  a.column_dtype = ReadDtype(r, "dtype");
  if (a.column_dtype.is_array) r.FieldError("dtype", "an aggregated column cannot be an array");
  a.description = r.String("description");
  out->push_back(std::move(a));
}

// Reads the scheduling keys (BatchSchedule) of a model or, with `view`, a
// feature view. Without batch_schedule, the other keys are refused.
BatchSchedule ReadBatchSchedule(MapReader& r, bool view) {
  BatchSchedule s;
  s.batch_schedule = r.String("batch_schedule");
  schedule::TimeZone zone = schedule::TimeZone::Utc();
  if (r.Has("schedule_timezone")) {
    s.timezone = r.String("schedule_timezone");
    Result<schedule::TimeZone> loaded = schedule::TimeZone::Load(s.timezone);
    if (!loaded.ok()) {
      r.FieldError("schedule_timezone", loaded.status().message());
    } else {
      zone = *loaded;
    }
  }
  if (r.Has("batch_schedule")) {
    Result<schedule::Schedule> parsed = schedule::Schedule::Parse(s.batch_schedule, zone);
    if (!parsed.ok()) {
      r.FieldError("batch_schedule", parsed.status().message());
    } else {
      s.batch_schedule = parsed->text();
      if (r.Has("schedule_timezone") && parsed->period().micros > 0) {
        r.FieldError("schedule_timezone",
                     "applies to a cron expression or an @alias; the duration `" +
                         s.batch_schedule + "` counts from the epoch whatever the zone");
      }
    }
  }
  std::vector<std::string_view> keys = {"schedule_timezone", "catchup", "retries", "retry_delay"};
  if (view) keys.push_back("materialization_lookback");
  for (std::string_view key : keys) {
    if (r.Has(key) && !r.Has("batch_schedule")) {
      r.FieldError(key, "applies only with `batch_schedule`");
    }
  }
  s.catchup = r.Bool("catchup").value_or(true);
  if (r.Has("retries")) {
    std::string text = r.String("retries");
    char* end = nullptr;
    long n = std::strtol(text.c_str(), &end, 10);
    if (text.empty() || *end != '\0' || n < 0 || n > 100) {
      r.FieldError("retries", "`" + text + "` is not a whole number from 0 to 100");
    } else {
      s.retries = static_cast<int>(n);
    }
  }
  if (r.Has("retry_delay")) {
    if (auto d = ReadPositiveDuration(r, "retry_delay", "30s")) s.retry_delay = *d;
  }
  if (view && r.Has("materialization_lookback")) {
    Result<Duration> d = ParseDuration(r.String("materialization_lookback"));
    if (!d.ok()) {
      r.FieldError("materialization_lookback", d.status().message());
    } else {
      s.materialization_lookback = *d;
    }
  }
  return s;
}

void ParseFeatureView(const YAML::Node& node, const std::string& file,
                      FeatureRepo* repo, Diagnostics* diag) {
  MapReader r(node, file, "feature view", KeysOf("feature_views"), diag);
  if (!r.valid()) return;
  FeatureView v;
  v.name = ReadName(r);
  v.location = {file, r.line()};
  v.entities = r.StringList("entities");
  std::string ttl = r.String("ttl");
  if (!ttl.empty()) {
    Result<Duration> d = ParseDuration(ttl);
    if (d.ok()) {
      v.ttl = *d;
    } else {
      r.FieldError("ttl", d.status().message());
    }
  }
  std::set<std::string> names;
  for (const auto& item : ListAt(r, "schema", "{name, dtype}", "field")) {
    MapReader fr(item, file, "feature view '" + v.name + "' field", FieldKeys(), diag);
    if (!fr.valid()) continue;
    Field f;
    f.location = {file, fr.line()};
    f.name = fr.String("name");
    if (!f.name.empty()) {
      if (!IsIdentifier(f.name)) {
        fr.FieldError("name", "`" + f.name + "` is not a valid column name");
      }
      if (!names.insert(f.name).second) {
        fr.FieldError("name", "`" + f.name + "` is listed twice in the schema");
      }
    }
    f.dtype = ReadDtype(fr, "dtype");
    f.description = fr.String("description");
    f.tags = fr.StringMap("tags");
    v.schema.push_back(std::move(f));
  }
  if (r.Has("aggregation_interval")) {
    v.aggregation_interval =
        ReadPositiveDuration(r, "aggregation_interval", "10m").value_or(Duration{});
  }
  for (const auto& item : ListAt(r, "aggregations", "{column, function, time_window}",
                                 "aggregation")) {
    ParseAggregation(item, file, v.name, v.aggregation_interval, &v.aggregations, diag);
  }
  if (!r.Has("schema") && !r.Has("aggregations")) {
    r.ObjectError("missing field `schema` or `aggregations`: a view needs one or both");
  }
  if (r.Has("aggregation_interval") && !r.Has("aggregations")) {
    r.FieldError("aggregation_interval", "applies only to a view with `aggregations`");
  }
  v.source = r.String("source");
  v.online = r.Bool("online").value_or(true);
  v.schedule = ReadBatchSchedule(r, /*view=*/true);
  if (v.schedule.scheduled() && !v.online) {
    r.FieldError("batch_schedule",
                 "the view is not online (online: false), so a schedule has nothing to "
                 "materialize");
  }
  ReadCommon(r, &v.description, &v.tags, &v.owner);
  repo->feature_views.push_back(std::move(v));
}

void ParseFeatureService(const YAML::Node& node, const std::string& file,
                         FeatureRepo* repo, Diagnostics* diag) {
  MapReader r(node, file, "feature service", KeysOf("feature_services"), diag);
  if (!r.valid()) return;
  FeatureService s;
  s.name = ReadName(r);
  s.location = {file, r.line()};
  YAML::Node features = r.Get("features");
  if (features.IsDefined() && !features.IsNull()) {
    if (!features.IsSequence() || features.size() == 0) {
      r.FieldError("features", "expected a non-empty list of feature view names "
                               "or {feature_view, features} items");
    }
    for (const auto& item : features.IsSequence() ? features : YAML::Node()) {
      FeatureServiceItem entry;
      if (item.IsScalar()) {
        entry.feature_view = item.Scalar();
      } else {
        MapReader ir(item, file, "feature service '" + s.name + "' item",
                     ServiceItemKeys(), diag);
        if (!ir.valid()) continue;
        entry.feature_view = ir.String("feature_view");
        entry.features = ir.StringList("features");
        if (ir.Has("features") && entry.features.empty()) {
          ir.FieldError("features", "must list at least one feature, or be left out for all");
        }
      }
      s.features.push_back(std::move(entry));
    }
  }
  ReadCommon(r, &s.description, &s.tags, &s.owner);
  repo->feature_services.push_back(std::move(s));
}

// One data test: a name ("not_null") or a one-key mapping whose value holds
// the test's arguments ({accepted_range: {min_value: 0}}).
std::optional<DataTest> ParseDataTest(const YAML::Node& node, const std::string& file,
                                      const std::string& what, const std::string& column,
                                      Diagnostics* diag) {
  DataTest t;
  t.column = column;
  t.location = {file, LineOf(node)};
  std::string kind;
  YAML::Node args;
  if (node.IsScalar()) {
    kind = node.Scalar();
  } else if (node.IsMap() && node.size() == 1 && node.begin()->first.IsScalar()) {
    kind = node.begin()->first.Scalar();
    args = node.begin()->second;
  } else {
    diag->Error(file, LineOf(node), what + ": a test is a name such as not_null, or a mapping "
                                           "of one test name to its arguments");
    return std::nullopt;
  }
  static constexpr KeySpec kNoKeys[] = {{"", false, ""}};
  static constexpr KeySpec kValuesKeys[] = {{"values", true, "the accepted values"}};
  static constexpr KeySpec kRangeKeys[] = {{"min_value", false, "lowest accepted value"},
                                           {"max_value", false, "highest accepted value"}};
  static constexpr KeySpec kRelKeys[] = {{"to", true, "a model or data source name"},
                                         {"field", true, "the column of `to` to match"}};
  static constexpr KeySpec kFreshKeys[] = {
      {"max_age", true, "how old the newest row may be, e.g. 2d"},
      {"column", false, "the timestamp column (default: the column the test is under)"}};
  std::span<const KeySpec> keys = kNoKeys;
  if (kind == "not_null") {
    t.kind = DataTestKind::kNotNull;
  } else if (kind == "unique") {
    t.kind = DataTestKind::kUnique;
  } else if (kind == "accepted_values") {
    t.kind = DataTestKind::kAcceptedValues;
    keys = kValuesKeys;
  } else if (kind == "accepted_range") {
    t.kind = DataTestKind::kAcceptedRange;
    keys = kRangeKeys;
  } else if (kind == "relationships") {
    t.kind = DataTestKind::kRelationships;
    keys = kRelKeys;
  } else if (kind == "freshness") {
    t.kind = DataTestKind::kFreshness;
    keys = kFreshKeys;
  } else {
    diag->Error(file, LineOf(node),
                what + ": unknown test `" + kind +
                    "` (not_null, unique, accepted_values, accepted_range, relationships, "
                    "freshness)");
    return std::nullopt;
  }
  std::string test_what = what + " test " + kind;
  if (keys.data() == kNoKeys) {
    if (args.IsDefined() && !args.IsNull()) {
      diag->Error(file, LineOf(args), test_what + ": takes no arguments");
    }
  } else {
    MapReader a(args, file, test_what, keys, diag);
    if (!a.valid()) return std::nullopt;
    t.values = a.StringList("values");
    if (a.Has("values") && t.values.empty()) a.FieldError("values", "must list at least one value");
    auto number = [&](std::string_view key) -> std::optional<double> {
      std::string text = a.String(key);
      if (text.empty()) return std::nullopt;
      char* end = nullptr;
      double v = std::strtod(text.c_str(), &end);
      if (end == text.c_str() || *end != '\0') {
        a.FieldError(key, "expected a number, found `" + text + "`");
        return std::nullopt;
      }
      return v;
    };
    t.min_value = number("min_value");
    t.max_value = number("max_value");
    if (t.kind == DataTestKind::kAcceptedRange && !t.min_value && !t.max_value) {
      a.ObjectError("give min_value, max_value or both");
    }
    t.to = a.String("to");
    t.field = a.String("field");
    if (t.kind == DataTestKind::kFreshness) {
      std::string col = a.String("column");
      if (!col.empty()) t.column = col;
      Result<Duration> d = ParseDuration(a.String("max_age"));
      if (d.ok()) {
        t.max_age = *d;
      } else if (a.Has("max_age")) {
        a.FieldError("max_age", d.status().message());
      }
    }
  }
  if (t.column.empty()) {
    diag->Error(file, LineOf(node),
                test_what + ": needs a column; put it under `columns`, or give `column`");
    return std::nullopt;
  }
  return t;
}

void ParseModelDoc(const YAML::Node& node, const std::string& file,
                   std::vector<SqlModel>* docs, Diagnostics* diag) {
  MapReader r(node, file, "model", KeysOf("models"), diag);
  if (!r.valid()) return;
  SqlModel m;
  m.name = r.String("name");
  m.location = {file, r.line()};
  m.description = r.String("description");
  m.schedule = ReadBatchSchedule(r, /*view=*/false);
  std::string what = "model '" + m.name + "'";
  YAML::Node tests = r.Get("tests");
  if (tests.IsDefined() && !tests.IsNull() && !tests.IsSequence()) {
    r.FieldError("tests", "expected a list of tests");
  }
  for (const auto& t : tests.IsSequence() ? tests : YAML::Node()) {
    if (auto test = ParseDataTest(t, file, what, "", diag)) m.tests.push_back(*test);
  }
  YAML::Node columns = r.Get("columns");
  if (columns.IsDefined() && !columns.IsNull() && !columns.IsSequence()) {
    r.FieldError("columns", "expected a list of {name, tests}");
  }
  for (const auto& c : columns.IsSequence() ? columns : YAML::Node()) {
    MapReader cr(c, file, what + " column", ModelColumnKeys(), diag);
    if (!cr.valid()) continue;
    std::string column = cr.String("name");
    YAML::Node ctests = cr.Get("tests");
    if (ctests.IsDefined() && !ctests.IsNull() && !ctests.IsSequence()) {
      cr.FieldError("tests", "expected a list of tests");
    }
    for (const auto& t : ctests.IsSequence() ? ctests : YAML::Node()) {
      if (auto test = ParseDataTest(t, file, what + " column '" + column + "'", column, diag)) {
        m.tests.push_back(*test);
      }
    }
  }
  docs->push_back(std::move(m));
}

void ParseSection(std::string_view section, const YAML::Node& item, const std::string& file,
                  FeatureRepo* repo, std::vector<SqlModel>* model_docs, Diagnostics* diag) {
  if (section == "entities") {
    ParseEntity(item, file, repo, diag);
  } else if (section == "data_sources") {
    ParseDataSource(item, file, repo, diag);
  } else if (section == "feature_views") {
    ParseFeatureView(item, file, repo, diag);
  } else if (section == "feature_services") {
    ParseFeatureService(item, file, repo, diag);
  } else {
    ParseModelDoc(item, file, model_docs, diag);
  }
}

}  // namespace

void ParseDefinitionFile(const YAML::Node& root, const std::string& rel_path,
                         FeatureRepo* repo, std::vector<SqlModel>* model_docs,
                         Diagnostics* diag) {
  if (root.IsNull() || !root.IsDefined()) return;  // an empty file
  if (!root.IsMap()) {
    diag->Error(rel_path, LineOf(root),
                "a definition file must be a mapping with the lists entities, "
                "data_sources, feature_views, feature_services and models; found " +
                    std::string(NodeKindName(root)));
    return;
  }
  std::vector<KeySpec> top;
  for (const auto& s : DefinitionSections()) top.push_back({s.key, false, s.object});
  MapReader reader(root, rel_path, "definition file", top, diag);
  for (const auto& section : DefinitionSections()) {
    YAML::Node list = reader.Get(section.key);
    if (!list.IsDefined() || list.IsNull()) continue;
    if (!list.IsSequence()) {
      reader.FieldError(section.key, "expected a list of " + std::string(section.object) +
                                         " definitions, found " +
                                         std::string(NodeKindName(list)));
      continue;
    }
    for (const auto& item : list) {
      ParseSection(section.key, item, rel_path, repo, model_docs, diag);
    }
  }
}

}  // namespace larder::repo
