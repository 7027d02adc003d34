#include "offline/spark/spark_connect_client.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "support/redis_server.h"
#include "support/spark_server.h"

namespace larder::offline::spark {
namespace {

using ::larder::testing::SparkServer;
using ::testing::HasSubstr;

// The server of this test process (started on first use), or a failure.
SparkServer* Server() {
  std::string error;
  SparkServer* server = SparkServer::Shared(&error);
  EXPECT_NE(server, nullptr) << error;
  return server;
}

Result<std::unique_ptr<SparkConnectClient>> ConnectTo(
    const SparkServer& server, std::map<std::string, std::string> conf = {},
    std::chrono::milliseconds query_timeout = std::chrono::milliseconds(120000)) {
  SparkConnectOptions options;
  options.remote = server.remote();
  options.conf = std::move(conf);
  options.connect_timeout = std::chrono::milliseconds(30000);
  options.query_timeout = query_timeout;
  return SparkConnectClient::Connect(options);
}

// The total row count of a query's result, and checks of each batch's bytes.
struct Collected {
  int64_t rows = 0;
  int batches = 0;
  std::vector<std::string> first_bytes;  // the first 8 bytes of each batch
};

Status Collect(SparkConnectClient& client, std::string_view sql, Collected* out) {
  return client.ExecuteSql(sql, [out](std::string_view ipc, int64_t rows) {
    out->rows += rows;
    out->batches += 1;
    out->first_bytes.emplace_back(ipc.substr(0, 8));
    return Status::OK();
  });
}

TEST(SparkConnectString, ParsesHostPortAndParameters) {
  auto plain = ParseSparkConnectString("sc://spark.example.com");
  ASSERT_TRUE(plain.ok()) << plain.status().ToString();
  EXPECT_EQ(plain->host, "spark.example.com");
  EXPECT_EQ(plain->port, 15002);
  EXPECT_FALSE(plain->use_ssl);
  EXPECT_EQ(plain->Endpoint(), "spark.example.com:15002");

  auto full = ParseSparkConnectString(
      "sc://127.0.0.1:443/;token=a%3Db;user_id=ada;use_ssl=true;user_agent=larder-test;"
      "session_id=01234567-89ab-4def-8123-456789abcdef;");
  ASSERT_TRUE(full.ok()) << full.status().ToString();
  EXPECT_EQ(full->port, 443);
  EXPECT_EQ(full->token, "a=b");
  EXPECT_EQ(full->user_id, "ada");
  EXPECT_EQ(full->user_agent, "larder-test");
  EXPECT_TRUE(full->use_ssl);
  EXPECT_EQ(full->session_id, "01234567-89ab-4def-8123-456789abcdef");

  auto v6 = ParseSparkConnectString("sc://[::1]:15003/");
  ASSERT_TRUE(v6.ok()) << v6.status().ToString();
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->Endpoint(), "[::1]:15003");
}

TEST(SparkConnectString, RefusesBadStringsNamingTheBadPart) {
  struct Case {
    std::string remote;
    std::string says;
  };
  const std::vector<Case> cases = {
      {"127.0.0.1:15002", "must start with sc://"},
      {"http://127.0.0.1:15002", "must start with sc://"},
      {"sc://", "host is missing"},
      {"sc://:15002", "host is missing"},
      {"sc://127.0.0.1:abc", "port 'abc'"},
      {"sc://127.0.0.1:70000", "port '70000'"},
      {"sc://127.0.0.1:", "port ''"},
      {"sc://127.0.0.1:15002/db", "path '/db'"},
      {"sc://127.0.0.1:15002;token=x", "parameters follow a '/'"},
      {"sc://127.0.0.1:15002/;colour=blue", "unknown parameter 'colour'"},
      {"sc://127.0.0.1:15002/;token", "'token' is not one name=value pair"},
      {"sc://127.0.0.1:15002/;use_ssl=yes", "use_ssl must be true or false"},
      {"sc://127.0.0.1:15002/;session_id=abc", "session_id 'abc' is not a UUID"},
      {"sc://127.0.0.1:15002/;user_id=a;user_id=b", "'user_id' is given twice"},
      {"sc://127.0.0.1:15002/;token=%zz", "bad percent escape"},
  };
  for (const Case& c : cases) {
    auto parsed = ParseSparkConnectString(c.remote);
    ASSERT_FALSE(parsed.ok()) << c.remote;
    EXPECT_EQ(parsed.status().code(), StatusCode::kInvalidArgument) << c.remote;
    EXPECT_THAT(parsed.status().message(), HasSubstr(c.says)) << c.remote;
    EXPECT_THAT(parsed.status().message(), HasSubstr(c.remote)) << c.remote;
  }
  // Connect refuses them before any network use.
  SparkConnectOptions options;
  options.remote = "sc://127.0.0.1:15002/;colour=blue";
  auto client = SparkConnectClient::Connect(options);
  ASSERT_FALSE(client.ok());
  EXPECT_THAT(client.status().message(), HasSubstr("unknown parameter 'colour'"));
}

TEST(SparkConnectClient, UnreachableEndpointFailsWithinTheConnectTimeout) {
  const int port = larder::testing::RedisServer::FreePort();  // nothing listens there
  ASSERT_NE(port, 0);
  SparkConnectOptions options;
  options.remote = "sc://127.0.0.1:" + std::to_string(port);
  options.connect_timeout = std::chrono::milliseconds(1000);
  const auto start = std::chrono::steady_clock::now();
  auto client = SparkConnectClient::Connect(options);
  const auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(client.ok());
  EXPECT_EQ(client.status().code(), StatusCode::kIOError);
  EXPECT_THAT(client.status().message(), HasSubstr("127.0.0.1:" + std::to_string(port)));
  EXPECT_THAT(client.status().message(), HasSubstr("1000 ms"));
  EXPECT_GE(elapsed, std::chrono::milliseconds(900));
  EXPECT_LT(elapsed, std::chrono::milliseconds(3000));
}

TEST(SparkConnectClient, QueryStreamsArrowIpcBatchesWithTheirRowCounts) {
  SparkServer* server = Server();
  ASSERT_NE(server, nullptr);
  auto client = ConnectTo(*server);
  ASSERT_TRUE(client.ok()) << client.status().ToString();
  EXPECT_THAT((*client)->spark_version(), HasSubstr("4."));

  // Four partitions: at least one batch each.
  Collected got;
  ASSERT_TRUE(
      Collect(**client, "SELECT id, id * 2 AS twice FROM range(0, 100000, 1, 4)", &got).ok());
  EXPECT_EQ(got.rows, 100000);
  EXPECT_GE(got.batches, 1);
  for (const std::string& head : got.first_bytes) {
    // An Arrow IPC stream: each message starts with the continuation marker.
    ASSERT_EQ(head.size(), 8u);
    EXPECT_EQ(head.substr(0, 4), std::string("\xff\xff\xff\xff", 4));
  }

  // An error from the callback stops the query and is the result.
  int calls = 0;
  const Status stopped = (*client)->ExecuteSql("SELECT id FROM range(0, 1000000, 1, 8)",
                                               [&](std::string_view, int64_t) {
                                                 ++calls;
                                                 return Status::Corruption("decoder says no");
                                               });
  EXPECT_EQ(stopped.code(), StatusCode::kCorruption);
  EXPECT_EQ(calls, 1);
  // The session still works.
  Collected again;
  ASSERT_TRUE(Collect(**client, "SELECT 1 AS one", &again).ok());
  EXPECT_EQ(again.rows, 1);
}

TEST(SparkConnectClient, SchemaNamesColumnsAndSparkTypesWithoutRunning) {
  SparkServer* server = Server();
  ASSERT_NE(server, nullptr);
  auto client = ConnectTo(*server);
  ASSERT_TRUE(client.ok()) << client.status().ToString();
  auto schema = (*client)->Schema(
      "SELECT id, CAST(id AS INT) AS i, CAST(1 AS SMALLINT) AS s, CAST(1 AS TINYINT) AS t, "
      "CAST(1.5 AS FLOAT) AS f, 1.5D AS d, CAST(1 AS DECIMAL(12, 3)) AS dec, 'x' AS str, "
      "X'01' AS bin, true AS b, DATE'2024-01-31' AS day, TIMESTAMP'2024-01-31 12:00:00' AS ts, "
      "TIMESTAMP_NTZ'2024-01-31 12:00:00' AS ntz, array(1L, 2L) AS arr, map('k', 1.0D) AS m, "
      "named_struct('a', 1L, 'b', 'x') AS st FROM range(10)");
  ASSERT_TRUE(schema.ok()) << schema.status().ToString();
  const SparkColumns want = {
      {"id", "long"},
      {"i", "integer"},
      {"s", "short"},
      {"t", "byte"},
      {"f", "float"},
      {"d", "double"},
      {"dec", "decimal(12,3)"},
      {"str", "string"},
      {"bin", "binary"},
      {"b", "boolean"},
      {"day", "date"},
      {"ts", "timestamp"},
      {"ntz", "timestamp_ntz"},
      {"arr", "array<long>"},
      {"m", "map<string,double>"},
      {"st", "struct<a:long,b:string>"},
  };
  EXPECT_EQ(*schema, want);
  // Analysis errors come back as errors.
  auto missing = (*client)->Schema("SELECT nope FROM range(1)");
  ASSERT_FALSE(missing.ok());
  EXPECT_THAT(missing.status().message(), HasSubstr("UNRESOLVED_COLUMN"));
}

TEST(SparkConnectClient, UnknownTableCarriesSparksMessage) {
  SparkServer* server = Server();
  ASSERT_NE(server, nullptr);
  auto client = ConnectTo(*server);
  ASSERT_TRUE(client.ok()) << client.status().ToString();
  const Status status =
      (*client)->ExecuteSql("SELECT * FROM larder_no_such_table", [](std::string_view, int64_t) {
        ADD_FAILURE() << "no batch expected";
        return Status::OK();
      });
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.code(), StatusCode::kNotFound) << status.ToString();
  EXPECT_THAT(status.message(), HasSubstr("TABLE_OR_VIEW_NOT_FOUND"));
  EXPECT_THAT(status.message(), HasSubstr("larder_no_such_table"));
  EXPECT_THAT(status.message(), HasSubstr(server->remote().substr(5)));  // the endpoint

  const Status syntax = (*client)->ExecuteCommand("CREATE TABLE (");
  ASSERT_FALSE(syntax.ok());
  EXPECT_EQ(syntax.code(), StatusCode::kInvalidArgument) << syntax.ToString();
  EXPECT_THAT(syntax.message(), HasSubstr("PARSE_SYNTAX_ERROR"));
}

TEST(SparkConnectClient, CommandsCreateAndFillTablesInTheHiveCatalog) {
  SparkServer* server = Server();
  ASSERT_NE(server, nullptr);
  auto client = ConnectTo(*server);
  ASSERT_TRUE(client.ok()) << client.status().ToString();
  auto catalog = (*client)->GetConf("spark.sql.catalogImplementation");
  ASSERT_TRUE(catalog.ok()) << catalog.status().ToString();
  EXPECT_EQ(*catalog, "hive");

  SparkConnectClient& c = **client;
  ASSERT_TRUE(c.ExecuteCommand("DROP DATABASE IF EXISTS larder_spark_test CASCADE").ok());
  ASSERT_TRUE(c.ExecuteCommand("CREATE DATABASE larder_spark_test").ok());
  const Status again = c.ExecuteCommand("CREATE DATABASE larder_spark_test");
  EXPECT_EQ(again.code(), StatusCode::kAlreadyExists) << again.ToString();
  EXPECT_THAT(again.message(), HasSubstr("ALREADY_EXISTS"));

  Status s = c.ExecuteCommand(
      "CREATE TABLE larder_spark_test.ratings (user_id BIGINT, rating DOUBLE) USING parquet");
  ASSERT_TRUE(s.ok()) << s.ToString();
  s = c.ExecuteCommand("INSERT INTO larder_spark_test.ratings VALUES (1, 4.5), (2, 3.0), (3, 5.0)");
  ASSERT_TRUE(s.ok()) << s.ToString();
  s = c.ExecuteCommand(
      "CREATE TABLE larder_spark_test.ids STORED AS PARQUET AS "
      "SELECT id FROM range(25)");
  ASSERT_TRUE(s.ok()) << s.ToString();

  Collected ratings;
  ASSERT_TRUE(Collect(c, "SELECT * FROM larder_spark_test.ratings", &ratings).ok());
  EXPECT_EQ(ratings.rows, 3);
  Collected ids;
  ASSERT_TRUE(Collect(c, "SELECT * FROM larder_spark_test.ids WHERE id >= 5", &ids).ok());
  EXPECT_EQ(ids.rows, 20);
  Collected count;
  ASSERT_TRUE(Collect(c, "SELECT count(*) FROM larder_spark_test.ids", &count).ok());
  EXPECT_EQ(count.rows, 1);

  // Another session sees the catalog's tables.
  auto other = ConnectTo(*server);
  ASSERT_TRUE(other.ok()) << other.status().ToString();
  EXPECT_NE((*other)->session_id(), c.session_id());
  Collected tables;
  ASSERT_TRUE(Collect(**other, "SHOW TABLES IN larder_spark_test", &tables).ok());
  EXPECT_EQ(tables.rows, 2);
  auto schema = (*other)->Schema("SELECT * FROM larder_spark_test.ratings");
  ASSERT_TRUE(schema.ok()) << schema.status().ToString();
  EXPECT_EQ(*schema, (SparkColumns{{"user_id", "long"}, {"rating", "double"}}));

  s = c.ExecuteCommand("DROP DATABASE larder_spark_test CASCADE");
  ASSERT_TRUE(s.ok()) << s.ToString();
}

TEST(SparkConnectClient, ConfFromOptionsIsTheSessionsOwn) {
  SparkServer* server = Server();
  ASSERT_NE(server, nullptr);
  auto client = ConnectTo(*server, {{"spark.sql.session.timeZone", "Asia/Tokyo"},
                                    {"spark.sql.shuffle.partitions", "3"}});
  ASSERT_TRUE(client.ok()) << client.status().ToString();
  auto zone = (*client)->GetConf("spark.sql.session.timeZone");
  ASSERT_TRUE(zone.ok()) << zone.status().ToString();
  EXPECT_EQ(*zone, "Asia/Tokyo");
  auto partitions = (*client)->GetConf("spark.sql.shuffle.partitions");
  ASSERT_TRUE(partitions.ok()) << partitions.status().ToString();
  EXPECT_EQ(*partitions, "3");

  ASSERT_TRUE((*client)->SetConf({{"spark.sql.session.timeZone", "UTC"}}).ok());
  zone = (*client)->GetConf("spark.sql.session.timeZone");
  ASSERT_TRUE(zone.ok()) << zone.status().ToString();
  EXPECT_EQ(*zone, "UTC");

  auto unset = (*client)->GetConf("larder.no.such.setting");
  ASSERT_FALSE(unset.ok());
  EXPECT_EQ(unset.status().code(), StatusCode::kNotFound);
  EXPECT_THAT(unset.status().message(), HasSubstr("larder.no.such.setting"));

  // Another session has the server's setting, not this one's.
  auto other = ConnectTo(*server);
  ASSERT_TRUE(other.ok()) << other.status().ToString();
  auto other_partitions = (*other)->GetConf("spark.sql.shuffle.partitions");
  ASSERT_TRUE(other_partitions.ok()) << other_partitions.status().ToString();
  EXPECT_EQ(*other_partitions, "4");  // tests/support/spark_server.cc
}

TEST(SparkConnectClient, QueryTimeoutEndsASlowQueryWithADeadlineError) {
  SparkServer* server = Server();
  ASSERT_NE(server, nullptr);
  auto client = ConnectTo(*server, {}, std::chrono::milliseconds(1000));
  ASSERT_TRUE(client.ok()) << client.status().ToString();
  const auto start = std::chrono::steady_clock::now();
  const Status status = (*client)->ExecuteSql(
      "SELECT sum(a.id * b.id) FROM range(100000000) a CROSS JOIN range(100000000) b",
      [](std::string_view, int64_t) { return Status::OK(); });
  const auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.code(), StatusCode::kIOError) << status.ToString();
  EXPECT_THAT(status.message(), HasSubstr("query_timeout 1000 ms"));
  EXPECT_THAT(status.message(), HasSubstr("DEADLINE_EXCEEDED"));
  // The deadline, and the interrupt sent after it (at most 5 s).
  EXPECT_LT(elapsed, std::chrono::seconds(8));

  // The query was interrupted: the server answers another one at once.
  auto next = ConnectTo(*server);
  ASSERT_TRUE(next.ok()) << next.status().ToString();
  Collected got;
  const auto again = std::chrono::steady_clock::now();
  ASSERT_TRUE(Collect(**next, "SELECT id FROM range(10)", &got).ok());
  EXPECT_EQ(got.rows, 10);
  EXPECT_LT(std::chrono::steady_clock::now() - again, std::chrono::seconds(20));
}

}  // namespace
}  // namespace larder::offline::spark
