// Feature views with window aggregations: their YAML, their validation
// against the source's files, and their outputs as features of the view.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>

#include "larder/repo.h"
#include "repo/feature_refs.h"
#include "support/test_util.h"

namespace larder {
namespace {

using ::larder::testing::TempDir;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kDefinitions[] =
    "entities:\n"
    "  - {name: user, join_keys: [user_id], value_type: Int64}\n"
    "data_sources:\n"
    "  - {name: ratings, type: file, path: data/ratings.parquet, timestamp_field: ts,\n"
    "     field_mapping: {stars: rating}}\n"
    "  - {name: ratings_push, type: push, batch_source: ratings}\n"
    "  - {name: model_ratings, type: model, model: agg, timestamp_field: ts}\n"
    "  - {name: model_push, type: push, batch_source: model_ratings}\n"
    "  - {name: query_ratings, type: query, query: SELECT 1, timestamp_field: ts}\n"
    "  - {name: query_push, type: push, batch_source: query_ratings}\n";

// The head of views.yaml; the aggregation items start at line 7 (at line 6
// without an interval).
std::string View(const std::string& items, const std::string& source = "ratings_push",
                 const std::string& interval = "10m") {
  return "feature_views:\n"
         "  - name: v\n"
         "    entities: [user]\n"
         "    source: " + source + "\n" +
         (interval.empty() ? "" : "    aggregation_interval: " + interval + "\n") +
         "    aggregations:\n" + items;
}

class AggregationRepoTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_.Write("feature_store.yaml", "project: p\n");
    dir_.Write("defs.yaml", kDefinitions);
    dir_.Write("models/agg.sql", "SELECT 1 AS user_id\n");
  }

  // The file columns every file source reports (DuckDB's type names); the
  // file's `stars` is the view's `rating` through field_mapping.
  LoadOptions WithFiles() {
    LoadOptions options;
    options.schema_resolver = [](const DataSource&, const std::string&)
        -> Result<std::vector<ColumnInfo>> {
      return std::vector<ColumnInfo>{{"user_id", "BIGINT"},   {"isbn", "VARCHAR"},
                                     {"stars", "INTEGER"},    {"score", "DOUBLE"},
                                     {"flag", "BOOLEAN"},     {"tags", "VARCHAR[]"},
                                     {"big", "UBIGINT"},      {"ts", "TIMESTAMP WITH TIME ZONE"}};
    };
    return options;
  }

  Result<FeatureRepo> Load(const std::string& views, const LoadOptions& options) {
    dir_.Write("views.yaml", views);
    return LoadFeatureRepo(dir_.path(), options);
  }

  // The error of loading `views`; fails the test when it loads.
  std::string Error(const std::string& views, const LoadOptions& options) {
    Result<FeatureRepo> repo = Load(views, options);
    EXPECT_FALSE(repo.ok()) << views;
    return repo.ok() ? "" : repo.status().message();
  }
  std::string Error(const std::string& views) { return Error(views, WithFiles()); }

  TempDir dir_;
};

TEST_F(AggregationRepoTest, EveryFunctionLoadsWithNamesAndDtypes) {
  Result<FeatureRepo> repo = Load(
      View("      - {column: rating, function: count, time_window: 1d}\n"
           "      - {column: rating, function: sum, time_window: 1d}\n"
           "      - {column: score, function: sum, time_window: 1d}\n"
           "      - {column: rating, function: mean, time_window: 7d}\n"
           "      - {column: rating, function: min, time_window: 1d}\n"
           "      - {column: isbn, function: max, time_window: 1d}\n"
           "      - {column: score, function: stddev, time_window: 1d}\n"
           "      - {column: score, function: variance, time_window: 1d}\n"
           "      - {column: isbn, function: first, time_window: lifetime}\n"
           "      - {column: flag, function: last, time_window: 1h}\n"
           "      - {column: isbn, function: first_n(3), time_window: 1d}\n"
           "      - {column: rating, function: last_n(5), time_window: 1d, name: last_ratings}\n"
           "      - {column: isbn, function: count_distinct, time_window: 30d}\n"
           "      - {column: isbn, function: approx_count_distinct, time_window: 1d,\n"
           "         dtype: String, description: distinct books}\n"
           "      - {column: rating, function: max, time_window: 1d, dtype: Int64}\n") +
          "    schema:\n"
          "      - {name: user_id, dtype: Int64}\n"
          "feature_services:\n"
          "  - name: svc\n"
          "    features: [v]\n",
      WithFiles());
  ASSERT_TRUE(repo.ok()) << repo.status().ToString();
  const FeatureView* v = repo->FindFeatureView("v");
  ASSERT_NE(v, nullptr);
  EXPECT_TRUE(v->schema.empty());  // user_id is an entity column
  EXPECT_EQ(v->aggregation_interval.micros, 10 * Duration::kMinute);
  struct Expected {
    const char* name;
    const char* column_dtype;
    const char* output;
  };
  const Expected expected[] = {
      {"rating_count_1d", "Int32", "Int64"},
      {"rating_sum_1d", "Int32", "Int64"},
      {"score_sum_1d", "Float64", "Float64"},
      {"rating_mean_7d", "Int32", "Float64"},
      {"rating_min_1d", "Int32", "Int32"},
      {"isbn_max_1d", "String", "String"},
      {"score_stddev_1d", "Float64", "Float64"},
      {"score_variance_1d", "Float64", "Float64"},
      {"isbn_first_lifetime", "String", "String"},
      {"flag_last_1h", "Bool", "Bool"},
      {"isbn_first_n3_1d", "String", "Array(String)"},
      {"last_ratings", "Int32", "Array(Int32)"},
      {"isbn_count_distinct_30d", "String", "Int64"},
      {"isbn_approx_count_distinct_1d", "String", "Int64"},
      {"rating_max_1d", "Int64", "Int64"},  // a given dtype that fits the column wins
  };
  ASSERT_EQ(v->aggregations.size(), std::size(expected));
  std::vector<Field> features = ViewFeatures(*v);
  for (size_t i = 0; i < std::size(expected); ++i) {
    const Aggregation& a = v->aggregations[i];
    EXPECT_EQ(a.name, expected[i].name);
    EXPECT_EQ(ValueTypeName(a.column_dtype), expected[i].column_dtype) << a.name;
    EXPECT_EQ(ValueTypeName(features[i].dtype), expected[i].output) << a.name;
    EXPECT_EQ(a.location.file, "views.yaml");
  }
  EXPECT_EQ(v->aggregations[0].location.line, 7);
  EXPECT_TRUE(v->aggregations[8].lifetime);
  EXPECT_EQ(v->aggregations[11].n, 5);
  EXPECT_EQ(v->aggregations[13].description, "distinct books");

  // Aggregation outputs are features of the view for references and services.
  auto refs = repo::ResolveFeatureRefs(*repo, {"v:rating_mean_7d"}, "");
  ASSERT_TRUE(refs.ok()) << refs.status().ToString();
  ASSERT_EQ(refs->size(), 1u);
  EXPECT_EQ((*refs)[0].name(), "rating_mean_7d");
  EXPECT_EQ((*refs)[0].aggregation(), &v->aggregations[3]);
  auto all = repo::ResolveFeatureRefs(*repo, {}, "svc");
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  EXPECT_EQ(all->size(), std::size(expected));
  auto unknown = repo::ResolveFeatureRefs(*repo, {"v:rating_mean_2d"}, "");
  EXPECT_THAT(unknown.status().message(), HasSubstr("its features: rating_count_1d, "));

  // Pushed rows carry the join keys, the timestamp and the aggregated
  // columns, by their names in the file.
  auto columns = repo::ViewRowColumns(*repo, *v);
  ASSERT_TRUE(columns.ok()) << columns.status().ToString();
  std::map<std::string, std::string> names;
  for (const auto& [column, type] : *columns) names[column] = ValueTypeName(type);
  EXPECT_EQ(names, (std::map<std::string, std::string>{{"flag", "Bool"},
                                                       {"isbn", "String"},
                                                       {"score", "Float64"},
                                                       {"stars", "Int64"},
                                                       {"ts", "UnixTimestamp"},
                                                       {"user_id", "Int64"}}));
}

TEST_F(AggregationRepoTest, ASchemaFeatureCanBeChosenBesideAggregations) {
  Result<FeatureRepo> repo = Load(
      View("      - {column: rating, function: mean, time_window: 1d}\n", "ratings", "") +
          "    schema: [{name: score, dtype: Float64}]\n"
          "feature_services:\n"
          "  - name: svc\n"
          "    features: [{feature_view: v, features: [rating_mean_1d, score]}]\n",
      WithFiles());
  ASSERT_TRUE(repo.ok()) << repo.status().ToString();
  const FeatureView* v = repo->FindFeatureView("v");
  EXPECT_EQ(v->aggregation_interval.micros, 0);  // continuous
  auto refs = repo::ResolveFeatureRefs(*repo, {}, "svc");
  ASSERT_TRUE(refs.ok()) << refs.status().ToString();
  ASSERT_EQ(refs->size(), 2u);
  EXPECT_EQ((*refs)[0].feature_index, 1u);  // after the schema's one feature
  EXPECT_EQ((*refs)[1].name(), "score");
  EXPECT_EQ((*refs)[1].aggregation(), nullptr);
}

TEST_F(AggregationRepoTest, BadDefinitionsNameFileLineAndField) {
  struct Case {
    std::string views;
    std::string expected;
  };
  const Case cases[] = {
      {View("      - {column: rating, function: median, time_window: 1d}\n"),
       "views.yaml:7: feature view 'v' aggregation: field `function`: unknown aggregation "
       "function 'median' (known: count, sum, mean"},
      {View("      - {column: rating, function: last_n(0), time_window: 1d}\n"),
       "views.yaml:7: feature view 'v' aggregation: field `function`: function 'last_n(0)': N "
       "must be a whole number from 1 to 100000"},
      {View("      - {column: rating, function: last_n, time_window: 1d}\n"),
       "views.yaml:7: feature view 'v' aggregation: field `function`: function 'last_n' needs "
       "a count"},
      {View("      - {column: rating, function: mean, time_window: 0}\n"),
       "views.yaml:7: feature view 'v' aggregation: field `time_window`: must be a positive "
       "duration such as 1d, or lifetime"},
      {View("      - {column: rating, function: mean, time_window: forever}\n"),
       "views.yaml:7: feature view 'v' aggregation: field `time_window`:"},
      {View("      - {column: rating, function: mean}\n"),
       "views.yaml:7: feature view 'v' aggregation: missing required field `time_window`"},
      {View("      - {column: rating, function: mean, time_window: 1d, window: 2d}\n"),
       "views.yaml:7: feature view 'v' aggregation: unknown field `window` (accepted: column, "
       "function, time_window, name, dtype, description)"},
      {View("      - {column: rating, function: mean, time_window: 1d}\n", "ratings", "0"),
       "views.yaml:5: feature view 'v': field `aggregation_interval`: must be a positive "
       "duration such as 10m"},
      {View("      - {column: rating, function: mean, time_window: 1d}\n", "ratings", "7m"),
       "views.yaml:7: feature view 'v' aggregation: field `time_window`: 1d is not a multiple "
       "of the view's aggregation_interval 7m"},
      {View("      - {column: ratingz, function: mean, time_window: 1d}\n"),
       "views.yaml:7: feature view 'v' aggregation 'ratingz_mean_1d': field `column`: `ratingz` "
       "is not a column of data source 'ratings' (data/ratings.parquet; columns: big, flag, "
       "isbn, rating, score, tags, ts, user_id)"},
      {View("      - {column: stars, function: mean, time_window: 1d}\n"),
       "field `column`: `stars` is not a column of data source 'ratings'"},
      {View("      - {column: isbn, function: sum, time_window: 1d}\n"),
       "views.yaml:7: feature view 'v' aggregation 'isbn_sum_1d': field `function`: sum needs "
       "a numeric column (Int32, Int64, Float32 or Float64), not String (column `isbn`)"},
      {View("      - {column: tags, function: count, time_window: 1d}\n"),
       "views.yaml:7: feature view 'v' aggregation 'tags_count_1d': field `function`: count "
       "cannot aggregate an array column (Array(String))"},
      {View("      - {column: big, function: max, time_window: 1d}\n"),
       "views.yaml:7: feature view 'v' aggregation 'big_max_1d': field `column`: `big` in "
       "data/ratings.parquet is UBIGINT, which no dtype holds"},
      {View("      - {column: rating, function: mean, time_window: 1d, dtype: String}\n"),
       "views.yaml:7: feature view 'v' aggregation 'rating_mean_1d': field `dtype`: String "
       "does not fit column `rating` in data/ratings.parquet, which is INTEGER"},
      {View("      - {column: rating, function: mean, time_window: 1d}\n", "model_push"),
       "views.yaml:7: feature view 'v' aggregation 'rating_mean_1d': field `dtype`: required, "
       "since the columns of model source 'model_ratings' cannot be read before its table is "
       "built; give the column's dtype, e.g. dtype: Float64"},
      {View("      - {column: rating, function: mean, time_window: 1d}\n", "query_push"),
       "views.yaml:7: feature view 'v' aggregation 'rating_mean_1d': field `dtype`: required, "
       "since the columns of query source 'query_ratings' are known only when it runs"},
      {View("      - {column: rating, function: mean, time_window: 1d}\n"
            "      - {column: rating, function: mean, time_window: 1d}\n"),
       "views.yaml:8: feature view 'v' aggregation 'rating_mean_1d': output name "
       "`rating_mean_1d` is already the output of the aggregation at views.yaml:7; give this "
       "aggregation another `name`"},
      {View("      - {column: rating, function: mean, time_window: 1d, name: score}\n") +
           "    schema: [{name: score, dtype: Float64}]\n",
       "views.yaml:7: feature view 'v' aggregation 'score': output name `score` is already a "
       "feature of `schema`"},
      {View("      - {column: rating, function: mean, time_window: 1d, name: user_id}\n"),
       "views.yaml:7: feature view 'v' aggregation 'user_id': output name `user_id` is "
       "already a join key of entity 'user'"},
      {View("      - {column: rating, function: mean, time_window: 1d, name: 2x}\n"),
       "views.yaml:7: feature view 'v' aggregation '2x': field `name`: `2x` is not a valid "
       "feature name"},
      {View("      - {column: ts, function: max, time_window: 1d}\n"),
       "views.yaml:7: feature view 'v' aggregation 'ts_max_1d': field `column`: `ts` is the "
       "event timestamp of data source 'ratings'"},
      {View("      - {column: user_id, function: count, time_window: 1d}\n"),
       "views.yaml:7: feature view 'v' aggregation 'user_id_count_1d': field `column`: "
       "`user_id` is a join key of the view"},
      {View("      - {column: rating, function: mean, time_window: 1d, dtype: Int64}\n",
            "model_ratings"),
       "views.yaml:2: feature view 'v': field `source`: a view with aggregations reads a file, "
       "dbt, spark or push source, not model source 'model_ratings'"},
      {View("      - {column: rating, function: mean, time_window: 1d, dtype: Int64}\n",
            "query_ratings"),
       "not query source 'query_ratings'"},
      {View("      []\n"), "views.yaml:7: feature view 'v': field `aggregations`: must list at "
                          "least one aggregation"},
      {"feature_views:\n  - {name: v, entities: [user], source: ratings}\n",
       "views.yaml:2: feature view 'v': missing field `schema` or `aggregations`: a view needs "
       "one or both"},
      {"feature_views:\n  - {name: v, entities: [user], source: ratings,\n"
       "     aggregation_interval: 1h, schema: [{name: score, dtype: Float64}]}\n",
       "views.yaml:3: feature view 'v': field `aggregation_interval`: applies only to a view "
       "with `aggregations`"},
  };
  for (const Case& c : cases) {
    EXPECT_THAT(Error(c.views), HasSubstr(c.expected)) << c.views;
  }
}

TEST_F(AggregationRepoTest, EveryErrorIsReportedAtOnce) {
  // Errors of the YAML itself are reported before the checks against the
  // source, as for every definition.
  std::string err = Error(View("      - {column: rating, function: median, time_window: 1d}\n"
                               "      - {column: rating, function: last_n(x), time_window: 1d}\n"
                               "      - {column: nope, function: mean, time_window: 1d}\n"));
  EXPECT_THAT(err, HasSubstr("views.yaml:7:"));
  EXPECT_THAT(err, HasSubstr("views.yaml:8:"));
  EXPECT_THAT(err, Not(HasSubstr("views.yaml:9:")));
  err = Error(View("      - {column: isbn, function: sum, time_window: 1d}\n"
                   "      - {column: nope, function: mean, time_window: 1d}\n"));
  EXPECT_THAT(err, HasSubstr("views.yaml:7:"));
  EXPECT_THAT(err, HasSubstr("views.yaml:8:"));
}

TEST_F(AggregationRepoTest, AGivenDtypeIsUsedWhenTheSourceIsNotRead) {
  Result<FeatureRepo> repo =
      Load(View("      - {column: rating, function: sum, time_window: 1d, dtype: Float32}\n",
                "model_push"),
           WithFiles());
  ASSERT_TRUE(repo.ok()) << repo.status().ToString();
  const Aggregation& a = repo->FindFeatureView("v")->aggregations[0];
  EXPECT_EQ(ValueTypeName(a.column_dtype), "Float32");
  EXPECT_EQ(ValueTypeName(AggregationOutputType(a)), "Float64");

  // Without reading files (--skip-source-validation), a file source's
  // aggregations need their dtype too.
  EXPECT_THAT(Error(View("      - {column: rating, function: sum, time_window: 1d}\n"), {}),
              HasSubstr("views.yaml:7: feature view 'v' aggregation 'rating_sum_1d': field "
                        "`dtype`: required, since source validation is skipped, so the files "
                        "of data source 'ratings' are not read"));
  EXPECT_THAT(Error(View("      - {column: isbn, function: mean, time_window: 1d, "
                         "dtype: String}\n"),
                    {}),
              HasSubstr("mean needs a numeric column"));
  repo = Load(View("      - {column: rating, function: sum, time_window: 1d, dtype: Int32}\n"),
              {});
  ASSERT_TRUE(repo.ok()) << repo.status().ToString();
}

TEST_F(AggregationRepoTest, ValidateFeatureRepoChecksProgrammaticViews) {
  Result<FeatureRepo> repo =
      Load(View("      - {column: rating, function: sum, time_window: 1d}\n"), WithFiles());
  ASSERT_TRUE(repo.ok()) << repo.status().ToString();
  EXPECT_TRUE(ValidateFeatureRepo(*repo, WithFiles()).ok());
  FeatureRepo changed = *repo;
  changed.feature_views[0].aggregations[0].column = "isbn";
  changed.feature_views[0].aggregations[0].dtype_given = false;
  Status status = ValidateFeatureRepo(changed, WithFiles());
  EXPECT_THAT(status.message(), HasSubstr("sum needs a numeric column"));
}

}  // namespace
}  // namespace larder
