// The spark offline store against the duckdb one, value for value: the same
// repo and files through both, for training data and materialization.
#include "offline_stores/spark_offline_store.h"

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <string>
#include <thread>

#include "larder/offline_store.h"
#include "larder/online_store.h"
#include "larder/repo.h"
#include "materialize/materializer.h"
#include "offline/duckdb/arrow_stream.h"
#include "offline/duckdb/duckdb_connection.h"
#include "offline_stores/duckdb_offline_store.h"
#include "support/spark_server.h"
#include "support/store_comparison.h"
#include "support/test_util.h"

namespace larder {
namespace {

using ::larder::testing::SparkServer;
using ::larder::testing::TempDir;
using ::testing::HasSubstr;

// Two views over parquet files: `activity` (user key, a ttl, a created
// column, a renamed column, exact duplicate rows, rows that tie on both
// times with different values, NULL keys and times) and `profile` (no ttl).
void WriteRepo(const TempDir& dir) {
  dir.Write("feature_store.yaml", "project: sparkpit\n");
  dir.Write("entities.yaml", "entities:\n  - name: user\n    join_keys: [user_id]\n"
                             "    value_type: Int64\n");
  dir.Write("data_sources.yaml",
            "data_sources:\n"
            "  - name: activity_source\n    type: file\n    path: data/activity.parquet\n"
            "    timestamp_field: ts\n    created_timestamp_column: created\n"
            "    field_mapping: {raw_clicks: clicks}\n"
            "  - name: profile_source\n    type: file\n    path: data/profile.parquet\n"
            "    timestamp_field: ts\n");
  dir.Write("feature_views.yaml",
            "feature_views:\n"
            "  - name: activity\n    entities: [user]\n    source: activity_source\n"
            "    ttl: 2d\n    schema:\n"
            "      - {name: clicks, dtype: Int64}\n      - {name: score, dtype: Float64}\n"
            "      - {name: tag, dtype: String}\n"
            "  - name: profile\n    entities: [user]\n    source: profile_source\n"
            "    schema:\n      - {name: country, dtype: String}\n"
            "      - {name: age, dtype: Int32}\n");
  auto conn = duckdb::Connection::Open(":memory:");
  ASSERT_TRUE(conn.ok()) << conn.status().ToString();
  std::filesystem::create_directories(dir.Join("data"));
  const std::string base = "TIMESTAMP '2024-03-01 00:00:00'";
  // 2000 rows over 50 users and 40 hours, plus the awkward ones.
  ASSERT_TRUE((*conn)->Execute(
      "COPY (SELECT * FROM ("
      " SELECT (i % 50)::BIGINT AS user_id, " + base + " + to_hours(i % 40) AS ts,"
      "  " + base + " + to_hours(i % 40) + to_minutes(i % 3) AS created,"
      "  (i * 7 % 101)::BIGINT AS raw_clicks, (i % 13) / 4.0 AS score, 't' || (i % 5) AS tag"
      " FROM range(2000) t(i)"
      " UNION ALL SELECT 7, " + base + " + INTERVAL 5 HOUR, NULL, 1, 1.0, 'x' FROM range(2)"
      " UNION ALL SELECT 8, " + base + " + INTERVAL 6 HOUR, " + base + ", 2, 2.0, 'a'"
      " UNION ALL SELECT 8, " + base + " + INTERVAL 6 HOUR, " + base + ", 3, 3.0, 'b'"
      " UNION ALL SELECT 8, " + base + " + INTERVAL 6 HOUR, " + base + ", 4, NULL, NULL"
      " UNION ALL SELECT NULL, " + base + ", NULL, 9, 9.0, 'n'"
      " UNION ALL SELECT 9, NULL, NULL, 9, 9.0, 'n')) TO '" + dir.Join("data/activity.parquet") +
      "' (FORMAT parquet)", "activity").ok());
  ASSERT_TRUE((*conn)->Execute(
      "COPY (SELECT i::BIGINT AS user_id, " + base + " - to_days(i % 3) AS ts,"
      " ['de', 'fr', 'jp'][i % 3 + 1] AS country, (20 + i)::INTEGER AS age"
      " FROM range(45) t(i)) TO '" + dir.Join("data/profile.parquet") + "' (FORMAT parquet)",
      "profile").ok());
  ASSERT_TRUE((*conn)->Execute(
      "COPY (SELECT (i % 60)::BIGINT AS user_id,"
      " " + base + " + to_minutes(i * 37 % 3000) AS event_timestamp, i AS label"
      " FROM range(300) t(i)"
      " UNION ALL SELECT 8, " + base + " + INTERVAL 7 HOUR, -1"
      " UNION ALL SELECT 8, " + base + " + INTERVAL 7 HOUR, -1"
      " UNION ALL SELECT 3, NULL, -2) TO '" + dir.Join("entities.parquet") + "' (FORMAT parquet)",
      "entities").ok());
}


class SparkStore : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string error;
    server_ = SparkServer::Shared(&error);
    ASSERT_NE(server_, nullptr) << error;
    WriteRepo(dir_);
    auto repo = LoadFeatureRepo(dir_.path());
    ASSERT_TRUE(repo.ok()) << repo.status().ToString();
    repo_ = std::move(repo).value();
    repo_.root = dir_.path();
  }

  OfflineStoreOptions Options(StoreConfig config) const {
    return ::larder::testing::StoreOptions(dir_.path(), "sparkpit", std::move(config));
  }
  std::unique_ptr<OfflineStore> Spark(std::map<std::string, std::string> extra = {}) const {
    return testing::SparkStore(dir_.path(), "sparkpit", server_->remote(), std::move(extra));
  }
  // A RocksDB online store under the repo directory.
  Result<std::unique_ptr<OnlineStore>> OpenOnline(const std::string& relative) const {
    return testing::RocksDbStore(dir_.path(), "sparkpit", dir_.Join(relative));
  }
  std::unique_ptr<OfflineStore> DuckDb() const {
    return testing::DuckDbStore(dir_.path(), "sparkpit", dir_.Join("offline.duckdb"));
  }

  // The request's training data from `store`, as text rows.
  std::string Train(OfflineStore& store, const HistoricalFeaturesRequest& request,
                    const std::string& out) {
    return testing::TrainingRows(store, repo_, request, dir_.Join(out));
  }

  SparkServer* server_ = nullptr;
  TempDir dir_;
  FeatureRepo repo_;
};

TEST_F(SparkStore, EqualsDuckDbValueForValue) {
  HistoricalFeaturesRequest request;
  request.entity_path = dir_.Join("entities.parquet");
  request.features = {"activity:clicks", "profile:country", "activity:tag", "activity:score",
                      "profile:age"};
  const std::string duck = Train(*DuckDb(), request, "duck.parquet");
  const std::string spark = Train(*Spark(), request, "spark.parquet");
  ASSERT_THAT(duck, HasSubstr("\n"));
  EXPECT_EQ(spark, duck);
  // An entity row without an event time gets no features, from either store.
  EXPECT_THAT(duck, HasSubstr("'label': -2, 'clicks': NULL, 'tag': NULL, 'score': NULL, "
                              "'country': NULL, 'age': NULL}"));
  // User 8's rows that tie on both times went the way of the tie key in both.
  EXPECT_THAT(duck, HasSubstr("'user_id': 8, 'event_timestamp': '2024-03-01 07:00:00+00', "
                              "'label': -1, 'clicks': 3, 'tag': b"));
}

TEST_F(SparkStore, FullFeatureNamesAndEntitySqlInSparkSql) {
  HistoricalFeaturesRequest request;
  request.full_feature_names = true;
  request.features = {"activity:clicks", "profile:age"};
  request.entity_path = dir_.Join("entities.parquet");
  const std::string duck = Train(*DuckDb(), request, "duck.parquet");
  request.entity_path.clear();
  request.entity_sql = "SELECT * FROM parquet.`" + dir_.Join("entities.parquet") + "`";
  const std::string spark = Train(*Spark(), request, "spark.parquet");
  EXPECT_THAT(duck, HasSubstr("activity__clicks"));
  EXPECT_EQ(spark, duck);
}

// Every record of the repo's views for users 0..59, as text.
std::string OnlineRecords(OnlineStore& store, const FeatureRepo& repo) {
  std::string out;
  for (const char* name : {"activity", "profile"}) {
    const OnlineView view = OnlineView::FromFeatureView(*repo.FindFeatureView(name));
    std::vector<EntityKey> keys;
    for (int64_t u = 0; u < 60; ++u) keys.push_back({{"user_id"}, {Value::Int64(u)}});
    std::vector<OnlineReadResult> rows;
    Status st = store.MultiGet(view, keys, &rows);
    if (!st.ok()) return st.ToString();
    for (size_t i = 0; i < rows.size(); ++i) {
      out += std::string(name) + " " + std::to_string(i) + ": ";
      if (rows[i].state != OnlineRecordState::kFound) {
        out += "-\n";
        continue;
      }
      out += std::to_string(rows[i].event_timestamp) + " " +
             std::to_string(rows[i].created_timestamp);
      for (const Value& v : rows[i].values) out += " " + v.DebugString();
      out += "\n";
    }
  }
  return out;
}

// The workshop's feature_store.yaml, unchanged: its static settings match the
// server's (which runs with the Hive catalog and no UI), and its session
// settings, quoted identifiers read as regular expressions included, leave
// the training data and the online records as they are.
const std::map<std::string, std::string> kWorkshopSparkConf = {
    {"spark_conf.spark.ui.enabled", "false"},
    {"spark_conf.spark.eventLog.enabled", "false"},
    {"spark_conf.spark.sql.catalogImplementation", "hive"},
    {"spark_conf.spark.sql.parser.quotedRegexColumnNames", "true"},
    {"spark_conf.spark.sql.session.timeZone", "UTC"}};

TEST_F(SparkStore, TheWorkshopsSparkConfChangesNothing) {
  HistoricalFeaturesRequest request;
  request.entity_path = dir_.Join("entities.parquet");
  request.features = {"activity:clicks", "profile:country", "activity:tag", "activity:score",
                      "profile:age"};
  const std::string duck = Train(*DuckDb(), request, "duck.parquet");
  const std::string spark = Train(*Spark(kWorkshopSparkConf), request, "spark.parquet");
  ASSERT_THAT(duck, HasSubstr("\n"));
  EXPECT_EQ(spark, duck);
  auto duck_online = OpenOnline("online_duck");
  auto spark_online = OpenOnline("online_spark");
  ASSERT_TRUE(duck_online.ok() && spark_online.ok());
  const TimestampMicros end = 1'709'380'800'000'000;
  ASSERT_TRUE(DuckDb()->Materialize(repo_, **duck_online, std::nullopt, end, {}).ok());
  auto spark_run = Spark(kWorkshopSparkConf)->Materialize(repo_, **spark_online, std::nullopt, end, {});
  ASSERT_TRUE(spark_run.ok()) << spark_run.status().ToString();
  EXPECT_EQ(OnlineRecords(**spark_online, repo_), OnlineRecords(**duck_online, repo_));

  // A static setting the server does not run with is refused, naming both.
  EXPECT_THAT(Spark({{"spark_conf.spark.sql.catalogImplementation", "in-memory"}})
                  ->GetHistoricalFeatures(repo_, request, {})
                  .status()
                  .ToString(),
              HasSubstr("spark_conf.spark.sql.catalogImplementation: `in-memory` is a static "
                        "setting of the Spark server"));
}

TEST_F(SparkStore, EntitySqlMustBeOneQuery) {
  HistoricalFeaturesRequest request;
  request.features = {"activity:clicks"};
  request.entity_sql = "SELECT 1 AS user_id); DROP DATABASE default CASCADE; (SELECT 1";
  auto job = Spark()->GetHistoricalFeatures(repo_, request, {});
  ASSERT_FALSE(job.ok());
  EXPECT_THAT(job.status().ToString(), HasSubstr("entity SQL"));
}

// An entity DataFrame (an Arrow stream) and a CSV file reach a Spark on
// this machine as a staged parquet file: the same rows, in the same order,
// as the DuckDB store gives for them.
TEST_F(SparkStore, EntityDataFramesAndCsvFilesAreStagedForSpark) {
  auto conn = duckdb::Connection::Open(":memory:");
  ASSERT_TRUE(conn.ok());
  ASSERT_TRUE((*conn)->Execute("COPY (SELECT * FROM read_parquet(" +
                                   duckdb::QuoteLiteral(dir_.Join("entities.parquet")) +
                                   ") WHERE event_timestamp IS NOT NULL) TO " +
                                   duckdb::QuoteLiteral(dir_.Join("entities.csv")) +
                                   " (HEADER)",
                               "csv").ok());
  HistoricalFeaturesRequest request;
  request.features = {"activity:clicks", "profile:country"};
  request.entity_path = dir_.Join("entities.csv");
  const std::string from_csv = Train(*DuckDb(), request, "csv_duck.parquet");
  ASSERT_THAT(from_csv, HasSubstr("\n"));
  EXPECT_EQ(Train(*Spark(), request, "csv_spark.parquet"), from_csv);

  std::shared_ptr<duckdb::Connection> reader = std::move(conn).value();
  auto stream_job = [&](OfflineStore& store, const std::string& out) {
    ArrowArrayStream entities;
    Status exported = duckdb::ExportArrowStream(
        reader, "SELECT * FROM read_parquet(" + duckdb::QuoteLiteral(dir_.Join("entities.parquet")) +
                    ")", "entities", &entities);
    if (!exported.ok()) return exported.ToString();
    HistoricalFeaturesRequest frame = request;
    frame.entity_path.clear();
    frame.entity_arrow_stream = &entities;
    auto job = store.GetHistoricalFeatures(repo_, frame, {});
    entities.release(&entities);  // the job holds its own copy of the rows
    if (!job.ok()) return job.status().ToString();
    auto rows = (*job)->WriteToFile(dir_.Join(out));
    return rows.ok() ? testing::ParquetRows(dir_.Join(out)) : rows.status().ToString();
  };
  const std::string from_frame = stream_job(*DuckDb(), "frame_duck.parquet");
  ASSERT_THAT(from_frame, HasSubstr("\n"));
  EXPECT_EQ(stream_job(*Spark(), "frame_spark.parquet"), from_frame);
}

TEST_F(SparkStore, BadInputNamesItsPart) {
  HistoricalFeaturesRequest request;
  request.features = {"activity:clicks"};
  request.entity_path = dir_.Join("missing.parquet");
  EXPECT_THAT(Spark()->GetHistoricalFeatures(repo_, request, {}).status().ToString(),
              HasSubstr("no file matches"));
  request.entity_path.clear();
  request.entity_sql = "SELECT 1 AS user_id, 'x' AS tag";
  EXPECT_THAT(Spark()->GetHistoricalFeatures(repo_, request, {}).status().ToString(),
              HasSubstr("no `event_timestamp` column"));
  request.entity_sql = "SELECT 'a' AS user_id, current_timestamp() AS event_timestamp";
  EXPECT_THAT(Spark()->GetHistoricalFeatures(repo_, request, {}).status().ToString(),
              HasSubstr("join key column `user_id` has type VARCHAR"));
  request.entity_sql = "SELECT * FROM no_such_table";
  EXPECT_THAT(Spark()->GetHistoricalFeatures(repo_, request, {}).status().ToString(),
              HasSubstr("TABLE_OR_VIEW_NOT_FOUND"));
  EXPECT_THAT(Spark({{"spark_conf.spark.sql.session.timeZone", "Europe/Paris"}})
                  ->GetHistoricalFeatures(repo_, request, {})
                  .status()
                  .ToString(),
              HasSubstr("spark.sql.session.timeZone"));
  EXPECT_THAT(Spark({{"partitions", "4"}})->GetHistoricalFeatures(repo_, request, {}).status().ToString(),
              HasSubstr("offline_store.partitions: not an option of the spark offline store"));
}

TEST_F(SparkStore, UnreachableServerFailsWithinItsTimeout) {
  StoreConfig config{"spark", {{"remote", "sc://127.0.0.1:1"}, {"connect_timeout_ms", "500"}}};
  offline_stores::SparkOfflineStore store(Options(config));
  HistoricalFeaturesRequest request;
  request.features = {"activity:clicks"};
  request.entity_path = dir_.Join("entities.parquet");
  const auto started = std::chrono::steady_clock::now();
  auto job = store.GetHistoricalFeatures(repo_, request, {});
  ASSERT_FALSE(job.ok());
  EXPECT_THAT(job.status().ToString(), HasSubstr("127.0.0.1:1"));
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(10));
}

TEST_F(SparkStore, MaterializeEqualsDuckDbOnline) {
  auto duck_online = OpenOnline("online_duck");
  auto spark_online = OpenOnline("online_spark");
  ASSERT_TRUE(duck_online.ok() && spark_online.ok());
  // 2024-03-01 03:00 to 2024-03-02 12:00: the window cuts both views' rows.
  const TimestampMicros start = 1'709'262'000'000'000;
  const TimestampMicros end = 1'709'380'800'000'000;
  MaterializeOptions options;
  options.partitions = 3;
  auto duck = DuckDb()->Materialize(repo_, **duck_online, start, end, options);
  ASSERT_TRUE(duck.ok()) << duck.status().ToString();
  auto spark_store = Spark();
  auto spark = spark_store->Materialize(repo_, **spark_online, start, end, options);
  ASSERT_TRUE(spark.ok()) << spark.status().ToString();
  ASSERT_EQ(spark->views.size(), duck->views.size());
  for (size_t v = 0; v < duck->views.size(); ++v) {
    EXPECT_EQ(spark->views[v].rows, duck->views[v].rows) << duck->views[v].view;
    EXPECT_EQ(spark->views[v].newest_event, duck->views[v].newest_event);
  }
  const std::string expected = OnlineRecords(**duck_online, repo_);
  EXPECT_THAT(expected, HasSubstr("activity 8: "));
  EXPECT_EQ(OnlineRecords(**spark_online, repo_), expected);

  // Incremental from the watermarks, which the spark store keeps in its state
  // file: a second run to a later end lands the same as the duckdb store's.
  auto duck_more = DuckDb()->Materialize(repo_, **duck_online, std::nullopt, end + 86'400'000'000,
                                         options);
  auto spark_more = spark_store->Materialize(repo_, **spark_online, std::nullopt,
                                             end + 86'400'000'000, options);
  ASSERT_TRUE(duck_more.ok() && spark_more.ok()) << spark_more.status().ToString();
  EXPECT_EQ(spark_more->views[0].start, end);
  EXPECT_EQ(OnlineRecords(**spark_online, repo_), OnlineRecords(**duck_online, repo_));
}

TEST_F(SparkStore, KilledMaterializationConvergesWhenRerun) {
  const TimestampMicros end = 1'709'380'800'000'000;  // 2024-03-02 12:00
  const std::string online_dir = dir_.Join("online_spark");
  std::string a0 = LARDER_SPARK_MATERIALIZER, a1 = dir_.path(), a2 = server_->remote(),
              a3 = online_dir, a4 = std::to_string(end);
  char* argv[] = {a0.data(), a1.data(), a2.data(), a3.data(), a4.data(), nullptr};
  const pid_t pid = fork();
  if (pid == 0) {
    const int devnull = open("/dev/null", O_WRONLY);
    dup2(devnull, 1);
    execv(a0.c_str(), argv);
    _exit(127);
  }
  ASSERT_GT(pid, 0);
  // Killed once a view's first records landed, before its watermark moved.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (!std::filesystem::exists(dir_.Join("partial_done")) &&
         std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, WNOHANG), 0) << "the materializer ended before the kill";
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(std::filesystem::exists(dir_.Join("partial_done"))) << "no records landed in time";
  auto mark = materialize::ReadWatermark(repo_, "activity");
  ASSERT_TRUE(mark.ok()) << mark.status().ToString();
  EXPECT_FALSE(mark->has_value()) << "the watermark moved although the view had not landed";

  // The rerun, in this process, lands what a clean duckdb run lands.
  auto spark_online = OpenOnline("online_spark");
  auto duck_online = OpenOnline("online_duck");
  ASSERT_TRUE(spark_online.ok() && duck_online.ok());
  const std::string partial = OnlineRecords(**spark_online, repo_);
  auto rerun = Spark()->Materialize(repo_, **spark_online, std::nullopt, end, {});
  ASSERT_TRUE(rerun.ok()) << rerun.status().ToString();
  auto clean = DuckDb()->Materialize(repo_, **duck_online, std::nullopt, end, {});
  ASSERT_TRUE(clean.ok()) << clean.status().ToString();
  const std::string expected = OnlineRecords(**duck_online, repo_);
  EXPECT_NE(partial, expected) << "the kill came after everything had landed";
  EXPECT_EQ(OnlineRecords(**spark_online, repo_), expected);
  mark = materialize::ReadWatermark(repo_, "activity");
  ASSERT_TRUE(mark.ok() && mark->has_value());
  EXPECT_EQ(**mark, end);
}

TEST_F(SparkStore, SourceSchemasComeFromSparkInTheOneVocabulary) {
  auto columns = Spark()->SourceSchema(*repo_.FindDataSource("profile_source"),
                                       dir_.Join("data/profile.parquet"));
  ASSERT_TRUE(columns.ok()) << columns.status().ToString();
  std::string described;
  for (const auto& c : *columns) described += c.name + ":" + c.type + ";";
  // Parquet's timestamps without a zone are Spark's timestamp_ntz.
  EXPECT_EQ(described, "user_id:BIGINT;ts:TIMESTAMP;country:VARCHAR;age:INTEGER;");
}

}  // namespace
}  // namespace larder
