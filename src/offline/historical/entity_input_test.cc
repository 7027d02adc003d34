// The entity rows of historical retrieval: an entity query can only read
// (one SELECT, on a database that cannot write), and bad entity tables are
// reported in the user's terms.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "larder/offline_store.h"
#include "larder/repo.h"
#include "offline/duckdb/duckdb_connection.h"
#include "offline/historical/historical_retrieval.h"
#include "offline/source_relation.h"
#include "support/test_util.h"

namespace larder::offline {
namespace {

using ::larder::testing::TempDir;
using ::testing::HasSubstr;
using ::testing::Not;

// A repo with entity `user` (Int64) and feature view `user_stats` over the
// model table `user_stats_model` of the offline store, which holds one row.
class EntityInput : public ::testing::Test {
 protected:
  void SetUp() override {
    repo_.root = tmp_.path();
    Entity user;
    user.name = "user";
    user.join_keys = {"user_id"};
    user.value_type = ValueType{ScalarType::kInt64, false};
    repo_.entities.push_back(user);
    DataSource source;
    source.name = "user_stats_source";
    source.kind = DataSourceKind::kModel;
    source.model = "user_stats_model";
    source.timestamp_field = "ts";
    SetSource(source);

    db_path_ = OfflineDatabasePath(repo_);
    auto conn = duckdb::Connection::Open(db_path_);
    ASSERT_TRUE(conn.ok()) << conn.status().ToString();
    ASSERT_TRUE((*conn)
                    ->Execute("CREATE TABLE user_stats_model AS SELECT 1::BIGINT AS user_id, "
                              "TIMESTAMP '2024-01-01' AS ts, 5::BIGINT AS n",
                              "setup")
                    .ok());
  }

  // Makes `source` the only data source, read by view `user_stats` (feature n).
  void SetSource(const DataSource& source) {
    repo_.data_sources = {source};
    FeatureView view;
    view.name = "user_stats";
    view.entities = {"user"};
    view.source = source.name;
    view.schema.push_back(Field{"n", {}, "", {}, {}});
    repo_.feature_views = {view};
  }

  HistoricalFeaturesRequest SqlRequest(const std::string& sql) {
    HistoricalFeaturesRequest r;
    r.entity_sql = sql;
    r.features = {"user_stats:n"};
    return r;
  }

  // Prepares and runs the retrieval into a CSV file; returns the status and
  // leaves the file's text in `out`.
  Status Try(const HistoricalFeaturesRequest& request, std::string* out = nullptr) {
    auto job = PrepareHistoricalRetrieval(repo_, request);
    if (!job.ok()) return job.status();
    std::string path = tmp_.Join("out.csv");
    Status st = (*job)->WriteToFile(path).status();
    if (st.ok() && out != nullptr) *out = ::larder::testing::ReadFileText(path);
    return st;
  }

  // The tables of the offline store, read on a connection of the test's own.
  std::vector<std::string> StoreTables() {
    auto conn = duckdb::Connection::Open(db_path_);
    EXPECT_TRUE(conn.ok()) << conn.status().ToString();
    std::vector<std::string> names;
    if (!conn.ok()) return names;
    auto r = (*conn)->Query(
        "SELECT table_name FROM information_schema.tables ORDER BY table_name", "tables");
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    if (r.ok()) {
      for (const auto& row : r->rows) names.push_back(row[0].value_or(""));
    }
    return names;
  }

  // Writes `content` to file `name` of the test's directory; returns its path.
  std::string Write(const std::string& name, const std::string& content) {
    tmp_.Write(name, content);
    return tmp_.Join(name);
  }

  TempDir tmp_;
  FeatureRepo repo_;
  std::string db_path_;
};

constexpr const char* kEntityRow =
    "SELECT 1::BIGINT AS user_id, TIMESTAMP '2024-01-02' AS event_timestamp";

TEST_F(EntityInput, EntityQueryReadsTheOfflineStore) {
  std::string out;
  Status st = Try(SqlRequest("SELECT user_id, ts + INTERVAL 1 DAY AS event_timestamp "
                             "FROM user_stats_model -- the model's own rows"),
                  &out);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(out, "user_id,event_timestamp,n\n1,2024-01-02 00:00:00+00,5\n");
  // A trailing ';' is fine too.
  ASSERT_TRUE(Try(SqlRequest(std::string(kEntityRow) + ";")).ok());
}

TEST_F(EntityInput, EntityQueryCannotEscapeToOtherStatements) {
  const std::string x_csv = tmp_.Join("x.csv");
  const std::vector<std::string> escapes = {
      // Breaking out of a parenthesised subquery, as the request once was.
      std::string(kEntityRow) + "); DROP TABLE user_stats_model; SELECT (1",
      std::string(kEntityRow) + "); COPY (SELECT 42) TO '" + x_csv + "'; SELECT (1",
      std::string(kEntityRow) + "); DETACH larder_offline; ATTACH '" + db_path_ +
          "' AS o2; DROP TABLE o2.user_stats_model; SELECT (1",
      // Several statements, each complete.
      std::string(kEntityRow) + "; DROP TABLE user_stats_model",
      std::string(kEntityRow) + "; COPY (SELECT 42) TO '" + x_csv + "'",
      "DROP TABLE user_stats_model; " + std::string(kEntityRow),
      // One statement, but not a SELECT.
      "DROP TABLE user_stats_model",
      "COPY (SELECT 42) TO '" + x_csv + "'",
      "ATTACH '" + tmp_.Join("other.duckdb") + "' AS o2",
      "DETACH larder_offline",
      "CREATE TABLE evil AS " + std::string(kEntityRow),
      "INSERT INTO user_stats_model VALUES (2, TIMESTAMP '2024-01-01', 6)",
      "CALL checkpoint()",
      "PRAGMA enable_profiling",
      "SET threads = 1",
      // A SELECT that runs other SQL.
      "SELECT * FROM query('DROP TABLE user_stats_model')",
  };
  for (const std::string& sql : escapes) {
    SCOPED_TRACE(sql);
    Status st = Try(SqlRequest(sql));
    EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << st.ToString();
    EXPECT_THAT(st.message(), HasSubstr("entity SQL"));
  }
  EXPECT_THAT(Try(SqlRequest(escapes[0])).message(), HasSubstr("syntax error"));
  EXPECT_THAT(Try(SqlRequest(escapes[3])).message(),
              HasSubstr("holds 2 statements; give only one SELECT statement"));
  EXPECT_THAT(Try(SqlRequest(escapes[6])).message(),
              HasSubstr("is a DROP statement; give one SELECT statement"));
  EXPECT_THAT(Try(SqlRequest(escapes[7])).message(), HasSubstr("is a COPY statement"));
  EXPECT_THAT(Try(SqlRequest("  -- nothing\n")).message(), HasSubstr("holds no SQL statement"));

  EXPECT_FALSE(std::filesystem::exists(x_csv));
  EXPECT_FALSE(std::filesystem::exists(tmp_.Join("other.duckdb")));
  EXPECT_EQ(StoreTables(), std::vector<std::string>{"user_stats_model"});
  std::string out;
  ASSERT_TRUE(Try(SqlRequest(kEntityRow), &out).ok());
  EXPECT_EQ(out, "user_id,event_timestamp,n\n1,2024-01-02 00:00:00+00,5\n");
}

TEST_F(EntityInput, EntityQueryRunsWhereNothingCanBeWritten) {
  // Even a SELECT cannot write: the store is open read-only (nextval needs a
  // write), and the configuration is locked.
  {
    auto conn = duckdb::Connection::Open(db_path_);
    ASSERT_TRUE(conn.ok());
    ASSERT_TRUE((*conn)->Execute("CREATE SEQUENCE seq", "setup").ok());
  }
  Status st = Try(SqlRequest("SELECT nextval('seq')::BIGINT AS user_id, "
                             "TIMESTAMP '2024-01-02' AS event_timestamp"));
  EXPECT_FALSE(st.ok());
  EXPECT_THAT(st.message(), HasSubstr("read-only"));
  st = Try(SqlRequest("SELECT current_setting('threads') AS x, " + std::string(kEntityRow + 7)));
  EXPECT_TRUE(st.ok()) << st.ToString();
  auto conn = duckdb::Connection::Open(db_path_);
  ASSERT_TRUE(conn.ok());
  EXPECT_EQ((*conn)->QueryScalar("SELECT nextval('seq')", "seq")->value_or(""), "1");
}

TEST_F(EntityInput, EntityQueryWithoutAnOfflineStore) {
  std::filesystem::remove(db_path_);
  DataSource file;
  file.name = "file_source";
  file.kind = DataSourceKind::kFile;
  file.file_format = FileFormat::kCsv;
  file.path = Write("stats.csv", "user_id,ts,n\n1,2024-01-01 00:00:00,7\n");
  file.timestamp_field = "ts";
  SetSource(file);
  std::string out;
  Status st = Try(SqlRequest(kEntityRow), &out);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(out, "user_id,event_timestamp,n\n1,2024-01-02 00:00:00+00,7\n");
  EXPECT_EQ(Try(SqlRequest("SELECT 1; SELECT 2")).code(), StatusCode::kInvalidArgument);
  EXPECT_FALSE(std::filesystem::exists(db_path_));
}

TEST_F(EntityInput, HeaderOnlyCsvSaysItHasNoRows) {
  HistoricalFeaturesRequest r;
  r.entity_path = Write("header.csv", "user_id,event_timestamp\n");
  r.features = {"user_stats:n"};
  Status st = Try(r);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(st.message(), HasSubstr("header.csv has no rows"));
  EXPECT_THAT(st.message(), Not(HasSubstr("VARCHAR")));
  // Without a timestamp column either, the cause is the same.
  r.entity_path = Write("header2.csv", "user_id,asked_at\n");
  EXPECT_THAT(Try(r).message(), HasSubstr("header2.csv has no rows"));
  // A CSV with rows and a key of the wrong type is still a type error.
  r.entity_path = Write("typed.csv", "user_id,event_timestamp\nabc,2024-01-02\n");
  EXPECT_THAT(Try(r).message(), HasSubstr("join key column `user_id` has type VARCHAR"));
}

TEST_F(EntityInput, BadTimestampTextNamesColumnValueAndRow) {
  HistoricalFeaturesRequest r;
  r.entity_path = Write("badts.csv",
                             "user_id,event_timestamp\n1,2024-01-02 00:00:00\n2,not-a-time\n");
  r.features = {"user_stats:n"};
  Status st = Try(r);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(st.message(), HasSubstr("badts.csv: row 2 (after the header): column "
                                      "`event_timestamp` holds 'not-a-time', which is not a "
                                      "timestamp"));
  EXPECT_THAT(st.message(), Not(HasSubstr("LINE")));
  EXPECT_THAT(st.message(), Not(HasSubstr("CAST")));

  st = Try(SqlRequest("SELECT * FROM (VALUES (1::BIGINT, '2024-01-02'), (2, '2024-13-45')) "
                      "AS t(user_id, event_timestamp)"));
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(st.message(), HasSubstr("entity SQL: row 2: column `event_timestamp` holds "
                                      "'2024-13-45', which is not a timestamp"));
  EXPECT_THAT(st.message(), Not(HasSubstr("LINE")));

  // Text timestamps that are timestamps are used as such.
  std::string out;
  st = Try(SqlRequest("SELECT 1::BIGINT AS user_id, '2024-01-02T02:00:00+02:00' AS "
                      "event_timestamp"),
           &out);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(out, "user_id,event_timestamp,n\n1,2024-01-02 00:00:00+00,5\n");
}

TEST_F(EntityInput, ErrorsOfGeneratedSqlDoNotQuoteIt) {
  // A source whose key has another type than the entity's: DuckDB fails
  // while joining, in SQL Larder wrote.
  {
    auto conn = duckdb::Connection::Open(db_path_);
    ASSERT_TRUE(conn.ok());
    ASSERT_TRUE((*conn)
                    ->Execute("CREATE OR REPLACE TABLE user_stats_model AS SELECT 'x1' AS "
                              "user_id, TIMESTAMP '2024-01-01' AS ts, 5::BIGINT AS n",
                              "setup")
                    .ok());
  }
  Status st = Try(SqlRequest(kEntityRow));
  ASSERT_FALSE(st.ok());
  EXPECT_THAT(st.message(), Not(HasSubstr("LINE ")));
  EXPECT_THAT(st.message(), Not(HasSubstr("__larder")));
}

}  // namespace
}  // namespace larder::offline
