#include "registry/definition_json.h"

#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

namespace larder {
namespace {

using nlohmann::json;

std::string Text(const json& j) {
  auto text = CanonicalJsonText(j, "test");
  EXPECT_TRUE(text.ok()) << text.status().ToString();
  return text.ok() ? *text : std::string();
}

Field MakeField(std::string name, ValueType dtype, std::string description = "",
                Tags tags = {}) {
  Field f;
  f.name = std::move(name);
  f.dtype = dtype;
  f.description = std::move(description);
  f.tags = std::move(tags);
  return f;
}

template <typename T>
T RoundTrip(const T& in) {
  // Through text, as the registry stores it.
  auto parsed = ParseJsonText(Text(ToJson(in)), "test");
  EXPECT_TRUE(parsed.ok()) << parsed.status().ToString();
  T out;
  Status s = FromJson(*parsed, &out);
  EXPECT_TRUE(s.ok()) << s.ToString();
  return out;
}

Entity FullEntity() {
  Entity e;
  e.name = "user";
  e.join_keys = {"user_id", "region"};
  e.value_type = ValueType{ScalarType::kInt64, false};
  e.description = "A reader";
  e.tags = {{"team", "recs"}, {"pii", "no"}};
  e.owner = "recs@example.com";
  e.location = {"entities.yaml", 3};
  return e;
}

DataSource FullSource() {
  DataSource s;
  s.name = "ratings";
  s.kind = DataSourceKind::kFile;
  s.path = "data/ratings/*.csv";
  s.file_format = FileFormat::kCsv;
  s.batch_source = "ratings_batch";
  s.model = "agg_user_features";
  s.timestamp_field = "rating_timestamp";
  s.created_timestamp_column = "created";
  s.field_mapping = {{"uid", "user_id"}, {"r", "rating"}};
  s.description = "Book ratings";
  s.tags = {{"layer", "raw"}};
  s.owner = "data@example.com";
  s.location = {"sources.yaml", 9};
  return s;
}

SqlModel FullModel() {
  SqlModel m;
  m.name = "agg_user_features";
  m.sql = "SELECT user_id, AVG(rating) AS r\nFROM {{ source('ratings') }}\n";
  m.location = {"models/agg_user_features.sql", 0};
  return m;
}

FeatureView FullView() {
  FeatureView v;
  v.name = "user_agg_rating_features";
  v.entities = {"user", "book"};
  v.ttl = Duration{3 * 365 * Duration::kDay + 2 * Duration::kHour};
  v.schema = {
      MakeField("avg_yr_user_rating", ValueType{ScalarType::kFloat64, false},
                "Average rating over a year", {{"unit", "stars"}}),
      MakeField("recent_isbns", ValueType{ScalarType::kString, true}),
  };
  v.entity_columns = {
      MakeField("user_id", ValueType{ScalarType::kInt64, false}, "the user")};
  v.source = "agg_user_features";
  v.online = false;
  v.description = "Per-user rating aggregates";
  v.tags = {{"tier", "gold"}};
  v.owner = "recs@example.com";
  v.location = {"views.yaml", 20};
  return v;
}

FeatureService FullService() {
  FeatureService s;
  s.name = "model_v2";
  s.features = {{"book_features", {}},
                {"user_features", {"country"}},
                {"book_agg_rating_features",
                 {"count_yr_book_rating", "avg_yr_book_rating"}}};
  s.description = "Second model";
  s.tags = {{"stage", "prod"}};
  s.owner = "ml@example.com";
  s.location = {"services.yaml", 1};
  return s;
}

TEST(DefinitionJson, EntityRoundTrips) {
  Entity in = FullEntity();
  Entity out = RoundTrip(in);
  EXPECT_EQ(out.name, in.name);
  EXPECT_EQ(out.join_keys, in.join_keys);
  EXPECT_EQ(out.value_type, in.value_type);
  EXPECT_EQ(out.description, in.description);
  EXPECT_EQ(out.tags, in.tags);
  EXPECT_EQ(out.owner, in.owner);
  EXPECT_EQ(out.location.file, "");  // locations are not stored
  EXPECT_EQ(Text(ToJson(out)), Text(ToJson(in)));
}

TEST(DefinitionJson, DataSourceRoundTrips) {
  for (DataSourceKind kind :
       {DataSourceKind::kFile, DataSourceKind::kPush, DataSourceKind::kModel,
        DataSourceKind::kQuery, DataSourceKind::kKinesis, DataSourceKind::kKafka,
        DataSourceKind::kDbt, DataSourceKind::kSpark}) {
    DataSource in = FullSource();
    in.kind = kind;
    in.query = "SELECT 1 AS user_id";
    in.table = "book_recsys_apply.users";
    if (kind == DataSourceKind::kSpark) in.file_format = FileFormat::kDelta;
    in.project_dir = "../analytics";
    in.target_path = "target";
    in.database_path = "warehouse.duckdb";
    in.stream_name = "book_ratings";
    in.region = "us-east-1";
    in.endpoint_url = "http://127.0.0.1:4567";
    in.starting_position = "latest";
    in.record_format = "json";
    in.stream_to = "online";
    in.bootstrap_servers = "127.0.0.1:9092";
    in.topic = "book_ratings";
    in.group_id = "recs";
    DataSource out = RoundTrip(in);
    EXPECT_EQ(out.stream_name, in.stream_name);
    EXPECT_EQ(out.region, in.region);
    EXPECT_EQ(out.endpoint_url, in.endpoint_url);
    EXPECT_EQ(out.starting_position, in.starting_position);
    EXPECT_EQ(out.record_format, in.record_format);
    EXPECT_EQ(out.stream_to, in.stream_to);
    EXPECT_EQ(out.bootstrap_servers, in.bootstrap_servers);
    EXPECT_EQ(out.topic, in.topic);
    EXPECT_EQ(out.group_id, in.group_id);
    EXPECT_EQ(out.project_dir, in.project_dir);
    EXPECT_EQ(out.target_path, in.target_path);
    EXPECT_EQ(out.database_path, in.database_path);
    EXPECT_EQ(out.name, in.name);
    EXPECT_EQ(out.kind, in.kind);
    EXPECT_EQ(out.path, in.path);
    EXPECT_EQ(out.file_format, in.file_format);
    EXPECT_EQ(out.batch_source, in.batch_source);
    EXPECT_EQ(out.model, in.model);
    EXPECT_EQ(out.query, in.query);
    EXPECT_EQ(out.table, in.table);
    EXPECT_EQ(out.timestamp_field, in.timestamp_field);
    EXPECT_EQ(out.created_timestamp_column, in.created_timestamp_column);
    EXPECT_EQ(out.field_mapping, in.field_mapping);
    EXPECT_EQ(out.description, in.description);
    EXPECT_EQ(out.tags, in.tags);
    EXPECT_EQ(out.owner, in.owner);
    EXPECT_EQ(Text(ToJson(out)), Text(ToJson(in)));
  }
}

TEST(DefinitionJson, SqlModelRoundTrips) {
  SqlModel in = FullModel();
  SqlModel out = RoundTrip(in);
  EXPECT_EQ(out.name, in.name);
  EXPECT_EQ(out.sql, in.sql);
}

TEST(DefinitionJson, SqlModelDataTestsRoundTrip) {
  SqlModel in = FullModel();
  in.description = "Yearly aggregates.";
  DataTest range;
  range.kind = DataTestKind::kAcceptedRange;
  range.column = "avg_rating";
  range.min_value = 0;
  range.max_value = 10.5;
  DataTest values;
  values.kind = DataTestKind::kAcceptedValues;
  values.column = "rating";
  values.values = {"0", "10"};
  DataTest rel;
  rel.kind = DataTestKind::kRelationships;
  rel.column = "isbn";
  rel.to = "books_source";
  rel.field = "isbn";
  DataTest fresh;
  fresh.kind = DataTestKind::kFreshness;
  fresh.column = "ts";
  fresh.max_age = Duration{2 * Duration::kDay};
  in.tests = {range, values, rel, fresh};
  SqlModel out = RoundTrip(in);
  EXPECT_EQ(out.description, in.description);
  ASSERT_EQ(out.tests.size(), 4u);
  EXPECT_EQ(out.tests[0].kind, DataTestKind::kAcceptedRange);
  EXPECT_EQ(out.tests[0].min_value, 0.0);
  EXPECT_EQ(out.tests[0].max_value, 10.5);
  EXPECT_EQ(out.tests[1].values, values.values);
  EXPECT_EQ(out.tests[2].to, "books_source");
  EXPECT_EQ(out.tests[3].max_age, fresh.max_age);
  EXPECT_EQ(Text(ToJson(out)), Text(ToJson(in)));
  // A change to a test is a change to the model.
  SqlModel changed = in;
  changed.tests[0].max_value = 11;
  EXPECT_NE(Text(ToJson(changed)), Text(ToJson(in)));
}

TEST(DefinitionJson, FeatureViewRoundTrips) {
  FeatureView in = FullView();
  FeatureView out = RoundTrip(in);
  EXPECT_EQ(out.name, in.name);
  EXPECT_EQ(out.entities, in.entities);
  EXPECT_EQ(out.ttl, in.ttl);
  ASSERT_EQ(out.schema.size(), 2u);
  EXPECT_EQ(out.schema[0].name, "avg_yr_user_rating");
  EXPECT_EQ(out.schema[0].dtype, in.schema[0].dtype);
  EXPECT_EQ(out.schema[0].description, in.schema[0].description);
  EXPECT_EQ(out.schema[0].tags, in.schema[0].tags);
  EXPECT_EQ(out.schema[1].dtype, in.schema[1].dtype);
  ASSERT_EQ(out.entity_columns.size(), 1u);
  EXPECT_EQ(out.entity_columns[0].name, "user_id");
  EXPECT_EQ(out.source, in.source);
  EXPECT_EQ(out.online, false);
  EXPECT_EQ(out.description, in.description);
  EXPECT_EQ(out.tags, in.tags);
  EXPECT_EQ(out.owner, in.owner);
  EXPECT_EQ(Text(ToJson(out)), Text(ToJson(in)));
}

TEST(DefinitionJson, FeatureServiceRoundTrips) {
  FeatureService in = FullService();
  FeatureService out = RoundTrip(in);
  EXPECT_EQ(out.name, in.name);
  ASSERT_EQ(out.features.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(out.features[i].feature_view, in.features[i].feature_view);
    EXPECT_EQ(out.features[i].features, in.features[i].features);
  }
  EXPECT_EQ(out.description, in.description);
  EXPECT_EQ(out.tags, in.tags);
  EXPECT_EQ(out.owner, in.owner);
}

TEST(DefinitionJson, MinimalObjectsRoundTrip) {
  Entity e;
  e.name = "e";
  EXPECT_EQ(Text(ToJson(RoundTrip(e))), Text(ToJson(e)));
  DataSource s;
  s.name = "s";
  EXPECT_EQ(Text(ToJson(RoundTrip(s))), Text(ToJson(s)));
  SqlModel m;
  m.name = "m";
  EXPECT_EQ(Text(ToJson(RoundTrip(m))), Text(ToJson(m)));
  FeatureView v;
  v.name = "v";
  EXPECT_EQ(Text(ToJson(RoundTrip(v))), Text(ToJson(v)));
  EXPECT_TRUE(RoundTrip(v).online);
  FeatureService f;
  f.name = "f";
  EXPECT_EQ(Text(ToJson(RoundTrip(f))), Text(ToJson(f)));
}

TEST(DefinitionJson, UsesFeastKeyNamesAndCanonicalOrder) {
  EXPECT_EQ(Text(ToJson(FullEntity())),
            R"({"description":"A reader","join_keys":["user_id","region"],)"
            R"("name":"user","owner":"recs@example.com",)"
            R"("tags":{"pii":"no","team":"recs"},"value_type":"Int64"})");
  FeatureView v;
  v.name = "v";
  v.ttl = Duration{365 * Duration::kDay};
  v.schema = {MakeField("f", ValueType{ScalarType::kInt32, true})};
  v.source = "src";
  EXPECT_EQ(Text(ToJson(v)),
            R"j({"name":"v","online":true,)j"
            R"j("schema":[{"dtype":"Array(Int32)","name":"f"}],)j"
            R"j("source":"src","ttl":"365d"})j");
  FeatureService s;
  s.name = "svc";
  s.features = {{"view", {"a"}}};
  EXPECT_EQ(Text(ToJson(s)),
            R"({"features":[{"feature_view":"view","features":["a"]}],)"
            R"("name":"svc"})");
  DataSource push;
  push.name = "p";
  push.kind = DataSourceKind::kPush;
  push.batch_source = "b";
  EXPECT_EQ(Text(ToJson(push)),
            R"({"batch_source":"b","file_format":"parquet","name":"p",)"
            R"("type":"push"})");
}

TEST(DefinitionJson, SameInputGivesSameBytesAndLocationIsIgnored) {
  FeatureView a = FullView();
  FeatureView b = FullView();
  b.location = {"elsewhere/views.yaml", 99};
  // Build b's tags in the other order; maps make the order irrelevant.
  b.tags.clear();
  b.tags["tier"] = "gold";
  EXPECT_EQ(Text(ToJson(a)), Text(ToJson(b)));
}

// A change to any stored field changes the text; otherwise the registry
// would miss updates.
TEST(DefinitionJson, EveryFieldChangesTheText) {
  const std::string view = Text(ToJson(FullView()));
  std::vector<std::function<void(FeatureView&)>> view_edits = {
      [](FeatureView& v) { v.name += "x"; },
      [](FeatureView& v) { v.entities.pop_back(); },
      [](FeatureView& v) { v.ttl.micros += 1; },
      [](FeatureView& v) { v.schema[0].name += "x"; },
      [](FeatureView& v) { v.schema[0].dtype.is_array = true; },
      [](FeatureView& v) { v.schema[0].description += "x"; },
      [](FeatureView& v) { v.schema[0].tags["k"] = "v"; },
      [](FeatureView& v) { std::swap(v.schema[0], v.schema[1]); },
      [](FeatureView& v) { v.entity_columns.clear(); },
      [](FeatureView& v) { v.source += "x"; },
      [](FeatureView& v) { v.online = true; },
      [](FeatureView& v) { v.description += "x"; },
      [](FeatureView& v) { v.tags["k"] = "v"; },
      [](FeatureView& v) { v.owner += "x"; },
  };
  for (size_t i = 0; i < view_edits.size(); ++i) {
    FeatureView v = FullView();
    view_edits[i](v);
    EXPECT_NE(Text(ToJson(v)), view) << "view edit " << i;
  }

  const std::string source = Text(ToJson(FullSource()));
  std::vector<std::function<void(DataSource&)>> source_edits = {
      [](DataSource& s) { s.kind = DataSourceKind::kPush; },
      [](DataSource& s) { s.path += "x"; },
      [](DataSource& s) { s.file_format = FileFormat::kParquet; },
      [](DataSource& s) { s.batch_source += "x"; },
      [](DataSource& s) { s.project_dir += "x"; },
      [](DataSource& s) { s.target_path += "x"; },
      [](DataSource& s) { s.database_path += "x"; },
      [](DataSource& s) { s.model += "x"; },
      [](DataSource& s) { s.timestamp_field += "x"; },
      [](DataSource& s) { s.created_timestamp_column += "x"; },
      [](DataSource& s) { s.field_mapping["a"] = "b"; },
      [](DataSource& s) { s.description += "x"; },
      [](DataSource& s) { s.tags.clear(); },
      [](DataSource& s) { s.owner += "x"; },
  };
  for (size_t i = 0; i < source_edits.size(); ++i) {
    DataSource s = FullSource();
    source_edits[i](s);
    EXPECT_NE(Text(ToJson(s)), source) << "source edit " << i;
  }

  const std::string entity = Text(ToJson(FullEntity()));
  Entity e = FullEntity();
  e.value_type.scalar = ScalarType::kString;
  EXPECT_NE(Text(ToJson(e)), entity);
  e = FullEntity();
  std::swap(e.join_keys[0], e.join_keys[1]);
  EXPECT_NE(Text(ToJson(e)), entity);

  const std::string service = Text(ToJson(FullService()));
  FeatureService s = FullService();
  s.features[1].features.push_back("age");
  EXPECT_NE(Text(ToJson(s)), service);
  s = FullService();
  s.features.pop_back();
  EXPECT_NE(Text(ToJson(s)), service);

  SqlModel m = FullModel();
  m.sql += " ";
  EXPECT_NE(Text(ToJson(m)), Text(ToJson(FullModel())));
}

TEST(DefinitionJson, SubSecondTtlRoundTrips) {
  FeatureView v;
  v.name = "v";
  for (int64_t micros : {int64_t{1}, int64_t{1500}, Duration::kDay + 7}) {
    v.ttl = Duration{micros};
    EXPECT_EQ(RoundTrip(v).ttl.micros, micros);
  }
}

TEST(DefinitionJson, CorruptInputNamesTheObject) {
  struct Case {
    std::string text;
    std::string expect;  // part of the message
  };
  Entity e;
  for (const Case& c : std::vector<Case>{
           {R"({"name":"user","value_type":"Int64","join_keys":"user_id"})",
            "entity user: field `join_keys` must be an array of strings"},
           {R"({"name":"user","value_type":"Int65"})",
            "entity user: field `value_type`: unknown dtype 'Int65'"},
           {R"({"name":"user"})", "entity user: missing field `value_type`"},
           {R"({"name":"user","value_type":"Int64","colour":"red"})",
            "entity user: unknown field `colour`"},
           {R"({"value_type":"Int64"})",
            "entity (unnamed): missing field `name`"},
           {R"([1,2])", "entity (unnamed): expected a JSON object"},
           {R"({"name":"user","value_type":"Int64","tags":{"a":1}})",
            "entity user: field `tags` must be an object of strings"},
       }) {
    json j = json::parse(c.text);
    Status s = FromJson(j, &e);
    EXPECT_EQ(s.code(), StatusCode::kCorruption) << c.text;
    EXPECT_NE(s.message().find(c.expect), std::string::npos)
        << s.message() << "\nexpected: " << c.expect;
  }

  FeatureView v;
  Status s = FromJson(
      json::parse(R"({"name":"v","ttl":"1w","online":true})"), &v);
  EXPECT_EQ(s.code(), StatusCode::kCorruption);
  EXPECT_NE(s.message().find("feature view v: field `ttl`"), std::string::npos)
      << s.message();
  s = FromJson(json::parse(R"({"name":"v","ttl":"1d","online":"yes"})"), &v);
  EXPECT_NE(s.message().find("feature view v: field `online`"),
            std::string::npos)
      << s.message();
  s = FromJson(json::parse(R"({"name":"v","ttl":"1d","online":true,)"
                           R"("schema":[{"name":"f"}]})"),
               &v);
  EXPECT_NE(s.message().find(
                "feature view v: schema[0]: missing field `dtype`"),
            std::string::npos)
      << s.message();

  DataSource src;
  s = FromJson(json::parse(R"({"name":"s","type":"pulsar",)"
                           R"("file_format":"parquet"})"),
               &src);
  EXPECT_EQ(s.code(), StatusCode::kCorruption);
  EXPECT_NE(s.message().find("data source s: unknown source type 'pulsar'"),
            std::string::npos)
      << s.message();

  FeatureService svc;
  s = FromJson(json::parse(R"({"name":"m","features":[{"features":[]}]})"),
               &svc);
  EXPECT_NE(s.message().find(
                "feature service m: features[0]: missing field `feature_view`"),
            std::string::npos)
      << s.message();

  SqlModel m;
  s = FromJson(json::parse(R"({"name":"m","sql":5})"), &m);
  EXPECT_NE(s.message().find("sql model m: field `sql` must be a string"),
            std::string::npos)
      << s.message();
}

TEST(DefinitionJson, FailedFromJsonLeavesOutputUntouched) {
  Entity e = FullEntity();
  Status s = FromJson(json::parse(R"({"name":"x"})"), &e);
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(e.name, "user");
}

TEST(DefinitionJson, BadTextIsCorruption) {
  for (const char* text : {"", "{", "{\"name\":}", "nul", "{\"a\":1}}"}) {
    auto r = ParseJsonText(text, "entity user");
    ASSERT_FALSE(r.ok()) << text;
    EXPECT_EQ(r.status().code(), StatusCode::kCorruption);
    EXPECT_EQ(r.status().message().rfind("entity user: ", 0), 0u)
        << r.status().message();
  }
}

TEST(DefinitionJson, InvalidUtf8IsRefusedNotThrown) {
  Entity e;
  e.name = "user";
  e.description = "bad \xff byte";
  auto text = CanonicalJsonText(ToJson(e), "entity user");
  ASSERT_FALSE(text.ok());
  EXPECT_EQ(text.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(text.status().message().find("entity user"), std::string::npos);
}

TEST(DefinitionJson, KindIds) {
  for (ObjectKind kind : kAllObjectKinds) {
    EXPECT_EQ(ObjectKindFromId(ObjectKindId(kind)), kind);
  }
  EXPECT_EQ(ObjectKindId(ObjectKind::kFeatureView), "feature_view");
  EXPECT_EQ(ObjectKindPluralId(ObjectKind::kEntity), "entities");
  EXPECT_FALSE(ObjectKindFromId("feature view").has_value());
}

}  // namespace
}  // namespace larder

namespace larder {
namespace {

Aggregation MakeAggregation(std::string column, std::string_view function, int64_t window_days,
                            ValueType dtype) {
  Aggregation a;
  a.column = std::move(column);
  EXPECT_TRUE(ParseAggregationFunction(function, &a.function, &a.n).ok()) << function;
  a.lifetime = window_days == 0;
  a.window = Duration{window_days * Duration::kDay};
  a.column_dtype = dtype;
  a.name = AggregationDefaultName(a);
  return a;
}

FeatureView AggregationView() {
  const ValueType kInt32{ScalarType::kInt32, false};
  const ValueType kString{ScalarType::kString, false};
  FeatureView v;
  v.name = "agg_user_features_1d";
  v.entities = {"user"};
  v.source = "ratings_push";
  v.aggregation_interval = Duration{10 * Duration::kMinute};
  for (const char* f : {"count", "sum", "mean", "min", "max", "stddev", "variance", "first",
                        "last", "first_n(3)", "last_n(5)", "count_distinct",
                        "approx_count_distinct"}) {
    v.aggregations.push_back(MakeAggregation("rating", f, 1, kInt32));
  }
  v.aggregations.push_back(MakeAggregation("isbn", "count_distinct", 0, kString));
  v.aggregations.back().name = "books_ever";
  v.aggregations.back().description = "distinct books rated";
  return v;
}

TEST(DefinitionJson, AggregationsRoundTrip) {
  FeatureView in = AggregationView();
  FeatureView out = RoundTrip(in);
  EXPECT_EQ(out.aggregation_interval, in.aggregation_interval);
  ASSERT_EQ(out.aggregations.size(), in.aggregations.size());
  for (size_t i = 0; i < in.aggregations.size(); ++i) {
    const Aggregation& a = in.aggregations[i];
    const Aggregation& b = out.aggregations[i];
    EXPECT_EQ(b.column, a.column);
    EXPECT_EQ(b.function, a.function) << a.name;
    EXPECT_EQ(b.n, a.n) << a.name;
    EXPECT_EQ(b.lifetime, a.lifetime) << a.name;
    EXPECT_EQ(b.window, a.window) << a.name;
    EXPECT_EQ(b.name, a.name);
    EXPECT_EQ(b.column_dtype, a.column_dtype) << a.name;
    EXPECT_EQ(b.description, a.description) << a.name;
  }
  EXPECT_EQ(Text(ToJson(out)), Text(ToJson(in)));
  // A sub-second window and interval round-trip too.
  in.aggregation_interval = Duration{250'000};
  in.aggregations[0].window = Duration{Duration::kSecond + 500'000};
  EXPECT_EQ(Text(ToJson(RoundTrip(in))), Text(ToJson(in)));
}

TEST(DefinitionJson, AggregationsAreWrittenReadably) {
  FeatureView v;
  v.name = "v";
  v.source = "s";
  v.aggregation_interval = Duration{10 * Duration::kMinute};
  v.aggregations = {MakeAggregation("rating", "last_n(5)", 7, {ScalarType::kInt32, false}),
                    MakeAggregation("rating", "mean", 0, {ScalarType::kFloat64, false})};
  EXPECT_EQ(Text(ToJson(v)),
            R"j({"aggregation_interval":"10m","aggregations":[)j"
            R"j({"column":"rating","dtype":"Int32","function":"last_n(5)",)j"
            R"j("name":"rating_last_n5_7d","time_window":"7d"},)j"
            R"j({"column":"rating","dtype":"Float64","function":"mean",)j"
            R"j("name":"rating_mean_lifetime","time_window":"lifetime"}],)j"
            R"j("name":"v","online":true,"source":"s","ttl":"0s"})j");
}

// Views stored before aggregations existed have neither key, and a view
// without aggregations still writes the same text as then.
TEST(DefinitionJson, ViewsWithoutAggregationsKeepTheirText) {
  const std::string stored = R"j({"name":"v","online":true,)j"
                             R"j("schema":[{"dtype":"Int64","name":"f"}],)j"
                             R"j("source":"src","ttl":"1d"})j";
  FeatureView v;
  ASSERT_TRUE(FromJson(json::parse(stored), &v).ok());
  EXPECT_TRUE(v.aggregations.empty());
  EXPECT_EQ(v.aggregation_interval.micros, 0);
  EXPECT_EQ(Text(ToJson(v)), stored);
}

TEST(DefinitionJson, EveryAggregationFieldChangesTheText) {
  const std::string view = Text(ToJson(AggregationView()));
  std::vector<std::function<void(FeatureView&)>> edits = {
      [](FeatureView& v) { v.aggregation_interval.micros += Duration::kMinute; },
      [](FeatureView& v) { v.aggregations.pop_back(); },
      [](FeatureView& v) { std::swap(v.aggregations[0], v.aggregations[1]); },
      [](FeatureView& v) { v.aggregations[0].column = "score"; },
      [](FeatureView& v) { v.aggregations[0].function = AggregationFunction::kSum; },
      [](FeatureView& v) { v.aggregations[9].n = 4; },
      [](FeatureView& v) { v.aggregations[0].lifetime = true; },
      [](FeatureView& v) { v.aggregations[0].window.micros += Duration::kDay; },
      [](FeatureView& v) { v.aggregations[0].name = "other"; },
      [](FeatureView& v) { v.aggregations[0].column_dtype.scalar = ScalarType::kInt64; },
      [](FeatureView& v) { v.aggregations[0].description = "x"; },
  };
  for (size_t i = 0; i < edits.size(); ++i) {
    FeatureView v = AggregationView();
    edits[i](v);
    EXPECT_NE(Text(ToJson(v)), view) << "aggregation edit " << i;
  }
}

TEST(DefinitionJson, CorruptAggregationsNameTheObject) {
  struct Case {
    std::string aggregations;
    std::string expect;
  };
  for (const Case& c : std::vector<Case>{
           {R"([{"column":"r","function":"median","time_window":"1d","name":"n",)"
            R"("dtype":"Int32"}])",
            "feature view v: aggregations[0]: field `function`: unknown aggregation function "
            "'median'"},
           {R"([{"column":"r","function":"mean","time_window":"1w","name":"n",)"
            R"("dtype":"Int32"}])",
            "feature view v: aggregations[0]: field `time_window`:"},
           {R"([{"column":"r","function":"mean","time_window":"1d","dtype":"Int32"}])",
            "feature view v: aggregations[0]: missing field `name`"},
           {R"([{"column":"r","function":"mean","time_window":"1d","name":"n",)"
            R"("dtype":"Int32","window":"1d"}])",
            "feature view v: aggregations[0]: unknown field `window`"},
           {R"({"column":"r"})", "feature view v: field `aggregations` must be an array"},
       }) {
    FeatureView v;
    Status s = FromJson(json::parse(R"({"name":"v","ttl":"0s","online":true,)"
                                    R"("aggregation_interval":"10m","aggregations":)" +
                                    c.aggregations + "}"),
                        &v);
    EXPECT_EQ(s.code(), StatusCode::kCorruption) << c.aggregations;
    EXPECT_NE(s.message().find(c.expect), std::string::npos)
        << s.message() << "\nexpected: " << c.expect;
  }
}

}  // namespace
}  // namespace larder
