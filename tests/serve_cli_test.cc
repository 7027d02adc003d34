// `larder serve` on the book-recommendation example: started as a user
// would, spoken to over HTTP, stopped with SIGTERM.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <thread>

#include "support/serve_fixture.h"
#include "support/server_process.h"

namespace larder {
namespace {

using ::larder::testing::CommandResult;
using ::larder::testing::RunLarder;
using ::testing::HasSubstr;

using ServeCli = testing::ServeFixture;
using testing::Healthy;

TEST_F(ServeCli, ServesWhatLarderOnlinePrints) {
  CommandResult cli = RunLarder(c_ + "online --feature-service model_v4 --entity user_id=1 "
                                     "--entity isbn=0000000000");
  ASSERT_EQ(cli.exit_code, 0) << cli.err;
  StartServer();
  online::HttpResponse r = Post("/get-online-features",
                                R"({"feature_service": "model_v4",
                                    "entities": {"user_id": [1], "isbn": ["0000000000"]}})");
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body + "\n", cli.out);
  EXPECT_THAT(r.body, HasSubstr("\"PRESENT\""));
  // Features by reference, full names, several rows.
  online::HttpResponse two = Post("/get-online-features",
                                  R"({"features": ["book_features:language"],
                                      "entities": {"isbn": ["0000000000", "nope"]},
                                      "full_feature_names": true})");
  EXPECT_EQ(two.status, 200) << two.body;
  EXPECT_THAT(two.body, HasSubstr("\"book_features__language\""));
  EXPECT_THAT(two.body, HasSubstr("\"NOT_FOUND\""));
}

TEST_F(ServeCli, BadRequestsGetAnErrorNamingTheField) {
  StartServer();
  struct Case {
    std::string body;
    int status;
    std::string names;
  };
  const std::vector<Case> cases = {
      {"{bad json", 400, "malformed JSON"},
      {"[1, 2]", 400, "expected a JSON object"},
      {R"({"feature_service": 7, "entities": {"user_id": [1]}})", 400, "feature_service"},
      {R"({"features": "x", "entities": {"user_id": [1]}})", 400, "features"},
      {R"({"features": [1], "entities": {"user_id": [1]}})", 400, "features[0]"},
      {R"({"feature_service": "model_v4", "entities": {"user_id": [1, null], "isbn": ["a", "b"]}})",
       400, "entities.user_id[1]"},
      {R"({"feature_service": "model_v4", "entities": {"user_id": [1]}})", 400, "isbn"},
      {R"({"feature_service": "model_v4", "entities": {"user_id": [1, 2], "isbn": ["a"]}})", 400,
       "has 2 values"},
      {R"({"feature_service": "model_v9", "entities": {"user_id": [1]}})", 404, "model_v9"},
      {R"({"features": ["book_features:nope"], "entities": {"isbn": ["a"]}})", 404, "nope"},
      {R"({"feature_service": "model_v4", "entities": {"user_id": [1]}, "extra": 1})", 400,
       "extra"},
      {R"({"feature_service": "model_v4"})", 400, "entities"},
      {R"({"features": ["book_features:language", "book_features:language"],
           "entities": {"isbn": ["a"]}})",
       400, "features[1]: 'book_features:language' is already requested at features[0]"},
  };
  for (const Case& c : cases) {
    online::HttpResponse r = Post("/get-online-features", c.body);
    EXPECT_EQ(r.status, c.status) << c.body << " -> " << r.body;
    EXPECT_THAT(r.body, HasSubstr("{\"error\":")) << c.body;
    EXPECT_THAT(r.body, HasSubstr(c.names)) << c.body;
  }
  // Too many entity rows.
  std::string many = R"({"features": ["book_features:language"], "entities": {"isbn": [)";
  for (int i = 0; i < 10001; ++i) many += (i ? ",\"x\"" : "\"x\"");
  many += "]}}";
  EXPECT_EQ(Post("/get-online-features", many).status, 413);
  // Too many feature references, even when they repeat one feature.
  std::string refs = R"({"entities": {"isbn": ["x"]}, "features": [)";
  const std::string ref = "\"book_features:language\"";
  for (int i = 0; i < 10001; ++i) refs += (i ? "," : "") + ref;
  refs += "]}";
  online::HttpResponse too_many = Post("/get-online-features", refs);
  EXPECT_EQ(too_many.status, 400);
  EXPECT_THAT(too_many.body, HasSubstr("features: 10001 references, more than the limit of 10000"));
  // A body announced over 16 MiB is refused from its headers.
  {
    const int fd = testing::ConnectLoopback(port_, 5);
    ASSERT_GE(fd, 0);
    const std::string head = "POST /get-online-features HTTP/1.1\r\nHost: x\r\n"
                             "Content-Length: 17825792\r\n\r\n";
    ASSERT_EQ(write(fd, head.data(), head.size()), static_cast<ssize_t>(head.size()));
    char buf[13] = {};
    EXPECT_EQ(read(fd, buf, 12), 12);
    EXPECT_EQ(std::string(buf), "HTTP/1.1 413");
    close(fd);
  }
  // Unknown path, wrong method.
  EXPECT_EQ(Post("/nope", "{}").status, 404);
  EXPECT_EQ(Post("/health", "{}").status, 405);
  // The server is still up.
  EXPECT_TRUE(Healthy(port_));
}

// Values that JSON numbers cannot carry come back as Feast's server sends
// them; join keys come back typed; columns that are no join key are dropped.
TEST_F(ServeCli, ServesNonFiniteFloatsNegativeZeroAndTypedKeys) {
  const std::string csv = tmp_.Join("odd.csv");
  // DuckDB's CSV sniffer reads the column as DOUBLE when a plain number
  // comes first.
  std::ofstream(csv) << "user_id,rating_timestamp,avg_day_user_rating,count_day_user_rating\n"
                        "900004,2029-01-01T00:00:00Z,-0.0,1\n"
                        "900001,2029-01-01T00:00:00Z,inf,1\n"
                        "900002,2029-01-01T00:00:00Z,-inf,1\n"
                        "900003,2029-01-01T00:00:00Z,nan,1\n";
  CommandResult push = RunLarder(c_ + "push user_ratings_push " + csv + " --to online");
  ASSERT_EQ(push.exit_code, 0) << push.err;
  CommandResult cli = RunLarder(c_ + "online --features agg_user_features_1d:avg_day_user_rating "
                                     "--entity user_id=900001 --entity isbn=0000000000 "
                                     "--entity colour=red");
  ASSERT_EQ(cli.exit_code, 0) << cli.err;
  EXPECT_THAT(cli.out, HasSubstr(R"("feature_names":["isbn","user_id","avg_day_user_rating"])"));
  EXPECT_THAT(cli.out, HasSubstr(R"({"values":[900001],)"));  // a number, not "900001"
  StartServer();
  online::HttpResponse r = Post("/get-online-features",
                                R"({"features": ["agg_user_features_1d:avg_day_user_rating"],
                                    "entities": {"user_id": [900001, 900002, 900003, 900004],
                                                 "colour": ["a", "b", "c", "d"]}})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_THAT(r.body, HasSubstr(R"("feature_names":["user_id","avg_day_user_rating"])"));
  EXPECT_THAT(r.body, HasSubstr(R"({"values":["Infinity","-Infinity","NaN",-0.0],)"
                                R"("statuses":["PRESENT","PRESENT","PRESENT","PRESENT"])"));
}

TEST_F(ServeCli, PicksUpANewApplyWithoutARestart) {
  StartServer();
  const std::string body =
      R"({"feature_service": "model_v5", "entities": {"isbn": ["0000000000"]}})";
  EXPECT_EQ(Post("/get-online-features", body).status, 404);
  std::ofstream(repo_ + "/extra_service.yaml")
      << "feature_services:\n  - name: model_v5\n    features: [book_features]\n";
  CommandResult apply = RunLarder(c_ + "apply");
  ASSERT_EQ(apply.exit_code, 0) << apply.err;
  std::this_thread::sleep_for(std::chrono::milliseconds(1200));  // the refresh interval is 1 s
  online::HttpResponse r = Post("/get-online-features", body);
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_THAT(r.body, HasSubstr("\"language\""));
}

}  // namespace
}  // namespace larder
