// `larder materialize-incremental` and `larder online` on the
// book-recommendation example, run as a user would.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <sstream>

#include "support/redis_server.h"
#include "support/test_util.h"

namespace larder {
namespace {

using ::larder::testing::CommandResult;
using ::larder::testing::RunLarder;
using ::larder::testing::TempDir;
using ::testing::HasSubstr;
using ::testing::Not;

size_t Count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t p = text.find(what); p != std::string::npos; p = text.find(what, p + 1)) ++n;
  return n;
}

// The example's history ends here (exclusive).
constexpr const char* kEnd = "2023-01-01T00:00:00Z";

class MaterializeCli : public ::testing::Test {
 protected:
  void SetUp() override {
    repo_ = tmp_.Join("repo");
    ASSERT_EQ(RunLarder("init " + repo_ + " --template book_recs").exit_code, 0);
    c_ = "-c " + repo_ + " ";
    CommandResult gen = RunLarder(c_ + "demo-data --scale 0.01 --end 2023-01-01T00:00:00Z");
    ASSERT_EQ(gen.exit_code, 0) << gen.err;
    CommandResult apply = RunLarder(c_ + "apply");
    ASSERT_EQ(apply.exit_code, 0) << apply.err;
  }

  std::string Online() {
    CommandResult r = RunLarder(c_ + "online --feature-service model_v4 --entity user_id=1 "
                                     "--entity isbn=0000000000 --now " + kEnd);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r.out;
  }

  TempDir tmp_;
  std::string repo_;
  std::string c_;
};

TEST_F(MaterializeCli, ModelViewsNeedRunFirst) {
  CommandResult r = RunLarder(c_ + "materialize-incremental " + kEnd);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("run `larder run` first"));
}

TEST_F(MaterializeCli, MaterializesAndServesFeastJson) {
  ASSERT_EQ(RunLarder(c_ + "run").exit_code, 0);
  CommandResult m = RunLarder(c_ + "materialize-incremental " + kEnd);
  ASSERT_EQ(m.exit_code, 0) << m.err;
  EXPECT_THAT(m.out, HasSubstr("book_features: "));
  EXPECT_THAT(m.out, HasSubstr("written"));
  std::string json = Online();
  EXPECT_THAT(json, HasSubstr("{\"metadata\":{\"feature_names\":[\"isbn\",\"user_id\",\"language\""));
  // Join keys and the book's language, category at least.
  EXPECT_GE(Count(json, "\"PRESENT\""), 4u);
  EXPECT_THAT(json, HasSubstr("1970-01-01T00:00:00Z"));

  // Nothing new since the watermark: the rerun writes nothing.
  CommandResult again = RunLarder(c_ + "materialize-incremental " + kEnd);
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_THAT(again.out, HasSubstr("book_features: 0 rows"));
  // A full rerun of an explicit window skips everything.
  CommandResult full = RunLarder(c_ + "materialize 1900-01-01 " + kEnd + " --views book_features");
  ASSERT_EQ(full.exit_code, 0) << full.err;
  EXPECT_THAT(full.out, HasSubstr(" 0 written"));

  // A missing join key is an error naming it.
  CommandResult bad = RunLarder(c_ + "online --feature-service model_v4 --entity user_id=1");
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_THAT(bad.err, HasSubstr("isbn"));

  // Teardown removes the online data too.
  ASSERT_EQ(RunLarder(c_ + "teardown").exit_code, 0);
  ASSERT_EQ(RunLarder(c_ + "apply").exit_code, 0);
  std::string after = Online();
  EXPECT_THAT(after, HasSubstr("NOT_FOUND"));
  // The join keys, and the four counts of the aggregation views: with no
  // rating left in their windows, a count is 0 (and a mean null).
  EXPECT_EQ(Count(after, "\"PRESENT\""), 6u);
  EXPECT_THAT(after, HasSubstr(R"({"values":[0],"statuses":["PRESENT"])"));
}

// Killing materialization at any point and running it again gives the store
// an uninterrupted run gives.
TEST_F(MaterializeCli, ResumesAfterSigkill) {
  ASSERT_EQ(RunLarder(c_ + "run").exit_code, 0);
  std::string copy = tmp_.Join("reference");
  std::filesystem::copy(repo_, copy, std::filesystem::copy_options::recursive);
  CommandResult ref = RunLarder("-c " + copy + " materialize-incremental " + kEnd);
  ASSERT_EQ(ref.exit_code, 0) << ref.err;

  for (const char* delay : {"0.05", "0.1", "0.15", "0.2", "0.3"}) {
    std::string cmd = std::string("timeout -s KILL ") + delay + " " + LARDER_BINARY + " " + c_ +
                      "materialize-incremental " + kEnd + " >/dev/null 2>&1";
    (void)std::system(cmd.c_str());
  }
  CommandResult resumed = RunLarder(c_ + "materialize-incremental " + kEnd);
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;

  // Compare the served values of (user, book) pairs from the ratings.
  std::string pairs = tmp_.Join("pairs.csv");
  CommandResult h = RunLarder(
      c_ + "historical --entity-sql \"SELECT user_id, isbn, rating_timestamp AS event_timestamp "
           "FROM read_parquet('" + repo_ + "/data/raw/ratings.parquet') ORDER BY user_id, isbn "
           "LIMIT 12\" --features book_features:language --output " + pairs);
  ASSERT_EQ(h.exit_code, 0) << h.err;
  std::istringstream lines(::larder::testing::ReadFileText(pairs));
  std::string line;
  std::getline(lines, line);
  int compared = 0;
  while (std::getline(lines, line)) {
    std::string user = line.substr(0, line.find(','));
    std::string rest = line.substr(line.find(',') + 1);
    std::string isbn = rest.substr(0, rest.find(','));
    std::string args = " online --feature-service model_v4 --entity user_id=" + user +
                       " --entity isbn=" + isbn + " --now " + kEnd;
    CommandResult a = RunLarder(c_ + args);
    CommandResult b = RunLarder("-c " + copy + args);
    ASSERT_EQ(a.exit_code, 0) << a.err;
    EXPECT_EQ(a.out, b.out) << user << " " << isbn;
    ++compared;
  }
  EXPECT_EQ(compared, 12);
}

// A minimal repo whose feature_store.yaml uses `online_store`, with 30
// users, so that a cluster's every node gets records.
std::string RedisRepo(const TempDir& tmp, const std::string& online_store) {
  std::string repo = tmp.Join("repo");
  EXPECT_EQ(RunLarder("init " + repo).exit_code, 0);
  std::string config = ::larder::testing::ReadFileText(repo + "/feature_store.yaml");
  const std::string from = "online_store:\n  type: rocksdb\n  path: data/online_store\n";
  config.replace(config.find(from), from.size(), online_store);
  tmp.Write("repo/feature_store.yaml", config);
  std::string csv = "user_id,books_read,avg_rating,event_timestamp,created\n";
  for (int user = 1001; user <= 1030; ++user) {
    csv += std::to_string(user) + "," + std::to_string(user - 1000) +
           ",7.5,2024-01-01 00:00:00,2024-01-01 00:05:00\n";
  }
  tmp.Write("repo/data/user_stats.csv", csv);
  return repo;
}

// Applies, materializes and reads user 1030 back; returns the online JSON.
std::string MaterializeAndRead(const std::string& repo) {
  const std::string c = "-c " + repo + " ";
  CommandResult apply = RunLarder(c + "apply");
  EXPECT_EQ(apply.exit_code, 0) << apply.err;
  CommandResult m = RunLarder(c + "materialize 2023-01-01T00:00:00Z 2024-01-10T00:00:00Z");
  EXPECT_EQ(m.exit_code, 0) << m.err;
  EXPECT_THAT(m.out, HasSubstr("user_stats: 30 rows, 30 written"));
  CommandResult r = RunLarder(c + "online --features user_stats:books_read --entity "
                                  "user_id=1030 --now 2024-01-05T00:00:00Z");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return r.out;
}

// Feast's `redis_type: redis_cluster` with a connection_string of seeds:
// one seed is enough, and the records spread over every node.
TEST(FeastRedisConfig, ClusterFromAConnectionStringWithOneSeed) {
  auto cluster = ::larder::testing::RedisCluster::Start(3);
  ASSERT_TRUE(cluster.ok()) << cluster.status().ToString();
  TempDir tmp;
  std::string repo = RedisRepo(
      tmp, "online_store:\n  type: redis\n  redis_type: redis_cluster\n"
           "  connection_string: \"127.0.0.1:" + std::to_string((*cluster)->node(0).port()) +
           ",ssl=false\"\n");
  std::string json = MaterializeAndRead(repo);
  EXPECT_THAT(json, HasSubstr("\"values\":[30]"));
  EXPECT_EQ(Count(json, "\"PRESENT\""), 2u);
  for (size_t i = 0; i < (*cluster)->size(); ++i) {
    std::string dbsize = (*cluster)->node(i).Call("DBSIZE");
    EXPECT_THAT(dbsize, ::testing::StartsWith(":")) << i;
    EXPECT_NE(dbsize, ":0\r\n") << "node " << i << " holds no record";
  }
}

// `redis_type: redis` with Feast's connection_string parameters.
TEST(FeastRedisConfig, OneServerWithPasswordFromAConnectionString) {
  auto server = ::larder::testing::RedisServer::Start({.password = "s3cret"});
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  TempDir tmp;
  std::string repo = RedisRepo(
      tmp, "online_store:\n  type: redis\n  redis_type: redis\n"
           "  connection_string: \"127.0.0.1:" + std::to_string((*server)->port()) +
           ",password=s3cret,ssl=false,db=3\"\n");
  std::string json = MaterializeAndRead(repo);
  EXPECT_THAT(json, HasSubstr("\"values\":[30]"));
  // Every record went to database 3.
  std::string keyspace = (*server)->Call("INFO keyspace");
  EXPECT_THAT(keyspace, HasSubstr("db3:keys=30,"));
  EXPECT_THAT(keyspace, Not(HasSubstr("db0:")));
}

}  // namespace
}  // namespace larder
