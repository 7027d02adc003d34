// `type: spark` sources (a catalog table, a path with its format, a Spark
// SQL query) through the spark offline store, against a file source over the
// same rows through the duckdb one: the same training data and online
// records, and clear errors for what Spark cannot find.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <map>
#include <string>

#include "larder/offline_store.h"
#include "larder/online_store.h"
#include "larder/repo.h"
#include "offline/duckdb/duckdb_connection.h"
#include "offline/spark/spark_connect_client.h"
#include "offline_stores/duckdb_offline_store.h"
#include "offline_stores/spark_offline_store.h"
#include "support/spark_server.h"
#include "support/test_util.h"

namespace larder {
namespace {

using ::larder::testing::SparkServer;
using ::larder::testing::TempDir;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kEntities[] =
    "entities:\n  - name: user\n    join_keys: [user_id]\n    value_type: Int64\n";

// One view per source, each with the same features and ttl.
std::string Views(const std::vector<std::string>& sources) {
  std::string out = "feature_views:\n";
  for (const std::string& source : sources) {
    out += "  - name: v_" + source + "\n    entities: [user]\n    source: " + source +
           "\n    ttl: 3h\n    schema:\n      - {name: score, dtype: Float64}\n"
           "      - {name: note, dtype: String}\n";
  }
  return out;
}

// Rows of the file: ten users over a day, ties and NULLs included.
void WriteEvents(const std::string& path) {
  auto conn = duckdb::Connection::Open(":memory:");
  ASSERT_TRUE(conn.ok()) << conn.status().ToString();
  ASSERT_TRUE((*conn)->Execute(
      "COPY (SELECT (i % 10)::BIGINT AS user_id,"
      " TIMESTAMPTZ '2024-05-01 00:00:00+00' + to_minutes((i * 17) % 1440) AS ts,"
      " CASE WHEN i % 11 = 0 THEN NULL ELSE (i % 7) / 2.0 END AS score, 'n' || (i % 4) AS note"
      " FROM range(600) t(i)) TO '" + path + "' (FORMAT parquet)", "events").ok());
}

class SparkSources : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string error;
    server_ = SparkServer::Shared(&error);
    ASSERT_NE(server_, nullptr) << error;
    // Each test has a database of its own: the tests of a ctest run share
    // one server and run at once.
    database_ = "larder_sources_" +
                std::filesystem::path(dir_.path()).filename().string().substr(12);
    for (char& c : database_) c = std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
    std::filesystem::create_directories(dir_.Join("duck/data"));
    WriteEvents(dir_.Join("duck/data/events.parquet"));
    offline::spark::SparkConnectOptions connect;
    connect.remote = server_->remote();
    auto client = offline::spark::SparkConnectClient::Connect(connect);
    ASSERT_TRUE(client.ok()) << client.status().ToString();
    client_ = std::move(client).value();
    Status created = client_->ExecuteCommand("CREATE DATABASE " + database_);
    ASSERT_TRUE(created.ok()) << created.ToString();
    created = client_->ExecuteCommand("CREATE TABLE " + database_ +
                                      ".events USING parquet AS SELECT * FROM parquet.`" +
                                      dir_.Join("duck/data/events.parquet") + "`");
    ASSERT_TRUE(created.ok()) << created.ToString();

    dir_.Write("duck/feature_store.yaml", "project: sources\n");
    dir_.Write("duck/entities.yaml", kEntities);
    dir_.Write("duck/sources.yaml",
               "data_sources:\n  - {name: events, type: file, path: data/events.parquet, "
               "timestamp_field: ts}\n");
    dir_.Write("duck/views.yaml", Views({"events"}));

    dir_.Write("spark/feature_store.yaml", "project: sources\noffline_store:\n  type: spark\n"
                                           "  remote: " + server_->remote() + "\n");
    dir_.Write("spark/entities.yaml", kEntities);
    dir_.Write("spark/sources.yaml",
               "data_sources:\n"
               "  - {name: by_table, type: spark, table: " + database_ + ".events, "
               "timestamp_field: ts}\n"
               "  - {name: by_path, type: spark, path: ../duck/data/events.parquet, "
               "file_format: parquet, timestamp_field: ts}\n"
               "  - {name: by_query, type: spark, timestamp_field: ts, query: 'SELECT user_id, "
               "ts, score, note FROM " + database_ + ".events'}\n");
    dir_.Write("spark/views.yaml", Views({"by_table", "by_path", "by_query"}));
    entities_ = dir_.Join("entities.parquet");
    auto conn = duckdb::Connection::Open(":memory:");
    ASSERT_TRUE(conn.ok());
    ASSERT_TRUE((*conn)->Execute(
        "COPY (SELECT (i % 12)::BIGINT AS user_id, TIMESTAMPTZ '2024-05-01 00:00:00+00' +"
        " to_minutes(i * 7) AS event_timestamp FROM range(200) t(i)) TO '" + entities_ +
        "' (FORMAT parquet)", "entities").ok());
  }

  void TearDown() override {
    if (client_ != nullptr) {
      (void)client_->ExecuteCommand("DROP DATABASE IF EXISTS " + database_ + " CASCADE");
    }
  }

  Result<FeatureRepo> Load(const std::string& name) {
    LARDER_ASSIGN_OR_RETURN(FeatureRepo repo, LoadFeatureRepo(dir_.Join(name)));
    repo.root = dir_.Join(name);
    return repo;
  }
  std::unique_ptr<OfflineStore> Store(const FeatureRepo& repo) {
    OfflineStoreOptions o;
    o.config = repo.config.offline_store;
    o.repo_root = repo.root;
    o.project = repo.config.project;
    if (o.config.type == "spark") return std::make_unique<offline_stores::SparkOfflineStore>(o);
    o.config.options["path"] = repo.root + "/data/offline.duckdb";
    return std::make_unique<offline_stores::DuckDbOfflineStore>(o);
  }

  // The training data of `view`'s features as text rows.
  std::string Train(const FeatureRepo& repo, const std::string& view) {
    HistoricalFeaturesRequest request;
    request.entity_path = entities_;
    request.features = {view + ":score", view + ":note"};
    auto job = Store(repo)->GetHistoricalFeatures(repo, request, {});
    if (!job.ok()) return job.status().ToString();
    const std::string out = dir_.Join(view + ".csv");
    auto rows = (*job)->WriteToFile(out);
    if (!rows.ok()) return rows.status().ToString();
    return ::larder::testing::ReadFileText(out);
  }

  SparkServer* server_ = nullptr;
  std::unique_ptr<offline::spark::SparkConnectClient> client_;
  std::string database_;
  std::string entities_;
  TempDir dir_;
};

TEST_F(SparkSources, TablePathAndQueryEqualTheFileOnDuckDb) {
  auto duck = Load("duck");
  ASSERT_TRUE(duck.ok()) << duck.status().ToString();
  auto spark = Load("spark");
  ASSERT_TRUE(spark.ok()) << spark.status().ToString();
  const std::string expected = Train(*duck, "v_events");
  ASSERT_THAT(expected, HasSubstr("user_id,event_timestamp,score,note\n"));
  ASSERT_GT(std::count(expected.begin(), expected.end(), '\n'), 200);
  for (const char* view : {"v_by_table", "v_by_path", "v_by_query"}) {
    EXPECT_EQ(Train(*spark, view), expected) << view;
  }
}

TEST_F(SparkSources, MaterializedFromATableEqualsTheFileOnDuckDb) {
  auto duck = Load("duck");
  auto spark = Load("spark");
  ASSERT_TRUE(duck.ok() && spark.ok());
  auto open = [&](const FeatureRepo& repo) {
    OnlineStoreOptions o;
    o.config = {"rocksdb", {{"path", repo.root + "/online"}}};
    o.project = "sources";
    o.repo_root = repo.root;
    return OnlineStore::Open(o);
  };
  auto duck_online = open(*duck);
  auto spark_online = open(*spark);
  ASSERT_TRUE(duck_online.ok() && spark_online.ok());
  const TimestampMicros end = 1'714'600'000'000'000;  // 2024-05-01T21:46:40Z
  MaterializeOptions only;
  only.views = {"v_events"};
  auto d = Store(*duck)->Materialize(*duck, **duck_online, std::nullopt, end, only);
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  only.views = {"v_by_table"};
  auto s = Store(*spark)->Materialize(*spark, **spark_online, std::nullopt, end, only);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  auto records = [](OnlineStore& store, const FeatureRepo& repo, const std::string& view) {
    std::vector<EntityKey> keys;
    for (int64_t u = 0; u < 12; ++u) keys.push_back({{"user_id"}, {Value::Int64(u)}});
    std::vector<OnlineReadResult> rows;
    Status st = store.MultiGet(OnlineView::FromFeatureView(*repo.FindFeatureView(view)), keys,
                               &rows);
    if (!st.ok()) return st.ToString();
    std::string out;
    for (const OnlineReadResult& row : rows) {
      out += row.state == OnlineRecordState::kFound ? std::to_string(row.event_timestamp) : "-";
      for (const Value& v : row.values) out += " " + v.DebugString();
      out += "\n";
    }
    return out;
  };
  const std::string expected = records(**duck_online, *duck, "v_events");
  ASSERT_THAT(expected, HasSubstr("1714"));
  EXPECT_EQ(records(**spark_online, *spark, "v_by_table"), expected);
}

TEST_F(SparkSources, SchemasComeFromSparksCatalog) {
  auto spark = Load("spark");
  ASSERT_TRUE(spark.ok());
  auto store = Store(*spark);
  auto columns = store->SourceSchema(*spark->FindDataSource("by_table"), "");
  ASSERT_TRUE(columns.ok()) << columns.status().ToString();
  std::map<std::string, std::string> types;
  for (const ColumnInfo& c : *columns) types[c.name] = c.type;
  EXPECT_EQ(types, (std::map<std::string, std::string>{{"user_id", "BIGINT"},
                                                       {"ts", "TIMESTAMP WITH TIME ZONE"},
                                                       {"score", "DOUBLE"},
                                                       {"note", "VARCHAR"}}));
}

TEST_F(SparkSources, MissingOrHostileTablesAreNamed) {
  auto spark = Load("spark");
  ASSERT_TRUE(spark.ok());
  DataSource missing = *spark->FindDataSource("by_table");
  missing.table = database_ + ".nothing";
  auto store = Store(*spark);
  Status st = store->SourceSchema(missing, "").status();
  EXPECT_THAT(st.ToString(), HasSubstr("spark source 'by_table'"));
  EXPECT_THAT(st.ToString(), HasSubstr("TABLE_OR_VIEW_NOT_FOUND"));
  EXPECT_THAT(st.ToString(), Not(HasSubstr("+- ")));  // no logical plan
  // A name that would end the SQL if it were not quoted is only a name.
  DataSource hostile = missing;
  hostile.table = database_ + ".x` UNION SELECT 1 --";
  st = store->SourceSchema(hostile, "").status();
  EXPECT_THAT(st.ToString(), HasSubstr("TABLE_OR_VIEW_NOT_FOUND"));
  // The table survives.
  EXPECT_TRUE(store->SourceSchema(*spark->FindDataSource("by_table"), "").ok());
}

}  // namespace
}  // namespace larder
