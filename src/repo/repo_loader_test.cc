#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <tuple>

#include "larder/repo.h"
#include "support/test_util.h"

namespace larder {
namespace {

using ::larder::testing::TempDir;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kConfig[] = "project: test_project\n";

constexpr char kEntities[] =
    "entities:\n"
    "  - name: user\n"
    "    join_keys: [user_id]\n"
    "    value_type: Int64\n";

constexpr char kSource[] =
    "data_sources:\n"
    "  - name: users_source\n"
    "    type: file\n"
    "    path: data/users.parquet\n"
    "    timestamp_field: signup_date\n";

constexpr char kView[] =
    "feature_views:\n"
    "  - name: user_features\n"
    "    entities: [user]\n"
    "    ttl: 365d\n"
    "    schema:\n"
    "      - {name: user_id, dtype: Int64}\n"
    "      - {name: country, dtype: String}\n"
    "      - {name: age, dtype: Int64}\n"
    "    source: users_source\n";

constexpr char kService[] =
    "feature_services:\n"
    "  - name: svc\n"
    "    features:\n"
    "      - feature_view: user_features\n"
    "        features: [country]\n";

// A repo with one of each object; tests overwrite a file to break it.
class RepoLoaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_.Write("feature_store.yaml", kConfig);
    dir_.Write("entities.yaml", kEntities);
    dir_.Write("sources.yaml", kSource);
    dir_.Write("views.yaml", kView);
    dir_.Write("services.yaml", kService);
    columns_ = {{"user_id", "BIGINT"}, {"country", "VARCHAR"},
                {"age", "BIGINT"},     {"signup_date", "TIMESTAMP WITH TIME ZONE"}};
  }

  LoadOptions WithFakeSchema() {
    LoadOptions options;
    options.schema_resolver = [this](const DataSource&, const std::string& path)
        -> Result<std::vector<ColumnInfo>> {
      if (path.find("missing") != std::string::npos) {
        return Status::NotFound("no file matches " + path);
      }
      std::vector<ColumnInfo> out;
      for (const auto& [name, type] : columns_) out.push_back({name, type});
      return out;
    };
    return options;
  }

  // Loads the repo and returns the error message; fails the test if it loads.
  std::string LoadError(const LoadOptions& options = {}) {
    Result<FeatureRepo> repo = LoadFeatureRepo(dir_.path(), options);
    EXPECT_FALSE(repo.ok()) << "the repo loaded but should not have";
    if (repo.ok()) return "";
    EXPECT_EQ(repo.status().code(), StatusCode::kInvalidArgument);
    return repo.status().message();
  }

  TempDir dir_;
  std::map<std::string, std::string> columns_;
};

TEST_F(RepoLoaderTest, LoadsAValidRepo) {
  Result<FeatureRepo> repo = LoadFeatureRepo(dir_.path(), WithFakeSchema());
  ASSERT_TRUE(repo.ok()) << repo.status().ToString();
  EXPECT_EQ(repo->config.project, "test_project");
  EXPECT_EQ(repo->config.registry, "data/registry.db");
  EXPECT_EQ(repo->config.online_store.type, "rocksdb");
  ASSERT_EQ(repo->entities.size(), 1u);
  EXPECT_EQ(repo->entities[0].join_keys, std::vector<std::string>{"user_id"});
  const FeatureView* view = repo->FindFeatureView("user_features");
  ASSERT_NE(view, nullptr);
  EXPECT_EQ(view->ttl.micros, 365 * Duration::kDay);
  // The join key listed in the schema is an entity column, not a feature.
  ASSERT_EQ(view->schema.size(), 2u);
  EXPECT_EQ(view->schema[0].name, "country");
  ASSERT_EQ(view->entity_columns.size(), 1u);
  EXPECT_EQ(view->entity_columns[0].name, "user_id");
  EXPECT_EQ(view->location.file, "views.yaml");
  EXPECT_EQ(view->location.line, 2);
  const FeatureService* svc = repo->FindFeatureService("svc");
  ASSERT_NE(svc, nullptr);
  EXPECT_EQ(svc->features[0].features, std::vector<std::string>{"country"});
}

TEST_F(RepoLoaderTest, MalformedYamlNamesFileAndLine) {
  dir_.Write("views.yaml", "feature_views:\n  - name: [unclosed\n");
  EXPECT_THAT(LoadError(), HasSubstr("views.yaml:3: malformed YAML"));
}

TEST_F(RepoLoaderTest, UnknownKeyIsNamed) {
  dir_.Write("entities.yaml", std::string(kEntities) + "    colour: blue\n");
  std::string err = LoadError();
  EXPECT_THAT(err, HasSubstr("entities.yaml:5: entity 'user': unknown field `colour`"));
  EXPECT_THAT(err, HasSubstr("accepted: name, join_keys"));
}

TEST_F(RepoLoaderTest, UnknownTopLevelSectionIsNamed) {
  dir_.Write("extra.yaml", "feature_tables: []\n");
  EXPECT_THAT(LoadError(), HasSubstr("extra.yaml:1: definition file: unknown field `feature_tables`"));
}

TEST_F(RepoLoaderTest, UnknownConfigKeyIsNamed) {
  dir_.Write("feature_store.yaml", "project: p\nonline_stor:\n  type: redis\n");
  Result<FeatureRepo> repo = LoadFeatureRepo(dir_.path());
  ASSERT_FALSE(repo.ok());
  EXPECT_THAT(repo.status().message(), HasSubstr("feature_store.yaml:2"));
  EXPECT_THAT(repo.status().message(), HasSubstr("unknown field `online_stor`"));
}

TEST_F(RepoLoaderTest, UnknownStoreOptionAndTypeAreNamed) {
  dir_.Write("feature_store.yaml",
             "project: p\nonline_store:\n  type: redis\n  hostname: x\n"
             "offline_store:\n  type: bigquery\n");
  Result<FeatureRepo> repo = LoadFeatureRepo(dir_.path());
  ASSERT_FALSE(repo.ok());
  EXPECT_THAT(repo.status().message(), HasSubstr("feature_store.yaml:4: section `online_store`: unknown field `hostname`"));
  EXPECT_THAT(repo.status().message(),
              HasSubstr("feature_store.yaml:6: section `offline_store`: field `type`: "
                        "`bigquery` is not supported (supported: duckdb, spark)"));
}

TEST_F(RepoLoaderTest, BadProjectNameAndSerializationVersion) {
  dir_.Write("feature_store.yaml", "project: my-project\nentity_key_serialization_version: 7\n");
  Result<FeatureRepo> repo = LoadFeatureRepo(dir_.path());
  ASSERT_FALSE(repo.ok());
  EXPECT_THAT(repo.status().message(), HasSubstr("field `project`: `my-project` is not a valid name"));
  EXPECT_THAT(repo.status().message(), HasSubstr("must be 3, found `7`"));
}

TEST_F(RepoLoaderTest, BatchEngineTakesANameOrAMappingWithPartitions) {
  dir_.Write("feature_store.yaml", "project: p\nbatch_engine: local\n");
  Result<RepoConfig> plain = LoadRepoConfig(dir_.path());
  ASSERT_TRUE(plain.ok()) << plain.status().ToString();
  EXPECT_EQ(plain->batch_engine, "local");
  EXPECT_EQ(plain->materialize_partitions, 4);
  dir_.Write("feature_store.yaml", "project: p\nbatch_engine:\n  type: local\n  partitions: 8\n");
  Result<RepoConfig> mapped = LoadRepoConfig(dir_.path());
  ASSERT_TRUE(mapped.ok()) << mapped.status().ToString();
  EXPECT_EQ(mapped->materialize_partitions, 8);
  for (const char* bad : {"0", "x", "1000", "-2"}) {
    dir_.Write("feature_store.yaml", std::string("project: p\nbatch_engine:\n  type: local\n"
                                                 "  partitions: ") + bad + "\n");
    Result<RepoConfig> r = LoadRepoConfig(dir_.path());
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_THAT(r.status().message(), HasSubstr("feature_store.yaml:4"));
    EXPECT_THAT(r.status().message(), HasSubstr("partitions"));
  }
  dir_.Write("feature_store.yaml", "project: p\nbatch_engine:\n  type: local\n  threads: 2\n");
  Result<RepoConfig> unknown = LoadRepoConfig(dir_.path());
  ASSERT_FALSE(unknown.ok());
  EXPECT_THAT(unknown.status().message(), HasSubstr("threads"));
}

// Settings Larder would otherwise accept and then not honour are refused at
// load, naming the file, the line and the key.
TEST_F(RepoLoaderTest, SettingsThatWouldBeIgnoredAreRefused) {
  struct Case {
    std::string yaml;  // after `project: p`
    std::string expected;
  };
  const Case cases[] = {
      {"offline_store:\n  type: bigquery\n",
       "feature_store.yaml:3: section `offline_store`: field `type`: `bigquery` is not "
       "supported (supported: duckdb, spark)"},
      {"batch_engine:\n  type: spark.engine\n",
       "feature_store.yaml:3: section `batch_engine`: field `type`: `spark.engine` materializes "
       "through the spark offline store, and this repo's is `duckdb`"},
      {"batch_engine: spark\n", "feature_store.yaml:2: feature_store.yaml: field `batch_engine`"},
      {"offline_store:\n  type: spark\n  spark_conf: spark.ui.enabled=false\n",
       "feature_store.yaml:4: section `offline_store`: field `spark_conf`: expected a mapping"},
      {"offline_store:\n  type: spark\n  remote: http://127.0.0.1:15002\n",
       "feature_store.yaml:4: section `offline_store`: field `remote`: `http://127.0.0.1:15002` "
       "is not a Spark Connect connection string"},
      {"offline_store:\n  type: spark\n  spark_conf:\n    spark.sql.session.timeZone: "
       "Europe/Paris\n",
       "field `spark_conf`: spark.sql.session.timeZone: `Europe/Paris` is not supported"},
      {"offline_store:\n  type: spark\n  query_timeout_ms: soon\n",
       "feature_store.yaml:4: section `offline_store`: field `query_timeout_ms`: must be a "
       "positive number of milliseconds"},
      {"offline_store:\n  type: spark\n  spark_home: /opt/spark\n",
       "feature_store.yaml:4: section `offline_store`: unknown field `spark_home`"},
      {"registry:\n  registry_type: sql\n  path: postgresql://larder:pw@db:5432/feast\n",
       "feature_store.yaml:3: section `registry`: field `registry_type`: `sql` takes a "
       "`sqlite:///PATH` URL; postgresql:// databases are not supported yet"},
      {"registry: s3://bucket/registry.db\n",
       "feature_store.yaml:2: feature_store.yaml: field `registry`: `s3://bucket/registry.db`: "
       "s3:// locations are not supported yet"},
      {"registry:\n  path: gs://bucket/registry.db\n",
       "feature_store.yaml:3: section `registry`: field `path`: `gs://bucket/registry.db`"},
      {"online_store:\n  type: rocksdb\n  path: s3://bucket/online\n",
       "feature_store.yaml:4: section `online_store`: field `path`: `s3://bucket/online`"},
      {"offline_store:\n  type: duckdb\n  path: https://host/x.duckdb\n",
       "feature_store.yaml:4: section `offline_store`: field `path`"},
      {"entity_key_serialization_version: 2\n",
       "feature_store.yaml:2: feature_store.yaml: field `entity_key_serialization_version`: "
       "must be 3"},
      {"feature_server:\n  type: aws_lambda\n",
       "feature_store.yaml:3: section `feature_server`: field `type`: `aws_lambda` is not "
       "supported"},
      {"feature_server:\n  enabled: false\n",
       "feature_store.yaml:3: section `feature_server`: field `enabled`"},
      {"online_store:\n  type: redis\n  connection_string: \"h:6379,ssl=true\"\n",
       "feature_store.yaml:4: section `online_store`: field `connection_string`: ssl=true: TLS "
       "connections to Redis are not supported yet"},
      {"online_store:\n  type: redis\n  connection_string: \"h:6379,socket_timeout=5\"\n",
       "field `connection_string`: parameter `socket_timeout` is not supported"},
      {"online_store:\n  type: redis\n  redis_type: redis_sentinel\n",
       "feature_store.yaml:4: section `online_store`: field `redis_type`: `redis_sentinel` is "
       "not supported"},
      {"online_store:\n  type: redis\n  redis_type: redis\n  connection_string: a:1,b:2\n",
       "feature_store.yaml:5: section `online_store`: field `connection_string`: lists 2 "
       "servers but redis_type is `redis`"},
      {"online_store:\n  type: redis\n  redis_type: redis_cluster\n",
       "field `redis_type`: redis_cluster needs its seed nodes"},
      {"online_store:\n  type: redis\n  connection_string: a:1\n  port: 2\n",
       "feature_store.yaml:5: section `online_store`: field `port`: cannot be combined with "
       "connection_string"},
  };
  for (const Case& c : cases) {
    dir_.Write("feature_store.yaml", "project: p\n" + c.yaml);
    Result<RepoConfig> config = LoadRepoConfig(dir_.path());
    ASSERT_FALSE(config.ok()) << c.yaml;
    EXPECT_THAT(config.status().message(), HasSubstr(c.expected)) << c.yaml;
  }
  // A database URL's password is not echoed.
  dir_.Write("feature_store.yaml", "project: p\nregistry:\n  registry_type: sql\n"
                                   "  path: postgresql://larder:s3cret@db/feast\n");
  EXPECT_THAT(LoadRepoConfig(dir_.path()).status().message(), Not(HasSubstr("s3cret")));
}

TEST_F(RepoLoaderTest, FeastRegistrySettingsAreHonoured) {
  dir_.Write("feature_store.yaml", "project: p\nregistry:\n  registry_type: sql\n"
                                   "  path: sqlite:///data/reg.db\n  cache_ttl_seconds: 60\n");
  Result<RepoConfig> config = LoadRepoConfig(dir_.path());
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->registry, "data/reg.db");
  EXPECT_EQ(config->registry_cache_ttl_seconds, 60);
  dir_.Write("feature_store.yaml", "project: p\nregistry:\n  registry_type: sql\n"
                                   "  path: sqlite:////abs/reg.db\n  cache_ttl_seconds: 0\n");
  config = LoadRepoConfig(dir_.path());
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->registry, "/abs/reg.db");
  EXPECT_EQ(config->registry_cache_ttl_seconds, 0);
  dir_.Write("feature_store.yaml", "project: p\nregistry:\n  path: r.db\n"
                                   "  cache_ttl_seconds: soon\n");
  EXPECT_THAT(LoadRepoConfig(dir_.path()).status().message(),
              HasSubstr("feature_store.yaml:4: section `registry`: field `cache_ttl_seconds`"));
}

// Feast's redis_type and connection_string become the backend's own options.
TEST_F(RepoLoaderTest, FeastRedisOptionsMapOntoTheBackendsOwn) {
  dir_.Write("feature_store.yaml",
             "project: p\nonline_store:\n  type: redis\n  redis_type: redis_cluster\n"
             "  connection_string: \"h1:7000, h2:7001,ssl=false,password=pw=x\"\n");
  Result<RepoConfig> cluster = LoadRepoConfig(dir_.path());
  ASSERT_TRUE(cluster.ok()) << cluster.status().ToString();
  EXPECT_EQ(cluster->online_store.options,
            (std::map<std::string, std::string>{{"cluster_nodes", "h1:7000,h2:7001"},
                                                {"password", "pw=x"}}));
  // One seed is still a cluster when redis_type says so.
  dir_.Write("feature_store.yaml",
             "project: p\nonline_store:\n  type: redis\n  redis_type: redis_cluster\n"
             "  connection_string: h1:7000\n");
  cluster = LoadRepoConfig(dir_.path());
  ASSERT_TRUE(cluster.ok()) << cluster.status().ToString();
  EXPECT_EQ(cluster->online_store.options,
            (std::map<std::string, std::string>{{"cluster_nodes", "h1:7000"}}));
  dir_.Write("feature_store.yaml",
             "project: p\nonline_store:\n  type: redis\n  redis_type: redis\n"
             "  connection_string: \"cache:6380,db=2,password=pw\"\n");
  Result<RepoConfig> single = LoadRepoConfig(dir_.path());
  ASSERT_TRUE(single.ok()) << single.status().ToString();
  EXPECT_EQ(single->online_store.options,
            (std::map<std::string, std::string>{
                {"host", "cache"}, {"port", "6380"}, {"db", "2"}, {"password", "pw"}}));
}

TEST_F(RepoLoaderTest, FeastPythonDefinitionsAreNamedInWarnings) {
  dir_.Write("features/repo.py", "# Feast definitions\nfrom feast import Entity, FeatureView\n");
  dir_.Write("other.py", "import feast\n");
  dir_.Write("tools/helper.py", "import os\nprint('feast')\nfrom feasty import x\n");
  Result<FeatureRepo> repo = LoadFeatureRepo(dir_.path(), WithFakeSchema());
  ASSERT_TRUE(repo.ok()) << repo.status().ToString();
  ASSERT_EQ(repo->warnings.size(), 2u);
  EXPECT_THAT(repo->warnings[0], HasSubstr("features/repo.py: looks like Feast Python "
                                           "definitions"));
  EXPECT_THAT(repo->warnings[0], HasSubstr("Larder reads definitions from YAML files only"));
  EXPECT_THAT(repo->warnings[1], HasSubstr("other.py"));
}

TEST_F(RepoLoaderTest, MissingConfigIsNotFound) {
  TempDir empty;
  Result<FeatureRepo> repo = LoadFeatureRepo(empty.path());
  ASSERT_FALSE(repo.ok());
  EXPECT_EQ(repo.status().code(), StatusCode::kNotFound);
  EXPECT_THAT(repo.status().message(), HasSubstr("no feature_store.yaml"));
}

TEST_F(RepoLoaderTest, DuplicateNamesAcrossFilesNameBothPlaces) {
  dir_.Write("more_entities.yaml", kEntities);
  std::string err = LoadError();
  EXPECT_THAT(err, HasSubstr("more_entities.yaml:2: entity 'user' is defined twice; first at entities.yaml:2"));
}

TEST_F(RepoLoaderTest, DuplicateKeyInOneMapping) {
  dir_.Write("entities.yaml", std::string(kEntities) + "    value_type: String\n");
  EXPECT_THAT(LoadError(), HasSubstr("entities.yaml:5: entity 'user': field `value_type` is given twice"));
}

TEST_F(RepoLoaderTest, MissingRequiredField) {
  dir_.Write("views.yaml",
             "feature_views:\n  - name: v\n    schema:\n      - {name: country, dtype: String}\n");
  EXPECT_THAT(LoadError(), HasSubstr("views.yaml:2: feature view 'v': missing required field `source`"));
}

TEST_F(RepoLoaderTest, UnknownReferences) {
  dir_.Write("views.yaml",
             "feature_views:\n"
             "  - name: v\n    entities: [customer]\n    source: nowhere\n"
             "    schema: [{name: country, dtype: String}]\n");
  dir_.Write("services.yaml",
             "feature_services:\n  - name: svc\n    features: [ghost_view]\n");
  std::string err = LoadError();
  EXPECT_THAT(err, HasSubstr("views.yaml:2: feature view 'v': field `entities`: unknown entity 'customer'"));
  EXPECT_THAT(err, HasSubstr("field `source`: unknown data source 'nowhere'"));
  EXPECT_THAT(err, HasSubstr("services.yaml:2: feature service 'svc': field `features`: unknown feature view 'ghost_view'"));
}

TEST_F(RepoLoaderTest, UnknownDtypeNamesTheFieldLine) {
  dir_.Write("views.yaml",
             "feature_views:\n  - name: v\n    entities: [user]\n    source: users_source\n"
             "    schema:\n      - {name: country, dtype: String}\n      - {name: age, dtype: Integer}\n");
  dir_.Write("services.yaml", "");
  std::string err = LoadError();
  EXPECT_THAT(err, HasSubstr("views.yaml:7: feature view 'v' field 'age': field `dtype`: unknown dtype 'Integer'"));
}

TEST_F(RepoLoaderTest, BadAndNegativeDurations) {
  for (const char* ttl : {"5w", "-1d", "1.5h", "forever"}) {
    dir_.Write("views.yaml", std::string(kView).replace(std::string(kView).find("365d"), 4, ttl));
    std::string err = LoadError();
    EXPECT_THAT(err, HasSubstr("views.yaml:4: feature view 'user_features': field `ttl`: bad duration"))
        << ttl;
  }
  dir_.Write("views.yaml", std::string(kView).replace(std::string(kView).find("365d"), 4, "-1d"));
  EXPECT_THAT(LoadError(), HasSubstr("cannot be negative"));
}

TEST_F(RepoLoaderTest, JoinKeyMissingFromSourceFile) {
  columns_.erase("user_id");
  std::string err = LoadError(WithFakeSchema());
  EXPECT_THAT(err, HasSubstr("views.yaml:2: feature view 'user_features': join key `user_id` of entity 'user' is not a column of data source 'users_source' (data/users.parquet"));
}

TEST_F(RepoLoaderTest, FeatureMissingFromSourceFile) {
  columns_.erase("country");
  std::string err = LoadError(WithFakeSchema());
  EXPECT_THAT(err, HasSubstr("views.yaml:7: feature view 'user_features': feature `country` is not a column"));
}

TEST_F(RepoLoaderTest, FeatureTypeDisagreesWithFile) {
  columns_["age"] = "VARCHAR";
  std::string err = LoadError(WithFakeSchema());
  EXPECT_THAT(err, HasSubstr("feature `age` is declared Int64 but column `age` in data/users.parquet is VARCHAR"));
}

TEST_F(RepoLoaderTest, TimestampFieldMustBeATimeColumn) {
  columns_["signup_date"] = "VARCHAR";
  EXPECT_THAT(LoadError(WithFakeSchema()),
              HasSubstr("sources.yaml:2: data source 'users_source': field `timestamp_field`: column `signup_date` is VARCHAR"));
}

TEST_F(RepoLoaderTest, FieldMappingRenamesColumns) {
  columns_.erase("country");
  columns_["nation"] = "VARCHAR";
  dir_.Write("sources.yaml", std::string(kSource) + "    field_mapping: {nation: country}\n");
  Result<FeatureRepo> repo = LoadFeatureRepo(dir_.path(), WithFakeSchema());
  EXPECT_TRUE(repo.ok()) << repo.status().ToString();
}

TEST_F(RepoLoaderTest, MissingFileIsNamed) {
  dir_.Write("sources.yaml",
             "data_sources:\n  - name: users_source\n    type: file\n"
             "    path: data/missing.parquet\n    timestamp_field: signup_date\n");
  EXPECT_THAT(LoadError(WithFakeSchema()),
              HasSubstr("sources.yaml:2: data source 'users_source': field `path`: no file matches"));
}

TEST_F(RepoLoaderTest, ServiceNamingMissingFeature) {
  dir_.Write("services.yaml",
             "feature_services:\n  - name: svc\n    features:\n"
             "      - {feature_view: user_features, features: [country, shoe_size]}\n");
  EXPECT_THAT(LoadError(), HasSubstr("services.yaml:2: feature service 'svc': field `features`: feature view 'user_features' has no feature `shoe_size`"));
}

TEST_F(RepoLoaderTest, PushAndModelSourceReferences) {
  dir_.Write("more_sources.yaml",
             "data_sources:\n"
             "  - {name: pushed, type: push, batch_source: nothing}\n"
             "  - {name: modelled, type: model, model: absent, timestamp_field: ts}\n"
             "  - {name: wrong, type: push, batch_source: users_source, path: x.parquet}\n");
  std::string err = LoadError();
  EXPECT_THAT(err, HasSubstr("more_sources.yaml:4: data source 'wrong': field `path`: a push source takes"));
}

TEST_F(RepoLoaderTest, PushAndModelSourceUnknownTargets) {
  dir_.Write("more_sources.yaml",
             "data_sources:\n"
             "  - {name: pushed, type: push, batch_source: nothing}\n"
             "  - {name: modelled, type: model, model: absent, timestamp_field: ts}\n");
  std::string err = LoadError();
  EXPECT_THAT(err, HasSubstr("data source 'pushed': field `batch_source`: unknown data source 'nothing'"));
  EXPECT_THAT(err, HasSubstr("data source 'modelled': field `model`: no SQL model 'absent' (expected models/absent.sql)"));
}

TEST_F(RepoLoaderTest, DbtSourcesParseAndAreCheckedThroughTheResolver) {
  dir_.Write("dbt_sources.yaml",
             "data_sources:\n"
             "  - {name: dbt_users, type: dbt, project_dir: ../analytics, model: users,\n"
             "     timestamp_field: signup_date, field_mapping: {age: years}}\n"
             "feature_views:\n"
             "  - name: dbt_view\n"
             "    entities: [user]\n"
             "    source: dbt_users\n"
             "    schema: [{name: years, dtype: Int64}, {name: nope, dtype: Int64}]\n");
  std::string seen;
  LoadOptions options = WithFakeSchema();
  SchemaResolver files = options.schema_resolver;
  options.schema_resolver = [&](const DataSource& s, const std::string& path) {
    if (s.kind == DataSourceKind::kDbt) seen = path;
    return files(s, path);
  };
  std::string err = LoadError(options);
  EXPECT_EQ(seen, std::filesystem::path(dir_.Join("../analytics")).lexically_normal().string());
  EXPECT_THAT(err, HasSubstr("feature view 'dbt_view': feature `nope` is not a column of data "
                             "source 'dbt_users' (dbt model users in ../analytics;"));
  EXPECT_THAT(err, Not(HasSubstr("`years`")));

  Result<FeatureRepo> unchecked = LoadFeatureRepo(dir_.path());
  ASSERT_TRUE(unchecked.ok()) << unchecked.status().ToString();
  const DataSource* s = unchecked->FindDataSource("dbt_users");
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->kind, DataSourceKind::kDbt);
  EXPECT_EQ(s->project_dir, "../analytics");
  EXPECT_EQ(s->model, "users");
  EXPECT_EQ(s->target_path, "target");
  EXPECT_EQ(s->database_path, "");
}

TEST_F(RepoLoaderTest, DbtSourceKeysAreChecked) {
  dir_.Write("dbt_sources.yaml",
             "data_sources:\n"
             "  - {name: a, type: dbt, model: users, timestamp_field: ts}\n"
             "  - {name: b, type: dbt, project_dir: p, model: m, timestamp_field: ts, path: x.csv}\n"
             "  - {name: c, type: file, path: x.csv, timestamp_field: ts, project_dir: p}\n"
             "  - {name: d, type: dbt, project_dir: p, model: m, timestamp_field: ts}\n");
  std::string err = LoadError();
  EXPECT_THAT(err, HasSubstr("data source 'a': missing field `project_dir`, required for `dbt`"));
  EXPECT_THAT(err, HasSubstr("data source 'b': field `path`: only applies to file and spark sources"));
  EXPECT_THAT(err, HasSubstr("data source 'c': field `project_dir`: only applies to dbt sources"));

  // Parsed, then refused by validation: Larder never writes dbt's database.
  dir_.Write("dbt_sources.yaml",
             "data_sources:\n"
             "  - {name: d, type: dbt, project_dir: p, model: m, timestamp_field: ts}\n"
             "  - {name: e, type: push, batch_source: d}\n");
  EXPECT_THAT(LoadError(), HasSubstr("data source 'e': field `batch_source`: 'd' is a dbt source"));
}

TEST_F(RepoLoaderTest, ReportsEveryErrorAtOnce) {
  dir_.Write("entities.yaml",
             "entities:\n  - {name: user, join_keys: [user_id], value_type: Int65}\n"
             "  - {name: 9lives, value_type: Int64}\n");
  std::string err = LoadError();
  EXPECT_THAT(err, HasSubstr("(2 errors)"));
  EXPECT_THAT(err, HasSubstr("unknown dtype 'Int65'"));
  EXPECT_THAT(err, HasSubstr("`9lives` is not a valid name"));
}

TEST_F(RepoLoaderTest, ModelsAreRegisteredFromModelsDir) {
  dir_.Write("models/daily_counts.sql", "SELECT 1 AS x\n");
  dir_.Write("models/bad-name.sql", "SELECT 1\n");
  EXPECT_THAT(LoadError(), HasSubstr("models/bad-name.sql: sql model name `bad-name`"));
  std::filesystem::remove(dir_.Join("models/bad-name.sql"));
  Result<FeatureRepo> repo = LoadFeatureRepo(dir_.path());
  ASSERT_TRUE(repo.ok()) << repo.status().ToString();
  ASSERT_EQ(repo->models.size(), 1u);
  EXPECT_EQ(repo->models[0].name, "daily_counts");
  EXPECT_EQ(repo->models[0].sql, "SELECT 1 AS x\n");
}

TEST_F(RepoLoaderTest, ModelEntriesCarryDescriptionsAndDataTests) {
  dir_.Write("models/daily.sql", "SELECT 1 AS user_id, now() AS ts, 5 AS rating\n");
  dir_.Write("models/schema.yaml",
             "models:\n"
             "  - name: daily\n"
             "    description: Daily stuff.\n"
             "    columns:\n"
             "      - name: user_id\n"
             "        tests:\n"
             "          - not_null\n"
             "          - unique\n"
             "          - relationships: {to: users_source, field: user_id}\n"
             "      - name: rating\n"
             "        tests:\n"
             "          - accepted_values: {values: [1, 5]}\n"
             "          - accepted_range: {min_value: 0, max_value: 10}\n"
             "    tests:\n"
             "      - freshness: {column: ts, max_age: 2d}\n");
  Result<FeatureRepo> repo = LoadFeatureRepo(dir_.path());
  ASSERT_TRUE(repo.ok()) << repo.status().ToString();
  const SqlModel* m = repo->FindModel("daily");
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->description, "Daily stuff.");
  ASSERT_EQ(m->tests.size(), 6u);
  EXPECT_EQ(m->tests[0].kind, DataTestKind::kFreshness);
  EXPECT_EQ(m->tests[0].column, "ts");
  EXPECT_EQ(m->tests[0].max_age.micros, 2 * Duration::kDay);
  EXPECT_EQ(m->tests[1].kind, DataTestKind::kNotNull);
  EXPECT_EQ(m->tests[1].column, "user_id");
  EXPECT_EQ(m->tests[3].to, "users_source");
  EXPECT_EQ(m->tests[4].values, (std::vector<std::string>{"1", "5"}));
  EXPECT_EQ(m->tests[5].min_value, 0.0);
  EXPECT_EQ(m->tests[5].max_value, 10.0);
  EXPECT_EQ(m->tests[5].location.line, 13);
}

TEST_F(RepoLoaderTest, BadModelEntriesAreNamed) {
  dir_.Write("models/daily.sql", "SELECT 1 AS x\n");
  dir_.Write("models/schema.yaml",
             "models:\n"
             "  - name: nightly\n"
             "  - name: daily\n"
             "    columns:\n"
             "      - name: x\n"
             "        tests: [not_nul, {accepted_range: {}}, {relationships: {to: ghost, field: x}}]\n"
             "    tests: [unique]\n");
  std::string err = LoadError();
  EXPECT_THAT(err, HasSubstr("models/schema.yaml:2: model 'nightly': there is no models/nightly.sql"));
  EXPECT_THAT(err, HasSubstr("models/schema.yaml:6: model 'daily' column 'x': unknown test `not_nul`"));
  EXPECT_THAT(err, HasSubstr("accepted_range: give min_value, max_value or both"));
  EXPECT_THAT(err, HasSubstr("test unique: needs a column"));
}

TEST_F(RepoLoaderTest, RelationshipsMustPointAtAModelOrSource) {
  dir_.Write("models/daily.sql", "SELECT 1 AS x\n");
  dir_.Write("models/schema.yaml",
             "models:\n  - name: daily\n    columns:\n      - name: x\n"
             "        tests: [{relationships: {to: ghost, field: x}}]\n");
  EXPECT_THAT(LoadError(), HasSubstr("'ghost' is neither a model nor a data source"));
}

TEST_F(RepoLoaderTest, QuerySources) {
  dir_.Write("more_sources.yaml",
             "data_sources:\n"
             "  - name: recent\n    type: query\n"
             "    query: SELECT * FROM read_parquet('data/x.parquet')\n"
             "    timestamp_field: ts\n"
             "  - {name: no_query, type: query, timestamp_field: ts, path: a.parquet}\n");
  std::string err = LoadError();
  EXPECT_THAT(err, HasSubstr("data source 'no_query': missing field `query`"));
  EXPECT_THAT(err, HasSubstr("data source 'no_query': field `path`: only applies to file and spark sources"));
  dir_.Write("more_sources.yaml",
             "data_sources:\n"
             "  - name: recent\n    type: query\n"
             "    query: SELECT 1 AS user_id\n"
             "    timestamp_field: ts\n");
  Result<FeatureRepo> repo = LoadFeatureRepo(dir_.path());
  ASSERT_TRUE(repo.ok()) << repo.status().ToString();
  EXPECT_EQ(repo->FindDataSource("recent")->kind, DataSourceKind::kQuery);
  EXPECT_EQ(repo->FindDataSource("recent")->query, "SELECT 1 AS user_id");
}

// The workshop's feature_store.yaml: the spark offline store with its
// spark_conf, flattened to spark_conf.<key> options, and Spark's engine.
TEST_F(RepoLoaderTest, TheWorkshopsSparkSettingsAreRead) {
  dir_.Write("feature_store.yaml",
             "project: p\n"
             "offline_store:\n  type: spark\n  remote: sc://127.0.0.1:15002\n"
             "  spark_conf:\n    spark.ui.enabled: \"false\"\n"
             "    spark.sql.catalogImplementation: \"hive\"\n"
             "    spark.sql.session.timeZone: \"UTC\"\n"
             "batch_engine:\n  type: \"spark.engine\"\n  partitions: 10\n");
  Result<RepoConfig> config = LoadRepoConfig(dir_.path());
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->offline_store.type, "spark");
  EXPECT_EQ(config->offline_store.options,
            (std::map<std::string, std::string>{
                {"remote", "sc://127.0.0.1:15002"},
                {"spark_conf.spark.ui.enabled", "false"},
                {"spark_conf.spark.sql.catalogImplementation", "hive"},
                {"spark_conf.spark.sql.session.timeZone", "UTC"}}));
  EXPECT_EQ(config->batch_engine, "spark.engine");
  EXPECT_EQ(config->materialize_partitions, 10);
}

// `type: spark` sources: exactly one of table, query and path (with a
// format); read only by the spark offline store, which in turn refuses the
// sources it does not read.
TEST_F(RepoLoaderTest, SparkSources) {
  const std::string spark_store =
      "project: p\noffline_store:\n  type: spark\n  remote: sc://127.0.0.1:1\n";
  dir_.Write("feature_store.yaml", spark_store);
  dir_.Write("sources.yaml",
             "data_sources:\n"
             "  - {name: users_source, type: spark, table: book_recsys_apply.users, "
             "timestamp_field: ts}\n"
             "  - {name: q, type: spark, query: 'SELECT 1 AS user_id', timestamp_field: ts}\n"
             "  - {name: f, type: spark, path: 's3a://b/k/', file_format: delta, "
             "timestamp_field: ts, created_timestamp_column: c}\n");
  Result<FeatureRepo> repo = LoadFeatureRepo(dir_.path());
  ASSERT_TRUE(repo.ok()) << repo.status().ToString();
  EXPECT_EQ(repo->FindDataSource("users_source")->kind, DataSourceKind::kSpark);
  EXPECT_EQ(repo->FindDataSource("users_source")->table, "book_recsys_apply.users");
  EXPECT_EQ(repo->FindDataSource("q")->query, "SELECT 1 AS user_id");
  EXPECT_EQ(repo->FindDataSource("f")->file_format, FileFormat::kDelta);
  EXPECT_EQ(repo->FindDataSource("f")->path, "s3a://b/k/");

  struct Case {
    std::string source;
    std::string expected;
  };
  const Case cases[] = {
      {"{name: s, type: spark, timestamp_field: ts}",
       "data source 's': missing `table`, `query` or `path`"},
      {"{name: s, type: spark, table: a.b, query: SELECT 1, timestamp_field: ts}",
       "data source 's': more than one of `table`, `query` or `path`"},
      {"{name: s, type: spark, table: a.b.c, timestamp_field: ts}",
       "field `table`: `a.b.c` is not a table name"},
      {"{name: s, type: spark, table: '.b', timestamp_field: ts}",
       "field `table`: `.b` is not a table name"},
      {"{name: s, type: spark, table: a.b}", "missing field `timestamp_field`"},
      {"{name: s, type: spark, path: x/, timestamp_field: ts}",
       "field `path`: give `file_format` (parquet, orc, json or delta)"},
      {"{name: s, type: spark, path: x/, file_format: xml, timestamp_field: ts}",
       "field `file_format`: `xml` is not a format of `spark` sources"},
      {"{name: s, type: spark, table: a.b, file_format: parquet, timestamp_field: ts}",
       "field `file_format`: applies to `path` only"},
      {"{name: s, type: file, path: a.parquet, table: a.b, timestamp_field: ts}",
       "field `table`: only applies to spark sources"},
      {"{name: s, type: spark, table: a.b, model: m, timestamp_field: ts}",
       "field `model`: does not apply to `spark` sources"},
      {"{name: s, type: file, path: a.csv, timestamp_field: ts}",
       "data source 's': field `path`: a csv file; the spark offline store does not read it yet"},
      {"{name: s, type: push, batch_source: users_source}",
       "data source 's': field `type`: a push source lands rows offline; the spark offline "
       "store does not read it yet"},
  };
  for (const Case& c : cases) {
    dir_.Write("sources.yaml", "data_sources:\n  - {name: users_source, type: spark, table: "
                               "t, timestamp_field: ts}\n  - " + c.source + "\n");
    EXPECT_THAT(LoadError(), HasSubstr(c.expected)) << c.source;
  }

  // On the duckdb store, a spark source is an error naming what to set.
  dir_.Write("feature_store.yaml", "project: p\n");
  dir_.Write("sources.yaml", "data_sources:\n  - {name: users_source, type: spark, table: "
                             "a.users, timestamp_field: ts}\n");
  EXPECT_THAT(LoadError(), HasSubstr("data source 'users_source': field `type`: `spark` "
                                     "sources are read by the spark offline store, and this "
                                     "repo's is `duckdb`"));
}

TEST_F(RepoLoaderTest, DataAndHiddenDirectoriesAreNotScanned) {
  dir_.Write("data/junk.yaml", "not: [a, definition]\n");
  dir_.Write(".venv/junk.yaml", "also: not\n");
  Result<FeatureRepo> repo = LoadFeatureRepo(dir_.path());
  EXPECT_TRUE(repo.ok()) << repo.status().ToString();
}

TEST(BookRecsExample, DeclaresTheWorkshopObjects) {
  Result<FeatureRepo> repo =
      LoadFeatureRepo(::larder::testing::SourceDir() + "/examples/book_recs");
  ASSERT_TRUE(repo.ok()) << repo.status().ToString();
  EXPECT_EQ(repo->entities.size(), 2u);
  EXPECT_EQ(repo->feature_views.size(), 7u);
  EXPECT_EQ(repo->feature_services.size(), 4u);
  EXPECT_EQ(repo->models.size(), 2u);
  auto views_of = [&](const char* service) {
    std::vector<std::string> names;
    for (const auto& item : repo->FindFeatureService(service)->features) {
      names.push_back(item.feature_view);
    }
    return names;
  };
  EXPECT_EQ(views_of("model_v1"),
            (std::vector<std::string>{"book_features", "user_features", "user_age_features"}));
  EXPECT_EQ(views_of("model_v4"),
            (std::vector<std::string>{"book_features", "user_features", "book_agg_rating_features",
                                      "user_agg_rating_features", "agg_user_features_1d",
                                      "avg_book_category_rating_features"}));
  EXPECT_EQ(repo->FindFeatureView("user_features")->ttl.micros, 1095 * Duration::kDay);
  EXPECT_EQ(repo->FindFeatureView("book_features")->ttl.micros, 54750 * Duration::kDay);
  EXPECT_EQ(repo->FindEntity("book")->join_keys, std::vector<std::string>{"isbn"});
}

// The Spark flavour of the example declares the same objects, over the
// workshop's Hive tables, with its spark_conf and Spark's batch engine.
TEST(BookRecsExample, TheSparkRepoDeclaresTheSameObjectsOverHiveTables) {
  Result<FeatureRepo> duck =
      LoadFeatureRepo(::larder::testing::SourceDir() + "/examples/book_recs");
  Result<FeatureRepo> spark =
      LoadFeatureRepo(::larder::testing::SourceDir() + "/examples/book_recs_spark");
  ASSERT_TRUE(duck.ok()) << duck.status().ToString();
  ASSERT_TRUE(spark.ok()) << spark.status().ToString();
  EXPECT_EQ(spark->config.offline_store.type, "spark");
  EXPECT_EQ(spark->config.offline_store.options.at("spark_conf.spark.sql.catalogImplementation"),
            "hive");
  EXPECT_EQ(spark->config.batch_engine, "spark.engine");
  EXPECT_EQ(spark->config.materialize_partitions, 10);
  for (const char* name : {"users_source", "books_source", "ratings_source"}) {
    const DataSource* source = spark->FindDataSource(name);
    ASSERT_NE(source, nullptr) << name;
    EXPECT_EQ(source->kind, DataSourceKind::kSpark);
    EXPECT_THAT(source->table, ::testing::StartsWith("book_recsys_apply."));
  }
  ASSERT_EQ(spark->feature_views.size(), duck->feature_views.size());
  for (const FeatureView& view : duck->feature_views) {
    const FeatureView* other = spark->FindFeatureView(view.name);
    ASSERT_NE(other, nullptr) << view.name;
    EXPECT_EQ(other->ttl.micros, view.ttl.micros) << view.name;
    EXPECT_EQ(other->schema.size(), view.schema.size()) << view.name;
    EXPECT_EQ(other->aggregations.size(), view.aggregations.size()) << view.name;
  }
  ASSERT_EQ(spark->feature_services.size(), duck->feature_services.size());
  ASSERT_EQ(spark->models.size(), duck->models.size());
}

// The rating aggregates are aggregation views over the pushed ratings (the
// day and week ones over the streamed ratings), on a 10-minute interval, with the names the feature services and train.py use;
// the SQL models that computed them (window frames that took in the rated
// event itself) are gone.
TEST(BookRecsExample, RatingAggregatesAreAggregationViews) {
  Result<FeatureRepo> repo =
      LoadFeatureRepo(::larder::testing::SourceDir() + "/examples/book_recs");
  ASSERT_TRUE(repo.ok()) << repo.status().ToString();
  struct Expected {
    const char* view;
    const char* source;
    std::vector<std::tuple<std::string, AggregationFunction, int64_t>> outputs;
  };
  const std::vector<Expected> expected = {
      {"agg_user_features_1d", "book_ratings_stream",
       {{"avg_day_user_rating", AggregationFunction::kMean, 1},
        {"count_day_user_rating", AggregationFunction::kCount, 1},
        {"avg_week_user_rating", AggregationFunction::kMean, 7},
        {"count_week_user_rating", AggregationFunction::kCount, 7}}},
      {"user_agg_rating_features", "user_ratings_push",
       {{"avg_yr_user_rating", AggregationFunction::kMean, 365},
        {"count_yr_user_rating", AggregationFunction::kCount, 365}}},
      {"book_agg_rating_features", "user_ratings_push",
       {{"avg_yr_book_rating", AggregationFunction::kMean, 365},
        {"count_yr_book_rating", AggregationFunction::kCount, 365}}},
  };
  for (const Expected& e : expected) {
    const FeatureView* view = repo->FindFeatureView(e.view);
    ASSERT_NE(view, nullptr) << e.view;
    EXPECT_EQ(view->source, e.source) << e.view;
    EXPECT_EQ(view->aggregation_interval.micros, 10 * Duration::kMinute) << e.view;
    EXPECT_TRUE(view->schema.empty()) << e.view;
    ASSERT_EQ(view->aggregations.size(), e.outputs.size()) << e.view;
    for (size_t i = 0; i < e.outputs.size(); ++i) {
      const Aggregation& a = view->aggregations[i];
      EXPECT_EQ(a.name, std::get<0>(e.outputs[i])) << e.view;
      EXPECT_EQ(a.function, std::get<1>(e.outputs[i])) << a.name;
      EXPECT_EQ(a.window.micros, std::get<2>(e.outputs[i]) * Duration::kDay) << a.name;
      EXPECT_EQ(a.column, "rating") << a.name;
      EXPECT_EQ(a.column_dtype.scalar, ScalarType::kInt64) << a.name;
    }
  }
  EXPECT_EQ(repo->FindDataSource("user_ratings_push")->batch_source, "ratings_source");
  const DataSource* stream = repo->FindDataSource("book_ratings_stream");
  ASSERT_NE(stream, nullptr);
  EXPECT_EQ(stream->kind, DataSourceKind::kKinesis);
  EXPECT_EQ(stream->batch_source, "ratings_source");
  EXPECT_EQ(stream->stream_name, "book_ratings");
  EXPECT_EQ(stream->endpoint_url, "http://127.0.0.1:4567");  // scripts/demo.sh's kinesalite
  EXPECT_EQ(stream->timestamp_field, "rating_timestamp");
  for (const char* gone : {"agg_book_features", "agg_user_features", "agg_user_features_1d"}) {
    for (const SqlModel& model : repo->models) EXPECT_NE(model.name, gone);
  }
}

}  // namespace
}  // namespace larder

namespace larder {
namespace {

// A kinesis source loads with its defaults, and each bad field is named.
TEST_F(RepoLoaderTest, KinesisSourcesLoadAndBadFieldsAreNamed) {
  const std::string good =
      "  - name: s\n    type: kinesis\n    stream_name: book_ratings\n    region: us-east-1\n"
      "    endpoint_url: http://127.0.0.1:4567\n    timestamp_field: ts\n"
      "    batch_source: users_source\n";
  dir_.Write("stream.yaml", "data_sources:\n" + good);
  Result<FeatureRepo> repo = LoadFeatureRepo(dir_.path(), WithFakeSchema());
  ASSERT_TRUE(repo.ok()) << repo.status().ToString();
  const DataSource* s = repo->FindDataSource("s");
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->kind, DataSourceKind::kKinesis);
  EXPECT_EQ(s->starting_position, "trim_horizon");
  // AWS's own endpoint (none given) and an https one load too.
  for (const char* endpoint : {"", "    endpoint_url: https://kinesis.us-east-1.amazonaws.com/\n"}) {
    dir_.Write("stream.yaml",
               "data_sources:\n  - name: s\n    type: kinesis\n    stream_name: b\n"
               "    region: us-east-1\n    timestamp_field: ts\n    batch_source: users_source\n" +
                   std::string(endpoint));
    Result<FeatureRepo> aws = LoadFeatureRepo(dir_.path(), WithFakeSchema());
    EXPECT_TRUE(aws.ok()) << endpoint << aws.status().ToString();
  }
  EXPECT_EQ(s->record_format, "json");
  EXPECT_EQ(s->stream_to, "online_and_offline");

  struct Case {
    std::string yaml;
    std::string says;
  };
  const Case cases[] = {
      {"  - {name: s, type: pulsar, batch_source: users_source}", "stream.yaml:2: data source 's': field `type`: unknown source type `pulsar`"},
      {"  - {name: s, type: kinesis, region: us-east-1, endpoint_url: 'http://h:1', timestamp_field: ts, batch_source: users_source}", "missing field `stream_name`"},
      {"  - {name: s, type: kinesis, stream_name: 'a b', region: us-east-1, endpoint_url: 'http://h:1', timestamp_field: ts, batch_source: users_source}", "field `stream_name`: `a b` is not a Kinesis stream name"},
      {"  - {name: s, type: kinesis, stream_name: a, region: 'us east', endpoint_url: 'http://h:1', timestamp_field: ts, batch_source: users_source}", "field `region`: `us east` is not an AWS region"},
      {"  - {name: s, type: kinesis, stream_name: a, region: us-east-1, endpoint_url: 'ftp://h:1', timestamp_field: ts, batch_source: users_source}", "field `endpoint_url`: `ftp://h:1` is not an http(s)://host[:port] endpoint"},
      {"  - {name: s, type: kinesis, stream_name: a, region: us-east-1, endpoint_url: 'https://h:1/x?y', timestamp_field: ts, batch_source: users_source}", "field `endpoint_url`: `https://h:1/x?y` is not"},
      {"  - {name: s, type: kinesis, stream_name: a, region: us-east-1, endpoint_url: 'http://a b:1', timestamp_field: ts, batch_source: users_source}", "is not an http(s)://host[:port] endpoint"},
      {"  - {name: s, type: kinesis, stream_name: a, region: us-east-1, endpoint_url: 'http://h:1', timestamp_field: ts, batch_source: users_source, starting_position: earliest}", "field `starting_position`: `earliest` is not trim_horizon or latest"},
      {"  - {name: s, type: kinesis, stream_name: a, region: us-east-1, endpoint_url: 'http://h:1', timestamp_field: ts, batch_source: users_source, record_format: avro}", "field `record_format`: `avro` is not supported"},
      {"  - {name: s, type: kinesis, stream_name: a, region: us-east-1, endpoint_url: 'http://h:1', timestamp_field: ts, batch_source: users_source, to: everywhere}", "field `to`: `everywhere` is not online_and_offline"},
      {"  - {name: s, type: kinesis, stream_name: a, region: us-east-1, endpoint_url: 'http://h:1', timestamp_field: ts, batch_source: nowhere}", "field `batch_source`: unknown data source 'nowhere'"},
      {"  - {name: s, type: file, path: data/x.parquet, timestamp_field: ts, stream_name: a}", "field `stream_name`: only applies to kinesis sources"},
      {"  - {name: s, type: file, path: data/x.parquet, timestamp_field: ts, to: online}", "field `to`: only applies to kinesis and kafka sources"},
  };
  for (const Case& c : cases) {
    dir_.Write("stream.yaml", "data_sources:\n" + c.yaml + "\n");
    EXPECT_THAT(LoadError(WithFakeSchema()), HasSubstr(c.says)) << c.yaml;
  }
}

// A kafka source loads with its defaults, and each bad field is named:
// strings that reach librdkafka's configuration are checked, not passed on.
TEST_F(RepoLoaderTest, KafkaSourcesLoadAndBadFieldsAreNamed) {
  dir_.Write("stream.yaml",
             "data_sources:\n"
             "  - name: s\n    type: kafka\n    bootstrap_servers: 127.0.0.1:9092,broker-2.local:9093\n"
             "    topic: book_ratings\n    timestamp_field: ts\n    batch_source: users_source\n");
  Result<FeatureRepo> repo = LoadFeatureRepo(dir_.path(), WithFakeSchema());
  ASSERT_TRUE(repo.ok()) << repo.status().ToString();
  const DataSource* s = repo->FindDataSource("s");
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->kind, DataSourceKind::kKafka);
  EXPECT_EQ(s->bootstrap_servers, "127.0.0.1:9092,broker-2.local:9093");
  EXPECT_EQ(s->topic, "book_ratings");
  EXPECT_EQ(s->group_id, "");  // the consumer's default: larder.<project>.<source>
  EXPECT_EQ(s->starting_position, "earliest");
  EXPECT_EQ(s->record_format, "json");
  EXPECT_EQ(s->stream_to, "online_and_offline");

  struct Case {
    std::string yaml;
    std::string says;
  };
  const std::string base = "name: s, type: kafka, timestamp_field: ts, batch_source: users_source";
  const Case cases[] = {
      {"  - {name: s, type: kafka, batch_source: users_source}", "stream.yaml:2: data source 's': missing field `bootstrap_servers`, required for `kafka` sources"},
      {"  - {" + base + ", bootstrap_servers: 'h:1'}", "missing field `topic`"},
      {"  - {" + base + ", topic: t, bootstrap_servers: 'h'}", "field `bootstrap_servers`: `h` is not a list of brokers"},
      {"  - {" + base + ", topic: t, bootstrap_servers: 'h:99999'}", "field `bootstrap_servers`: `h:99999` is not"},
      {"  - {" + base + ", topic: t, bootstrap_servers: 'h:1,'}", "is not a list of brokers"},
      {"  - {" + base + ", topic: t, bootstrap_servers: 'h:1;debug=all'}", "is not a list of brokers"},
      {"  - {" + base + ", topic: t, bootstrap_servers: 'ssl://h:1'}", "TLS and SASL are not available yet"},
      {"  - {" + base + ", topic: 'a b', bootstrap_servers: 'h:1'}", "field `topic`: `a b` is not a Kafka topic name"},
      {"  - {" + base + ", topic: '..', bootstrap_servers: 'h:1'}", "field `topic`: `..` is not a Kafka topic name"},
      {"  - {" + base + ", topic: t, bootstrap_servers: 'h:1', group_id: 'g\"x'}", "field `group_id`"},
      {"  - {" + base + ", topic: t, bootstrap_servers: 'h:1', starting_position: trim_horizon}", "field `starting_position`: `trim_horizon` is not earliest or latest"},
      {"  - {" + base + ", topic: t, bootstrap_servers: 'h:1', record_format: avro}", "field `record_format`: `avro` is not supported"},
      {"  - {" + base + ", topic: t, bootstrap_servers: 'h:1', stream_name: x}", "field `stream_name`: only applies to kinesis sources"},
      {"  - {" + base + ", topic: t, bootstrap_servers: 'h:1', path: x.parquet}", "field `path`: does not apply to `kafka` sources"},
      {"  - {name: s, type: kinesis, stream_name: a, region: us-east-1, endpoint_url: 'http://h:1', timestamp_field: ts, batch_source: users_source, topic: t}", "field `topic`: only applies to kafka sources"},
  };
  for (const Case& c : cases) {
    dir_.Write("stream.yaml", "data_sources:\n" + c.yaml + "\n");
    EXPECT_THAT(LoadError(WithFakeSchema()), HasSubstr(c.says)) << c.yaml;
  }
}

}  // namespace
}  // namespace larder
