// Reading the relation dbt built: attached read-only under dbt's catalog
// name, hostile identifiers quoted, shared by connections of one database
// and detached by its last holder.
#include "offline/source_relation.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <thread>
#include <vector>

#include "support/test_util.h"

namespace larder::offline {
namespace {

using ::larder::testing::TempDir;
using ::testing::HasSubstr;

class DbtSourceRelation : public ::testing::Test {
 protected:
  void SetUp() override {
    file_ = tmp_.Join("wh.duckdb");
    auto made = duckdb::Connection::Open(file_);
    ASSERT_TRUE(made.ok()) << made.status().ToString();
    ASSERT_TRUE((*made)
                    ->Execute("CREATE SCHEMA \"x; DROP TABLE y\";"
                              "CREATE TABLE \"x; DROP TABLE y\".\"a\"\"b\" AS "
                              "SELECT * FROM (VALUES (1, TIMESTAMP '2023-01-01'), "
                              "(2, TIMESTAMP '2023-01-02')) t(id, ts);"
                              "CREATE TABLE main.y AS SELECT 1 AS one;"
                              "CREATE VIEW main.v AS SELECT id * 10 AS id10 FROM "
                              "wh.\"x; DROP TABLE y\".\"a\"\"b\";",
                              "setup")
                    .ok());
    rel_.node_id = "model.p.m";
    rel_.database = "wh";
    rel_.schema = "x; DROP TABLE y";
    rel_.identifier = "a\"b";
    rel_.database_file = file_;
  }

  static int64_t Count(duckdb::Connection& conn, const std::string& sql) {
    auto n = conn.QueryScalar(sql, "count");
    EXPECT_TRUE(n.ok()) << n.status().ToString();
    return n.ok() && n->has_value() ? std::stoll(**n) : -1;
  }

  TempDir tmp_;
  std::string file_;
  repo::DbtRelation rel_;
};

TEST_F(DbtSourceRelation, HostileIdentifiersAreQuotedAndNothingElseRuns) {
  auto conn = duckdb::Connection::Open(":memory:");
  ASSERT_TRUE(conn.ok());
  {
    SourceAttachments attached(**conn);
    Result<std::string> table = attached.Attach(rel_);
    ASSERT_TRUE(table.ok()) << table.status().ToString();
    EXPECT_EQ(*table, "\"wh\".\"x; DROP TABLE y\".\"a\"\"b\"");
    EXPECT_EQ(Count(**conn, "SELECT count(*) FROM " + *table), 2);
    EXPECT_EQ(Count(**conn, "SELECT count(*) FROM wh.main.y"), 1);
    // dbt's views name dbt's catalog, which is why it is attached under it.
    EXPECT_EQ(Count(**conn, "SELECT sum(id10) FROM wh.main.v"), 30);
  }
  // The last holder detached it.
  EXPECT_EQ(Count(**conn, "SELECT count(*) FROM duckdb_databases() WHERE database_name = 'wh'"),
            0);
}

TEST_F(DbtSourceRelation, ConnectionsOfOneDatabaseShareTheAttachment) {
  auto main = duckdb::Connection::Open(tmp_.Join("offline_store.duckdb"));
  ASSERT_TRUE(main.ok());
  std::vector<std::thread> threads;
  std::vector<Status> results(4);
  for (size_t t = 0; t < results.size(); ++t) {
    threads.emplace_back([&, t] {
      auto conn = (*main)->NewConnection();
      if (!conn.ok()) {
        results[t] = conn.status();
        return;
      }
      for (int i = 0; i < 20; ++i) {
        SourceAttachments attached(**conn);
        Result<std::string> table = attached.Attach(rel_);
        if (!table.ok()) {
          results[t] = table.status();
          return;
        }
        auto n = (*conn)->QueryScalar("SELECT count(*) FROM " + *table, "count");
        if (!n.ok()) {
          results[t] = n.status();
          return;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  for (const auto& st : results) EXPECT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(Count(**main, "SELECT count(*) FROM duckdb_databases() WHERE database_name = 'wh'"),
            0);
}

TEST_F(DbtSourceRelation, ACatalogNameTakenByAnotherFileIsRefused) {
  auto conn = duckdb::Connection::Open(tmp_.Join("wh_other/wh.duckdb"));
  ASSERT_TRUE(conn.ok());
  SourceAttachments attached(**conn);
  Result<std::string> table = attached.Attach(rel_);
  ASSERT_FALSE(table.ok());
  EXPECT_THAT(table.status().message(), HasSubstr("a name this DuckDB database already uses"));
}

TEST_F(DbtSourceRelation, ReadSourceSchemaReadsTheRelationsColumns) {
  tmp_.Write("proj/dbt_project.yml", "name: p\nprofile: p\n");
  tmp_.Write("proj/models/m.sql", "select 1\n");
  tmp_.Write("proj/target/manifest.json",
             "{\"metadata\": {\"dbt_schema_version\": "
             "\"https://schemas.getdbt.com/dbt/manifest/v12.json\", \"adapter_type\": "
             "\"duckdb\"}, \"nodes\": {\"model.p.m\": {\"resource_type\": \"model\", \"name\": "
             "\"m\", \"database\": \"wh\", \"schema\": \"x; DROP TABLE y\", \"alias\": "
             "\"a\\\"b\", \"original_file_path\": \"models/m.sql\"}}}");
  DataSource source;
  source.name = "s";
  source.kind = DataSourceKind::kDbt;
  source.model = "m";
  source.target_path = "target";
  source.database_path = file_;
  auto columns = ReadSourceSchema(source, tmp_.Join("proj"));
  ASSERT_TRUE(columns.ok()) << columns.status().ToString();
  ASSERT_EQ(columns->size(), 2u);
  EXPECT_EQ((*columns)[0].name, "id");
  EXPECT_EQ((*columns)[1].type, "TIMESTAMP");
}

}  // namespace
}  // namespace larder::offline
