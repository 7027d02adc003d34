// SQL models and data tests on the spark offline store against the duckdb
// one, row for row: the same repo through both, run twice (the second time
// with late and updated rows), then training data and materialization of a
// view over a model's table.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "larder/offline_store.h"
#include "larder/online_store.h"
#include "larder/repo.h"
#include "offline/duckdb/duckdb_connection.h"
#include "offline/spark/spark_connect_client.h"
#include "offline/spark/spark_rows.h"
#include "offline_stores/duckdb_offline_store.h"
#include "offline_stores/spark_offline_store.h"
#include "support/spark_server.h"
#include "support/store_comparison.h"
#include "support/test_util.h"

namespace larder {
namespace {

using ::larder::testing::SparkServer;
using ::larder::testing::TempDir;
using ::testing::HasSubstr;
using ::testing::Not;

const std::string kBase = "TIMESTAMP '2024-03-01 00:00:00'";

// 1,500 events of 40 users over three days (2024-03-01 to 03-03), with NULL
// tags, a NULL user (inside the last day, so that the merge's lookback
// re-reads it), and a row without a time.
std::string FirstEvents() {
  return "SELECT (i % 40)::BIGINT AS user_id, " + kBase +
         " + to_hours(i % 72) AS ts,"
         " (i * 7 % 50)::BIGINT AS clicks,"
         " CASE WHEN i % 11 = 0 THEN NULL ELSE 't' || (i % 5) END AS tag FROM range(1500) t(i)"
         " UNION ALL SELECT NULL, TIMESTAMP '2024-03-03 20:00:00', 5, 't1'"
         " UNION ALL SELECT 3, NULL, 1, 't0'";
}

// The first events, plus late rows inside the lookback (03-02, which updates
// merged days), a late row before it (03-01, which no incremental run
// re-reads), another NULL user on 03-03 and a new day, 03-04.
std::string SecondEvents() {
  return FirstEvents() +
         " UNION ALL SELECT (i % 7)::BIGINT, TIMESTAMP '2024-03-02 10:00:00', 100 + i, 't9'"
         " FROM range(20) t(i)"
         " UNION ALL SELECT 1, TIMESTAMP '2024-03-01 05:00:00', 1000, 't0'"
         " UNION ALL SELECT NULL, TIMESTAMP '2024-03-03 21:00:00', 7, 't2'"
         " UNION ALL SELECT (i % 45)::BIGINT, TIMESTAMP '2024-03-04 00:00:00' + to_minutes(i * 13),"
         " i % 9, 't' || (i % 3) FROM range(300) t(i)";
}

void CopyToParquet(const std::string& query, const std::string& path) {
  auto conn = duckdb::Connection::Open(":memory:");
  ASSERT_TRUE(conn.ok()) << conn.status().ToString();
  Status st = (*conn)->Execute("COPY (" + query + ") TO '" + path + "' (FORMAT parquet)", "copy");
  ASSERT_TRUE(st.ok()) << st.ToString();
}

// A view over a file source, a table, a ref chain, an incremental append,
// an incremental merge with a lookback whose table a feature view reads,
// and data tests of every kind.
void WriteRepo(const TempDir& dir) {
  dir.Write("feature_store.yaml", "project: sparkmodels\n");
  dir.Write("entities.yaml",
            "entities:\n  - name: user\n    join_keys: [user_id]\n"
            "    value_type: Int64\n");
  dir.Write("data_sources.yaml",
            "data_sources:\n"
            "  - name: events_source\n    type: file\n    path: data/events.parquet\n"
            "    timestamp_field: ts\n"
            "  - name: users_source\n    type: file\n    path: data/users.parquet\n"
            "    timestamp_field: signup\n"
            "  - name: daily_source\n    type: model\n    model: user_daily\n"
            "    timestamp_field: day\n    field_mapping: {n: events}\n");
  dir.Write("feature_views.yaml",
            "feature_views:\n"
            "  - name: daily\n    entities: [user]\n    source: daily_source\n"
            "    schema:\n      - {name: clicks, dtype: Int64}\n"
            "      - {name: events, dtype: Int64}\n");
  dir.Write("models/clean_events.sql",
            "{{ config(materialized='view') }}\n"
            "SELECT user_id, ts, clicks, tag FROM {{ source('events_source') }}\n"
            "WHERE ts IS NOT NULL\n");
  dir.Write("models/user_totals.sql",
            "SELECT user_id, count(*) AS n, CAST(sum(clicks) AS BIGINT) AS clicks\n"
            "FROM {{ ref('clean_events') }} GROUP BY user_id\n");
  dir.Write("models/user_totals_x2.sql",
            "SELECT user_id, clicks * 2 AS clicks2 FROM {{ ref('user_totals') }}\n");
  dir.Write("models/events_log.sql",
            "{{ config(materialized='incremental') }}\n"
            "SELECT user_id, ts, clicks FROM {{ ref('clean_events') }}\n"
            "{% if is_incremental() %}WHERE ts > (SELECT max(ts) FROM {{ this }}){% endif %}\n");
  dir.Write("models/user_daily.sql",
            "{{ config(materialized='incremental', unique_key=['user_id', 'day'],\n"
            "          event_time='day', lookback='1d') }}\n"
            "SELECT user_id, CAST(ts AS DATE) AS day, CAST(sum(clicks) AS BIGINT) AS clicks,\n"
            "       count(*) AS n\n"
            "FROM {{ ref('clean_events') }}\n"
            "{% if is_incremental() %}WHERE ts >= {{ incremental_lower_bound() }}{% endif %}\n"
            "GROUP BY user_id, CAST(ts AS DATE)\n");
  dir.Write("models/models.yaml",
            "models:\n"
            "  - name: clean_events\n    columns:\n"
            "      - name: tag\n"
            "        tests: [not_null, {accepted_values: {values: ['t0', 't1', \"it's\"]}}]\n"
            "      - name: user_id\n"
            "        tests: [{relationships: {to: users_source, field: user_id}}]\n"
            "  - name: user_totals\n    columns:\n"
            "      - name: user_id\n"
            "        tests: [unique, {relationships: {to: user_daily, field: user_id}}]\n"
            "      - name: clicks\n"
            "        tests: [{accepted_range: {min_value: 900, max_value: 1000}}]\n"
            "  - name: events_log\n    columns:\n"
            "      - name: user_id\n        tests: [unique]\n"
            "    tests:\n"
            "      - freshness: {column: ts, max_age: 1d}\n"
            "      - freshness: {column: ts, max_age: 30d}\n");
  std::filesystem::create_directories(dir.Join("data"));
  CopyToParquet(FirstEvents(), dir.Join("data/events.parquet"));
  CopyToParquet("SELECT i::BIGINT AS user_id, " + kBase + " AS signup FROM range(35) t(i)",
                dir.Join("data/users.parquet"));
  CopyToParquet("SELECT (i % 50)::BIGINT AS user_id, " + kBase +
                    " + to_minutes(i * 47 % 8000) AS event_timestamp FROM range(400) t(i)",
                dir.Join("entities.parquet"));
}

const std::vector<std::string> kModels = {"clean_events", "user_totals", "user_totals_x2",
                                          "events_log", "user_daily"};

// Rows as text lines, sorted, after a header of the columns and their types.
std::string Describe(const duckdb::QueryResult& r) {
  std::string header;
  for (size_t c = 0; c < r.column_names.size(); ++c) {
    header += r.column_names[c] + ":" + r.column_types[c] + " ";
  }
  std::vector<std::string> lines;
  for (const auto& row : r.rows) {
    std::string line;
    for (const auto& v : row) line += (v ? *v : std::string("NULL")) + "|";
    lines.push_back(line);
  }
  std::sort(lines.begin(), lines.end());
  std::string out = header + "\n";
  for (const auto& l : lines) out += l + "\n";
  return out;
}

class SparkModels : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string error;
    server_ = SparkServer::Shared(&error);
    ASSERT_NE(server_, nullptr) << error;
    // Tests share the server's catalog: each has a database of its own.
    database_ = "sm_" + std::to_string(getpid()) + "_" +
                ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::transform(database_.begin(), database_.end(), database_.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    WriteRepo(dir_);
    Reload();
    auto client = Connect();
    ASSERT_TRUE(client.ok()) << client.status().ToString();
    client_ = std::move(client).value();
  }

  Result<std::unique_ptr<offline::spark::SparkConnectClient>> Connect() const {
    offline::spark::SparkConnectOptions connect;
    connect.remote = server_->remote();
    connect.conf = {{"spark.sql.session.timeZone", "UTC"}};
    return offline::spark::SparkConnectClient::Connect(connect);
  }

  void Reload() {
    auto repo = LoadFeatureRepo(dir_.path());
    ASSERT_TRUE(repo.ok()) << repo.status().ToString();
    repo_ = std::move(repo).value();
    repo_.root = dir_.path();
  }

  OfflineStoreOptions Options(StoreConfig config) const {
    return ::larder::testing::StoreOptions(dir_.path(), "sparkmodels", std::move(config));
  }
  std::unique_ptr<OfflineStore> Spark(const std::string& database = "") const {
    StoreConfig config{
        "spark",
        {{"remote", server_->remote()}, {"database", database.empty() ? database_ : database}}};
    return std::make_unique<offline_stores::SparkOfflineStore>(Options(config));
  }
  std::unique_ptr<OfflineStore> DuckDb() const {
    return std::make_unique<offline_stores::DuckDbOfflineStore>(
        Options({"duckdb", {{"path", dir_.Join("offline.duckdb")}}}));
  }
  Result<std::unique_ptr<OnlineStore>> OpenOnline(const std::string& relative) const {
    return ::larder::testing::RocksDbStore(dir_.path(), "sparkmodels", dir_.Join(relative));
  }

  // Model `model`'s rows in the duckdb store.
  std::string DuckRows(const std::string& model) const {
    auto conn = duckdb::Connection::Open(dir_.Join("offline.duckdb"));
    if (!conn.ok()) return conn.status().ToString();
    auto r = (*conn)->Query("SELECT * FROM " + duckdb::QuoteIdentifier(model), "duck rows");
    return r.ok() ? Describe(*r) : r.status().ToString();
  }
  // Model `model`'s rows in the spark store's database, read in a session
  // that has not read them before: a session that read a table keeps its
  // listing of the table's files.
  std::string SparkRows(const std::string& model) const {
    auto client = Connect();
    if (!client.ok()) return client.status().ToString();
    auto r = offline::spark::SparkRows(
        **client, "SELECT * FROM `" + database_ + "`.`" + model + "`", "spark rows");
    return r.ok() ? Describe(*r) : r.status().ToString();
  }

  // What each store's run reports, model by model.
  static std::string Summary(const RunReport& report) {
    std::string out;
    for (const auto& m : report.models) {
      out += m.model + " " + m.materialization + " " + m.action +
             " rows=" + std::to_string(m.rows) + " in=" + std::to_string(m.rows_inserted) +
             " del=" + std::to_string(m.rows_deleted) + "\n";
    }
    return out;
  }

  // Runs every model on both stores and compares what they report and
  // every model's rows; returns the duckdb store's report.
  std::string RunBothAndCompare(const std::string& round) {
    auto duck = DuckDb()->RunModels(repo_, {});
    EXPECT_TRUE(duck.ok()) << duck.status().ToString();
    auto spark = Spark()->RunModels(repo_, {});
    EXPECT_TRUE(spark.ok()) << spark.status().ToString();
    if (!duck.ok() || !spark.ok()) return "";
    EXPECT_EQ(Summary(*spark), Summary(*duck)) << round;
    for (const auto& model : kModels) {
      const std::string expected = DuckRows(model);
      EXPECT_THAT(expected, HasSubstr("|\n")) << round << " " << model;
      EXPECT_EQ(SparkRows(model), expected) << round << " " << model;
    }
    return Summary(*duck);
  }

  std::string Train(OfflineStore& store, const std::string& out) {
    HistoricalFeaturesRequest request;
    request.entity_path = dir_.Join("entities.parquet");
    request.features = {"daily:clicks", "daily:events"};
    auto job = store.GetHistoricalFeatures(repo_, request, {});
    if (!job.ok()) return job.status().ToString();
    auto rows = (*job)->WriteToFile(dir_.Join(out));
    if (!rows.ok()) return rows.status().ToString();
    auto conn = duckdb::Connection::Open(":memory:");
    auto r = (*conn)->Query("SELECT * FROM read_parquet('" + dir_.Join(out) + "')", "train");
    return r.ok() ? Describe(*r) : r.status().ToString();
  }

  SparkServer* server_ = nullptr;
  TempDir dir_;
  FeatureRepo repo_;
  std::string database_;
  std::unique_ptr<offline::spark::SparkConnectClient> client_;
};

// Every model kind, twice: the second run appends, merges late and updated
// rows inside the lookback (a NULL key among them) and rebuilds the rest.
TEST_F(SparkModels, EqualDuckDbRowForRow) {
  EXPECT_THAT(RunBothAndCompare("first run"), HasSubstr("user_daily incremental created"));
  CopyToParquet(SecondEvents(), dir_.Join("data/events.parquet"));
  const std::string second = RunBothAndCompare("second run");
  // The second run appended and merged, replacing re-read days.
  EXPECT_THAT(second, HasSubstr("events_log incremental appended rows="));
  EXPECT_THAT(second, HasSubstr("user_daily incremental merged"));
  EXPECT_THAT(second, Not(HasSubstr("del=0\n")));
  // A full refresh builds the incremental models anew, on both.
  RunOptions full;
  full.full_refresh = true;
  full.select = {"user_daily", "events_log"};
  auto duck_full = DuckDb()->RunModels(repo_, full);
  auto spark_full = Spark()->RunModels(repo_, full);
  ASSERT_TRUE(duck_full.ok() && spark_full.ok()) << spark_full.status().ToString();
  EXPECT_EQ(Summary(*spark_full), Summary(*duck_full));
  EXPECT_EQ(SparkRows("user_daily"), DuckRows("user_daily"));
}

// A view over a model's table: the same training data and online records.
TEST_F(SparkModels, ModelSourcedViewTrainsAndMaterializesEqually) {
  ASSERT_TRUE(DuckDb()->RunModels(repo_, {}).ok());
  auto spark_run = Spark()->RunModels(repo_, {});
  ASSERT_TRUE(spark_run.ok()) << spark_run.status().ToString();
  const std::string duck = Train(*DuckDb(), "duck.parquet");
  ASSERT_THAT(duck, HasSubstr("|\n"));
  EXPECT_THAT(duck, HasSubstr("\n0|2024-03-01 07:30:00+00|260|13|\n"));  // features found
  EXPECT_EQ(Train(*Spark(), "spark.parquet"), duck);

  auto duck_online = OpenOnline("online_duck");
  auto spark_online = OpenOnline("online_spark");
  ASSERT_TRUE(duck_online.ok() && spark_online.ok());
  const TimestampMicros end = 1'709'596'800'000'000;  // 2024-03-05
  auto d = DuckDb()->Materialize(repo_, **duck_online, std::nullopt, end, {});
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  auto s = Spark()->Materialize(repo_, **spark_online, std::nullopt, end, {});
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  const OnlineView view = OnlineView::FromFeatureView(*repo_.FindFeatureView("daily"));
  std::vector<EntityKey> keys;
  for (int64_t u = 0; u < 45; ++u) keys.push_back({{"user_id"}, {Value::Int64(u)}});
  auto records = [&](OnlineStore& store) {
    std::vector<OnlineReadResult> rows;
    Status st = store.MultiGet(view, keys, &rows);
    if (!st.ok()) return st.ToString();
    std::string out;
    for (const auto& r : rows) {
      out += r.state != OnlineRecordState::kFound ? "-" : std::to_string(r.event_timestamp);
      for (const Value& v : r.values) out += " " + v.DebugString();
      out += "\n";
    }
    return out;
  };
  const std::string expected = records(**duck_online);
  EXPECT_THAT(expected, HasSubstr("1709424000000000 "));  // 2024-03-03, the last day
  EXPECT_EQ(records(**spark_online), expected);
}

// Data tests of every kind give the same failing rows on both stores.
TEST_F(SparkModels, DataTestsFailTheSameRows) {
  TestOptions options;
  options.clock = [] { return TimestampMicros{1'709'640'000'000'000}; };  // 2024-03-05 12:00
  auto before = Spark()->TestModels(repo_, options);
  ASSERT_TRUE(before.ok()) << before.status().ToString();
  ASSERT_FALSE(before->results.empty());
  EXPECT_THAT(before->results[0].error, HasSubstr("has not been built"));

  ASSERT_TRUE(DuckDb()->RunModels(repo_, {}).ok());
  ASSERT_TRUE(Spark()->RunModels(repo_, {}).ok());
  auto duck = DuckDb()->TestModels(repo_, options);
  auto spark = Spark()->TestModels(repo_, options);
  ASSERT_TRUE(duck.ok() && spark.ok()) << spark.status().ToString();
  auto text = [](const TestReport& report) {
    std::string out;
    for (const auto& r : report.results) {
      out += r.model + "." + r.column + " " + r.test + " " + std::to_string(r.failing_rows) + " " +
             r.error + "\n";
    }
    return out;
  };
  const std::string expected = text(*duck);
  EXPECT_EQ(text(*spark), expected);
  std::map<std::string, int64_t> failing;
  for (const auto& r : duck->results) {
    EXPECT_EQ(r.error, "") << r.model << "." << r.column << " " << r.test;
    failing[r.test] = std::max(failing[r.test], r.failing_rows);
  }
  for (const char* kind :
       {"not_null", "unique", "accepted_values", "accepted_range", "relationships", "freshness"}) {
    EXPECT_GT(failing[kind], 0) << kind << " never failed, so it compares nothing:\n" << expected;
  }
}

// A model whose SQL Spark refuses names its file and carries Spark's
// message, and leaves the table it had.
TEST_F(SparkModels, SqlErrorNamesTheModelFileAndKeepsTheTable) {
  RunOptions only;
  only.select = {"+user_totals"};
  ASSERT_TRUE(Spark()->RunModels(repo_, only).ok());
  const std::string before = SparkRows("user_totals");
  dir_.Write("models/user_totals.sql", "SELECT no_such_column FROM {{ ref('clean_events') }}\n");
  Reload();
  only.select = {"user_totals"};
  auto run = Spark()->RunModels(repo_, only);
  ASSERT_FALSE(run.ok());
  EXPECT_THAT(run.status().message(), HasSubstr("models/user_totals.sql"));
  EXPECT_THAT(run.status().message(), HasSubstr("UNRESOLVED_COLUMN"));
  EXPECT_THAT(run.status().message(), HasSubstr("no_such_column"));
  EXPECT_EQ(SparkRows("user_totals"), before);

  // A second statement cannot ride along: the model is one query.
  dir_.Write("models/user_totals.sql",
             "SELECT 1 AS user_id; DROP TABLE `" + database_ + "`.`clean_events`\n");
  Reload();
  run = Spark()->RunModels(repo_, only);
  ASSERT_FALSE(run.ok());
  EXPECT_THAT(run.status().message(), HasSubstr("models/user_totals.sql"));
  EXPECT_THAT(SparkRows("clean_events"), HasSubstr("|\n"));
  EXPECT_EQ(SparkRows("user_totals"), before);
}

// A model that names the other engine is refused before any SQL runs.
TEST_F(SparkModels, ModelForTheOtherEngineIsRefused) {
  dir_.Write("models/user_totals_x2.sql",
             "{{ config(engine='duckdb') }}\n"
             "SELECT user_id, clicks * 2 AS clicks2 FROM {{ ref('user_totals') }}\n");
  Reload();
  auto run = Spark()->RunModels(repo_, {});
  ASSERT_FALSE(run.ok());
  EXPECT_THAT(run.status().message(), HasSubstr("models/user_totals_x2.sql"));
  EXPECT_THAT(run.status().message(), HasSubstr("'duckdb'"));
  EXPECT_THAT(run.status().message(), HasSubstr("'spark'"));
  // Nothing ran: not even the database was created.
  auto tables = offline::spark::SparkRows(*client_, "SHOW TABLES IN `" + database_ + "`", "t");
  EXPECT_EQ(tables.status().code(), StatusCode::kNotFound) << tables.status().ToString();
  // The duckdb store runs it; one for spark, it refuses.
  EXPECT_TRUE(DuckDb()->RunModels(repo_, {}).ok());
  dir_.Write("models/user_totals_x2.sql",
             "{{ config(engine='spark') }}\n"
             "SELECT user_id, clicks * 2 AS clicks2 FROM {{ ref('user_totals') }}\n");
  Reload();
  EXPECT_THAT(DuckDb()->RunModels(repo_, {}).status().message(),
              HasSubstr("is written for engine 'spark'"));
  EXPECT_TRUE(Spark()->RunModels(repo_, {}).ok());
}

// Hostile database and model names are quoted: Spark refuses them as names,
// and nothing else runs.
TEST_F(SparkModels, HostileNamesAreQuoted) {
  auto run = Spark("x`; DROP DATABASE default CASCADE; --")->RunModels(repo_, {});
  ASSERT_FALSE(run.ok());
  EXPECT_THAT(run.status().message(), HasSubstr("offline_store.database"));
  EXPECT_THAT(run.status().message(), Not(HasSubstr("PARSE_SYNTAX_ERROR")));
  run = Spark("y; DROP DATABASE default CASCADE; --")->RunModels(repo_, {});
  ASSERT_FALSE(run.ok());
  EXPECT_THAT(run.status().message(), HasSubstr("INVALID_SCHEMA_OR_RELATION_NAME"));

  SqlModel hostile;
  hostile.name = "m`; DROP DATABASE default CASCADE; --";
  hostile.sql = "SELECT 1 AS a";
  repo_.models.push_back(hostile);
  RunOptions only;
  only.select = {hostile.name};
  run = Spark()->RunModels(repo_, only);
  ASSERT_FALSE(run.ok());
  EXPECT_THAT(run.status().message(), Not(HasSubstr("PARSE_SYNTAX_ERROR")));
  auto databases = offline::spark::SparkRows(*client_, "SHOW DATABASES", "databases");
  ASSERT_TRUE(databases.ok()) << databases.status().ToString();
  EXPECT_THAT(Describe(*databases), HasSubstr("\ndefault|\n"));
}

// A run killed between dropping the old table and renaming the build into
// place is finished by the next one.
TEST_F(SparkModels, LeftoverBuildTableIsRecovered) {
  RunOptions only;
  only.select = {"+user_daily"};
  ASSERT_TRUE(Spark()->RunModels(repo_, only).ok());
  const std::string built = SparkRows("user_daily");
  const std::string table = "`" + database_ + "`.`user_daily`";
  ASSERT_TRUE(client_
                  ->ExecuteCommand("ALTER TABLE " + table + " RENAME TO `" + database_ +
                                   "`.`user_daily__larder_build`")
                  .ok());
  only.select = {"user_daily"};
  auto rerun = Spark()->RunModels(repo_, only);
  ASSERT_TRUE(rerun.ok()) << rerun.status().ToString();
  // Recovered as a table, so the run was incremental (it merged).
  ASSERT_EQ(rerun->models.size(), 1u);
  EXPECT_EQ(rerun->models[0].action, "merged");
  EXPECT_EQ(SparkRows("user_daily"), built);
}

}  // namespace
}  // namespace larder
