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

  Result<OfflineAppend> Push(const std::string& csv, const OfflinePushOptions& options = {}) {
    dir_.Write("push.csv", csv);
    return PushToOffline(repo_, "stats_push", dir_.Join("push.csv"), *conn_, options);
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
  EXPECT_EQ(rows->rows, 2);
  EXPECT_EQ(rows->appended, 2);
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

TEST_F(OfflinePushTest, RefusesEventTimesReadTruncated) {
  // A pandas datetime64[ns, UTC] column (tests/data/parquet_time_units):
  // DuckDB would store it truncated to the microsecond.
  const std::string file =
      std::string(LARDER_SOURCE_DIR) + "/tests/data/parquet_time_units/utc_nanos.parquet";
  repo_.data_sources[0].timestamp_field = "utc_ns";
  auto r = PushToOffline(repo_, "stats_push", file, *conn_);
  ASSERT_EQ(r.status().code(), StatusCode::kInvalidArgument) << r.status().ToString();
  EXPECT_THAT(r.status().message(),
              HasSubstr("file " + file + ": column `utc_ns` (the timestamp_field of data source "
                        "'stats_file') is a Parquet TIMESTAMP(NANOS) adjusted to UTC"));
  EXPECT_EQ(Count("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'push__stats_push'"), 0);
}

TEST_F(OfflinePushTest, PushingTheSameRowsAgainAppendsNothing) {
  const std::string csv =
      "uid,books_read,event_timestamp\n"
      "2,5,2024-02-01 00:00:00\n"
      "2,5,2024-02-01 00:00:00\n"  // a repeat within the call
      "3,,2024-02-02 00:00:00\n";   // a NULL equals a NULL
  auto first = Push(csv);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(first->rows, 3);
  EXPECT_EQ(first->appended, 2);
  auto again = Push(csv);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(again->rows, 3);
  EXPECT_EQ(again->appended, 0);
  // A row differing in one column, or in its timestamp, is new.
  auto changed = Push("uid,books_read,event_timestamp\n2,6,2024-02-01 00:00:00\n"
                      "2,5,2024-02-01 00:00:01\n3,,2024-02-02 00:00:00\n");
  ASSERT_TRUE(changed.ok()) << changed.status().ToString();
  EXPECT_EQ(changed->appended, 2);
  EXPECT_EQ(Count("SELECT count(*) FROM " + PushTableName("stats_push")), 4);
}

TEST_F(OfflinePushTest, RefusesEventTimesPastTheLimit) {
  OfflinePushOptions options;
  ASSERT_TRUE(ParseIsoTimestamp("2024-06-01T00:00:00Z", &options.latest_event_time));
  auto r = Push("uid,books_read,event_timestamp\n2,5,2024-06-01 00:00:00\n"
                "3,5,2024-05-01 00:00:00\n4,5,9999-12-31 00:00:00\n5,1,2024-06-02 00:00:00\n",
                options);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(r.status().message(),
              HasSubstr("push.csv: column `event_timestamp`, row 3: event time 9999-12-31"));
  EXPECT_THAT(r.status().message(), HasSubstr("(2 such row(s))"));
  EXPECT_EQ(Count("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'push__stats_push'"), 0);
  // At the limit is fine.
  auto ok = Push("uid,books_read,event_timestamp\n2,5,2024-06-01 00:00:00\n", options);
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(ok->appended, 1);
}

}  // namespace
}  // namespace larder::offline
