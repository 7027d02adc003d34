// The write endpoints of `larder serve` (push, write-to-online-store,
// materialize), its bearer tokens and its metrics, on the real binary.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <unistd.h>

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


// A push of agg_user_features_1d rows for `user`, one per (time, avg) pair.
std::string PushBody(int64_t user, const std::vector<std::pair<std::string, Json>>& rows,
                     const std::string& to = "online") {
  Json df = {{"user_id", Json::array()},
             {"rating_timestamp", Json::array()},
             {"avg_day_user_rating", Json::array()},
             {"count_day_user_rating", Json::array()}};
  for (const auto& [time, avg] : rows) {
    df["user_id"].push_back(user);
    df["rating_timestamp"].push_back(time);
    df["avg_day_user_rating"].push_back(avg);
    df["count_day_user_rating"].push_back(3);
  }
  return Json{{"push_source_name", "user_ratings_push"}, {"df", df}, {"to", to}}.dump();
}

class ServeWrites : public testing::ServeFixture {
 protected:
  // The served avg_day_user_rating of `user` (null when absent).
  Json ServedAverage(int64_t user) {
    online::HttpResponse r = Post("/get-online-features",
                                  R"({"features": ["agg_user_features_1d:avg_day_user_rating"],
                                      "entities": {"user_id": [)" +
                                      std::to_string(user) + "]}}");
    return r.status == 200 ? Json::parse(r.body)["results"][1]["values"][0] : Json(r.body);
  }
};

TEST_F(ServeWrites, PushedRowsAreServedNewestFirst) {
  StartServer();
  online::HttpResponse r = Post("/push", PushBody(999999, {{"2025-01-01T00:00:00Z", 2.5},
                                                           {"2025-01-03T00:00:00Z", 4.25},
                                                           {"2025-01-02T00:00:00Z", 1.0}}));
  ASSERT_EQ(r.status, 200) << r.body;
  Json report = Json::parse(r.body);
  EXPECT_EQ(report["rows"], 3);
  ASSERT_EQ(report["online"].size(), 1u);
  EXPECT_EQ(report["online"][0]["feature_view"], "agg_user_features_1d");
  EXPECT_EQ(report["online"][0]["written"], 2);  // the 01-02 row is older than 01-03
  EXPECT_EQ(report["online"][0]["skipped"], 1);
  EXPECT_EQ(ServedAverage(999999), 4.25);

  // Every row is checked before any is written: a bad second row keeps the
  // first (newer) one out too.
  r = Post("/push", PushBody(999999, {{"2025-02-01T00:00:00Z", 9.0}, {"2025-02-02", "high"}}));
  EXPECT_EQ(r.status, 400);
  EXPECT_THAT(r.body, HasSubstr("df.avg_day_user_rating[1]"));
  EXPECT_EQ(ServedAverage(999999), 4.25);
  r = Post("/push", PushBody(999999, {{"2025-13-01", 9.0}}));
  EXPECT_EQ(r.status, 400);
  EXPECT_THAT(r.body, HasSubstr("df.rating_timestamp[0]"));
  EXPECT_EQ(Post("/push", PushBody(1, {{"2025-01-01", 1.0}}, "sideways")).status, 400);
  r = Post("/push", R"({"push_source_name": "users_source", "df": {"user_id": [1]}})");
  EXPECT_EQ(r.status, 404);
  EXPECT_THAT(r.body, HasSubstr("users_source"));
  r = Post("/push", R"({"push_source_name": "user_ratings_push", "df": {"user_id": [1]}})");
  EXPECT_EQ(r.status, 400);
  EXPECT_THAT(r.body, HasSubstr("rating_timestamp"));
  EXPECT_EQ(ServedAverage(999999), 4.25);

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
      Post("/push", PushBody(999998, {{"2025-01-01T00:00:00Z", 3.5}}, "online_and_offline"));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Json::parse(r.body)["offline_rows"], 1);
  EXPECT_EQ(ServedAverage(999998), 3.5);
  r = Post("/push", PushBody(999997, {{"2025-01-01T00:00:00Z", 6.5}}, "offline"));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_TRUE(Json::parse(r.body)["online"].empty());
  EXPECT_TRUE(ServedAverage(999997).is_null());
  StopServer();

  const std::string out = tmp_.Join("training.csv");
  CommandResult h = RunLarder(
      c_ + "historical --features agg_user_features_1d:avg_day_user_rating --output " + out +
      " --entity-sql \"SELECT * FROM (VALUES (999998, TIMESTAMP '2025-01-02'), (999997, "
      "TIMESTAMP '2025-01-02')) t(user_id, event_timestamp) ORDER BY user_id\"");
  ASSERT_EQ(h.exit_code, 0) << h.err;
  const std::string csv = testing::ReadFileText(out);
  EXPECT_THAT(csv, HasSubstr("999997,2025-01-02 00:00:00+00,6.5"));
  EXPECT_THAT(csv, HasSubstr("999998,2025-01-02 00:00:00+00,3.5"));
}

TEST_F(ServeWrites, RefusesFarFutureEventTimes) {
  StartServer();
  // 9999-12-31 would win every later conditional write of user 999996.
  online::HttpResponse r = Post("/push", PushBody(999996, {{"2025-01-01", 1.0},
                                                           {"9999-12-31T00:00:00Z", 2.0}},
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
  ASSERT_EQ(Post("/push", PushBody(999995, {{"2025-01-01", 1.5}})).status, 200);
  ASSERT_EQ(Post("/push", PushBody(999994, {{"2025-01-01", 2.5}})).status, 200);
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
  EXPECT_TRUE(ServedAverage(999995).is_null());
  EXPECT_EQ(ServedAverage(999994), 2.5);
  // A later push lands, whatever its event time.
  ASSERT_EQ(Post("/push", PushBody(999995, {{"2024-01-01", 0.5}})).status, 200);
  EXPECT_EQ(ServedAverage(999995), 0.5);

  r = Post("/delete-from-online-store",
           R"({"entities": {"user_id": [999995]}, "feature_views": ["agg_user_features_1d"]})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Json::parse(r.body)["feature_views"], Json::array({"agg_user_features_1d"}));
  EXPECT_TRUE(ServedAverage(999995).is_null());

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
  const std::string push = PushBody(999999, {{"2025-01-01", 1.0}});
  online::HttpResponse r = Post("/push", push, reader);
  EXPECT_EQ(r.status, 401);
  EXPECT_THAT(r.body, HasSubstr("write token"));
  EXPECT_EQ(Post("/push", push, writer).status, 200);
  const std::string del = R"({"entities": {"user_id": [999999]}})";
  EXPECT_EQ(Post("/delete-from-online-store", del, reader).status, 401);
  EXPECT_EQ(Post("/delete-from-online-store", del, writer).status, 200);
  // max_entity_rows: 2 limits pushes too.
  EXPECT_EQ(Post("/push", PushBody(1, {{"2025-01-01", 1.0}, {"2025-01-02", 1.0},
                                       {"2025-01-03", 1.0}}),
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
  EXPECT_THAT(metrics.body, HasSubstr("larder_rows_pushed_total{target=\"online\"} 1"));
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
