// Aggregation views through `larder serve`: events pushed over HTTP update the
// windows at once, and /get-online-features answers them in Feast's JSON.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <string>

#include "offline/duckdb/duckdb_connection.h"
#include "support/serve_fixture.h"
#include "support/test_util.h"

namespace larder {
namespace {

using ::larder::testing::RunLarder;
using ::testing::HasSubstr;
using Json = nlohmann::json;

std::string IsoMinutesAgo(int minutes) {
  const auto t = std::chrono::system_clock::now() - std::chrono::minutes(minutes);
  return duckdb::FormatTimestampMicros(
             std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count()) +
         "Z";
}

class AggregationServe : public testing::ServeFixture {
 protected:
  // A repo of one aggregation view over a push source, applied; no data yet.
  void SetUp() override {
    repo_ = tmp_.Join("repo");
    c_ = "-c " + repo_ + " ";
    tmp_.Write("repo/feature_store.yaml",
               "project: aggserve\nregistry: data/registry.db\nprovider: local\n"
               "online_store: {type: rocksdb, path: data/online}\n"
               "offline_store: {type: duckdb, path: data/offline.duckdb}\n");
    tmp_.Write("repo/data/ratings.csv",
               "user_id,isbn,rating,rating_timestamp\n1,b0,5,2020-01-01 00:00:00\n");
    tmp_.Write("repo/repo.yaml",
               "entities:\n  - {name: user, join_keys: [user_id], value_type: Int64}\n"
               "data_sources:\n"
               "  - {name: ratings, type: file, path: data/ratings.csv, "
               "timestamp_field: rating_timestamp}\n"
               "  - {name: ratings_push, type: push, batch_source: ratings}\n"
               "feature_views:\n"
               "  - name: user_ratings\n    entities: [user]\n    source: ratings_push\n"
               "    aggregation_interval: 10m\n    aggregations:\n"
               "      - {column: rating, function: mean, time_window: 1d}\n"
               "      - {column: rating, function: count, time_window: 1d}\n"
               "      - {column: rating, function: last_n(2), time_window: 1d}\n"
               "      - {column: isbn, function: count_distinct, time_window: 7d}\n");
    testing::CommandResult r = RunLarder(c_ + "apply");
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }

  Json Read(const std::string& users) {
    online::HttpResponse r = Post(
        "/get-online-features",
        R"({"features": ["user_ratings:rating_mean_1d", "user_ratings:rating_count_1d",
                         "user_ratings:rating_last_n2_1d", "user_ratings:isbn_count_distinct_7d"],
            "entities": {"user_id": [)" + users + "]}}");
    EXPECT_EQ(r.status, 200) << r.body;
    return Json::parse(r.body);
  }
};

TEST_F(AggregationServe, PushedEventsAreServedAsWindowsAtOnce) {
  StartServer();
  // Three ratings of user 7 within the last day (older than the current
  // 10-minute tile), one of them late, and one older than a day.
  Json df = {{"user_id", {7, 7, 7, 7}},
             {"isbn", {"a", "b", "a", "c"}},
             {"rating", {8, 4, 9, 1}},
             {"rating_timestamp",
              {IsoMinutesAgo(120), IsoMinutesAgo(60), IsoMinutesAgo(600), IsoMinutesAgo(2 * 1440)}}};
  online::HttpResponse r = Post(
      "/push", Json{{"push_source_name", "ratings_push"}, {"df", df}, {"to", "online"}}.dump());
  ASSERT_EQ(r.status, 200) << r.body;

  Json got = Read("7, 8");
  ASSERT_EQ(got["metadata"]["feature_names"],
            Json({"user_id", "rating_mean_1d", "rating_count_1d", "rating_last_n2_1d",
                  "isbn_count_distinct_7d"}));
  const Json& results = got["results"];
  EXPECT_DOUBLE_EQ(results[1]["values"][0].get<double>(), 7.0);  // (8 + 4 + 9) / 3
  EXPECT_EQ(results[2]["values"][0], 3);
  EXPECT_EQ(results[3]["values"][0], Json({8, 4}));  // the two latest, oldest first
  EXPECT_EQ(results[4]["values"][0], 3);             // a, b, c within 7 days
  for (int f = 1; f <= 4; ++f) EXPECT_EQ(results[f]["statuses"][0], "PRESENT");
  // User 8 has no event: a count of 0, nulls elsewhere.
  EXPECT_TRUE(results[1]["values"][1].is_null());
  EXPECT_EQ(results[1]["statuses"][1], "NULL_VALUE");
  EXPECT_EQ(results[2]["values"][1], 0);
  EXPECT_EQ(results[2]["statuses"][1], "PRESENT");

  // The same events again change nothing (a retried push).
  r = Post("/push", Json{{"push_source_name", "ratings_push"}, {"df", df}, {"to", "online"}}.dump());
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Read("7")["results"][2]["values"][0], 3);

  // A row without the aggregated column, or with a null time, is refused
  // whole, naming it; nothing lands.
  Json bad = {{"user_id", {7}}, {"isbn", {"d"}}, {"rating_timestamp", {IsoMinutesAgo(30)}}};
  r = Post("/push", Json{{"push_source_name", "ratings_push"}, {"df", bad}, {"to", "online"}}.dump());
  EXPECT_EQ(r.status, 400);
  EXPECT_THAT(r.body, HasSubstr("rating"));
  bad = {{"user_id", {7, 7}}, {"isbn", {"d", "e"}}, {"rating", {1, 2}},
         {"rating_timestamp", {IsoMinutesAgo(30), nullptr}}};
  r = Post("/push", Json{{"push_source_name", "ratings_push"}, {"df", bad}, {"to", "online"}}.dump());
  EXPECT_EQ(r.status, 400);
  EXPECT_THAT(r.body, HasSubstr("df.rating_timestamp[1]"));
  // A time more than push_max_future_skew (1 day) ahead is refused.
  bad = {{"user_id", {7}}, {"isbn", {"d"}}, {"rating", {1}},
         {"rating_timestamp", {IsoMinutesAgo(-3 * 1440)}}};
  r = Post("/push", Json{{"push_source_name", "ratings_push"}, {"df", bad}, {"to", "online"}}.dump());
  EXPECT_EQ(r.status, 400);
  EXPECT_THAT(r.body, HasSubstr("push_max_future_skew"));
  EXPECT_EQ(Read("7")["results"][2]["values"][0], 3);
}

}  // namespace
}  // namespace larder
