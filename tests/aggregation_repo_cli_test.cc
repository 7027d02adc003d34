// Aggregation views through the `larder` binary: their columns read from a
// real CSV file by DuckDB, the registry's copy, and the plan's report.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "support/test_util.h"

namespace larder {
namespace {

using ::larder::testing::CommandResult;
using ::larder::testing::RunLarder;
using ::larder::testing::TempDir;
using ::testing::HasSubstr;

constexpr char kDefinitions[] =
    "entities:\n"
    "  - {name: user, join_keys: [user_id], value_type: Int64}\n"
    "data_sources:\n"
    "  - {name: ratings, type: file, path: data/ratings.csv, timestamp_field: rating_timestamp}\n"
    "  - {name: ratings_push, type: push, batch_source: ratings}\n"
    "feature_views:\n"
    "  - name: agg_user_features_1d\n"
    "    entities: [user]\n"
    "    source: ratings_push\n"
    "    aggregation_interval: 10m\n"
    "    aggregations:\n"
    "      - {column: rating, function: mean, time_window: 1d}\n"
    "      - {column: isbn, function: last_n(3), time_window: lifetime, name: recent_books}\n"
    "feature_services:\n"
    "  - {name: svc, features: [{feature_view: agg_user_features_1d, "
    "features: [rating_mean_1d]}]}\n";

class AggregationRepoCli : public ::testing::Test {
 protected:
  void SetUp() override {
    tmp_.Write("repo/feature_store.yaml", "project: p\n");
    tmp_.Write("repo/data/ratings.csv",
               "user_id,isbn,rating,rating_timestamp\n"
               "1,0441172717,5,2022-01-01 10:00:00\n"
               "2,0060973129,8,2022-01-02 11:30:00\n");
    tmp_.Write("repo/definitions.yaml", kDefinitions);
  }

  CommandResult Larder(const std::string& args) {
    return RunLarder("-c " + tmp_.Join("repo") + " " + args);
  }

  TempDir tmp_;
};

TEST_F(AggregationRepoCli, ApplyStoresResolvedDtypesAndPlanNamesChanges) {
  CommandResult apply = Larder("apply");
  ASSERT_EQ(apply.exit_code, 0) << apply.err;
  EXPECT_THAT(apply.out, HasSubstr("Created feature view agg_user_features_1d\n"));

  CommandResult describe = Larder("feature-views describe agg_user_features_1d");
  ASSERT_EQ(describe.exit_code, 0) << describe.err;
  nlohmann::json view = nlohmann::json::parse(describe.out);
  EXPECT_EQ(view["aggregation_interval"], "10m");
  ASSERT_EQ(view["aggregations"].size(), 2u);
  // DuckDB reads the CSV's rating as BIGINT and isbn (digits with a leading
  // zero) as VARCHAR.
  EXPECT_EQ(view["aggregations"][0],
            nlohmann::json::parse(R"({"column":"rating","dtype":"Int64","function":"mean",)"
                                  R"("name":"rating_mean_1d","time_window":"1d"})"));
  EXPECT_EQ(view["aggregations"][1]["dtype"], "String");
  EXPECT_EQ(view["aggregations"][1]["function"], "last_n(3)");

  CommandResult list = Larder("feature-views list");
  ASSERT_EQ(list.exit_code, 0) << list.err;
  EXPECT_THAT(list.out, HasSubstr("rating_mean_1d, recent_books"));

  std::string defs = kDefinitions;
  defs.replace(defs.find("time_window: 1d"), 15, "time_window: 7d");
  defs.replace(defs.find("last_n(3)"), 9, "last_n(5)");
  defs.replace(defs.find("features: [rating_mean_1d]"), 26, "features: [rating_mean_7d]");
  tmp_.Write("repo/definitions.yaml", defs);
  CommandResult plan = Larder("plan");
  ASSERT_EQ(plan.exit_code, 0) << plan.err;
  EXPECT_THAT(plan.out, HasSubstr("Updated feature view agg_user_features_1d: aggregations: "
                                  "added rating_mean_7d, changed recent_books (function "
                                  "last_n(3) -> last_n(5)), removed rating_mean_1d\n"));
}

TEST_F(AggregationRepoCli, ADtypeThatDoesNotFitIsRefusedWithFileAndLine) {
  std::string defs = kDefinitions;
  defs.replace(defs.find("{column: rating, function: mean"), 31, "{column: isbn, function: sum");
  tmp_.Write("repo/definitions.yaml", defs);
  CommandResult plan = Larder("plan");
  EXPECT_EQ(plan.exit_code, 1);
  EXPECT_THAT(plan.err, HasSubstr("definitions.yaml:12: feature view 'agg_user_features_1d' "
                                  "aggregation 'isbn_sum_1d': field `function`: sum needs a "
                                  "numeric column"));
}

TEST_F(AggregationRepoCli, PushedRowsNeedTheAggregatedColumns) {
  ASSERT_EQ(Larder("apply").exit_code, 0);
  tmp_.Write("no_rating.csv", "user_id,isbn,rating_timestamp\n3,0441172717,2022-01-03 09:00:00\n");
  CommandResult push = Larder("push ratings_push " + tmp_.Join("no_rating.csv") + " --to offline");
  EXPECT_EQ(push.exit_code, 1);
  EXPECT_THAT(push.err, HasSubstr("missing column `rating`, required by push source "
                                  "'ratings_push'"));
  tmp_.Write("rows.csv",
             "user_id,isbn,rating,rating_timestamp\n3,0441172717,7,2022-01-03 09:00:00\n");
  push = Larder("push ratings_push " + tmp_.Join("rows.csv") + " --to offline");
  EXPECT_EQ(push.exit_code, 0) << push.err;
}

TEST(AggregationRepoFormat, ListsTheAggregationKeys) {
  CommandResult r = RunLarder("repo-format");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("  aggregation_interval:"));
  EXPECT_THAT(r.out, HasSubstr("  each aggregations item:\n    column:"));
  EXPECT_THAT(r.out, HasSubstr("    time_window:"));
  EXPECT_THAT(r.out, HasSubstr("approx_count_distinct"));
}

}  // namespace
}  // namespace larder
