// Finding a dbt model's relation from dbt's own files: the manifest (good,
// missing, malformed, of another version or adapter, stale, hostile) and
// the profile that names the DuckDB file.
#include "repo/dbt_project.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "support/test_util.h"

namespace larder::repo {
namespace {

namespace fs = std::filesystem;
using ::larder::testing::TempDir;
using ::testing::HasSubstr;
using json = nlohmann::json;

json Node(const std::string& project, const std::string& model, const std::string& database,
          const std::string& schema, const std::string& alias) {
  return json{{"resource_type", "model"},
              {"name", model},
              {"package_name", project},
              {"database", database},
              {"schema", schema},
              {"alias", alias},
              {"original_file_path", "models/" + model + ".sql"},
              {"config", {{"materialized", "table"}}}};
}

json Manifest(json nodes, int version = 12, const std::string& adapter = "duckdb") {
  return json{{"metadata",
               {{"dbt_schema_version",
                 "https://schemas.getdbt.com/dbt/manifest/v" + std::to_string(version) + ".json"},
                {"adapter_type", adapter}}},
              {"nodes", std::move(nodes)}};
}

class DbtProject : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = tmp_.path();
    tmp_.Write("dbt_project.yml", "name: shop\nprofile: shop\n");
    tmp_.Write("profiles.yml",
               "shop:\n  target: dev\n  outputs:\n"
               "    dev: {type: duckdb, path: warehouse.duckdb}\n"
               "    prod: {type: duckdb, path: /nowhere/prod.duckdb}\n");
    tmp_.Write("warehouse.duckdb", "");  // only its existence is checked here
    tmp_.Write("models/scores.sql", "select 1\n");
    source_.name = "scores_src";
    source_.kind = DataSourceKind::kDbt;
    source_.project_dir = dir_;
    source_.model = "scores";
    source_.target_path = "target";
  }

  // Writes the manifest, dated `age` after the model's file.
  void WriteManifest(const json& manifest, std::chrono::seconds after = std::chrono::seconds(10)) {
    tmp_.Write("target/manifest.json", manifest.dump());
    auto sql_time = fs::last_write_time(tmp_.Join("models/scores.sql"));
    fs::last_write_time(tmp_.Join("target/manifest.json"), sql_time + after);
  }

  Result<DbtRelation> Resolve(DbtEnvironment env = {}) {
    return ResolveDbtRelation(dir_, source_, env);
  }

  TempDir tmp_;
  std::string dir_;
  DataSource source_;
};

TEST_F(DbtProject, FindsTheRelationAndTheDatabaseFileFromTheProfile) {
  WriteManifest(Manifest({{"model.shop.scores", Node("shop", "scores", "warehouse", "main",
                                                     "scores_table")},
                          {"model.shop.other", Node("shop", "other", "warehouse", "main",
                                                    "other")}}));
  Result<DbtRelation> rel = Resolve();
  ASSERT_TRUE(rel.ok()) << rel.status().ToString();
  EXPECT_EQ(rel->node_id, "model.shop.scores");
  EXPECT_EQ(rel->database, "warehouse");
  EXPECT_EQ(rel->schema, "main");
  EXPECT_EQ(rel->identifier, "scores_table");
  EXPECT_EQ(rel->database_file, tmp_.Join("warehouse.duckdb"));
  EXPECT_EQ(rel->manifest_path, tmp_.Join("target/manifest.json"));
  EXPECT_THAT(rel->database_file_origin, HasSubstr("target `dev`"));
}

TEST_F(DbtProject, AnyProjectNameButNotTwo) {
  WriteManifest(Manifest({{"model.other_pkg.scores", Node("other_pkg", "scores", "warehouse",
                                                          "main", "scores")}}));
  ASSERT_TRUE(Resolve().ok());
  WriteManifest(Manifest(
      {{"model.a.scores", Node("a", "scores", "warehouse", "main", "scores")},
       {"model.b.scores", Node("b", "scores", "warehouse", "main", "scores")}}));
  Result<DbtRelation> rel = Resolve();
  ASSERT_FALSE(rel.ok());
  EXPECT_THAT(rel.status().message(), HasSubstr("2 models named `scores`"));
  EXPECT_THAT(rel.status().message(), HasSubstr("model.a.scores, model.b.scores"));
}

TEST_F(DbtProject, MissingManifestSaysHowToWriteIt) {
  Result<DbtRelation> rel = Resolve();
  ASSERT_EQ(rel.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(rel.status().message(), HasSubstr(tmp_.Join("target/manifest.json")));
  EXPECT_THAT(rel.status().message(),
              HasSubstr("run `dbt compile` or `dbt run` in " + dir_));
}

TEST_F(DbtProject, TargetPathMovesTheManifest) {
  source_.target_path = "build/out";
  tmp_.Write("build/out/manifest.json",
             Manifest({{"model.shop.scores", Node("shop", "scores", "warehouse", "main",
                                                  "scores")}}).dump());
  EXPECT_TRUE(Resolve().ok());
}

TEST_F(DbtProject, MalformedOrUnsupportedManifestsAreRefused) {
  tmp_.Write("target/manifest.json", "{\"metadata\": ");
  Result<DbtRelation> rel = Resolve();
  ASSERT_EQ(rel.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(rel.status().message(), HasSubstr(tmp_.Join("target/manifest.json")));
  EXPECT_THAT(rel.status().message(), HasSubstr("is not a JSON object"));

  WriteManifest(Manifest(json::object(), 5));
  rel = Resolve();
  EXPECT_THAT(rel.status().message(), HasSubstr("has version v5; Larder reads v10 to v12"));

  WriteManifest(json{{"nodes", json::object()}});
  rel = Resolve();
  EXPECT_THAT(rel.status().message(), HasSubstr("no metadata.dbt_schema_version"));

  WriteManifest(Manifest({{"model.shop.scores", Node("shop", "scores", "w", "main", "s")}}, 12,
                         "snowflake"));
  rel = Resolve();
  EXPECT_THAT(rel.status().message(), HasSubstr("adapter `snowflake`"));
}

TEST_F(DbtProject, UnknownModelListsSomeThatExist) {
  WriteManifest(Manifest({{"model.shop.alpha", Node("shop", "alpha", "warehouse", "main", "a")},
                          {"model.shop.beta", Node("shop", "beta", "warehouse", "main", "b")}}));
  Result<DbtRelation> rel = Resolve();
  ASSERT_EQ(rel.status().code(), StatusCode::kNotFound);
  EXPECT_THAT(rel.status().message(), HasSubstr("has no model `scores` (models: alpha, beta)"));
}

TEST_F(DbtProject, StaleManifestNamesBothFilesAndTimes) {
  WriteManifest(Manifest({{"model.shop.scores", Node("shop", "scores", "warehouse", "main",
                                                     "scores")}}),
                std::chrono::seconds(-60));
  Result<DbtRelation> rel = Resolve();
  ASSERT_EQ(rel.status().code(), StatusCode::kFailedPrecondition);
  const std::string& m = rel.status().message();
  EXPECT_THAT(m, HasSubstr(tmp_.Join("target/manifest.json") + " (written "));
  EXPECT_THAT(m, HasSubstr("is stale: it is older than " + tmp_.Join("models/scores.sql") +
                           " (changed "));
  EXPECT_THAT(m, HasSubstr("run `dbt run` in " + dir_));
}

TEST_F(DbtProject, HostileNamesComeBackVerbatimForQuoting) {
  WriteManifest(Manifest({{"model.shop.scores", Node("shop", "scores", "warehouse",
                                                     "x; DROP TABLE y", "a\"b")}}));
  Result<DbtRelation> rel = Resolve();
  ASSERT_TRUE(rel.ok()) << rel.status().ToString();
  EXPECT_EQ(rel->schema, "x; DROP TABLE y");
  EXPECT_EQ(rel->identifier, "a\"b");
}

TEST_F(DbtProject, ControlCharactersAndEscapingPathsAreRefused) {
  WriteManifest(Manifest({{"model.shop.scores", Node("shop", "scores", "warehouse",
                                                     std::string("ma\0in", 5), "s")}}));
  Result<DbtRelation> rel = Resolve();
  ASSERT_EQ(rel.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(rel.status().message(), HasSubstr("field `schema` `ma?in`"));

  json node = Node("shop", "scores", "warehouse", "main", "s");
  node["original_file_path"] = "../../etc/passwd";
  WriteManifest(Manifest({{"model.shop.scores", node}}));
  rel = Resolve();
  EXPECT_THAT(rel.status().message(), HasSubstr("is not a path inside the project"));

  node["original_file_path"] = "/etc/passwd";
  WriteManifest(Manifest({{"model.shop.scores", node}}));
  EXPECT_THAT(Resolve().status().message(), HasSubstr("is not a path inside the project"));
}

TEST_F(DbtProject, EphemeralModelsHaveNoRelation) {
  json node = Node("shop", "scores", "warehouse", "main", "s");
  node["config"]["materialized"] = "ephemeral";
  WriteManifest(Manifest({{"model.shop.scores", node}}));
  EXPECT_THAT(Resolve().status().message(), HasSubstr("is ephemeral"));
}

TEST_F(DbtProject, DatabasePathOverridesTheProfile) {
  WriteManifest(Manifest({{"model.shop.scores", Node("shop", "scores", "anything", "main",
                                                     "s")}}));
  tmp_.Write("files/other.duckdb", "");
  source_.database_path = "files/other.duckdb";
  Result<DbtRelation> rel = Resolve();
  ASSERT_TRUE(rel.ok()) << rel.status().ToString();
  EXPECT_EQ(rel->database_file, tmp_.Join("files/other.duckdb"));
  EXPECT_EQ(rel->database_file_origin, "database_path");

  source_.database_path = "files/missing.duckdb";
  rel = Resolve();
  ASSERT_EQ(rel.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(rel.status().message(), HasSubstr(tmp_.Join("files/missing.duckdb")));
  EXPECT_THAT(rel.status().message(), HasSubstr("run `dbt run` in"));
}

TEST_F(DbtProject, TargetAttachAndEnvVarOfTheProfile) {
  tmp_.Write("profiles_elsewhere/profiles.yml",
             "shop:\n  target: dev\n  outputs:\n"
             "    dev: {type: duckdb, path: a.duckdb}\n"
             "    ci:\n      type: duckdb\n"
             "      path: \"{{ env_var('LARDER_TEST_UNSET_VAR', 'ci.duckdb') }}\"\n"
             "      attach:\n        - {path: lake/extra_file.duckdb, alias: lake}\n");
  tmp_.Write("ci.duckdb", "");
  tmp_.Write("lake/extra_file.duckdb", "");
  DbtEnvironment env{tmp_.Join("profiles_elsewhere"), "ci", ""};
  WriteManifest(Manifest({{"model.shop.scores", Node("shop", "scores", "ci", "main", "s")}}));
  Result<DbtRelation> rel = Resolve(env);
  ASSERT_TRUE(rel.ok()) << rel.status().ToString();
  EXPECT_EQ(rel->database_file, tmp_.Join("ci.duckdb"));

  WriteManifest(Manifest({{"model.shop.scores", Node("shop", "scores", "LAKE", "main", "s")}}));
  rel = Resolve(env);
  ASSERT_TRUE(rel.ok()) << rel.status().ToString();
  EXPECT_EQ(rel->database_file, tmp_.Join("lake/extra_file.duckdb"));

  // The manifest's database is written by no output of the chosen target.
  WriteManifest(Manifest({{"model.shop.scores", Node("shop", "scores", "warehouse", "main",
                                                     "s")}}));
  rel = Resolve(env);
  ASSERT_FALSE(rel.ok());
  EXPECT_THAT(rel.status().message(), HasSubstr("in database `warehouse`, but dbt profiles "));
  EXPECT_THAT(rel.status().message(), HasSubstr("target `ci`"));
}

TEST_F(DbtProject, ProfileProblemsNameTheFile) {
  WriteManifest(Manifest({{"model.shop.scores", Node("shop", "scores", "warehouse", "main",
                                                     "s")}}));
  tmp_.Write("profiles.yml", "shop:\n  target: dev\n  outputs:\n    dev: {type: postgres}\n");
  Result<DbtRelation> rel = Resolve();
  EXPECT_THAT(rel.status().message(), HasSubstr(tmp_.Join("profiles.yml")));
  EXPECT_THAT(rel.status().message(), HasSubstr("type `postgres`"));

  tmp_.Write("profiles.yml",
             "shop:\n  target: dev\n  outputs:\n    dev: {type: duckdb, path: \"{{ x }}\"}\n");
  EXPECT_THAT(Resolve().status().message(), HasSubstr("set the source's `database_path`"));

  tmp_.Write("profiles.yml",
             "shop:\n  target: dev\n  outputs:\n    dev: {type: duckdb, path: \":memory:\"}\n");
  EXPECT_THAT(Resolve().status().message(), HasSubstr("in database `warehouse`, but"));

  fs::remove(tmp_.Join("profiles.yml"));
  rel = Resolve();
  EXPECT_EQ(rel.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(rel.status().message(), HasSubstr("no dbt profiles.yml"));
}

}  // namespace
}  // namespace larder::repo
