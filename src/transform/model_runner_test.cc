#include "transform/model_runner.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "support/test_util.h"

namespace larder::transform {
namespace {

using ::larder::testing::TempDir;
using ::testing::HasSubstr;
using ::testing::Not;

class ModelRunnerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    repo_.root = dir_.path();
    auto conn = duckdb::Connection::Open(":memory:");
    ASSERT_TRUE(conn.ok());
    conn_ = std::move(conn).value();
    DataSource events;
    events.name = "events";
    events.path = "events.csv";
    events.file_format = FileFormat::kCsv;
    events.timestamp_field = "ts";
    repo_.data_sources.push_back(events);
  }

  void WriteEvents(const std::string& rows) {
    dir_.Write("events.csv", "id,ts,v\n" + rows);
  }

  void SetModel(const std::string& name, const std::string& sql) {
    for (auto& m : repo_.models) {
      if (m.name == name) {
        m.sql = sql;
        return;
      }
    }
    SqlModel m;
    m.name = name;
    m.sql = sql;
    m.location = {"models/" + name + ".sql", 0};
    repo_.models.push_back(m);
    SortModels();
  }

  void SortModels() {
    std::sort(repo_.models.begin(), repo_.models.end(),
              [](const SqlModel& x, const SqlModel& y) { return x.name < y.name; });
  }

  Result<RunReport> Run(std::vector<std::string> select = {}, bool full_refresh = false) {
    RunOptions options;
    options.select = std::move(select);
    options.full_refresh = full_refresh;
    return RunModels(repo_, *conn_, options);
  }

  // The rows of `sql`, one "a|b|c" string per row.
  std::vector<std::string> Rows(const std::string& sql) {
    Result<duckdb::QueryResult> r = conn_->Query(sql, "test query");
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    std::vector<std::string> out;
    if (!r.ok()) return out;
    for (const auto& row : r->rows) {
      std::string line;
      for (size_t i = 0; i < row.size(); ++i) {
        line += (i ? "|" : "") + (row[i] ? *row[i] : std::string("NULL"));
      }
      out.push_back(line);
    }
    return out;
  }
  std::string Scalar(const std::string& sql) {
    auto rows = Rows(sql);
    return rows.size() == 1 ? rows[0] : "<" + std::to_string(rows.size()) + " rows>";
  }
  std::string KindOf(const std::string& name) {
    return Scalar("SELECT coalesce(max(table_type), 'none') FROM information_schema.tables "
                  "WHERE table_name = '" + name + "'");
  }

  TempDir dir_;
  FeatureRepo repo_;
  std::unique_ptr<duckdb::Connection> conn_;
};

TEST_F(ModelRunnerTest, BuildsViewsAndTablesInOrder) {
  WriteEvents("1,2024-01-01 00:00:00,10\n2,2024-01-02 00:00:00,20\n3,2024-01-03 00:00:00,30\n");
  SetModel("totals", "SELECT count(*) AS n, sum(v) AS s FROM {{ ref('clean') }}");
  SetModel("clean", "{{ config(materialized='view') }}\nSELECT id, v FROM {{ source('events') }}");
  Result<RunReport> report = Run();
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  ASSERT_EQ(report->models.size(), 2u);
  EXPECT_EQ(report->models[0].model, "clean");
  EXPECT_EQ(report->models[0].materialization, "view");
  EXPECT_EQ(report->models[0].rows, -1);
  EXPECT_EQ(report->models[1].model, "totals");
  EXPECT_EQ(report->models[1].rows, 1);
  EXPECT_EQ(KindOf("clean"), "VIEW");
  EXPECT_EQ(KindOf("totals"), "BASE TABLE");
  EXPECT_EQ(Scalar("SELECT n, s FROM totals"), "3|60");

  // A second run replaces the table with the new input's result.
  WriteEvents("1,2024-01-01 00:00:00,10\n2,2024-01-02 00:00:00,20\n3,2024-01-03 00:00:00,30\n"
              "4,2024-01-04 00:00:00,40\n");
  ASSERT_TRUE(Run().ok());
  EXPECT_EQ(Scalar("SELECT n, s FROM totals"), "4|100");
}

TEST_F(ModelRunnerTest, FailedTableBuildLeavesTheOldTable) {
  WriteEvents("1,2024-01-01 00:00:00,10\n");
  SetModel("t", "SELECT id, v FROM {{ source('events') }}");
  ASSERT_TRUE(Run().ok());
  SetModel("t", "SELECT id, CAST('not a number' AS INTEGER) AS v FROM {{ source('events') }}");
  Result<RunReport> report = Run();
  ASSERT_FALSE(report.ok());
  EXPECT_THAT(report.status().message(), HasSubstr("model t (models/t.sql)"));
  EXPECT_EQ(Scalar("SELECT id, v FROM t"), "1|10");
  EXPECT_EQ(KindOf("t__larder_build"), "none");
}

TEST_F(ModelRunnerTest, SwitchesBetweenViewAndTable) {
  WriteEvents("1,2024-01-01 00:00:00,10\n");
  SetModel("m", "{{ config(materialized='view') }}SELECT id FROM {{ source('events') }}");
  ASSERT_TRUE(Run().ok());
  EXPECT_EQ(KindOf("m"), "VIEW");
  SetModel("m", "{{ config(materialized='table') }}SELECT id FROM {{ source('events') }}");
  ASSERT_TRUE(Run().ok());
  EXPECT_EQ(KindOf("m"), "BASE TABLE");
  SetModel("m", "{{ config(materialized='view') }}SELECT id FROM {{ source('events') }}");
  ASSERT_TRUE(Run().ok());
  EXPECT_EQ(KindOf("m"), "VIEW");
  EXPECT_EQ(Scalar("SELECT id FROM m"), "1");
}

TEST_F(ModelRunnerTest, SelectBuildsOnlyChosenModels) {
  WriteEvents("1,2024-01-01 00:00:00,10\n");
  SetModel("a", "SELECT id FROM {{ source('events') }}");
  SetModel("b", "SELECT id FROM {{ ref('a') }}");
  Result<RunReport> report = Run({"b"});
  ASSERT_FALSE(report.ok());  // a was never built, and b alone does not build it
  EXPECT_THAT(report.status().message(), HasSubstr("model b"));
  report = Run({"+b"});
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(report->models.size(), 2u);
  report = Run({"b"});
  ASSERT_TRUE(report.ok());
  ASSERT_EQ(report->models.size(), 1u);
  EXPECT_EQ(report->models[0].model, "b");
}

TEST_F(ModelRunnerTest, IncrementalAppendAddsOnlyNewRows) {
  WriteEvents("1,2024-01-01 00:00:00,10\n2,2024-01-02 00:00:00,20\n");
  SetModel("inc",
           "{{ config(materialized='incremental') }}\n"
           "SELECT id, ts, v FROM {{ source('events') }}\n"
           "{% if is_incremental() %}WHERE ts > (SELECT max(ts) FROM {{ this }}){% endif %}");
  Result<RunReport> report = Run();
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(report->models[0].action, "created");
  EXPECT_EQ(report->models[0].rows, 2);

  WriteEvents("1,2024-01-01 00:00:00,10\n2,2024-01-02 00:00:00,20\n3,2024-01-03 00:00:00,30\n");
  report = Run();
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(report->models[0].action, "appended");
  EXPECT_EQ(report->models[0].rows_inserted, 1);
  EXPECT_EQ(report->models[0].rows, 3);

  report = Run();
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->models[0].rows_inserted, 0);
  EXPECT_EQ(Scalar("SELECT count(*), count(DISTINCT id) FROM inc"), "3|3");

  // A new column cannot be appended to the old table; --full-refresh can.
  SetModel("inc", "{{ config(materialized='incremental') }}\n"
                  "SELECT id, ts, v, v * 2 AS w FROM {{ source('events') }}");
  report = Run();
  ASSERT_FALSE(report.ok());
  EXPECT_THAT(report.status().message(), HasSubstr("--full-refresh"));
  EXPECT_EQ(Scalar("SELECT count(*) FROM inc"), "3");
  report = Run({}, /*full_refresh=*/true);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(Scalar("SELECT sum(w) FROM inc"), "120");
}

TEST_F(ModelRunnerTest, IncrementalMergeReplacesMatchingKeys) {
  WriteEvents("1,2024-01-01 00:00:00,10\n2,2024-01-02 00:00:00,20\n");
  SetModel("m",
           "{{ config(materialized='incremental', unique_key='id') }}\n"
           "SELECT id, ts, v FROM {{ source('events') }}");
  ASSERT_TRUE(Run().ok());
  // Every run re-reads everything; merge keeps one row per id, the newest.
  WriteEvents("1,2024-01-01 00:00:00,11\n2,2024-01-02 00:00:00,20\n3,2024-01-03 00:00:00,30\n");
  Result<RunReport> report = Run();
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(report->models[0].action, "merged");
  EXPECT_EQ(report->models[0].rows_inserted, 3);
  EXPECT_EQ(report->models[0].rows_deleted, 2);
  EXPECT_EQ(report->models[0].rows, 3);
  EXPECT_EQ(Rows("SELECT id, v FROM m ORDER BY id"),
            (std::vector<std::string>{"1|11", "2|20", "3|30"}));
}

TEST_F(ModelRunnerTest, MergeOnCompositeKey) {
  WriteEvents("1,2024-01-01 00:00:00,10\n1,2024-01-02 00:00:00,20\n");
  SetModel("m",
           "{{ config(materialized='incremental', unique_key=['id', 'ts']) }}\n"
           "SELECT id, ts, v FROM {{ source('events') }}");
  ASSERT_TRUE(Run().ok());
  WriteEvents("1,2024-01-02 00:00:00,21\n1,2024-01-03 00:00:00,30\n");
  ASSERT_TRUE(Run().ok());
  EXPECT_EQ(Rows("SELECT v FROM m ORDER BY ts"), (std::vector<std::string>{"10", "21", "30"}));
}

TEST_F(ModelRunnerTest, LookbackTakesInLateRowsWithoutDuplicates) {
  WriteEvents("1,2024-01-01 00:00:00,10\n2,2024-01-05 00:00:00,20\n");
  SetModel("m",
           "{{ config(materialized='incremental', unique_key='id', event_time='ts', "
           "lookback='2d') }}\n"
           "SELECT id, ts, v FROM {{ source('events') }}\n"
           "{% if is_incremental() %}WHERE ts > {{ incremental_lower_bound() }}{% endif %}");
  ASSERT_TRUE(Run().ok());
  // Row 3 arrives late, stamped a day before the newest row already built:
  // inside the 2-day lookback, so it is taken in; row 2 is re-read and
  // merged, not duplicated. Row 4 is older than the lookback and is not.
  WriteEvents("1,2024-01-01 00:00:00,10\n2,2024-01-05 00:00:00,20\n"
              "3,2024-01-04 00:00:00,30\n4,2024-01-02 00:00:00,40\n");
  Result<RunReport> report = Run();
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(report->models[0].rows_inserted, 2);  // rows 2 and 3
  EXPECT_EQ(report->models[0].rows_deleted, 1);   // row 2's old copy
  EXPECT_EQ(Rows("SELECT id FROM m ORDER BY id"), (std::vector<std::string>{"1", "2", "3"}));

  // --full-refresh rebuilds from all input, row 4 included.
  report = Run({}, /*full_refresh=*/true);
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->models[0].action, "created");
  EXPECT_EQ(Rows("SELECT id FROM m ORDER BY id"),
            (std::vector<std::string>{"1", "2", "3", "4"}));
}

TEST_F(ModelRunnerTest, ChecksTheOutputAgainstModelSourcesAndViews) {
  WriteEvents("1,2024-01-01 00:00:00,10\n");
  SetModel("m", "SELECT id AS user_id, v FROM {{ source('events') }}");
  DataSource ms;
  ms.name = "m_source";
  ms.kind = DataSourceKind::kModel;
  ms.model = "m";
  ms.timestamp_field = "ts";
  ms.field_mapping = {{"v", "value"}};
  ms.location = {"sources.yaml", 7};
  repo_.data_sources.push_back(ms);
  Entity user;
  user.name = "user";
  user.join_keys = {"user_id"};
  repo_.entities.push_back(user);
  FeatureView view;
  view.name = "stats";
  view.entities = {"user"};
  view.source = "m_source";
  view.schema = {Field{"value", {}, "", {}, {}}, Field{"other", {}, "", {}, {}}};
  repo_.feature_views.push_back(view);
  Result<RunReport> report = Run();
  ASSERT_FALSE(report.ok());
  const std::string msg = report.status().message();
  EXPECT_THAT(msg, HasSubstr("model m was built, but its output (columns: user_id, v)"));
  EXPECT_THAT(msg, HasSubstr("data source 'm_source' (sources.yaml:7) needs column `ts` "
                             "(its timestamp)"));
  EXPECT_THAT(msg, HasSubstr("needs column `other` (feature of feature view 'stats')"));
  EXPECT_THAT(msg, Not(HasSubstr("`value`")));    // mapped from v
  EXPECT_THAT(msg, Not(HasSubstr("`user_id`")));  // present

  SetModel("m", "SELECT id AS user_id, v, ts, 1 AS other FROM {{ source('events') }}");
  report = Run();
  EXPECT_TRUE(report.ok()) << report.status().ToString();
}

TEST_F(ModelRunnerTest, RefusesModelsForAnotherEngineBeforeAnyRuns) {
  WriteEvents("1,2024-01-01 00:00:00,10\n");
  SetModel("a", "SELECT id FROM {{ source('events') }}");
  SetModel("b", "{{ config(engine='spark') }}\nSELECT id FROM {{ ref('a') }}");
  Result<RunReport> report = Run();
  ASSERT_FALSE(report.ok());
  EXPECT_THAT(report.status().message(),
              HasSubstr("models/b.sql: model 'b' is written for engine 'spark' (config engine=), "
                        "but this offline store runs on 'duckdb'"));
  EXPECT_EQ(KindOf("a"), "none");  // refused before `a`, upstream, was built
  SetModel("b", "{{ config(engine='duckdb') }}\nSELECT id FROM {{ ref('a') }}");
  report = Run();
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(Scalar("SELECT count(*) FROM b"), "1");
}

TEST_F(ModelRunnerTest, RecordsRunHistory) {
  WriteEvents("1,2024-01-01 00:00:00,10\n");
  SetModel("a", "SELECT id FROM {{ source('events') }}");
  RunOptions options;
  options.clock = [] { return TimestampMicros{1'700'000'000'000'000}; };
  ASSERT_TRUE(RunModels(repo_, *conn_, options).ok());
  SetModel("a", "SELECT nope FROM {{ source('events') }}");
  ASSERT_FALSE(RunModels(repo_, *conn_, options).ok());
  EXPECT_EQ(Rows("SELECT model, materialization, action, status, rows, started_at, "
                 "error IS NULL FROM larder_run_history ORDER BY status DESC"),
            (std::vector<std::string>{"a|table|created|ok|1|2023-11-14 22:13:20|true",
                                      "a|NULL|NULL|error|NULL|2023-11-14 22:13:20|false"}));
}

TEST_F(ModelRunnerTest, StopsAtFirstFailureNamingTheModel) {
  WriteEvents("1,2024-01-01 00:00:00,10\n");
  SetModel("a_bad", "SELECT no_such_column FROM {{ source('events') }}");
  SetModel("b_good", "SELECT 1 AS x");
  Result<RunReport> report = Run();
  ASSERT_FALSE(report.ok());
  EXPECT_THAT(report.status().message(), HasSubstr("model a_bad (models/a_bad.sql)"));
  EXPECT_EQ(KindOf("b_good"), "none");
}

TEST_F(ModelRunnerTest, AModelIsOneSelectStatement) {
  WriteEvents("1,2024-01-01 00:00:00,10\n");
  SetModel("keep", "SELECT id FROM {{ source('events') }}");
  ASSERT_TRUE(Run({"keep"}).ok());
  struct Case {
    std::string materialized;
    std::string sql;
    std::string error;
  };
  const std::vector<Case> cases = {
      {"table", "SELECT 1 AS x; DROP TABLE keep; SELECT 1 AS x",
       "models/m.sql:1: model 'm' holds 3 statements; give only one SELECT statement"},
      {"table", "SELECT 1 AS x\n-- a comment; with a semicolon\nFROM {{ source('events') }};\n\n"
                "DROP TABLE keep",
       "models/m.sql:5: model 'm' holds 2 statements"},
      {"view", "SELECT 1 AS x; DROP TABLE keep", "models/m.sql:1: model 'm' holds 2 statements"},
      {"incremental", "SELECT 1 AS x;\nDROP TABLE keep", "models/m.sql:2: model 'm' holds 2"},
      {"table", "\n\nDROP TABLE keep", "models/m.sql:3: model 'm' is a DROP statement; give one "
                                      "SELECT statement"},
      {"table", "COPY keep TO '" + dir_.Join("x.csv") + "'", "model 'm' is a COPY statement"},
      {"table", "-- nothing but a comment", "model 'm' holds no SQL statement"},
      // Closing the CREATE ... AS ( that a model might be wrapped in.
      {"table", "SELECT 1 AS x); DROP TABLE keep; SELECT (1", "syntax error"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.sql);
    SetModel("m", "{{ config(materialized='" + c.materialized + "') }}" + c.sql);
    Result<RunReport> report = Run({"m"});
    ASSERT_FALSE(report.ok());
    EXPECT_EQ(report.status().code(), StatusCode::kInvalidArgument);
    EXPECT_THAT(report.status().message(), HasSubstr(c.error));
    EXPECT_EQ(Scalar("SELECT count(*) FROM keep"), "1");
    EXPECT_EQ(KindOf("m"), "none");
  }
  EXPECT_FALSE(std::filesystem::exists(dir_.Join("x.csv")));
}

TEST_F(ModelRunnerTest, TrailingCommentOrSemicolonEndsNothingElse) {
  WriteEvents("1,2024-01-01 00:00:00,10\n");
  SetModel("keep", "SELECT id FROM {{ source('events') }}");
  ASSERT_TRUE(Run({"keep"}).ok());
  // No newline after the comment: a statement Larder runs after the model's
  // SQL must not end up inside it.
  SetModel("v", "{{ config(materialized='view') }}SELECT id AS x FROM {{ ref('keep') }} -- note");
  ASSERT_TRUE(Run({"v"}).ok());
  EXPECT_EQ(KindOf("v"), "VIEW");
  SetModel("v", "{{ config(materialized='table') }}SELECT id AS x FROM {{ ref('keep') }}; -- x");
  ASSERT_TRUE(Run({"v"}).ok());
  EXPECT_EQ(KindOf("v"), "BASE TABLE");
  SetModel("v", "{{ config(materialized='view') }}SELECT id AS x FROM {{ ref('keep') }} /* y */;");
  ASSERT_TRUE(Run({"v"}).ok());
  EXPECT_EQ(KindOf("v"), "VIEW");
  // The view's transaction was committed: the connection is not left inside it.
  EXPECT_TRUE(conn_->Execute("BEGIN TRANSACTION; COMMIT", "fresh transaction").ok());
  SetModel("inc", "{{ config(materialized='incremental') }}SELECT id FROM {{ ref('keep') }} --");
  ASSERT_TRUE(Run({"inc"}).ok());
  ASSERT_TRUE(Run({"inc"}).ok());
  EXPECT_EQ(Scalar("SELECT count(*) FROM inc"), "2");
}

// An incremental model of per-event windows over the preceding day: a later
// run recomputes only the events newer than the newest one built, minus a
// 3-day lookback that takes in late rows, reading one more day of input
// before that for the recomputed events' windows, and merges on the event's
// key. (The book_recs example computed its daily aggregate this way before
// it became an aggregation view.)
constexpr char kIncrementalWindowModel[] = R"sql(
{{ config(materialized='incremental',
          unique_key=['user_id', 'rating_timestamp'],
          event_time='rating_timestamp',
          lookback='3d') }}
WITH ratings AS (
  SELECT user_id, rating_timestamp, rating
  FROM {{ source('ratings_source') }}
  {% if is_incremental() %}
  WHERE rating_timestamp >= {{ incremental_lower_bound() }} - INTERVAL 1 DAY
  {% endif %}
),
windowed AS (
  SELECT
    user_id,
    rating_timestamp,
    AVG(rating) OVER d AS avg_day_user_rating,
    COUNT(rating) OVER d AS count_day_user_rating
  FROM ratings
  WINDOW d AS (
    PARTITION BY user_id ORDER BY rating_timestamp
    RANGE BETWEEN INTERVAL 1 DAY PRECEDING AND CURRENT ROW)
)
SELECT * FROM windowed
{% if is_incremental() %}
WHERE rating_timestamp > {{ incremental_lower_bound() }}
{% endif %}
)sql";

// That model on random data with late rows: incremental runs must end with
// exactly what a full rebuild gives.
TEST_F(ModelRunnerTest, IncrementalWindowMatchesFullRebuild) {
  SetModel("agg_user_features_1d", kIncrementalWindowModel);
  DataSource ratings;
  ratings.name = "ratings_source";
  ratings.path = "ratings.csv";
  ratings.file_format = FileFormat::kCsv;
  ratings.timestamp_field = "rating_timestamp";
  repo_.data_sources.push_back(ratings);
  std::sort(repo_.data_sources.begin(), repo_.data_sources.end(),
            [](const DataSource& a, const DataSource& b) { return a.name < b.name; });

  for (uint32_t seed = 1; seed <= 5; ++seed) {
    std::mt19937 rng(seed);
    const int64_t day = 86400;
    const int64_t start = 1704067200;  // 2024-01-01
    struct Row {
      int64_t user, ts, rating;
    };
    std::vector<Row> rows;
    for (int i = 0; i < 600; ++i) {
      rows.push_back({static_cast<int64_t>(rng() % 15),
                      start + static_cast<int64_t>(rng() % (30 * day)),
                      static_cast<int64_t>(rng() % 11)});
    }
    auto write = [&](auto keep) {
      std::string csv = "user_id,rating_timestamp,rating\n";
      for (const Row& r : rows) {
        if (!keep(r)) continue;
        csv += std::to_string(r.user) + "," +
               duckdb::FormatTimestampMicros(r.ts * 1'000'000) + "," + std::to_string(r.rating) +
               "\n";
      }
      dir_.Write("ratings.csv", csv);
    };
    // Run 1: up to day 20, with some rows of days 18-20 withheld (late).
    auto late = [&](const Row& r) { return r.ts > start + 18 * day && r.rating % 3 == 0; };
    write([&](const Row& r) { return r.ts <= start + 20 * day && !late(r); });
    ASSERT_TRUE(Run().ok());
    // Run 2: the late rows arrive, with days 20-25.
    write([&](const Row& r) { return r.ts <= start + 25 * day; });
    Result<RunReport> report = Run();
    ASSERT_TRUE(report.ok()) << report.status().ToString();
    EXPECT_EQ(report->models[0].action, "merged");
    // Run 3: the rest.
    write([](const Row&) { return true; });
    ASSERT_TRUE(Run().ok());
    ASSERT_TRUE(conn_->Execute("CREATE OR REPLACE TABLE incremental_result AS "
                               "SELECT * FROM agg_user_features_1d",
                               "copy")
                    .ok());
    ASSERT_TRUE(Run({}, /*full_refresh=*/true).ok());
    EXPECT_EQ(Scalar("SELECT count(*) FROM agg_user_features_1d"), "600") << seed;
    EXPECT_EQ(Scalar("SELECT (SELECT count(*) FROM (SELECT * FROM incremental_result EXCEPT ALL "
                     "SELECT * FROM agg_user_features_1d)) + (SELECT count(*) FROM (SELECT * "
                     "FROM agg_user_features_1d EXCEPT ALL SELECT * FROM incremental_result))"),
              "0")
        << "seed " << seed;
    ASSERT_TRUE(conn_->Execute("DROP TABLE agg_user_features_1d", "reset").ok());
  }
}

// --- data tests -----------------------------------------------------------

class DataTestsTest : public ModelRunnerTest {
 protected:
  void SetUp() override {
    ModelRunnerTest::SetUp();
    ASSERT_TRUE(conn_->Execute(
                        "CREATE TABLE m AS SELECT * FROM (VALUES "
                        "(1, 'a', 1.5, TIMESTAMP '2024-01-10 00:00:00'), "
                        "(2, 'b', NULL, TIMESTAMP '2024-01-09 00:00:00'), "
                        "(2, 'c', 9.0, NULL), "
                        "(3, NULL, -1.0, TIMESTAMP '2024-01-01 00:00:00'), "
                        "(NULL, 'a', 2.0, TIMESTAMP '2024-01-02 00:00:00')) "
                        "t(id, cat, score, ts); "
                        "CREATE TABLE parent AS SELECT * FROM (VALUES (1), (2)) t(pid)",
                        "fixture")
                    .ok());
    SqlModel m;
    m.name = "m";
    m.sql = "SELECT 1";
    repo_.models.push_back(m);
    SqlModel parent;
    parent.name = "parent";
    parent.sql = "SELECT 1";
    repo_.models.push_back(parent);
  }

  // Runs one test on model m and returns its failing rows (-1 on error).
  int64_t Failing(DataTest test, TimestampMicros now = 0) {
    repo_.models[0].tests = {std::move(test)};
    TestOptions options;
    options.select = {"m"};
    options.clock = [now] { return now; };
    Result<TestReport> report = RunDataTests(repo_, *conn_, options);
    EXPECT_TRUE(report.ok()) << report.status().ToString();
    if (!report.ok() || report->results.size() != 1) return -2;
    EXPECT_EQ(report->results[0].model, "m");
    if (!report->results[0].error.empty()) {
      ADD_FAILURE() << report->results[0].error;
      return -1;
    }
    return report->results[0].failing_rows;
  }

  static DataTest Test(DataTestKind kind, std::string column) {
    DataTest t;
    t.kind = kind;
    t.column = std::move(column);
    return t;
  }
};

TEST_F(DataTestsTest, NotNull) {
  EXPECT_EQ(Failing(Test(DataTestKind::kNotNull, "id")), 1);
  EXPECT_EQ(Failing(Test(DataTestKind::kNotNull, "cat")), 1);
  EXPECT_EQ(Failing(Test(DataTestKind::kNotNull, "ts")), 1);
  EXPECT_EQ(Failing(Test(DataTestKind::kNotNull, "score")), 1);
}

TEST_F(DataTestsTest, Unique) {
  EXPECT_EQ(Failing(Test(DataTestKind::kUnique, "id")), 2);   // the two rows with id 2
  EXPECT_EQ(Failing(Test(DataTestKind::kUnique, "cat")), 2);  // the two 'a' rows
  EXPECT_EQ(Failing(Test(DataTestKind::kUnique, "score")), 0);
}

TEST_F(DataTestsTest, AcceptedValues) {
  DataTest t = Test(DataTestKind::kAcceptedValues, "cat");
  t.values = {"a", "b"};
  EXPECT_EQ(Failing(t), 1);  // 'c'; NULL passes
  t.values = {"a", "b", "c"};
  EXPECT_EQ(Failing(t), 0);
  DataTest ids = Test(DataTestKind::kAcceptedValues, "id");
  ids.values = {"1", "2"};
  EXPECT_EQ(Failing(ids), 1);  // 3
}

TEST_F(DataTestsTest, AcceptedRange) {
  DataTest t = Test(DataTestKind::kAcceptedRange, "score");
  t.min_value = 0;
  t.max_value = 5;
  EXPECT_EQ(Failing(t), 2);  // -1.0 and 9.0
  t.max_value.reset();
  EXPECT_EQ(Failing(t), 1);
  t.min_value = -1;
  EXPECT_EQ(Failing(t), 0);  // bounds are inclusive
}

TEST_F(DataTestsTest, RelationshipsToAModelOrASource) {
  DataTest t = Test(DataTestKind::kRelationships, "id");
  t.to = "parent";
  t.field = "pid";
  EXPECT_EQ(Failing(t), 1);  // id 3; NULL passes
  WriteEvents("1,2024-01-01 00:00:00,10\n2,2024-01-01 00:00:00,10\n3,2024-01-01 00:00:00,10\n");
  t.to = "events";
  t.field = "id";
  EXPECT_EQ(Failing(t), 0);
}

TEST_F(DataTestsTest, FreshnessUsesTheInjectedClock) {
  DataTest t = Test(DataTestKind::kFreshness, "ts");
  t.max_age = Duration{2 * Duration::kDay};
  const TimestampMicros jan10 = 1704844800LL * 1'000'000;  // 2024-01-10 00:00:00 UTC
  EXPECT_EQ(Failing(t, jan10 + 2 * Duration::kDay), 0);      // exactly max_age old
  EXPECT_EQ(Failing(t, jan10 + 2 * Duration::kDay + 1), 1);  // a microsecond too old
}

TEST_F(DataTestsTest, UnbuiltModelIsAnErrorResult) {
  SqlModel other;
  other.name = "never_built";
  other.sql = "SELECT 1";
  other.tests = {Test(DataTestKind::kNotNull, "x")};
  repo_.models.push_back(other);
  SortModels();
  TestOptions options;
  options.select = {"never_built"};
  Result<TestReport> report = RunDataTests(repo_, *conn_, options);
  ASSERT_TRUE(report.ok());
  ASSERT_EQ(report->results.size(), 1u);
  EXPECT_THAT(report->results[0].error, HasSubstr("has not been built"));
  EXPECT_EQ(report->failed(), 1);
}

}  // namespace
}  // namespace larder::transform
