// The book-recommendation example through both offline stores: the DuckDB
// repo (examples/book_recs) over the generated parquet files, and the Spark
// repo (examples/book_recs_spark) over the same rows as Hive tables. Model
// tables, the training data of every feature service and the online values
// after materialization must be equal, value for value.
//
// The scale is LARDER_SPARK_EXAMPLE_SCALE (default 0.02, about 20,000
// ratings; the proof runs it at 0.1).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include "book_recs/generator/book_recs_data.h"
#include "larder/feature_store.h"
#include "offline/duckdb/duckdb_connection.h"
#include "offline/spark/spark_connect_client.h"
#include "support/spark_server.h"
#include "support/test_util.h"

namespace larder {
namespace {

namespace fs = std::filesystem;
using ::larder::testing::SparkServer;
using ::larder::testing::TempDir;
using ::testing::HasSubstr;

double Scale() {
  const char* text = std::getenv("LARDER_SPARK_EXAMPLE_SCALE");
  return text != nullptr && *text != '\0' ? std::atof(text) : 0.02;
}

// Replaces every `from` in the file with `to`.
void Rewrite(const std::string& path, const std::string& from, const std::string& to) {
  std::string text = ::larder::testing::ReadFileText(path);
  ASSERT_THAT(text, HasSubstr(from)) << path;
  for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
  std::ofstream(path, std::ios::trunc) << text;
}

// The rows of a query over DuckDB, as sorted text lines.
std::string DuckRows(const std::string& sql) {
  auto conn = duckdb::Connection::Open(":memory:");
  if (!conn.ok()) return conn.status().ToString();
  auto text = (*conn)->QueryScalar(
      "SELECT string_agg(CAST(t AS VARCHAR), '\n' ORDER BY CAST(t AS VARCHAR)) FROM (" + sql +
          ") t",
      "rows");
  return text.ok() ? text->value_or("") : text.status().ToString();
}

// Where two row texts first differ, for a readable failure: the line
// number and both lines ("" when equal).
std::string FirstDifference(const std::string& actual, const std::string& expected) {
  if (actual == expected) return "";
  size_t line = 1, a = 0, e = 0;
  while (true) {
    const size_t a_end = std::min(actual.find('\n', a), actual.size());
    const size_t e_end = std::min(expected.find('\n', e), expected.size());
    const std::string_view a_line(actual.data() + a, a_end - a);
    const std::string_view e_line(expected.data() + e, e_end - e);
    if (a_line != e_line || a_end == actual.size() || e_end == expected.size()) {
      return "line " + std::to_string(line) + ":\n  actual:   " + std::string(a_line.substr(0, 600)) +
             "\n  expected: " + std::string(e_line.substr(0, 600));
    }
    a = a_end + 1;
    e = e_end + 1;
    ++line;
  }
}

class SparkExample : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string error;
    server_ = SparkServer::Shared(&error);
    ASSERT_NE(server_, nullptr) << error;
    const std::string source = ::larder::testing::SourceDir() + "/examples/";
    duck_ = dir_.Join("duck");
    spark_ = dir_.Join("spark");
    fs::copy(source + "book_recs", duck_, fs::copy_options::recursive);
    fs::copy(source + "book_recs_spark", spark_, fs::copy_options::recursive);
    fs::remove_all(duck_ + "/data");
    book_recs::GenerateOptions generate;
    generate.scale = Scale();
    generate.out_dir = duck_ + "/data/raw";
    auto generated = book_recs::Generate(generate);
    ASSERT_TRUE(generated.ok()) << generated.status().ToString();

    // The tests of a ctest run share one server and run at once: this
    // one's Hive database and model database are its own.
    std::string suffix = fs::path(dir_.path()).filename().string();
    for (char& c : suffix) c = std::isalnum(static_cast<unsigned char>(c)) ? std::tolower(c) : '_';
    hive_ = "book_recsys_apply_" + suffix;
    models_ = "larder_models_" + suffix;
    Rewrite(spark_ + "/data_sources.yaml", "book_recsys_apply.", hive_ + ".");
    Rewrite(spark_ + "/feature_store.yaml", "  type: spark\n",
            "  type: spark\n  remote: " + server_->remote() + "\n  database: " + models_ + "\n");

    offline::spark::SparkConnectOptions connect;
    connect.remote = server_->remote();
    auto client = offline::spark::SparkConnectClient::Connect(connect);
    ASSERT_TRUE(client.ok()) << client.status().ToString();
    client_ = std::move(client).value();
    // Exported model tables keep their timestamps' zone (Spark's default,
    // INT96, reads back without one).
    ASSERT_TRUE(
        client_->SetConf({{"spark.sql.parquet.outputTimestampType", "TIMESTAMP_MICROS"}}).ok());
    ASSERT_TRUE(client_->ExecuteCommand("CREATE DATABASE " + hive_).ok());
    for (const char* table : {"users", "books", "ratings"}) {
      Status st = client_->ExecuteCommand("CREATE TABLE " + hive_ + "." + table +
                                          " USING parquet AS SELECT * FROM parquet.`" + duck_ +
                                          "/data/raw/" + table + ".parquet`");
      ASSERT_TRUE(st.ok()) << st.ToString();
    }
  }

  void TearDown() override {
    if (client_ == nullptr) return;
    (void)client_->ExecuteCommand("DROP DATABASE IF EXISTS " + hive_ + " CASCADE");
    (void)client_->ExecuteCommand("DROP DATABASE IF EXISTS " + models_ + " CASCADE");
  }

  static std::unique_ptr<FeatureStore> Open(const std::string& repo) {
    FeatureStoreOptions options;
    options.repo_dir = repo;
    auto store = FeatureStore::Open(options);
    EXPECT_TRUE(store.ok()) << store.status().ToString();
    if (!store.ok()) return nullptr;
    auto applied = (*store)->Apply();
    EXPECT_TRUE(applied.ok()) << repo << ": " << applied.status().ToString();
    auto run = (*store)->Run();
    EXPECT_TRUE(run.ok()) << repo << ": " << run.status().ToString();
    return std::move(store).value();
  }

  // A model's table as parquet: DuckDB's copied out of the offline store
  // file, Spark's written by Spark.
  std::string ExportDuck(const std::string& model) {
    const std::string out = dir_.Join("duck_" + model + ".parquet");
    auto conn = duckdb::Connection::Open(duck_ + "/data/offline_store.duckdb");
    EXPECT_TRUE(conn.ok()) << conn.status().ToString();
    if (!conn.ok()) return out;
    Status st = (*conn)->Execute("COPY \"" + model + "\" TO '" + out + "' (FORMAT parquet)",
                                 "export");
    EXPECT_TRUE(st.ok()) << st.ToString();
    return out;
  }
  std::string Export(const std::string& model) {
    const std::string out = dir_.Join("export_" + model);
    Status st = client_->ExecuteCommand("INSERT OVERWRITE DIRECTORY '" + out +
                                        "' USING parquet SELECT * FROM " + models_ + "." + model);
    EXPECT_TRUE(st.ok()) << st.ToString();
    return out + "/*.parquet";
  }

  std::string Train(FeatureStore& store, const std::string& service, const std::string& out) {
    HistoricalFeaturesRequest request;
    request.entity_path = duck_ + "/data/raw/ratings.parquet";
    request.feature_service = service;
    auto job = store.GetHistoricalFeatures(request);
    if (!job.ok()) return job.status().ToString();
    auto rows = (*job)->WriteToFile(dir_.Join(out));
    if (!rows.ok()) return rows.status().ToString();
    return DuckRows("SELECT * FROM read_parquet('" + dir_.Join(out) + "')");
  }

  SparkServer* server_ = nullptr;
  std::unique_ptr<offline::spark::SparkConnectClient> client_;
  TempDir dir_;
  std::string duck_, spark_, hive_, models_;
};

TEST_F(SparkExample, EqualsDuckDbForModelsTrainingDataAndOnlineValues) {
  auto duck = Open(duck_);
  auto spark = Open(spark_);
  ASSERT_TRUE(duck != nullptr && spark != nullptr);

  // larder run: the model tables, row for row (the DuckDB file read once
  // its store has closed it).
  duck.reset();
  for (const char* model : {"bucketed_age", "avg_book_category_ratings"}) {
    const std::string expected =
        DuckRows("SELECT * FROM read_parquet('" + ExportDuck(model) + "')");
    ASSERT_THAT(expected, HasSubstr("\n")) << model;
    EXPECT_EQ(FirstDifference(DuckRows("SELECT * FROM read_parquet('" + Export(model) + "')"),
                              expected),
              "")
        << model;
  }
  duck = Open(duck_);
  ASSERT_TRUE(duck != nullptr);

  // larder historical: every feature service.
  for (const char* service : {"model_v1", "model_v2", "model_v3", "model_v4"}) {
    const std::string expected = Train(*duck, service, std::string(service) + "_duck.parquet");
    ASSERT_THAT(expected, HasSubstr("\n")) << service;
    EXPECT_EQ(FirstDifference(Train(*spark, service, std::string(service) + "_spark.parquet"),
                              expected),
              "")
        << service;
  }

  // larder materialize, then online values of model_v4 for every rated
  // (user, book) pair, read at the end of the data.
  const TimestampMicros end = book_recs::kWorkshopEnd * Duration::kSecond;
  ASSERT_TRUE(duck->Materialize(0, end).ok());
  auto materialized = spark->Materialize(0, end);
  ASSERT_TRUE(materialized.ok()) << materialized.status().ToString();
  auto pairs = duckdb::Connection::Open(":memory:");
  ASSERT_TRUE(pairs.ok());
  const std::vector<ValueType> types = {ValueType{ScalarType::kInt64},
                                        ValueType{ScalarType::kString}};
  auto rows = (*pairs)->QueryValues(
      "SELECT DISTINCT user_id, isbn FROM read_parquet('" + duck_ +
          "/data/raw/ratings.parquet') ORDER BY ALL LIMIT 2000",
      "pairs", types);
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  OnlineFeaturesRequest request;
  request.feature_service = "model_v4";
  for (auto& row : *rows) {
    request.entity_rows["user_id"].push_back(row[0]);
    request.entity_rows["isbn"].push_back(row[1]);
  }
  OnlineReadOptions at_end;
  at_end.clock = [&] { return end; };
  auto text = [&](FeatureStore& store) {
    auto response = store.GetOnlineFeatures(request, at_end);
    if (!response.ok()) return response.status().ToString();
    std::string out;
    for (const OnlineFeatureColumn& column : response->columns) {
      out += column.name + ":";
      for (size_t i = 0; i < column.values.size(); ++i) {
        out += " " + column.values[i].DebugString() + "/" +
               std::to_string(static_cast<int>(column.statuses[i]));
      }
      out += "\n";
    }
    return out;
  };
  const std::string expected = text(*duck);
  ASSERT_THAT(expected, HasSubstr("avg_yr_user_rating:"));
  EXPECT_EQ(FirstDifference(text(*spark), expected), "");
}

}  // namespace
}  // namespace larder
