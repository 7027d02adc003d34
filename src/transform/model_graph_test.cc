#include "transform/model_graph.h"

#include <algorithm>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace larder::transform {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

void AddModel(FeatureRepo* repo, const std::string& name, const std::string& sql) {
  SqlModel m;
  m.name = name;
  m.sql = sql;
  m.location = {"models/" + name + ".sql", 0};
  repo->models.push_back(m);
  std::sort(repo->models.begin(), repo->models.end(),
            [](const SqlModel& x, const SqlModel& y) { return x.name < y.name; });
}

FeatureRepo Diamond() {
  FeatureRepo repo;
  DataSource modelled;  // data sources sorted by name, as the loader keeps them
  modelled.name = "d_source";
  modelled.kind = DataSourceKind::kModel;
  modelled.model = "d";
  repo.data_sources.push_back(modelled);
  DataSource raw;
  raw.name = "raw";
  raw.path = "raw.csv";
  repo.data_sources.push_back(raw);
  // a <- b, a <- c, {b, c} <- d, d <- e (through the model source)
  AddModel(&repo, "e", "SELECT * FROM {{ source('d_source') }}");
  AddModel(&repo, "d", "SELECT * FROM {{ ref('c') }} JOIN {{ ref('b') }} USING (x)");
  AddModel(&repo, "c", "SELECT * FROM {{ ref('a') }}");
  AddModel(&repo, "b", "SELECT * FROM {{ ref('a') }}");
  AddModel(&repo, "a", "SELECT * FROM {{ source('raw') }}");
  return repo;
}

TEST(ModelGraph, OrdersByDependencyThenName) {
  Result<ModelGraph> g = BuildModelGraph(Diamond());
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  EXPECT_THAT(g->order, ElementsAre("a", "b", "c", "d", "e"));
  EXPECT_THAT(g->upstream.at("e"), ElementsAre("d"));
}

TEST(ModelGraph, SelectsPlainUpstreamAndDownstream) {
  ModelGraph g = *BuildModelGraph(Diamond());
  EXPECT_THAT(*SelectModels(g, {}), ElementsAre("a", "b", "c", "d", "e"));
  EXPECT_THAT(*SelectModels(g, {"d", "b"}), ElementsAre("b", "d"));
  EXPECT_THAT(*SelectModels(g, {"+d"}), ElementsAre("a", "b", "c", "d"));
  EXPECT_THAT(*SelectModels(g, {"b+"}), ElementsAre("b", "d", "e"));
  EXPECT_THAT(*SelectModels(g, {"+c+"}), ElementsAre("a", "c", "d", "e"));
  Result<std::vector<std::string>> bad = SelectModels(g, {"zzz"});
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(), HasSubstr("no SQL model 'zzz' (models: a, b, c, d, e)"));
}

TEST(ModelGraph, CycleListsItsModels) {
  FeatureRepo repo;
  AddModel(&repo, "a", "SELECT * FROM {{ ref('c') }}");
  AddModel(&repo, "b", "SELECT * FROM {{ ref('a') }}");
  AddModel(&repo, "c", "SELECT * FROM {{ ref('b') }}");
  AddModel(&repo, "d", "SELECT * FROM {{ ref('c') }}");  // downstream, not on the cycle
  AddModel(&repo, "x", "SELECT 1");
  Result<ModelGraph> g = BuildModelGraph(repo);
  ASSERT_FALSE(g.ok());
  EXPECT_THAT(g.status().message(), HasSubstr("dependency cycle: a -> b -> c -> a"));
  EXPECT_THAT(g.status().message(), Not(HasSubstr("d ->")));

  FeatureRepo self;
  AddModel(&self, "s", "SELECT * FROM {{ ref('s') }}");
  g = BuildModelGraph(self);
  ASSERT_FALSE(g.ok());
  EXPECT_THAT(g.status().message(), HasSubstr("dependency cycle: s -> s"));
}

TEST(ModelGraph, UnknownRefOrSourceNamesBothSides) {
  FeatureRepo repo;
  AddModel(&repo, "a", "SELECT 1\nFROM {{ ref('nope') }}");
  AddModel(&repo, "b", "SELECT * FROM {{ source('no_source') }}");
  Result<ModelGraph> g = BuildModelGraph(repo);
  ASSERT_FALSE(g.ok());
  EXPECT_THAT(g.status().message(), HasSubstr("2 errors in SQL models"));
  EXPECT_THAT(g.status().message(),
              HasSubstr("models/a.sql:2: model 'a' refs unknown model 'nope'"));
  EXPECT_THAT(g.status().message(),
              HasSubstr("models/b.sql:1: model 'b' uses unknown data source 'no_source'"));
}

TEST(ModelGraph, ReservedNamesAreRefused) {
  FeatureRepo repo;
  AddModel(&repo, "larder_run_history", "SELECT 1");
  Result<ModelGraph> g = BuildModelGraph(repo);
  ASSERT_FALSE(g.ok());
  EXPECT_THAT(g.status().message(), HasSubstr("'larder_run_history' is reserved"));
}

TEST(ModelGraph, TemplateErrorsAreReported) {
  FeatureRepo repo;
  AddModel(&repo, "a", "SELECT {{ bogus }}");
  Result<ModelGraph> g = BuildModelGraph(repo);
  ASSERT_FALSE(g.ok());
  EXPECT_THAT(g.status().message(), HasSubstr("models/a.sql:1: model 'a': unsupported"));
}

}  // namespace
}  // namespace larder::transform
