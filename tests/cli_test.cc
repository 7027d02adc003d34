// Runs the `larder` binary on temporary repos, as a user would.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "larder/feature_store.h"
#include "larder/online_store.h"
#include "larder/registry.h"
#include "support/test_util.h"

namespace larder {
namespace {

using ::larder::testing::CommandResult;
using ::larder::testing::RunLarder;
using ::larder::testing::TempDir;
using ::testing::HasSubstr;
using ::testing::Not;
namespace fs = std::filesystem;

int CountLines(const std::string& text, const std::string& prefix) {
  std::istringstream in(text);
  int n = 0;
  for (std::string line; std::getline(in, line);) n += line.starts_with(prefix) ? 1 : 0;
  return n;
}

TEST(Cli, HelpListsEveryCommand) {
  CommandResult r = RunLarder("--help");
  EXPECT_EQ(r.exit_code, 0);
  for (const char* cmd : {"init", "plan", "apply", "teardown", "entities list", "data-sources list",
                          "feature-views list", "feature-views describe", "feature-services list",
                          "registry-dump", "demo-data"}) {
    EXPECT_THAT(r.out, HasSubstr(cmd)) << cmd;
  }
  CommandResult sub = RunLarder("demo-data --help");
  EXPECT_EQ(sub.exit_code, 0);
  EXPECT_THAT(sub.out, HasSubstr("--scale S"));
}

TEST(Cli, UsageErrorsExitTwo) {
  EXPECT_EQ(RunLarder("frobnicate").exit_code, 2);
  CommandResult r = RunLarder("feature-views describe");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("takes NAME"));
  r = RunLarder("apply --bogus");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("unknown option `--bogus`"));
  r = RunLarder("entities");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("larder entities list"));
}

TEST(Cli, MinimalRepoLifecycle) {
  TempDir tmp;
  std::string repo = tmp.Join("repo");
  ASSERT_EQ(RunLarder("init " + repo).exit_code, 0);
  std::string c = "-c " + repo + " ";

  // plan reports creations and writes nothing.
  CommandResult plan = RunLarder(c + "plan");
  ASSERT_EQ(plan.exit_code, 0) << plan.err;
  EXPECT_THAT(plan.out, HasSubstr("Created entity user"));
  EXPECT_THAT(plan.out, HasSubstr("Created feature view user_stats"));
  EXPECT_FALSE(fs::exists(repo + "/data/registry.db"));

  CommandResult apply = RunLarder(c + "apply");
  ASSERT_EQ(apply.exit_code, 0) << apply.err;
  EXPECT_THAT(apply.out, HasSubstr("Created entity user\n"));
  EXPECT_THAT(apply.out, HasSubstr("Created data source user_stats_source\n"));
  EXPECT_THAT(apply.out, HasSubstr("Created feature view user_stats\n"));
  EXPECT_THAT(apply.out, HasSubstr("Created feature service user_service\n"));
  EXPECT_THAT(apply.out, HasSubstr("registry version 1"));
  EXPECT_TRUE(fs::exists(repo + "/data/registry.db"));

  CommandResult again = RunLarder(c + "apply");
  EXPECT_EQ(again.exit_code, 0);
  EXPECT_THAT(again.out, HasSubstr("No changes"));
  EXPECT_THAT(again.out, Not(HasSubstr("Created")));

  CommandResult entities = RunLarder(c + "entities list");
  EXPECT_EQ(entities.exit_code, 0);
  EXPECT_THAT(entities.out, HasSubstr("user"));
  EXPECT_THAT(entities.out, HasSubstr("user_id"));
  EXPECT_THAT(entities.out, HasSubstr("Int64"));

  CommandResult describe = RunLarder(c + "feature-views describe user_stats");
  ASSERT_EQ(describe.exit_code, 0) << describe.err;
  nlohmann::json view = nlohmann::json::parse(describe.out);
  EXPECT_EQ(view["name"], "user_stats");
  EXPECT_EQ(view["ttl"], "30d");
  EXPECT_EQ(RunLarder(c + "feature-views describe nope").exit_code, 1);

  CommandResult dump = RunLarder(c + "registry-dump");
  ASSERT_EQ(dump.exit_code, 0) << dump.err;
  nlohmann::json registry = nlohmann::json::parse(dump.out);
  EXPECT_EQ(registry["project"], "my_project");
  EXPECT_EQ(registry["version"], 1);
  EXPECT_EQ(registry["feature_views"].size(), 1u);

  // An edit is an update; a removal is a delete.
  std::string defs = ::larder::testing::ReadFileText(repo + "/definitions.yaml");
  defs.replace(defs.find("ttl: 30d"), 8, "ttl: 60d");
  defs.erase(defs.find("feature_services:"));
  tmp.Write("repo/definitions.yaml", defs);
  plan = RunLarder(c + "plan");
  EXPECT_THAT(plan.out, HasSubstr("Updated feature view user_stats"));
  EXPECT_THAT(plan.out, HasSubstr("Deleted feature service user_service"));
  apply = RunLarder(c + "apply");
  EXPECT_EQ(apply.exit_code, 0) << apply.err;
  EXPECT_THAT(apply.out, HasSubstr("registry version 2"));
  EXPECT_THAT(RunLarder(c + "feature-services list").out, Not(HasSubstr("user_service")));

  CommandResult teardown = RunLarder(c + "teardown");
  EXPECT_EQ(teardown.exit_code, 0) << teardown.err;
  CommandResult after = RunLarder(c + "feature-views list");
  EXPECT_EQ(after.exit_code, 1);
  EXPECT_THAT(after.err, HasSubstr("my_project"));
}

TEST(Cli, InvalidRepoIsRefusedWholeAndChangesNothing) {
  TempDir tmp;
  std::string repo = tmp.Join("repo");
  ASSERT_EQ(RunLarder("init " + repo).exit_code, 0);
  std::string c = "-c " + repo + " ";
  ASSERT_EQ(RunLarder(c + "apply").exit_code, 0);
  std::string before = RunLarder(c + "registry-dump").out;

  // A new valid entity plus a feature that the CSV lacks: nothing lands.
  tmp.Write("repo/more.yaml",
            "entities:\n  - {name: book, join_keys: [isbn], value_type: String}\n"
            "feature_views:\n  - name: broken\n    entities: [user]\n"
            "    source: user_stats_source\n    schema:\n"
            "      - {name: shoe_size, dtype: Int64}\n");
  CommandResult r = RunLarder(c + "apply");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("more.yaml:8: feature view 'broken': feature `shoe_size` is not a "
                               "column of data source 'user_stats_source' (data/user_stats.csv"));
  EXPECT_EQ(RunLarder(c + "registry-dump").out, before);

  // The check reads the real file: a join key the CSV lacks is refused too.
  tmp.Write("repo/more.yaml", "");
  tmp.Write("repo/data/user_stats.csv",
            "uid,books_read,avg_rating,event_timestamp,created\n"
            "1,2,3.5,2024-01-01 00:00:00,2024-01-01 00:00:00\n");
  r = RunLarder(c + "plan");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("join key `user_id` of entity 'user' is not a column"));
  // Unless asked not to look.
  EXPECT_EQ(RunLarder(c + "plan --skip-source-validation").exit_code, 0);
}

TEST(Cli, ApplyWaitsOrFailsClearlyWhileAnotherHoldsTheRegistry) {
  TempDir tmp;
  std::string repo = tmp.Join("repo");
  ASSERT_EQ(RunLarder("init " + repo).exit_code, 0);
  std::string c = "-c " + repo + " ";
  ASSERT_EQ(RunLarder(c + "apply").exit_code, 0);

  // Hold the registry's write lock as another apply would.
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((repo + "/data/registry.db").c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), SQLITE_OK);
  tmp.Write("repo/more.yaml", "entities:\n  - {name: book, join_keys: [isbn], value_type: String}\n");
  CommandResult busy = RunLarder(c + "apply --lock-timeout 0.3");
  EXPECT_EQ(busy.exit_code, 1);
  EXPECT_THAT(busy.err, HasSubstr("locked"));

  // A waiting apply proceeds once the lock is released.
  std::thread release([db] {
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
  });
  CommandResult waited = RunLarder(c + "apply --lock-timeout 20");
  release.join();
  sqlite3_close(db);
  EXPECT_EQ(waited.exit_code, 0) << waited.err;
  EXPECT_THAT(waited.out, HasSubstr("Created entity book"));
}

TEST(Cli, ConcurrentAppliesDoNotCorruptTheRegistry) {
  TempDir tmp;
  std::string repo = tmp.Join("repo");
  ASSERT_EQ(RunLarder("init " + repo).exit_code, 0);
  std::string c = "-c " + repo + " ";
  std::vector<std::thread> threads;
  std::vector<CommandResult> results(4);
  for (size_t i = 0; i < results.size(); ++i) {
    threads.emplace_back([&, i] { results[i] = RunLarder(c + "apply"); });
  }
  for (auto& t : threads) t.join();
  int created = 0;
  for (const auto& r : results) {
    EXPECT_EQ(r.exit_code, 0) << r.err;
    created += r.out.find("Created entity user") != std::string::npos ? 1 : 0;
  }
  EXPECT_EQ(created, 1);  // exactly one apply made the changes
  nlohmann::json registry = nlohmann::json::parse(RunLarder(c + "registry-dump").out);
  EXPECT_EQ(registry["version"], 1);
  EXPECT_EQ(registry["entities"].size(), 1u);
}

TEST(Cli, BookRecsExampleAppliesWithGeneratedData) {
  TempDir tmp;
  std::string repo = tmp.Join("book_recs");
  CommandResult init = RunLarder("init " + repo + " --template book_recs");
  ASSERT_EQ(init.exit_code, 0) << init.err;
  std::string c = "-c " + repo + " ";
  CommandResult data = RunLarder(c + "demo-data --scale 0.01 --end 2023-01-01T00:00:00Z");
  ASSERT_EQ(data.exit_code, 0) << data.err;
  EXPECT_TRUE(fs::exists(repo + "/data/raw/ratings.parquet"));

  CommandResult apply = RunLarder(c + "apply");
  ASSERT_EQ(apply.exit_code, 0) << apply.err;
  EXPECT_EQ(CountLines(apply.out, "Created entity "), 2);
  EXPECT_EQ(CountLines(apply.out, "Created feature view "), 7);
  EXPECT_EQ(CountLines(apply.out, "Created feature service "), 4);
  EXPECT_EQ(CountLines(apply.out, "Created sql model "), 2);
  EXPECT_THAT(RunLarder(c + "feature-services list").out, HasSubstr("model_v4"));
}

TEST(Cli, BookRecsExampleWithoutDataSaysWhatIsMissing) {
  TempDir tmp;
  std::string repo = tmp.Join("book_recs");
  ASSERT_EQ(RunLarder("init " + repo + " --template book_recs").exit_code, 0);
  CommandResult apply = RunLarder("-c " + repo + " apply");
  EXPECT_EQ(apply.exit_code, 1);
  EXPECT_THAT(apply.err, HasSubstr("data source 'users_source': field `path`: no file matches"));
}

TEST(Cli, InitRefusesANonEmptyDirectoryAndUnknownTemplate) {
  TempDir tmp;
  tmp.Write("full/file.txt", "x");
  CommandResult r = RunLarder("init " + tmp.Join("full"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("not empty"));
  r = RunLarder("init " + tmp.Join("new") + " --template nope");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("unknown template `nope`"));
}

TEST(Cli, UnknownCommandWithHelpIsAnError) {
  CommandResult r = RunLarder("replicate --help");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("unknown command `replicate`"));
  EXPECT_THAT(r.out, Not(HasSubstr("Commands:")));
  // A group word with --help lists its commands.
  CommandResult group = RunLarder("entities --help");
  EXPECT_EQ(group.exit_code, 0);
  EXPECT_THAT(group.out, HasSubstr("larder entities list"));
}

// A minimal repo from `larder init`, with `from` in feature_store.yaml
// replaced by `to`.
std::string InitWithConfig(const TempDir& tmp, const std::string& from, const std::string& to) {
  std::string repo = tmp.Join("repo");
  EXPECT_EQ(RunLarder("init " + repo).exit_code, 0);
  std::string config = ::larder::testing::ReadFileText(repo + "/feature_store.yaml");
  size_t at = config.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) config.replace(at, from.size(), to);
  tmp.Write("repo/feature_store.yaml", config);
  return repo;
}

TEST(Cli, PlanAndApplyRefuseSettingsTheyWouldIgnore) {
  struct Case {
    std::string from, to, expected;
  };
  const Case cases[] = {
      {"registry: data/registry.db", "registry: s3://bucket/registry.db", "not supported"},
      {"offline_store:\n  type: duckdb", "offline_store:\n  type: bigquery", "not supported"},
      {"provider: local", "provider: local\nbatch_engine:\n  type: spark.engine",
       "`spark.engine` materializes through the spark offline store"},
      {"registry: data/registry.db",
       "registry:\n  registry_type: sql\n  path: postgresql://u:p@db:5432/feast",
       "not supported"},
  };
  for (const auto& [from, to, expected] : cases) {
    TempDir tmp;
    std::string repo = InitWithConfig(tmp, from, to);
    for (const char* command : {" plan", " apply"}) {
      CommandResult r = RunLarder("-c " + repo + command);
      EXPECT_EQ(r.exit_code, 1) << to << command;
      EXPECT_THAT(r.err, HasSubstr("feature_store.yaml:")) << to;
      EXPECT_THAT(r.err, HasSubstr(expected)) << to;
    }
    EXPECT_FALSE(fs::exists(repo + "/s3:"));
    EXPECT_FALSE(fs::exists(repo + "/data/registry.db"));
  }
}

// registry.cache_ttl_seconds is how long a long-running store (the feature
// server's) keeps its registered definitions; 0 is Feast's "for ever".
TEST(Cli, RegistryCacheTtlSecondsIsHonoured) {
  for (const char* ttl : {"0", "1"}) {
    TempDir tmp;
    std::string repo = InitWithConfig(
        tmp, "registry: data/registry.db",
        std::string("registry:\n  path: data/registry.db\n  cache_ttl_seconds: ") + ttl);
    ASSERT_EQ(RunLarder("-c " + repo + " apply").exit_code, 0);
    auto server = FeatureStore::Open({.repo_dir = repo});
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    OnlineFeaturesRequest request;
    request.entity_rows["user_id"] = {Value::Int64(1001)};
    request.feature_service = "user_service";
    ASSERT_TRUE((*server)->GetOnlineFeatures(request).ok());
    // Another process registers a new service.
    tmp.Write("repo/more.yaml",
              "feature_services:\n  - name: new_service\n    features: [user_stats]\n");
    ASSERT_EQ(RunLarder("-c " + repo + " apply").exit_code, 0);
    std::this_thread::sleep_for(std::chrono::milliseconds(1300));
    request.feature_service = "new_service";
    Result<OnlineFeaturesResponse> r = (*server)->GetOnlineFeatures(request);
    if (std::string(ttl) == "0") {
      EXPECT_EQ(r.status().code(), StatusCode::kNotFound) << r.status().ToString();
    } else {
      EXPECT_TRUE(r.ok()) << r.status().ToString();
    }
  }
}

TEST(Cli, PlanAndApplyWarnAboutFeastPythonFiles) {
  TempDir tmp;
  std::string repo = tmp.Join("repo");
  ASSERT_EQ(RunLarder("init " + repo).exit_code, 0);
  tmp.Write("repo/feature_repo.py", "from feast import Entity, FeatureView\n");
  for (const char* command : {" plan", " apply", " apply"}) {
    CommandResult r = RunLarder("-c " + repo + command);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_THAT(r.err, HasSubstr("Warning: feature_repo.py: looks like Feast Python definitions"))
        << command;
    EXPECT_THAT(r.err, HasSubstr("YAML")) << command;
  }
}

// The minimal repo, applied and materialized: user 1001 has books_read
// online.
class TeardownCli : public ::testing::Test {
 protected:
  void SetUp() override {
    repo_ = tmp_.Join("repo");
    ASSERT_EQ(RunLarder("init " + repo_).exit_code, 0);
    c_ = "-c " + repo_ + " ";
    CommandResult apply = RunLarder(c_ + "apply");
    ASSERT_EQ(apply.exit_code, 0) << apply.err;
    CommandResult m = RunLarder(c_ + "materialize-incremental 2024-01-10T00:00:00Z");
    ASSERT_EQ(m.exit_code, 0) << m.err;
    ASSERT_THAT(m.out, HasSubstr("user_stats: 2 rows, 2 written"));
    ASSERT_TRUE(Served());
  }

  // Whether user 1001's books_read is served PRESENT.
  bool Served() {
    CommandResult r = RunLarder(c_ + "online --features user_stats:books_read "
                                     "--entity user_id=1001 --now 2024-01-05T00:00:00Z");
    EXPECT_EQ(r.exit_code, 0) << r.err;
    nlohmann::json json = nlohmann::json::parse(r.out, nullptr, false);
    return !json.is_discarded() && json["results"][1]["statuses"][0] == "PRESENT";
  }

  // Opens the repo's RocksDB online store in this process (holding its lock).
  std::unique_ptr<OnlineStore> OpenOnline() {
    OnlineStoreOptions options;
    options.project = "my_project";
    options.repo_root = repo_;
    auto store = OnlineStore::Open(options);
    EXPECT_TRUE(store.ok()) << store.status().ToString();
    return store.ok() ? std::move(store).value() : nullptr;
  }

  // Whether the store holds any record of user_stats for user 1001.
  bool HasRecord() {
    std::unique_ptr<OnlineStore> store = OpenOnline();
    if (store == nullptr) return false;
    OnlineView view("user_stats", {{"books_read", ValueType{ScalarType::kInt64}},
                                   {"avg_rating", ValueType{ScalarType::kFloat64}}});
    std::vector<EntityKey> keys{{{"user_id"}, {Value::Int64(1001)}}};
    std::vector<OnlineReadResult> results;
    EXPECT_TRUE(store->MultiGet(view, keys, &results).ok());
    return results.size() == 1 && results[0].state != OnlineRecordState::kNotFound;
  }

  // What a teardown interrupted after the registry step leaves: the project
  // gone from the registry, its online records and watermarks still there.
  void EmptyTheRegistryOnly() {
    RegistryOptions options;
    options.path = repo_ + "/data/registry.db";
    auto registry = Registry::Open(options);
    ASSERT_TRUE(registry.ok()) << registry.status().ToString();
    ASSERT_TRUE((*registry)->Teardown("my_project").ok());
    ASSERT_TRUE(HasRecord());
  }

  TempDir tmp_;
  std::string repo_;
  std::string c_;
};

TEST_F(TeardownCli, WhileTheOnlineStoreIsHeldChangesNothingAndSaysWhy) {
  {
    std::unique_ptr<OnlineStore> held = OpenOnline();  // as `larder serve` would
    ASSERT_NE(held, nullptr);
    CommandResult r = RunLarder(c_ + "teardown");
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_THAT(r.err, HasSubstr("teardown changed nothing"));
    EXPECT_THAT(r.err, HasSubstr("already open in another process"));
  }
  EXPECT_THAT(RunLarder(c_ + "feature-views list").out, HasSubstr("user_stats"));
  EXPECT_TRUE(Served());
  CommandResult r = RunLarder(c_ + "teardown");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("Removed project my_project from the registry, with its online "
                               "data"));
  EXPECT_FALSE(HasRecord());
}

TEST_F(TeardownCli, ARerunFinishesAnInterruptedTeardown) {
  EmptyTheRegistryOnly();
  CommandResult r = RunLarder(c_ + "teardown");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("Project my_project was not in the registry; removed any online "
                               "data and materialization watermarks left for it"));
  EXPECT_FALSE(HasRecord());
  // The watermark went too: materializing again writes the rows again.
  ASSERT_EQ(RunLarder(c_ + "apply").exit_code, 0);
  CommandResult m = RunLarder(c_ + "materialize-incremental 2024-01-10T00:00:00Z");
  ASSERT_EQ(m.exit_code, 0) << m.err;
  EXPECT_THAT(m.out, HasSubstr("user_stats: 2 rows, 2 written"));
  // A teardown of a repo never applied is a harmless no-op.
  TempDir other;
  ASSERT_EQ(RunLarder("init " + other.Join("r")).exit_code, 0);
  EXPECT_EQ(RunLarder("-c " + other.Join("r") + " teardown").exit_code, 0);
  EXPECT_FALSE(fs::exists(other.Join("r/data/registry.db")));
}

TEST_F(TeardownCli, ApplyDoesNotServeOnlineDataLeftBehind) {
  EmptyTheRegistryOnly();
  CommandResult apply = RunLarder(c_ + "apply");
  ASSERT_EQ(apply.exit_code, 0) << apply.err;
  EXPECT_THAT(apply.out, HasSubstr("Created feature view user_stats"));
  EXPECT_FALSE(Served());
  EXPECT_FALSE(HasRecord());
  CommandResult m = RunLarder(c_ + "materialize-incremental 2024-01-10T00:00:00Z");
  ASSERT_EQ(m.exit_code, 0) << m.err;
  EXPECT_THAT(m.out, HasSubstr("user_stats: 2 rows, 2 written"));
  EXPECT_TRUE(Served());

  // A view deleted by apply loses its records; re-adding it starts empty.
  std::string defs = ::larder::testing::ReadFileText(repo_ + "/definitions.yaml");
  tmp_.Write("repo/definitions.yaml", defs.substr(0, defs.find("feature_views:")));
  CommandResult removed = RunLarder(c_ + "apply");
  ASSERT_EQ(removed.exit_code, 0) << removed.err;
  EXPECT_THAT(removed.out, HasSubstr("Deleted feature view user_stats"));
  EXPECT_FALSE(HasRecord());
}

TEST_F(TeardownCli, MaterializeWithNoOnlineViewsIsAnError) {
  std::string defs = ::larder::testing::ReadFileText(repo_ + "/definitions.yaml");
  const std::string ttl = "    ttl: 30d\n";
  defs.replace(defs.find(ttl), ttl.size(), ttl + "    online: false\n");
  tmp_.Write("repo/definitions.yaml", defs);
  CommandResult apply = RunLarder(c_ + "apply");
  ASSERT_EQ(apply.exit_code, 0) << apply.err;
  for (const char* command : {"materialize-incremental 2024-01-10T00:00:00Z",
                              "materialize 2023-01-01T00:00:00Z 2024-01-10T00:00:00Z"}) {
    CommandResult r = RunLarder(c_ + command);
    EXPECT_EQ(r.exit_code, 1) << command;
    EXPECT_THAT(r.err, HasSubstr("project my_project has no online feature views to materialize "
                                 "(1 feature view(s), all with `online: false`)"));
  }
}

}  // namespace
}  // namespace larder
