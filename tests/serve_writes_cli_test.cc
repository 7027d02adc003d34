// The write endpoints of `larder serve` (push, write-to-online-store,
// materialize), its bearer tokens and its metrics, on the real binary.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <unistd.h>

#include <ctime>
#include <fstream>
#include <nlohmann/json.hpp>

#include "offline/duckdb/duckdb_connection.h"
#include "support/serve_fixture.h"
#include "support/server_process.h"

namespace larder {
namespace {

using ::larder::testing::CommandResult;
using ::larder::testing::RawRequest;
using ::larder::testing::RunLarder;
using ::testing::HasSubstr;
using Json = nlohmann::json;


// An ISO 8601 UTC time `hours` before now: pushed ratings there fall in the
// 1-day window that the server, reading at its clock, serves.
std::string HoursAgo(int hours) {
  const std::time_t t = std::time(nullptr) - static_cast<std::time_t>(hours) * 3600;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// A push of ratings by `user` of one book, one per (time, rating) pair, to
// `source`: by default the ratings' kinesis source, which a push may name too
// and which feeds agg_user_features_1d; user_ratings_push feeds the 365-day
// aggregation views.
std::string PushBody(int64_t user, const std::vector<std::pair<std::string, Json>>& rows,
                     const std::string& to = "online",
                     const std::string& source = "book_ratings_stream") {
  Json df = {{"user_id", Json::array()},
             {"isbn", Json::array()},
             {"rating_timestamp", Json::array()},
             {"rating", Json::array()}};
  for (const auto& [time, rating] : rows) {
    df["user_id"].push_back(user);
    df["isbn"].push_back("0441172717");
    df["rating_timestamp"].push_back(time);
    df["rating"].push_back(rating);
  }
  return Json{{"push_source_name", source}, {"df", df}, {"to", to}}.dump();
}

class ServeWrites : public testing::ServeFixture {
 protected:
  // The served value of `feature` of agg_user_features_1d for `user`.
  Json Served(int64_t user, const std::string& feature = "avg_day_user_rating") {
    online::HttpResponse r = Post("/get-online-features",
                                  R"({"features": ["agg_user_features_1d:)" + feature +
                                      R"("], "entities": {"user_id": [)" +
                                      std::to_string(user) + "]}}");
    return r.status == 200 ? Json::parse(r.body)["results"][1]["values"][0] : Json(r.body);
  }
  // The served 1-day mean of `user`'s ratings (null when it has none).
  Json ServedAverage(int64_t user) { return Served(user); }
};

TEST_F(ServeWrites, PushedRatingsUpdateTheAggregatesAtOnce) {
  StartServer();
  online::HttpResponse r =
      Post("/push", PushBody(999999, {{HoursAgo(3), 2}, {HoursAgo(2), 4}, {HoursAgo(5), 9}}));
  ASSERT_EQ(r.status, 200) << r.body;
  Json report = Json::parse(r.body);
  EXPECT_EQ(report["rows"], 3);
  std::vector<std::string> views;
  for (const Json& v : report["online"]) views.push_back(v["feature_view"]);
  EXPECT_THAT(views, ::testing::ElementsAre("agg_user_features_1d"));
  r = Post("/push", PushBody(999999, {{HoursAgo(3), 2}}, "online", "user_ratings_push"));
  ASSERT_EQ(r.status, 200) << r.body;
  views.clear();
  report = Json::parse(r.body);
  for (const Json& v : report["online"]) views.push_back(v["feature_view"]);
  EXPECT_THAT(views, ::testing::UnorderedElementsAre("user_agg_rating_features",
                                                     "book_agg_rating_features"));
  EXPECT_EQ(ServedAverage(999999), 5.0);
  EXPECT_EQ(Served(999999, "count_day_user_rating"), 3);
  // A late rating, older than a day, joins the week's window only.
  ASSERT_EQ(Post("/push", PushBody(999999, {{HoursAgo(30), 1}})).status, 200);
  EXPECT_EQ(ServedAverage(999999), 5.0);
  EXPECT_EQ(Served(999999, "count_week_user_rating"), 4);
  EXPECT_EQ(Served(999999, "avg_week_user_rating"), 4.0);

  // Every row is checked before any is written: a bad second row keeps the
  // first one out too.
  r = Post("/push", PushBody(999999, {{HoursAgo(1), 10}, {HoursAgo(1), "high"}}));
  EXPECT_EQ(r.status, 400);
  EXPECT_THAT(r.body, HasSubstr("df.rating[1]"));
  EXPECT_EQ(ServedAverage(999999), 5.0);
  r = Post("/push", PushBody(999999, {{"2025-13-01", 9}}));
  EXPECT_EQ(r.status, 400);
  EXPECT_THAT(r.body, HasSubstr("df.rating_timestamp[0]"));
  EXPECT_EQ(Post("/push", PushBody(1, {{"2025-01-01", 1}}, "sideways")).status, 400);
  r = Post("/push", R"({"push_source_name": "users_source", "df": {"user_id": [1]}})");
  EXPECT_EQ(r.status, 404);
  EXPECT_THAT(r.body, HasSubstr("users_source"));
  r = Post("/push", R"({"push_source_name": "book_ratings_stream", "df": {"user_id": [1]}})");
  EXPECT_EQ(r.status, 400);
  EXPECT_THAT(r.body, HasSubstr("rating_timestamp"));
  EXPECT_EQ(Served(999999, "count_day_user_rating"), 3);

  // write-to-online-store: one view, named columns of its source.
  r = Post("/write-to-online-store",
           R"({"feature_view_name": "user_features",
               "df": {"user_id": [999999], "signup_date": ["2025-01-01"], "country": ["narnia"]}})");
  ASSERT_EQ(r.status, 200) << r.body;
  online::HttpResponse read =
      Post("/get-online-features", R"({"features": ["user_features:country"],
                                        "entities": {"user_id": [999999]}})");
  EXPECT_THAT(read.body, HasSubstr("\"narnia\""));
  r = Post("/write-to-online-store", R"({"feature_view_name": "nope", "df": {"a": [1]}})");
  EXPECT_EQ(r.status, 404);
}

TEST_F(ServeWrites, OfflinePushesReachTrainingData) {
  StartServer();
  online::HttpResponse r =
      Post("/push", PushBody(999998, {{HoursAgo(2), 7}}, "online_and_offline"));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Json::parse(r.body)["offline_rows"], 1);
  EXPECT_EQ(ServedAverage(999998), 7.0);
  r = Post("/push", PushBody(999997, {{"2025-01-01T00:00:00Z", 6}}, "offline"));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_TRUE(Json::parse(r.body)["online"].empty());
  EXPECT_TRUE(ServedAverage(999997).is_null());
  StopServer();

  // Training data sees both, each at a time after its rating.
  const std::string out = tmp_.Join("training.csv");
  CommandResult h = RunLarder(
      c_ + "historical --features agg_user_features_1d:avg_day_user_rating --output " + out +
      " --entity-sql \"SELECT * FROM (VALUES (999998, TIMESTAMPTZ '" + HoursAgo(1) +
      "'), (999997, TIMESTAMPTZ '2025-01-01 12:00:00Z')) t(user_id, event_timestamp) ORDER BY "
      "user_id\"");
  ASSERT_EQ(h.exit_code, 0) << h.err;
  const std::string csv = testing::ReadFileText(out);
  EXPECT_THAT(csv, HasSubstr("999997,2025-01-01 12:00:00+00,6.0"));
  EXPECT_THAT(csv, HasSubstr("+00,7.0"));
}

TEST_F(ServeWrites, RefusesFarFutureEventTimes) {
  StartServer();
  // A rating at 9999-12-31 would sit in a tile no window reaches for ages.
  online::HttpResponse r = Post("/push", PushBody(999996, {{HoursAgo(2), 1},
                                                           {"9999-12-31T00:00:00Z", 2}},
                                                  "online_and_offline"));
  EXPECT_EQ(r.status, 400);
  EXPECT_THAT(r.body, HasSubstr("df.rating_timestamp[1]: event time 9999-12-31T00:00:00Z"));
  EXPECT_TRUE(ServedAverage(999996).is_null());
  r = Post("/write-to-online-store",
           R"({"feature_view_name": "user_features",
               "df": {"user_id": [999996], "signup_date": ["9999-12-31"], "country": ["x"]}})");
  EXPECT_EQ(r.status, 400);
  EXPECT_THAT(r.body, HasSubstr("df.signup_date[0]: event time 9999-12-31"));
}

TEST_F(ServeWrites, DeletesOnlineRecords) {
  StartServer();
  auto write_country = [&](int64_t user, const std::string& date, const std::string& country) {
    return Post("/write-to-online-store",
                R"({"feature_view_name": "user_features", "df": {"user_id": [)" +
                    std::to_string(user) + R"(], "signup_date": [")" + date +
                    R"("], "country": [")" + country + R"("]}})");
  };
  auto country = [&](int64_t user) {
    online::HttpResponse r = Post("/get-online-features",
                                  R"({"features": ["user_features:country"],
                                      "entities": {"user_id": [)" +
                                      std::to_string(user) + "]}}");
    return r.status == 200 ? Json::parse(r.body)["results"][1]["values"][0] : Json(r.body);
  };
  const std::string today = HoursAgo(2).substr(0, 10);
  ASSERT_EQ(write_country(999995, today, "narnia").status, 200);
  ASSERT_EQ(write_country(999994, today, "oz").status, 200);
  online::HttpResponse r =
      Post("/delete-from-online-store", R"({"entities": {"user_id": [999995, 123456789]}})");
  ASSERT_EQ(r.status, 200) << r.body;
  Json report = Json::parse(r.body);
  EXPECT_EQ(report["entities"], 2);
  // Every online view keyed by exactly user_id.
  std::vector<std::string> views = report["feature_views"];
  EXPECT_THAT(views, ::testing::UnorderedElementsAre("user_features", "user_age_features",
                                                     "user_agg_rating_features",
                                                     "agg_user_features_1d"));
  EXPECT_TRUE(country(999995).is_null());
  EXPECT_EQ(country(999994), "oz");
  // A later write lands, whatever its event time: no tombstone is kept.
  ASSERT_EQ(write_country(999995, HoursAgo(48).substr(0, 10), "lilliput").status, 200);
  EXPECT_EQ(country(999995), "lilliput");

  r = Post("/delete-from-online-store",
           R"({"entities": {"user_id": [999995]}, "feature_views": ["user_features"]})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Json::parse(r.body)["feature_views"], Json::array({"user_features"}));
  EXPECT_TRUE(country(999995).is_null());

  r = Post("/delete-from-online-store",
           R"({"entities": {"user_id": [1]}, "feature_views": ["book_features"]})");
  EXPECT_EQ(r.status, 400);
  EXPECT_THAT(r.body, HasSubstr("book_features"));
  r = Post("/delete-from-online-store", R"({"entities": {"shoe_size": [1]}})");
  EXPECT_EQ(r.status, 404);
  r = Post("/delete-from-online-store", R"({"entities": {"user_id": ["x"]}})");
  EXPECT_EQ(r.status, 400);
  EXPECT_THAT(r.body, HasSubstr("entities.user_id[0]"));
  r = Post("/delete-from-online-store", R"({"feature_views": ["agg_user_features_1d"]})");
  EXPECT_EQ(r.status, 400);
  EXPECT_THAT(r.body, HasSubstr("entities: missing"));
  r = Post("/delete-from-online-store", R"({"entities": {"user_id": [1]}, "why": 1})");
  EXPECT_EQ(r.status, 400);
  EXPECT_THAT(r.body, HasSubstr("why: unknown field"));
}

TEST_F(ServeWrites, MaterializesThroughTheServer) {
  StartServer();
  online::HttpResponse r = Post("/materialize-incremental",
                                R"({"end_ts": "2024-01-01T00:00:00Z",
                                    "feature_views": ["book_features", "user_features"]})");
  ASSERT_EQ(r.status, 200) << r.body;
  Json report = Json::parse(r.body);
  ASSERT_EQ(report["views"].size(), 2u);
  EXPECT_EQ(report["views"][0]["feature_view"], "book_features");
  r = Post("/materialize", R"({"start_ts": "2000-01-01", "end_ts": "2030-01-01T00:00:00+02:00"})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Json::parse(r.body)["views"].size(), 7u);
  r = Post("/materialize", R"({"start_ts": "2030-01-01", "end_ts": "2000-01-01"})");
  EXPECT_EQ(r.status, 400);
  r = Post("/materialize", R"({"end_ts": "2000-01-01"})");
  EXPECT_EQ(r.status, 400);
  EXPECT_THAT(r.body, HasSubstr("start_ts"));
  r = Post("/materialize-incremental", R"({"end_ts": "2030-01-01", "feature_views": ["nope"]})");
  EXPECT_EQ(r.status, 404);
  EXPECT_THAT(r.body, HasSubstr("nope"));
}

TEST_F(ServeWrites, TokensGuardEveryEndpointButHealthAndMetricsCountRequests) {
  std::ofstream(repo_ + "/feature_store.yaml", std::ios::app)
      << "feature_server:\n  auth_token: r3ad\n  write_token: wr1te\n  max_entity_rows: 2\n";
  StartServer();
  const std::string read_body =
      R"({"features": ["user_features:country"], "entities": {"user_id": [1]}})";
  const online::HttpHeaders reader = {{"Authorization", "Bearer r3ad"}};
  const online::HttpHeaders writer = {{"Authorization", "bearer wr1te"}};
  EXPECT_EQ(RawRequest(port_, "GET", "/health").status, 200);
  EXPECT_EQ(Post("/get-online-features", read_body).status, 401);
  EXPECT_EQ(Post("/get-online-features", read_body, {{"Authorization", "Bearer nope"}}).status,
            401);
  EXPECT_EQ(Post("/get-online-features", read_body, reader).status, 200);
  EXPECT_EQ(Post("/get-online-features", read_body, writer).status, 200);
  const std::string push = PushBody(999999, {{HoursAgo(2), 1}}, "online", "user_ratings_push");
  online::HttpResponse r = Post("/push", push, reader);
  EXPECT_EQ(r.status, 401);
  EXPECT_THAT(r.body, HasSubstr("write token"));
  EXPECT_EQ(Post("/push", push, writer).status, 200);
  const std::string del = R"({"entities": {"user_id": [999999]}})";
  EXPECT_EQ(Post("/delete-from-online-store", del, reader).status, 401);
  EXPECT_EQ(Post("/delete-from-online-store", del, writer).status, 200);
  // max_entity_rows: 2 limits pushes too.
  EXPECT_EQ(Post("/push", PushBody(1, {{HoursAgo(2), 1}, {HoursAgo(3), 1}, {HoursAgo(4), 1}}),
                 writer)
                .status,
            413);
  // A refused token is answered from the request's head: the announced
  // 16 MB body is never read.
  EXPECT_THAT(testing::ReplyToHead(port_,
                                   "POST /push HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
                                   "r3ad\r\nContent-Length: 16000000\r\n\r\n"),
              ::testing::StartsWith("HTTP/1.1 401"));
  EXPECT_EQ(RawRequest(port_, "GET", "/metrics").status, 401);
  testing::RawResponse metrics =
      RawRequest(port_, "GET", "/metrics", "Authorization: Bearer r3ad\r\n");
  ASSERT_EQ(metrics.status, 200);
  EXPECT_THAT(metrics.body,
              HasSubstr("larder_requests_total{endpoint=\"/get-online-features\",status=\"401\"} 2"));
  EXPECT_THAT(metrics.body, HasSubstr("larder_requests_total{endpoint=\"/push\",status=\"401\"} 2"));
  EXPECT_THAT(metrics.body,
              HasSubstr("larder_requests_total{endpoint=\"/get-online-features\",status=\"200\"} 2"));
  EXPECT_THAT(metrics.body, HasSubstr("larder_requests_total{endpoint=\"/push\",status=\"413\"} 1"));
  // The one pushed rating, written to each of the two views it feeds.
  EXPECT_THAT(metrics.body, HasSubstr("larder_rows_pushed_total{target=\"online\"} 2"));
  EXPECT_THAT(metrics.body, HasSubstr("larder_request_duration_seconds_count{endpoint=\"/push\","
                                      "status=\"200\"} 1"));
  EXPECT_THAT(metrics.body, ::testing::ContainsRegex("larder_registry_version [1-9]"));
}

TEST_F(ServeWrites, ErrorsKeepPathsAndLockHoldersInTheLog) {
  StartServer();
  {
    // This process holds the offline store: the server's offline push
    // finds it locked, and DuckDB names the file and this process's PID.
    auto holder = duckdb::Connection::Open(repo_ + "/data/offline_store.duckdb");
    ASSERT_TRUE(holder.ok()) << holder.status().ToString();
    online::HttpResponse r = Post("/push", PushBody(999996, {{"2025-01-01", 1.0}}, "offline"));
    EXPECT_EQ(r.status, 503) << r.body;
    EXPECT_THAT(r.body, HasSubstr("offline_store.duckdb"));
    EXPECT_THAT(r.body, HasSubstr("details in the server log, request_id"));
    EXPECT_THAT(r.body, ::testing::Not(HasSubstr(repo_)));
    EXPECT_THAT(r.body, ::testing::Not(HasSubstr(std::to_string(getpid()))));
    EXPECT_THAT(r.body, ::testing::Not(HasSubstr("PID")));
  }
  StopServer();
  const std::string log = testing::ReadFileText(tmp_.Join("serve.log"));
  EXPECT_THAT(log, HasSubstr(repo_ + "/data/offline_store.duckdb"));
  EXPECT_THAT(log, HasSubstr("PID " + std::to_string(getpid())));
}

}  // namespace
}  // namespace larder
