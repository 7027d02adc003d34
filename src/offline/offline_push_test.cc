#include "offline/offline_push.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "offline/source_relation.h"
#include "support/test_util.h"

namespace larder::offline {
namespace {

using ::larder::testing::TempDir;
using ::testing::HasSubstr;

class OfflinePushTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto conn = duckdb::Connection::Open(dir_.Join("offline.duckdb"));
    ASSERT_TRUE(conn.ok()) << conn.status().ToString();
    conn_ = std::move(conn).value();
    dir_.Write("stats.csv",
               "uid,books_read,avg_rating,event_timestamp\n"
               "1,3,7.5,2024-01-01 00:00:00\n");
    repo_.root = dir_.path();
    Entity user;
    user.name = "user";
    user.join_keys = {"user_id"};
    user.value_type.scalar = ScalarType::kInt64;
    repo_.entities = {user};
    DataSource file;
    file.name = "stats_file";
    file.kind = DataSourceKind::kFile;
    file.file_format = FileFormat::kCsv;
    file.path = "stats.csv";
    file.timestamp_field = "event_timestamp";
    file.field_mapping = {{"uid", "user_id"}};
    DataSource push;
    push.name = "stats_push";
    push.kind = DataSourceKind::kPush;
    push.batch_source = "stats_file";
    repo_.data_sources = {file, push};
    FeatureView view;
    view.name = "stats";
    view.entities = {"user"};
    view.source = "stats_push";
    Field f;
    f.name = "books_read";
    f.dtype.scalar = ScalarType::kInt64;
    view.schema = {f};
    repo_.feature_views = {view};
  }

  Result<int64_t> Push(const std::string& csv) {
    dir_.Write("push.csv", csv);
    return PushToOffline(repo_, "stats_push", dir_.Join("push.csv"), *conn_);
  }

  int64_t Count(const std::string& sql) {
    auto n = conn_->QueryScalar(sql, "test");
    EXPECT_TRUE(n.ok()) << n.status().ToString();
    return n.ok() && *n ? std::stoll(**n) : -1;
  }

  TempDir dir_;
  FeatureRepo repo_;
  std::unique_ptr<duckdb::Connection> conn_;
};

TEST_F(OfflinePushTest, AppendsRowsThatTheSourceThenReads) {
  auto rows = Push("uid,books_read,event_timestamp\n2,5,2024-02-01 00:00:00\n3,,2024-02-02 00:00:00\n");
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  EXPECT_EQ(*rows, 2);
  rows = Push("uid,books_read,event_timestamp\n4,1,2024-03-01 00:00:00\n");
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  EXPECT_EQ(Count("SELECT count(*) FROM " + PushTableName("stats_push")), 3);
  // The push source now reads its batch source and the pushed rows, mapped.
  TableExists exists = [&](std::string_view t) {
    return Count("SELECT count(*) FROM duckdb_tables() WHERE table_name = '" + std::string(t) +
                 "'") > 0;
  };
  auto sql = MappedSourceSql(repo_, *repo_.FindDataSource("stats_push"), exists);
  ASSERT_TRUE(sql.ok());
  EXPECT_EQ(Count("SELECT count(*) FROM " + *sql), 4);
  EXPECT_EQ(Count("SELECT sum(user_id) FROM " + *sql), 1 + 2 + 3 + 4);
  EXPECT_EQ(Count("SELECT count(*) FROM " + *sql + " WHERE avg_rating IS NULL"), 3);
}

TEST_F(OfflinePushTest, RefusesRowsThatDoNotFit) {
  auto r = Push("uid,event_timestamp\n2,2024-02-01 00:00:00\n");
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("missing column `books_read`"));
  EXPECT_THAT(r.status().message(), HasSubstr("push.csv"));

  r = Push("uid,books_read,event_timestamp,shoe_size\n2,5,2024-02-01 00:00:00,9\n");
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("column `shoe_size` is not a column of data source 'stats_file'"));

  r = Push("uid,books_read,event_timestamp\n2,many,2024-02-01 00:00:00\n3,4,2024-02-01 00:00:00\n");
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("column `books_read`: 1 row(s) cannot be read as BIGINT"));

  r = Push("uid,books_read,event_timestamp\n2,5,\n");
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("have no timestamp"));

  r = PushToOffline(repo_, "stats_file", dir_.Join("stats.csv"), *conn_);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("'stats_file' is a file source"));
  // Nothing was appended by any refused push.
  EXPECT_EQ(Count("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'push__stats_push'"), 0);
}

}  // namespace
}  // namespace larder::offline
