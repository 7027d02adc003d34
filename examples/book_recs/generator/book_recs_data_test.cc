#include "book_recs/generator/book_recs_data.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "offline/duckdb/duckdb_connection.h"

namespace larder::book_recs {
namespace {

constexpr double kScale = 0.01;

std::string MakeTempDir() {
  std::string tmpl = ::testing::TempDir() + "larder_book_recs_XXXXXX";
  EXPECT_NE(mkdtemp(tmpl.data()), nullptr);
  return tmpl;
}

// Generates the data set once per (seed, scale) for the whole suite.
class BookRecsData : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(MakeTempDir());
    GenerateOptions options;
    options.scale = kScale;
    options.out_dir = *dir_ + "/raw";
    options.progress = [](std::string_view stage, int64_t done,
                          int64_t total) {
      (*stages_)[std::string(stage)] = {done, total};
    };
    stages_ = new std::map<std::string, std::pair<int64_t, int64_t>>();
    auto stats = Generate(options);
    ASSERT_TRUE(stats.ok()) << stats.status().ToString();
    stats_ = new GenerateStats(*stats);
  }
  static void TearDownTestSuite() {
    std::error_code ec;
    std::filesystem::remove_all(*dir_, ec);
    delete dir_;
    delete stats_;
    delete stages_;
    dir_ = nullptr;
    stats_ = nullptr;
    stages_ = nullptr;
  }

  void SetUp() override {
    ASSERT_NE(stats_, nullptr);
    auto conn = duckdb::Connection::Open(":memory:");
    ASSERT_TRUE(conn.ok()) << conn.status().ToString();
    conn_ = std::move(conn).value();
    for (const char* table : {"users", "books", "ratings"}) {
      std::string path = *dir_ + "/raw/" + table + ".parquet";
      ASSERT_TRUE(conn_
                      ->Execute(std::string("CREATE VIEW ") + table +
                                    " AS SELECT * FROM read_parquet(" +
                                    duckdb::QuoteLiteral(path) + ")",
                                path)
                      .ok());
    }
  }

  // The single value of `sql` as a double (or -1 when NULL).
  double Number(const std::string& sql) {
    auto v = conn_->QueryScalar(sql, "check");
    EXPECT_TRUE(v.ok()) << v.status().ToString() << "\n" << sql;
    if (!v.ok() || !v->has_value()) return -1;
    return std::stod(**v);
  }

  static std::string* dir_;
  static GenerateStats* stats_;
  static std::map<std::string, std::pair<int64_t, int64_t>>* stages_;
  std::unique_ptr<duckdb::Connection> conn_;
};

std::string* BookRecsData::dir_ = nullptr;
GenerateStats* BookRecsData::stats_ = nullptr;
std::map<std::string, std::pair<int64_t, int64_t>>* BookRecsData::stages_ =
    nullptr;

TEST_F(BookRecsData, CountsScaleLinearly) {
  EXPECT_EQ(stats_->users, 921);
  EXPECT_EQ(stats_->books, 1387);
  EXPECT_EQ(stats_->ratings, 10312);
  EXPECT_EQ(Number("SELECT count(*) FROM users"), 921);
  EXPECT_EQ(Number("SELECT count(*) FROM books"), 1387);
  EXPECT_EQ(Number("SELECT count(*) FROM ratings"), 10312);
  EXPECT_GT(stats_->seconds, 0);
}

TEST_F(BookRecsData, ColumnsAndTypes) {
  auto expect_schema = [&](const std::string& table,
                           const std::vector<std::pair<std::string,
                                                       std::string>>& want) {
    auto r = conn_->Query("DESCRIBE " + table, table);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    ASSERT_EQ(r->rows.size(), want.size()) << table;
    for (size_t i = 0; i < want.size(); ++i) {
      EXPECT_EQ(r->rows[i][0], want[i].first) << table;
      EXPECT_EQ(r->rows[i][1], want[i].second) << table << "." << want[i].first;
    }
  };
  const std::string tz = "TIMESTAMP WITH TIME ZONE";
  expect_schema("users", {{"user_id", "BIGINT"},
                          {"location", "VARCHAR"},
                          {"country", "VARCHAR"},
                          {"age", "BIGINT"},
                          {"signup_date", tz}});
  expect_schema("books", {{"isbn", "VARCHAR"},
                          {"book_title", "VARCHAR"},
                          {"book_author", "VARCHAR"},
                          {"year_of_publication", "BIGINT"},
                          {"publisher", "VARCHAR"},
                          {"language", "VARCHAR"},
                          {"category", "VARCHAR"},
                          {"created_at", tz}});
  expect_schema("ratings", {{"user_id", "BIGINT"},
                            {"isbn", "VARCHAR"},
                            {"rating", "BIGINT"},
                            {"rating_timestamp", tz}});
}

TEST_F(BookRecsData, KeysAreUniqueAndReferencesExist) {
  EXPECT_EQ(Number("SELECT count(DISTINCT user_id) FROM users"), 921);
  EXPECT_EQ(Number("SELECT min(user_id) FROM users"), 1);
  EXPECT_EQ(Number("SELECT count(DISTINCT isbn) FROM books"), 1387);
  EXPECT_EQ(Number("SELECT count(*) FROM books WHERE length(isbn) <> 10 OR "
                   "NOT regexp_full_match(isbn, '[0-9]{9}[0-9X]')"),
            0);
  EXPECT_EQ(Number("SELECT count(*) FROM ratings r ANTI JOIN users u USING "
                   "(user_id)"),
            0);
  EXPECT_EQ(Number("SELECT count(*) FROM ratings r ANTI JOIN books b USING "
                   "(isbn)"),
            0);
  EXPECT_EQ(Number("SELECT count(*) - count(DISTINCT (user_id, isbn)) FROM "
                   "ratings"),
            0);
}

TEST_F(BookRecsData, TimestampsFollowTheStory) {
  EXPECT_EQ(Number("SELECT count(*) FROM ratings WHERE rating_timestamp < "
                   "TIMESTAMPTZ '2020-01-01 00:00:00+00' OR rating_timestamp "
                   ">= TIMESTAMPTZ '2023-01-01 00:00:00+00'"),
            0);
  // Roughly uniform: each year holds about a third.
  double y2021 = Number(
      "SELECT avg(CASE WHEN year(rating_timestamp) = 2021 THEN 1 ELSE 0 END) "
      "FROM ratings");
  EXPECT_NEAR(y2021, 1.0 / 3, 0.03);
  // Signup no later than the first rating.
  EXPECT_EQ(Number("SELECT count(*) FROM users u JOIN (SELECT user_id, "
                   "min(rating_timestamp) AS first FROM ratings GROUP BY "
                   "user_id) f USING (user_id) WHERE u.signup_date > f.first"),
            0);
  EXPECT_EQ(Number("SELECT count(*) FROM users WHERE signup_date < "
                   "TIMESTAMPTZ '2019-01-01 00:00:00+00' OR signup_date >= "
                   "TIMESTAMPTZ '2023-01-01 00:00:00+00'"),
            0);
  // created_at is Jan 1 00:00 UTC of the publication year.
  EXPECT_EQ(Number("SELECT count(*) FROM books WHERE created_at <> "
                   "make_timestamptz(year_of_publication, 1, 1, 0, 0, 0, "
                   "'UTC')"),
            0);
  double modern = Number(
      "SELECT avg(CASE WHEN year_of_publication BETWEEN 1950 AND 2020 THEN 1 "
      "ELSE 0 END) FROM books");
  EXPECT_GT(modern, 0.94);
  EXPECT_LT(modern, 1.0);
  EXPECT_GE(Number("SELECT min(year_of_publication) FROM books"), 1800);
  EXPECT_LE(Number("SELECT max(year_of_publication) FROM books"), 2020);
}

TEST_F(BookRecsData, RatingDistribution) {
  EXPECT_NEAR(Number("SELECT avg((rating = 0)::INT) FROM ratings"), 0.62,
              0.03);
  EXPECT_EQ(Number("SELECT count(*) FROM ratings WHERE rating NOT BETWEEN 0 "
                   "AND 10"),
            0);
  // 8 is the most common explicit rating; 1-4 are rare.
  EXPECT_EQ(Number("SELECT rating FROM ratings WHERE rating > 0 GROUP BY "
                   "rating ORDER BY count(*) DESC, rating LIMIT 1"),
            8);
  EXPECT_LT(Number("SELECT avg((rating BETWEEN 1 AND 4)::INT) FROM ratings"),
            0.04);
  EXPECT_NEAR(Number("SELECT avg((rating = 10)::INT) FROM ratings"), 0.07,
              0.02);
}

TEST_F(BookRecsData, ActivityIsHeavyTailed) {
  // The most active user has ~11,000 * scale ratings; the median user a few
  // (at scale 1 the median is 3; small scales flatten the curve, because
  // the top user's count scales down with the number of users).
  double top = Number(
      "SELECT max(n) FROM (SELECT count(*) AS n FROM ratings GROUP BY "
      "user_id)");
  EXPECT_NEAR(top, 110, 25);
  double median = Number(
      "SELECT median(n) FROM (SELECT count(*) AS n FROM ratings GROUP BY "
      "user_id)");
  EXPECT_LE(median, 8);
  EXPECT_LT(median, 10312.0 / 921);  // skewed: median below the mean
  double inactive = Number(
      "SELECT count(*) FROM users ANTI JOIN ratings USING (user_id)");
  EXPECT_NEAR(inactive / 921, 0.08, 0.02);
  double top_book = Number(
      "SELECT max(n) FROM (SELECT count(*) AS n FROM ratings GROUP BY isbn)");
  double mean_book = 10312.0 / 1387;
  EXPECT_GT(top_book, 2 * mean_book);
}

TEST_F(BookRecsData, UserAttributes) {
  EXPECT_NEAR(Number("SELECT avg((age IS NULL)::INT) FROM users"), 0.40,
              0.05);
  EXPECT_NEAR(Number("SELECT avg((age BETWEEN 10 AND 80)::INT) FROM users "
                     "WHERE age IS NOT NULL"),
              0.9, 0.07);
  EXPECT_GT(Number("SELECT count(*) FROM users WHERE age = 0 OR age > 100 "
                   "OR age < 0"),
            0);
  EXPECT_EQ(Number("SELECT count(*) FROM users WHERE location NOT LIKE "
                   "'%, %, %'"),
            0);
  EXPECT_EQ(Number("SELECT count(*) FROM users WHERE country IS NOT NULL AND "
                   "NOT ends_with(location, ', ' || country)"),
            0);
  auto top = conn_->QueryScalar(
      "SELECT country FROM users GROUP BY country ORDER BY count(*) DESC "
      "LIMIT 1",
      "top country");
  ASSERT_TRUE(top.ok());
  EXPECT_EQ(top->value_or(""), "usa");
}

TEST_F(BookRecsData, BookAttributes) {
  EXPECT_NEAR(Number("SELECT avg((category = 'Fiction')::INT) FROM books"),
              0.38, 0.04);
  auto top = conn_->Query(
      "SELECT category FROM books GROUP BY category ORDER BY count(*) DESC "
      "LIMIT 2",
      "top categories");
  ASSERT_TRUE(top.ok());
  EXPECT_EQ(top->rows[0][0], "Fiction");
  EXPECT_EQ(top->rows[1][0], "Juvenile Fiction");
  EXPECT_GT(Number("SELECT count(DISTINCT category) FROM books"), 200);
  EXPECT_NEAR(Number("SELECT avg((language = 'en')::INT) FROM books"), 0.88,
              0.04);
  EXPECT_LE(Number("SELECT count(DISTINCT language) FROM books"), 30);
  EXPECT_EQ(Number("SELECT count(*) FROM books WHERE book_title IS NULL OR "
                   "book_author IS NULL OR publisher IS NULL OR language IS "
                   "NULL OR category IS NULL"),
            0);
}

TEST_F(BookRecsData, ReportsProgressPerStage) {
  for (const char* stage : {"books", "ratings", "users", "write"}) {
    auto it = stages_->find(stage);
    ASSERT_NE(it, stages_->end()) << stage;
    EXPECT_EQ(it->second.first, it->second.second) << stage;
  }
  EXPECT_EQ(stages_->at("ratings").second, 10312);
  EXPECT_EQ(stages_->at("write").second, 3);
}

TEST_F(BookRecsData, LeavesNoTemporaryFiles) {
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(*dir_ + "/raw")) {
    names.push_back(e.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"books.parquet",
                                             "ratings.parquet",
                                             "users.parquet"}));
}

// Aggregate checksums of the three files in `dir`.
std::vector<std::string> Checksums(duckdb::Connection& conn,
                                   const std::string& dir) {
  std::vector<std::string> sums;
  for (const char* table : {"users", "books", "ratings"}) {
    std::string path = dir + "/" + table + ".parquet";
    auto v = conn.QueryScalar(
        "SELECT count(*) || ':' || sum(hash(t::VARCHAR)) FROM read_parquet(" +
            duckdb::QuoteLiteral(path) + ") t",
        path);
    EXPECT_TRUE(v.ok()) << v.status().ToString();
    sums.push_back(v.ok() ? v->value_or("") : "");
  }
  return sums;
}

TEST_F(BookRecsData, SameSeedSameDataOtherSeedOtherData) {
  GenerateOptions again;
  again.scale = kScale;
  again.out_dir = *dir_ + "/again";
  ASSERT_TRUE(Generate(again).ok());
  GenerateOptions other = again;
  other.out_dir = *dir_ + "/other";
  other.seed = 7;
  ASSERT_TRUE(Generate(other).ok());

  auto first = Checksums(*conn_, *dir_ + "/raw");
  auto second = Checksums(*conn_, *dir_ + "/again");
  auto third = Checksums(*conn_, *dir_ + "/other");
  EXPECT_EQ(first, second);
  for (size_t i = 0; i < first.size(); ++i) {
    EXPECT_NE(first[i], third[i]) << i;
  }
}

TEST_F(BookRecsData, ReplacesExistingFiles) {
  std::string dir = *dir_ + "/replace";
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/users.parquet") << "stale";
  GenerateOptions options;
  options.scale = 0.001;
  options.out_dir = dir;
  auto stats = Generate(options);
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  EXPECT_EQ(Number("SELECT count(*) FROM read_parquet(" +
                   duckdb::QuoteLiteral(dir + "/users.parquet") + ")"),
            static_cast<double>(stats->users));
}

TEST_F(BookRecsData, TinyScalesStillWork) {
  GenerateOptions options;
  options.scale = 0.00001;
  options.out_dir = *dir_ + "/tiny";
  auto stats = Generate(options);
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  EXPECT_EQ(stats->users, 1);
  EXPECT_EQ(stats->books, 1);
  EXPECT_EQ(stats->ratings, 10);
}

// Another end moves the whole timeline: ratings and sign-ups by exactly
// (end - kWorkshopEnd), publication years by whole years, and nothing else.
TEST_F(BookRecsData, AnotherEndMovesTheTimeline) {
  // 2026-12-06 13:45:07 UTC: mid-day, and the ratings then start in 2023.
  constexpr int64_t kEnd = 1'796'564'707;
  constexpr int64_t kShift = kEnd - kWorkshopEnd;
  GenerateOptions moved;
  moved.scale = kScale;
  moved.end = kEnd;
  moved.out_dir = *dir_ + "/moved";
  ASSERT_TRUE(Generate(moved).ok());
  auto table = [&](const char* name) {
    return "read_parquet(" + duckdb::QuoteLiteral(*dir_ + "/moved/" + name + ".parquet") + ")";
  };
  const std::string shift = "INTERVAL " + std::to_string(kShift) + " SECOND";
  EXPECT_EQ(Number("SELECT count(*) FROM " + table("ratings")), 10312);
  EXPECT_EQ(Number("SELECT count(*) FROM (SELECT user_id, isbn, rating, rating_timestamp + " +
                   shift + " FROM ratings EXCEPT ALL SELECT * FROM " + table("ratings") + ")"),
            0);
  EXPECT_EQ(Number("SELECT count(*) FROM (SELECT user_id, location, country, age, signup_date + " +
                   shift + " FROM users EXCEPT ALL SELECT * FROM " + table("users") + ")"),
            0);
  // Ratings start on 2020-01-01 and 2023-12-06: publication years move by 3.
  EXPECT_EQ(Number("SELECT count(*) FROM (SELECT isbn, book_title, book_author, "
                   "year_of_publication + 3, publisher, language, category, "
                   "make_timestamptz(year_of_publication + 3, 1, 1, 0, 0, 0, 'UTC') FROM books "
                   "EXCEPT ALL SELECT * FROM " +
                   table("books") + ")"),
            0);
  EXPECT_EQ(Number("SELECT (epoch(max(rating_timestamp)) < " + std::to_string(kEnd) +
                   " AND epoch(min(rating_timestamp)) >= " + std::to_string(kEnd - 1096 * 86400) +
                   ")::INTEGER FROM " + table("ratings")),
            1);
  EXPECT_EQ(Number("SELECT (max(created_at) <= (SELECT min(rating_timestamp) FROM " +
                   table("ratings") + "))::INTEGER FROM " + table("books")),
            1);
}

TEST(BookRecsDataOptions, RejectsBadOptions) {
  GenerateOptions options;
  options.out_dir = ::testing::TempDir() + "larder_never_written";
  for (double scale : {0.0, -1.0, 100.5, std::nan("")}) {
    options.scale = scale;
    auto r = Generate(options);
    ASSERT_FALSE(r.ok()) << scale;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(r.status().message().find("scale"), std::string::npos);
  }
  options.scale = 1;
  for (int64_t end : {int64_t{0}, int64_t{315'532'799}, int64_t{7'258'118'401}}) {
    options.end = end;
    auto r = Generate(options);
    ASSERT_FALSE(r.ok()) << end;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(r.status().message().find("end must be between"), std::string::npos);
  }
  options.end = kWorkshopEnd;
  options.out_dir = "";
  auto r = Generate(options);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("out_dir"), std::string::npos);
}

TEST(BookRecsDataOptions, UnwritableOutDirIsIoError) {
  std::string dir = MakeTempDir();
  std::ofstream(dir + "/file") << "x";
  GenerateOptions options;
  options.scale = 0.001;
  options.out_dir = dir + "/file/sub";
  auto r = Generate(options);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kIOError);
  EXPECT_NE(r.status().message().find(options.out_dir), std::string::npos);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace larder::book_recs
