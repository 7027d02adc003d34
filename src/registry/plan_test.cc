#include "registry/plan.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace larder {
namespace {

std::vector<std::string> Lines(const RegistryPlan& plan) {
  std::vector<std::string> out;
  for (const auto& change : plan.changes) out.push_back(change.Describe());
  return out;
}

Entity MakeEntity(const std::string& name, const std::string& description = "") {
  Entity e;
  e.name = name;
  e.join_keys = {name + "_id"};
  e.value_type = ValueType{ScalarType::kInt64, false};
  e.description = description;
  return e;
}

DataSource MakeSource(const std::string& name) {
  DataSource s;
  s.name = name;
  s.path = "data/" + name + ".parquet";
  s.timestamp_field = "ts";
  return s;
}

FeatureView MakeView(const std::string& name, int64_t ttl_days = 1) {
  FeatureView v;
  v.name = name;
  v.entities = {"user"};
  v.ttl = Duration{ttl_days * Duration::kDay};
  Field f;
  f.name = "f";
  f.dtype = ValueType{ScalarType::kFloat64, false};
  v.schema = {f};
  v.source = "src";
  return v;
}

FeatureService MakeService(const std::string& name,
                           std::vector<std::string> views) {
  FeatureService s;
  s.name = name;
  for (auto& v : views) s.features.push_back({std::move(v), {}});
  return s;
}

SqlModel MakeModel(const std::string& name, const std::string& sql) {
  SqlModel model;
  model.name = name;
  model.sql = sql;
  return model;
}

DefinitionMap Defs(const FeatureRepo& repo) {
  auto defs = RepoDefinitions(repo);
  EXPECT_TRUE(defs.ok()) << defs.status().ToString();
  return defs.ok() ? *defs : DefinitionMap{};
}

TEST(PlanDescribe, FeastStyleLines) {
  EXPECT_EQ((ObjectChange{ChangeType::kCreate, ObjectKind::kEntity, "user", {}})
                .Describe(),
            "Created entity user");
  EXPECT_EQ((ObjectChange{ChangeType::kUpdate, ObjectKind::kFeatureService,
                          "model_v2", {}})
                .Describe(),
            "Updated feature service model_v2");
  EXPECT_EQ((ObjectChange{ChangeType::kUpdate, ObjectKind::kFeatureView, "v",
                          {"ttl 1d -> 2d", "schema"}})
                .Describe(),
            "Updated feature view v: ttl 1d -> 2d; schema");
  EXPECT_EQ((ObjectChange{ChangeType::kDelete, ObjectKind::kFeatureView,
                          "old_view", {}})
                .Describe(),
            "Deleted feature view old_view");
  EXPECT_EQ((ObjectChange{ChangeType::kCreate, ObjectKind::kDataSource,
                          "ratings", {}})
                .Describe(),
            "Created data source ratings");
  EXPECT_EQ((ObjectChange{ChangeType::kDelete, ObjectKind::kSqlModel, "agg", {}})
                .Describe(),
            "Deleted sql model agg");
}

TEST(Plan, IdenticalIsEmpty) {
  FeatureRepo repo;
  repo.entities = {MakeEntity("user")};
  repo.feature_views = {MakeView("v")};
  EXPECT_TRUE(DiffDefinitions(Defs(repo), Defs(repo)).empty());
  EXPECT_TRUE(DiffDefinitions({}, {}).empty());
}

TEST(Plan, EverythingNewIsCreatedInKindOrder) {
  FeatureRepo repo;
  repo.entities = {MakeEntity("user"), MakeEntity("book")};
  repo.data_sources = {MakeSource("src")};
  repo.models = {MakeModel("agg", "SELECT 1")};
  repo.feature_views = {MakeView("v2"), MakeView("v1")};
  repo.feature_services = {MakeService("model_v1", {"v1"})};
  EXPECT_EQ(Lines(DiffDefinitions({}, Defs(repo))),
            (std::vector<std::string>{
                "Created entity book",
                "Created entity user",
                "Created data source src",
                "Created sql model agg",
                "Created feature view v1",
                "Created feature view v2",
                "Created feature service model_v1",
            }));
}

TEST(Plan, EverythingGoneIsDeletedInReverseKindOrder) {
  FeatureRepo repo;
  repo.entities = {MakeEntity("user"), MakeEntity("book")};
  repo.data_sources = {MakeSource("src")};
  repo.models = {MakeModel("agg", "SELECT 1")};
  repo.feature_views = {MakeView("v2"), MakeView("v1")};
  repo.feature_services = {MakeService("model_v1", {"v1"})};
  EXPECT_EQ(Lines(DiffDefinitions(Defs(repo), {})),
            (std::vector<std::string>{
                "Deleted feature service model_v1",
                "Deleted feature view v1",
                "Deleted feature view v2",
                "Deleted sql model agg",
                "Deleted data source src",
                "Deleted entity book",
                "Deleted entity user",
            }));
}

TEST(Plan, CreatesUpdatesAndDeletesAreOrdered) {
  FeatureRepo before;
  before.entities = {MakeEntity("user"), MakeEntity("book")};
  before.data_sources = {MakeSource("src"), MakeSource("old_src")};
  before.models = {MakeModel("agg", "SELECT 1")};
  before.feature_views = {MakeView("b_view"), MakeView("old_view"),
                          MakeView("z_view")};
  before.feature_services = {MakeService("model_v1", {"b_view"}),
                             MakeService("model_v2", {"b_view"})};

  FeatureRepo after;
  after.entities = {MakeEntity("user", "now described"), MakeEntity("book")};
  after.data_sources = {MakeSource("src")};
  after.models = {MakeModel("agg", "SELECT 2")};
  after.feature_views = {MakeView("a_view"), MakeView("b_view"),
                         MakeView("z_view", 2)};
  after.feature_services = {MakeService("model_v1", {"b_view"}),
                            MakeService("model_v2", {"b_view", "a_view"})};

  RegistryPlan plan = DiffDefinitions(Defs(before), Defs(after));
  EXPECT_EQ(Lines(plan), (std::vector<std::string>{
                             "Updated entity user: description (none) -> now described",
                             "Updated sql model agg: sql SELECT 1 -> SELECT 2",
                             "Created feature view a_view",
                             "Updated feature view z_view: ttl 1d -> 2d",
                             "Updated feature service model_v2: features",
                             "Deleted feature view old_view",
                             "Deleted data source old_src",
                         }));
  EXPECT_EQ(plan.changes[2], (ObjectChange{ChangeType::kCreate,
                                           ObjectKind::kFeatureView, "a_view", {}}));
}

Aggregation MakeAggregation(const std::string& column, AggregationFunction function,
                            int64_t window_days) {
  Aggregation a;
  a.column = column;
  a.function = function;
  a.window = Duration{window_days * Duration::kDay};
  a.column_dtype = ValueType{ScalarType::kInt32, false};
  a.name = AggregationDefaultName(a);
  return a;
}

TEST(Plan, AggregationChangesAreNamed) {
  FeatureRepo before;
  FeatureView view = MakeView("agg_user_features_1d");
  view.aggregation_interval = Duration{10 * Duration::kMinute};
  view.aggregations = {MakeAggregation("rating", AggregationFunction::kMean, 1),
                       MakeAggregation("rating", AggregationFunction::kCount, 1)};
  view.aggregations[1].name = "ratings";
  before.feature_views = {view};

  FeatureRepo after = before;
  FeatureView& v = after.feature_views[0];
  v.aggregations[1].window = Duration{2 * Duration::kDay};
  v.aggregations[1].function = AggregationFunction::kSum;
  v.aggregations.push_back(MakeAggregation("rating", AggregationFunction::kMean, 7));
  v.aggregations.erase(v.aggregations.begin());
  EXPECT_EQ(Lines(DiffDefinitions(Defs(before), Defs(after))),
            (std::vector<std::string>{
                "Updated feature view agg_user_features_1d: aggregations: added rating_mean_7d, "
                "changed ratings (function count -> sum, time_window 1d -> 2d), removed "
                "rating_mean_1d"}));

  after = before;
  after.feature_views[0].aggregation_interval = Duration{5 * Duration::kMinute};
  std::swap(after.feature_views[0].aggregations[0], after.feature_views[0].aggregations[1]);
  EXPECT_EQ(Lines(DiffDefinitions(Defs(before), Defs(after))),
            (std::vector<std::string>{"Updated feature view agg_user_features_1d: "
                                      "aggregation_interval 10m -> 5m; aggregations: "
                                      "reordered"}));

  // A plain view that gains aggregations.
  FeatureRepo plain;
  plain.feature_views = {MakeView("agg_user_features_1d")};
  EXPECT_EQ(Lines(DiffDefinitions(Defs(plain), Defs(before))),
            (std::vector<std::string>{"Updated feature view agg_user_features_1d: "
                                      "aggregation_interval (none) -> 10m; aggregations: "
                                      "added rating_mean_1d, added ratings"}));
}

TEST(Plan, SameNameInDifferentKindsIsDistinct) {
  FeatureRepo before;
  before.entities = {MakeEntity("user")};
  FeatureRepo after;
  after.feature_views = {MakeView("user")};
  EXPECT_EQ(Lines(DiffDefinitions(Defs(before), Defs(after))),
            (std::vector<std::string>{"Created feature view user",
                                      "Deleted entity user"}));
}

TEST(Plan, MovingADefinitionIsNotAChange) {
  FeatureRepo before;
  before.entities = {MakeEntity("user")};
  before.entities[0].location = {"a.yaml", 1};
  FeatureRepo after = before;
  after.entities[0].location = {"sub/b.yaml", 40};
  after.root = "/elsewhere";
  after.config.project = "other";
  EXPECT_TRUE(DiffDefinitions(Defs(before), Defs(after)).empty());
}

TEST(Plan, DuplicateNamesAreRefused) {
  FeatureRepo repo;
  repo.feature_views = {MakeView("v"), MakeView("v", 3)};
  auto defs = RepoDefinitions(repo);
  ASSERT_FALSE(defs.ok());
  EXPECT_EQ(defs.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(defs.status().message().find("feature view v"), std::string::npos);
}

}  // namespace
}  // namespace larder
