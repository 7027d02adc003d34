#include "server/request_parsers.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <string>

namespace larder::server {
namespace {

// The message of a failed parse; fails the test unless it is InvalidArgument.
template <typename T>
std::string Error(const Result<T>& result) {
  if (result.ok()) {
    ADD_FAILURE() << "parsed, expected an error";
    return "";
  }
  EXPECT_EQ(result.status().code(), StatusCode::kInvalidArgument) << result.status().ToString();
  return result.status().message();
}

Result<PushBody> Push(const std::string& df) {
  return ParsePushRequest(R"({"push_source_name":"s","df":)" + df + "}");
}

std::string DfError(const std::string& df) { return Error(Push(df)); }

TimestampMicros Utc(const char* iso) {
  TimestampMicros t = 0;
  EXPECT_TRUE(ParseIsoTimestamp(iso, &t)) << iso;
  return t;
}

TEST(RequestParsers, OnlineFeaturesParsesEntitiesAndFeatures) {
  Result<OnlineFeaturesRequest> r = ParseOnlineFeaturesRequest(R"({
      "features": ["user_stats:avg_rating", "book_stats:num_ratings"],
      "entities": {"user_id": [1, -2, 9223372036854775807], "isbn": ["a", "b", "c"],
                   "active": [true, false, true]},
      "full_feature_names": true,
      "include_feature_view_version_metadata": false})");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->features,
            (std::vector<std::string>{"user_stats:avg_rating", "book_stats:num_ratings"}));
  EXPECT_TRUE(r->full_feature_names);
  EXPECT_EQ(r->entity_rows.at("user_id"),
            (std::vector<Value>{Value::Int64(1), Value::Int64(-2),
                                Value::Int64(std::numeric_limits<int64_t>::max())}));
  EXPECT_EQ(r->entity_rows.at("isbn"),
            (std::vector<Value>{Value::String("a"), Value::String("b"), Value::String("c")}));
  EXPECT_EQ(r->entity_rows.at("active"),
            (std::vector<Value>{Value::Bool(true), Value::Bool(false), Value::Bool(true)}));

  Result<OnlineFeaturesRequest> service = ParseOnlineFeaturesRequest(
      R"({"feature_service": "model_v4", "entities": {"user_id": [-9223372036854775808]}})");
  ASSERT_TRUE(service.ok()) << service.status().ToString();
  EXPECT_EQ(service->feature_service, "model_v4");
  EXPECT_FALSE(service->full_feature_names);
  EXPECT_EQ(service->entity_rows.at("user_id"),
            std::vector<Value>{Value::Int64(std::numeric_limits<int64_t>::min())});
}

TEST(RequestParsers, OnlineFeaturesNamesTheBadField) {
  EXPECT_EQ(Error(ParseOnlineFeaturesRequest(R"({"entities": {"user_id": [1, 2, 3.5]}})")),
            "entities.user_id[2]: 3.5 is not a valid join key value (a number with a fraction)");
  EXPECT_EQ(Error(ParseOnlineFeaturesRequest(R"({"entities": {"user_id": [1, null]}})")),
            "entities.user_id[1]: expected a number or a string, got null");
  EXPECT_EQ(Error(ParseOnlineFeaturesRequest(R"({"entities": {"k": [[1]]}})")),
            "entities.k[0]: expected a number or a string, got array");
  EXPECT_EQ(
      Error(ParseOnlineFeaturesRequest(R"({"entities": {"k": [18446744073709551615]}})")),
      "entities.k[0]: 18446744073709551615 is out of the Int64 range");
  EXPECT_EQ(Error(ParseOnlineFeaturesRequest(R"({"entities": {"k": 1}})")),
            "entities.k: expected an array");
  EXPECT_EQ(Error(ParseOnlineFeaturesRequest(R"({"entities": [1]})")),
            "entities: expected an object of join key -> values");
  EXPECT_EQ(Error(ParseOnlineFeaturesRequest(
                R"({"features": ["v:f", 7], "entities": {"k": [1]}})")),
            "features[1]: expected a \"view:feature\" string");
  EXPECT_EQ(Error(ParseOnlineFeaturesRequest(R"({"features": ["v:f"]})")),
            "entities: missing; give at least one join key");
  EXPECT_EQ(Error(ParseOnlineFeaturesRequest(R"({"entities": {}})")),
            "entities: missing; give at least one join key");
  EXPECT_EQ(Error(ParseOnlineFeaturesRequest(
                R"({"entities": {"k": [1]}, "full_feature_names": 1})")),
            "full_feature_names: expected true or false");
  EXPECT_EQ(Error(ParseOnlineFeaturesRequest(
                R"({"entities": {"k": [1]}, "include_feature_view_version_metadata": true})")),
            "include_feature_view_version_metadata: true is not supported (views are not "
            "versioned)");
  EXPECT_EQ(Error(ParseOnlineFeaturesRequest(R"({"entities": {"k": [1]}, "project": "p"})")),
            "project: unknown field (expected features or feature_service, entities, "
            "full_feature_names)");
}

TEST(RequestParsers, MalformedBodiesAreInvalidArgument) {
  EXPECT_EQ(Error(ParseOnlineFeaturesRequest("")), "body: malformed JSON (at byte 1)");
  EXPECT_EQ(Error(ParsePushRequest(R"({"df": {"a": [1,)")), "body: malformed JSON (at byte 17)");
  EXPECT_EQ(Error(ParseWriteRequest("{\"feature_view_name\": \"v\xff\"}")),
            "body: malformed JSON (at byte 25)");
  EXPECT_EQ(Error(ParseMaterializeRequest("{} trailing", false)),
            "body: malformed JSON (at byte 6)");
  EXPECT_EQ(Error(ParseMaterializeRequest("[]", true)), "body: expected a JSON object");
  EXPECT_EQ(Error(ParsePushRequest("\"df\"")), "body: expected a JSON object");
  EXPECT_EQ(Error(ParseWriteRequest(std::string(10000, '[') + std::string(10000, ']'))),
            "body: expected a JSON object");
}

TEST(RequestParsers, PushParsesSourceDfAndTarget) {
  Result<PushBody> r = ParsePushRequest(R"({
      "push_source_name": "ratings_push",
      "df": {"user_id": [1, 2], "rating": [4.5, null], "ts": ["2022-01-01T00:00:00Z", "x"]},
      "to": "online_and_offline", "allow_registry_cache": true, "transform_on_write": false})");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->push_source_name, "ratings_push");
  EXPECT_EQ(r->to, PushTarget::kOnlineAndOffline);
  EXPECT_EQ(RowCount(r->df), 2u);
  EXPECT_EQ(r->df.at("user_id"), (std::vector<Value>{Value::Int64(1), Value::Int64(2)}));
  EXPECT_EQ(r->df.at("ts"),
            (std::vector<Value>{Value::String("2022-01-01T00:00:00Z"), Value::String("x")}));

  Result<PushBody> plain = Push(R"({"a": [1]})");
  ASSERT_TRUE(plain.ok()) << plain.status().ToString();
  EXPECT_EQ(plain->to, PushTarget::kOnline);
  Result<PushBody> offline =
      ParsePushRequest(R"({"to": "offline", "df": {"a": [1]}, "push_source_name": "s"})");
  ASSERT_TRUE(offline.ok()) << offline.status().ToString();
  EXPECT_EQ(offline->to, PushTarget::kOffline);
}

TEST(RequestParsers, PushNamesTheBadField) {
  EXPECT_EQ(Error(ParsePushRequest(R"({"df": {"a": [1]}})")), "push_source_name: missing");
  EXPECT_EQ(Error(ParsePushRequest(R"({"push_source_name": "s"})")), "df: missing");
  EXPECT_EQ(Error(ParsePushRequest(R"({"push_source_name": 1, "df": {"a": [1]}})")),
            "push_source_name: expected a string");
  EXPECT_EQ(Error(ParsePushRequest(R"({"push_source_name": "s", "df": {"a": [1]}, "to": "disk"})")),
            "to: 'disk' is not a push target (online, offline, online_and_offline)");
  EXPECT_EQ(Error(ParsePushRequest(R"({"push_source_name": "s", "df": {"a": [1]}, "to": 1})")),
            "to: expected a string");
  EXPECT_EQ(Error(ParsePushRequest(
                R"({"push_source_name": "s", "df": {"a": [1]}, "allow_registry_cache": "yes"})")),
            "allow_registry_cache: expected true or false");
  EXPECT_EQ(Error(ParsePushRequest(R"({"push_source_name": "s", "df": {"a": [1]}, "mode": 1})")),
            "mode: unknown field (expected push_source_name, df, to)");
}

TEST(RequestParsers, DfTypesCells) {
  Result<PushBody> r = Push(R"({
      "ints": [1, -7],
      "floats": [1.5, 2],
      "strings": ["a", ""],
      "bools": [true, false],
      "nulls": [null, 3],
      "int_arrays": [[1, 2], [9223372036854775807]],
      "mixed_arrays": [[1, 2.5], [3]],
      "string_arrays": [["x", "y"], []],
      "bool_arrays": [[true], [false, true]],
      "empty_arrays": [[], []]})");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const ColumnTable& df = r->df;
  EXPECT_EQ(df.at("ints"), (std::vector<Value>{Value::Int64(1), Value::Int64(-7)}));
  EXPECT_EQ(df.at("floats"), (std::vector<Value>{Value::Float64(1.5), Value::Int64(2)}));
  EXPECT_EQ(df.at("strings"), (std::vector<Value>{Value::String("a"), Value::String("")}));
  EXPECT_EQ(df.at("bools"), (std::vector<Value>{Value::Bool(true), Value::Bool(false)}));
  EXPECT_TRUE(df.at("nulls")[0].is_null());
  EXPECT_EQ(df.at("nulls")[1], Value::Int64(3));
  EXPECT_EQ(df.at("int_arrays"),
            (std::vector<Value>{Value::Int64Array({1, 2}),
                                Value::Int64Array({std::numeric_limits<int64_t>::max()})}));
  EXPECT_EQ(df.at("mixed_arrays"),
            (std::vector<Value>{Value::Float64Array({1, 2.5}), Value::Int64Array({3})}));
  EXPECT_EQ(df.at("mixed_arrays")[0].type(), (ValueType{ScalarType::kFloat64, true}));
  EXPECT_EQ(df.at("string_arrays"),
            (std::vector<Value>{Value::StringArray({"x", "y"}), Value::Int64Array({})}));
  EXPECT_EQ(df.at("bool_arrays"),
            (std::vector<Value>{Value::BoolArray({true}), Value::BoolArray({false, true})}));
  for (const Value& v : df.at("empty_arrays")) {
    EXPECT_TRUE(v.type().is_array);
    EXPECT_TRUE(v.int64_array().empty());
  }
  EXPECT_EQ(RowCount(df), 2u);

  Result<PushBody> no_rows = Push(R"({"a": [], "b": []})");
  ASSERT_TRUE(no_rows.ok()) << no_rows.status().ToString();
  EXPECT_EQ(RowCount(no_rows->df), 0u);
}

TEST(RequestParsers, DfNamesTheBadCell) {
  EXPECT_EQ(DfError(R"({"rating": [{"x": 1}]})"),
            "df.rating[0]: expected a number, string, boolean, array or null, got object");
  // Objects or arrays inside array cells are refused where they start.
  EXPECT_EQ(DfError(R"({"rating": [1, [{"x": 1}]]})"),
            "df.rating[1][0]: nested too deeply (a request has at most 4 levels of objects and arrays)");
  EXPECT_EQ(DfError(R"({"a": [[[1]]]})"),
            "df.a[0][0]: nested too deeply (a request has at most 4 levels of objects and arrays)");
  EXPECT_EQ(DfError(R"({"a": [[1, "x"]]})"),
            "df.a[0]: array elements must all be numbers, all strings or all booleans");
  EXPECT_EQ(DfError(R"({"a": [[], [1, null]]})"), "df.a[1][1]: array elements cannot be null");
  EXPECT_EQ(DfError(R"({"a": [18446744073709551615]})"),
            "df.a[0]: 18446744073709551615 is out of the Int64 range");
  EXPECT_EQ(DfError(R"({"a": [[1], [2, 18446744073709551615]]})"),
            "df.a[1][1]: 18446744073709551615 is out of the Int64 range");
  EXPECT_EQ(DfError(R"({"a": [1, 2], "b": [1]})"), "df.b: 1 values, but column `a` has 2");
  EXPECT_EQ(DfError(R"({"a": [1], "b": [1, 2], "c": [1]})"),
            "df.b: 2 values, but column `a` has 1");
  EXPECT_EQ(DfError(R"({"a": 1})"), "df.a: expected an array");
  EXPECT_EQ(DfError(R"({})"), "df: no columns");
  EXPECT_EQ(DfError(R"([[1]])"), "df: expected an object of column -> values");
}

TEST(RequestParsers, DfWithLongColumnNameAndManyCellsIsLinear) {
  // Building "df.<name>[i]" for every cell made this quadratic: a 1 MB body
  // took minutes.
  const std::string name(512 * 1024, 'c');
  std::string cells;
  for (int i = 0; i < 256 * 1024; ++i) cells += i == 0 ? "1" : ",1";
  const auto start = std::chrono::steady_clock::now();
  Result<PushBody> r = Push("{\"" + name + "\": [" + cells + "]}");
  const auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(RowCount(r->df), 256u * 1024);
  EXPECT_LT(elapsed, std::chrono::seconds(5));
}

TEST(RequestParsers, WriteParsesViewAndDf) {
  Result<WriteBody> r = ParseWriteRequest(
      R"({"feature_view_name": "user_stats", "df": {"user_id": [1], "avg_rating": [null]},
          "allow_registry_cache": false})");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->feature_view_name, "user_stats");
  EXPECT_EQ(RowCount(r->df), 1u);
  EXPECT_TRUE(r->df.at("avg_rating")[0].is_null());

  EXPECT_EQ(Error(ParseWriteRequest(R"({"df": {"a": [1]}})")), "feature_view_name: missing");
  EXPECT_EQ(Error(ParseWriteRequest(R"({"feature_view_name": "v"})")), "df: missing");
  EXPECT_EQ(Error(ParseWriteRequest(R"({"feature_view_name": ["v"], "df": {"a": [1]}})")),
            "feature_view_name: expected a string");
  EXPECT_EQ(Error(ParseWriteRequest(R"({"feature_view_name": "v", "df": {"x": [true, 1.5e400]}})")),
            "body: malformed JSON (at byte 53)");
  EXPECT_EQ(Error(ParseWriteRequest(
                R"({"feature_view_name": "v", "df": {"a": [1]}, "to": "online"})")),
            "to: unknown field (expected feature_view_name, df)");
}

TEST(RequestParsers, MaterializeParsesIsoTimestamps) {
  Result<MaterializeBody> r = ParseMaterializeRequest(
      R"({"start_ts": "2022-01-01T00:00:00Z", "end_ts": "2022-01-02T05:30:00+05:30",
          "feature_views": ["user_stats", "book_stats"]})",
      false);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_TRUE(r->start.has_value());
  EXPECT_EQ(*r->start, 1'640'995'200'000'000);
  EXPECT_EQ(r->end, 1'640'995'200'000'000 + int64_t{86400} * 1'000'000);
  EXPECT_EQ(r->feature_views, (std::vector<std::string>{"user_stats", "book_stats"}));

  Result<MaterializeBody> offsets = ParseMaterializeRequest(
      R"({"start_ts": "2021-12-31T19:00:00-05:00", "end_ts": "2022-01-01 00:00:00.25",
          "feature_views": null, "disable_event_timestamp": false})",
      false);
  ASSERT_TRUE(offsets.ok()) << offsets.status().ToString();
  EXPECT_EQ(*offsets->start, Utc("2022-01-01T00:00:00Z"));
  EXPECT_EQ(offsets->end, Utc("2022-01-01T00:00:00Z") + 250'000);
  EXPECT_TRUE(offsets->feature_views.empty());

  Result<MaterializeBody> incremental =
      ParseMaterializeRequest(R"({"end_ts": "2024-02-29T23:59:59Z"})", true);
  ASSERT_TRUE(incremental.ok()) << incremental.status().ToString();
  EXPECT_FALSE(incremental->start.has_value());
  EXPECT_EQ(incremental->end, Utc("2024-03-01T00:00:00Z") - 1'000'000);
}

TEST(RequestParsers, MaterializeNamesTheBadField) {
  EXPECT_EQ(Error(ParseMaterializeRequest(R"({"start_ts": "2022-01-01T00:00:00Z"})", false)),
            "end_ts: missing");
  EXPECT_EQ(Error(ParseMaterializeRequest(R"({"end_ts": "2022-01-01T00:00:00Z"})", false)),
            "start_ts: missing");
  EXPECT_EQ(Error(ParseMaterializeRequest(R"({})", true)), "end_ts: missing");
  EXPECT_EQ(Error(ParseMaterializeRequest(
                R"({"start_ts": "2022-01-01T00:00:00Z", "end_ts": "yesterday"})", false)),
            "end_ts: `yesterday` is not an ISO 8601 time, e.g. 2022-01-01T00:00:00Z");
  EXPECT_EQ(Error(ParseMaterializeRequest(R"({"end_ts": "2023-02-29T00:00:00Z"})", true)),
            "end_ts: `2023-02-29T00:00:00Z` is not an ISO 8601 time, e.g. 2022-01-01T00:00:00Z");
  EXPECT_EQ(Error(ParseMaterializeRequest(R"({"end_ts": 1640995200})", true)),
            "end_ts: expected a string");
  EXPECT_EQ(Error(ParseMaterializeRequest(
                R"({"start_ts": "2022-01-01T00:00:00Z", "end_ts": "2022-01-01T00:00:00Z"})", true)),
            "start_ts: unknown field (expected end_ts, feature_views)");
  EXPECT_EQ(Error(ParseMaterializeRequest(R"({"end_ts": "2022-01-01", "views": []})", false)),
            "views: unknown field (expected start_ts, end_ts, feature_views)");
  EXPECT_EQ(Error(ParseMaterializeRequest(
                R"({"end_ts": "2022-01-01", "feature_views": ["a", 1]})", true)),
            "feature_views[1]: expected a string");
  EXPECT_EQ(Error(ParseMaterializeRequest(
                R"({"end_ts": "2022-01-01", "feature_views": "a"})", true)),
            "feature_views: expected an array of strings");
  EXPECT_EQ(Error(ParseMaterializeRequest(
                R"({"end_ts": "2022-01-01", "disable_event_timestamp": true})", true)),
            "disable_event_timestamp: true is not supported; give start_ts and end_ts");
}

TEST(RequestParsers, DeleteParsesEntitiesAndViews) {
  Result<DeleteBody> d = ParseDeleteRequest(
      R"({"entities": {"user_id": [1, 2], "isbn": ["a", "b"]}, "feature_views": ["v"]})");
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->entities.at("user_id"), (std::vector<Value>{Value::Int64(1), Value::Int64(2)}));
  EXPECT_EQ(d->entities.at("isbn")[1], Value::String("b"));
  EXPECT_EQ(d->feature_views, std::vector<std::string>{"v"});
  d = ParseDeleteRequest(R"({"entities": {"user_id": [1]}, "feature_views": null})");
  ASSERT_TRUE(d.ok());
  EXPECT_TRUE(d->feature_views.empty());
  for (const auto& [body, field] : std::vector<std::pair<std::string, std::string>>{
           {R"({"feature_views": ["v"]})", "entities: missing"},
           {R"({"entities": {"user_id": [null]}})", "entities.user_id[0]"},
           {R"({"entities": {"user_id": 1}})", "entities.user_id"},
           {R"({"entities": {"user_id": [1]}, "feature_views": "v"})", "feature_views"},
           {R"({"entities": {"user_id": [1]}, "to": "online"})", "to: unknown field"}}) {
    d = ParseDeleteRequest(body);
    ASSERT_FALSE(d.ok()) << body;
    EXPECT_EQ(d.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(d.status().message().find(field), std::string::npos) << d.status().message();
  }
}

TEST(RequestParsers, RowCountIsTheLargestColumn) {
  EXPECT_EQ(RowCount({}), 0u);
  ColumnTable df;
  df["a"] = {Value::Int64(1)};
  df["b"] = {Value::Int64(1), Value::Null(), Value::Null()};
  EXPECT_EQ(RowCount(df), 3u);
}

// Every seed of the fuzz target (fuzz/request_parsers_fuzz.cc: the first
// byte picks the parser) parses or fails with InvalidArgument, and the seeds
// cover a good and a bad body of every endpoint.
// A budget with its own memory pool of `pool` bytes, `cap` per request.
struct TestBudget {
  TestBudget(size_t pool, size_t cap, size_t max_rows) : memory(&used, pool, cap) {
    budget.max_rows = max_rows;
    budget.memory = &memory;
  }
  std::atomic<size_t> used{0};
  RequestMemory memory;
  ParseBudget budget;
};

// `{"entities": {"k": [<n copies of item>]}}`.
std::string EntitiesOf(size_t n, const std::string& item) {
  std::string body = R"({"entities": {"k": [)";
  body.reserve(body.size() + n * (item.size() + 1) + 4);
  for (size_t i = 0; i < n; ++i) body.append(i ? "," : "").append(item);
  return body + "]}}";
}

TEST(RequestParsers, FuzzCorpusParsesWithoutCrashing) {
  const std::filesystem::path dir =
      std::filesystem::path(LARDER_SOURCE_DIR) / "fuzz" / "corpus" / "request_parsers";
  int files = 0;
  int ok[6] = {}, failed[6] = {};
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    std::ifstream in(entry.path(), std::ios::binary);
    const std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (data.empty()) continue;
    ++files;
    // As the fuzz target reads it: from '6' up, under a budget of 4 rows and
    // 256 KiB of a 1 MiB pool that others hold (second byte) sixteenths of.
    const uint8_t pick = static_cast<uint8_t>(data[0] - '0');
    const int parser = pick % 6;
    const bool budgeted = (pick / 6) % 2 == 1 && data.size() >= 2;
    const std::string_view body = std::string_view(data).substr(budgeted ? 2 : 1);
    TestBudget limits(1 << 20, 256 << 10, 4);
    limits.used = budgeted ? (static_cast<uint8_t>(data[1]) % 17) * (1 << 16) : 0;
    ParseBudget* budget = budgeted ? &limits.budget : nullptr;
    Status status;
    switch (parser) {
      case 0: status = ParseOnlineFeaturesRequest(body, budget).status(); break;
      case 1: status = ParsePushRequest(body, budget).status(); break;
      case 2: status = ParseWriteRequest(body, budget).status(); break;
      case 5: status = ParseDeleteRequest(body, budget).status(); break;
      default: status = ParseMaterializeRequest(body, parser == 4, budget).status(); break;
    }
    SCOPED_TRACE(entry.path().filename().string());
    if (status.ok()) {
      ++ok[parser];
    } else {
      ++failed[parser];
      EXPECT_EQ(status.code(), StatusCode::kInvalidArgument) << status.ToString();
    }
  }
  EXPECT_GE(files, 20);
  for (int p = 0; p < 6; ++p) {
    EXPECT_GT(ok[p], 0) << "no valid seed for parser " << p;
    EXPECT_GT(failed[p], 0) << "no invalid seed for parser " << p;
  }
}

TEST(RequestParsers, DuplicateKeysAreRefusedAtEveryLevel) {
  // The last one used to win silently.
  EXPECT_EQ(Error(ParseOnlineFeaturesRequest(
                R"({"feature_service": "a", "feature_service": "b", "entities": {"k": [1]}})")),
            "feature_service: duplicate key (a key may appear once in an object)");
  EXPECT_EQ(Error(ParseOnlineFeaturesRequest(
                R"({"features": ["v:f"], "entities": {"user_id": [1], "user_id": [2]}})")),
            "entities.user_id: duplicate key (a key may appear once in an object)");
  EXPECT_EQ(DfError(R"({"ts": ["2022-01-01"], "ts": ["2023-01-01"]})"),
            "df.ts: duplicate key (a key may appear once in an object)");
  EXPECT_EQ(Error(ParseMaterializeRequest(
                R"({"end_ts": "2022-01-01T00:00:00Z", "end_ts": "2023-01-01T00:00:00Z"})", true)),
            "end_ts: duplicate key (a key may appear once in an object)");
  EXPECT_EQ(Error(ParseWriteRequest(
                R"({"feature_view_name": "v", "df": {"a": [1]}, "df": {"a": [2]}})")),
            "df: duplicate key (a key may appear once in an object)");
  // The same key in two different objects is fine.
  EXPECT_TRUE(ParseWriteRequest(R"({"feature_view_name": "v", "df": {"feature_view_name": [1]}})")
                  .ok());
}

TEST(RequestParsers, NestingDeeperThanARequestIsRefusedWhereItStarts) {
  EXPECT_EQ(DfError(R"({"a": [[1], [[2]]]})"),
            "df.a[1][0]: nested too deeply (a request has at most 4 levels of objects and arrays)");
  EXPECT_EQ(DfError(R"({"a": [[{"x": 1}]]})"),
            "df.a[0][0]: nested too deeply (a request has at most 4 levels of objects and arrays)");
  // Four levels (a df of array cells) are a valid request.
  EXPECT_TRUE(Push(R"({"a": [[1, 2], []]})").ok());
  EXPECT_EQ(Error(ParseOnlineFeaturesRequest("[{}, {}]")), "body: expected a JSON object");
  EXPECT_EQ(Error(ParseOnlineFeaturesRequest("7")), "body: expected a JSON object");
  EXPECT_EQ(Error(ParseOnlineFeaturesRequest(R"({"entities": {"k": [1]}} {})")).substr(0, 20),
            "body: malformed JSON");
}

TEST(RequestParsers, RowLimitStopsTheParseAtTheFirstRowOver) {
  TestBudget b(size_t{1} << 30, size_t{1} << 30, 3);
  EXPECT_TRUE(ParseOnlineFeaturesRequest(EntitiesOf(3, "1"), &b.budget).ok());
  b.memory.ReleaseAll();
  Result<OnlineFeaturesRequest> r = ParseOnlineFeaturesRequest(EntitiesOf(4, "1"), &b.budget);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "entities.k: more than 3 rows, the limit per request");
  EXPECT_EQ(b.budget.failure, ParseFailure::kTooManyRows);
  b.memory.ReleaseAll();

  // 500,000 empty objects (the memory of a full parse: hundreds of MiB)
  // stop at the fourth: what was parsed is under one charge step.
  r = ParseOnlineFeaturesRequest(EntitiesOf(500'000, "{}"), &b.budget);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(b.budget.failure, ParseFailure::kTooManyRows);
  EXPECT_EQ(b.memory.held(), 0u);
  // A df column counts too; a column of array cells is one row per cell.
  ParseBudget rows;
  rows.max_rows = 2;
  EXPECT_TRUE(ParsePushRequest(R"({"push_source_name": "s", "df": {"a": [[1, 2, 3], [4]]}})", &rows)
                  .ok());
  EXPECT_FALSE(ParsePushRequest(R"({"push_source_name": "s", "df": {"a": [1, 2, 3]}})", &rows).ok());
  EXPECT_EQ(rows.failure, ParseFailure::kTooManyRows);
}

TEST(RequestParsers, MemoryBudgetStopsAParseThatGrowsTooLarge) {
  // One row whose array cell holds 200,000 strings: about 16 MiB parsed.
  std::string cell = R"({"push_source_name": "s", "df": {"a": [[)";
  for (int i = 0; i < 200'000; ++i) cell += i ? ",\"\"" : "\"\"";
  cell += "]]}}";
  {
    TestBudget b(size_t{64} << 20, size_t{4} << 20, 10'000);
    Result<PushBody> r = ParsePushRequest(cell, &b.budget);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(b.budget.failure, ParseFailure::kTooLarge);
    EXPECT_EQ(r.status().message(),
              "body: the request would take more than 4194304 bytes of memory to parse, the limit "
              "per request; send fewer rows or columns per request");
    EXPECT_LE(b.memory.held(), size_t{4} << 20);
  }
  {
    // The pool is held by others: busy, not too large.
    TestBudget b(size_t{64} << 20, size_t{64} << 20, 10'000);
    b.used = (size_t{64} << 20) - (size_t{1} << 20);
    Result<PushBody> r = ParsePushRequest(cell, &b.budget);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(b.budget.failure, ParseFailure::kBusy);
    EXPECT_NE(r.status().message().find("retry later"), std::string::npos);
    b.memory.ReleaseAll();
    EXPECT_EQ(b.used.load(), (size_t{64} << 20) - (size_t{1} << 20));
  }
  {
    // With room, it parses, and the estimate was taken from the pool.
    TestBudget b(size_t{64} << 20, size_t{64} << 20, 10'000);
    Result<PushBody> r = ParsePushRequest(cell, &b.budget);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_GT(b.memory.held(), size_t{200'000} * 32);
    EXPECT_EQ(b.used.load(), b.memory.held());
  }
}

}  // namespace
}  // namespace larder::server
