#include "registry/sqlite_registry.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "registry/plan.h"

namespace larder {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// A fresh directory under /tmp, removed with its contents at scope end.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "larder_registry_XXXXXX");
    char* made = mkdtemp(tmpl.data());
    EXPECT_NE(made, nullptr);
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

Field F(const std::string& name, ScalarType type) {
  Field f;
  f.name = name;
  f.dtype = ValueType{type, false};
  return f;
}

// A small book-recommendation repo. `tag` is written into the user
// entity's description so that repos with different tags differ by one
// update.
FeatureRepo MakeRepo(const std::string& project, const std::string& tag = "") {
  FeatureRepo repo;
  repo.root = "/nowhere";
  repo.config.project = project;

  Entity user;
  user.name = "user";
  user.join_keys = {"user_id"};
  user.value_type = ValueType{ScalarType::kInt64, false};
  user.description = "A reader " + tag;
  user.location = {"entities.yaml", 1};
  Entity book;
  book.name = "book";
  book.join_keys = {"isbn"};
  book.value_type = ValueType{ScalarType::kString, false};
  book.tags = {{"team", "recs"}};
  repo.entities = {book, user};

  DataSource books;
  books.name = "books";
  books.path = "data/books.parquet";
  books.timestamp_field = "created_at";
  DataSource users;
  users.name = "users";
  users.path = "data/users.csv";
  users.file_format = FileFormat::kCsv;
  users.timestamp_field = "signup_date";
  DataSource agg;
  agg.name = "agg_user_features";
  agg.kind = DataSourceKind::kModel;
  agg.model = "agg_user_features";
  agg.timestamp_field = "rating_timestamp";
  DataSource push;
  push.name = "ratings_push";
  push.kind = DataSourceKind::kPush;
  push.batch_source = "agg_user_features";
  repo.data_sources = {agg, books, push, users};

  SqlModel model;
  model.name = "agg_user_features";
  model.sql = "SELECT user_id, AVG(rating) FROM ratings\n";
  repo.models = {model};

  FeatureView book_features;
  book_features.name = "book_features";
  book_features.entities = {"book"};
  book_features.ttl = Duration{150 * 365 * Duration::kDay};
  book_features.schema = {F("language", ScalarType::kString),
                          F("category", ScalarType::kString)};
  book_features.entity_columns = {F("isbn", ScalarType::kString)};
  book_features.source = "books";
  FeatureView user_features;
  user_features.name = "user_features";
  user_features.entities = {"user"};
  user_features.ttl = Duration{3 * 365 * Duration::kDay};
  user_features.schema = {F("country", ScalarType::kString)};
  user_features.source = "users";
  FeatureView user_agg;
  user_agg.name = "user_agg_rating_features";
  user_agg.entities = {"user"};
  user_agg.ttl = Duration{3 * 365 * Duration::kDay};
  user_agg.schema = {F("avg_yr_user_rating", ScalarType::kFloat64),
                     F("count_yr_user_rating", ScalarType::kInt64)};
  user_agg.source = "agg_user_features";
  user_agg.online = false;
  repo.feature_views = {book_features, user_agg, user_features};

  FeatureService v1;
  v1.name = "model_v1";
  v1.features = {{"book_features", {}}, {"user_features", {"country"}}};
  FeatureService v2;
  v2.name = "model_v2";
  v2.features = {{"book_features", {}},
                 {"user_features", {}},
                 {"user_agg_rating_features", {}}};
  v2.owner = "ml@example.com";
  repo.feature_services = {v1, v2};
  return repo;
}

DefinitionMap Defs(const FeatureRepo& repo) {
  auto defs = RepoDefinitions(repo);
  EXPECT_TRUE(defs.ok()) << defs.status().ToString();
  return defs.ok() ? *defs : DefinitionMap{};
}

std::vector<std::string> Lines(const RegistryPlan& plan) {
  std::vector<std::string> out;
  for (const auto& c : plan.changes) out.push_back(c.Describe());
  return out;
}

// Runs SQL on the file with a connection of its own, outside the registry.
class RawDb {
 public:
  explicit RawDb(const std::string& path) {
    EXPECT_EQ(sqlite3_open(path.c_str(), &db_), SQLITE_OK);
  }
  ~RawDb() { sqlite3_close(db_); }
  int Exec(const char* sql) {
    char* err = nullptr;
    int rc = sqlite3_exec(db_, sql, nullptr, nullptr, &err);
    if (err != nullptr) {
      ADD_FAILURE() << sql << ": " << err;
      sqlite3_free(err);
    }
    return rc;
  }

 private:
  sqlite3* db_ = nullptr;
};

class RegistryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = dir_.path() + "/data/registry.db";
    now_ = std::make_shared<TimestampMicros>(1'700'000'000'000'000);
    registry_ = OpenSqlite();
  }

  std::unique_ptr<SqliteRegistry> OpenSqlite(
      std::chrono::milliseconds timeout = 10s) {
    RegistryOptions options;
    options.path = path_;
    options.lock_timeout = timeout;
    auto now = now_;
    options.clock = [now] { return *now; };
    auto r = SqliteRegistry::Open(options);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? std::move(r).value() : nullptr;
  }

  ApplyResult MustApply(const FeatureRepo& repo) {
    auto r = registry_->Apply(repo);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? std::move(r).value() : ApplyResult{};
  }

  TempDir dir_;
  std::string path_;
  std::shared_ptr<TimestampMicros> now_;
  std::unique_ptr<SqliteRegistry> registry_;
};

TEST_F(RegistryTest, OpenCreatesTheParentDirectoryAndFile) {
  ASSERT_NE(registry_, nullptr);
  EXPECT_TRUE(fs::exists(path_));
  auto version = registry_->Version("books");
  ASSERT_TRUE(version.ok());
  EXPECT_EQ(*version, 0);
}

TEST_F(RegistryTest, FactoryOpensTheSqliteRegistry) {
  RegistryOptions options;
  options.path = dir_.path() + "/deeper/still/registry.db";
  auto r = Registry::Open(options);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_NE(dynamic_cast<SqliteRegistry*>(r->get()), nullptr);
  EXPECT_TRUE(fs::exists(options.path));
}

TEST_F(RegistryTest, FirstApplyCreatesEverything) {
  ApplyResult r = MustApply(MakeRepo("books"));
  EXPECT_EQ(r.version, 1);
  EXPECT_EQ(Lines(r.plan), (std::vector<std::string>{
                               "Created entity book",
                               "Created entity user",
                               "Created data source agg_user_features",
                               "Created data source books",
                               "Created data source ratings_push",
                               "Created data source users",
                               "Created sql model agg_user_features",
                               "Created feature view book_features",
                               "Created feature view user_agg_rating_features",
                               "Created feature view user_features",
                               "Created feature service model_v1",
                               "Created feature service model_v2",
                           }));
  EXPECT_EQ(*registry_->Version("books"), 1);
}

TEST_F(RegistryTest, UnchangedApplyIsEmptyAndKeepsTheVersion) {
  MustApply(MakeRepo("books"));
  FeatureRepo moved = MakeRepo("books");
  moved.entities[1].location = {"other.yaml", 77};  // not a change
  auto plan = registry_->Plan(moved);
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  EXPECT_TRUE(plan->empty());
  ApplyResult r = MustApply(moved);
  EXPECT_TRUE(r.plan.empty());
  EXPECT_EQ(r.version, 1);
  EXPECT_EQ(*registry_->Version("books"), 1);
  auto applies = registry_->Applies("books");
  ASSERT_TRUE(applies.ok());
  EXPECT_EQ(applies->size(), 1u);
}

TEST_F(RegistryTest, PlanWritesNothing) {
  auto plan = registry_->Plan(MakeRepo("books"));
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  EXPECT_EQ(plan->changes.size(), 12u);
  EXPECT_EQ(*registry_->Version("books"), 0);
  EXPECT_EQ(registry_->Load("books").status().code(), StatusCode::kNotFound);
  MustApply(MakeRepo("books"));
  plan = registry_->Plan(MakeRepo("books", "changed"));
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(Lines(*plan), (std::vector<std::string>{
                             "Updated entity user: description A reader  -> A reader changed"}));
  EXPECT_EQ(*registry_->Version("books"), 1);
  EXPECT_EQ(registry_->Load("books")->entities[1].description, "A reader ");
}

TEST_F(RegistryTest, UpdateBumpsVersionAndHistoryKeepsTheOldDefinition) {
  MustApply(MakeRepo("books", "v1"));
  *now_ += 60'000'000;
  ApplyResult r = MustApply(MakeRepo("books", "v2"));
  EXPECT_EQ(r.version, 2);
  EXPECT_EQ(Lines(r.plan),
            (std::vector<std::string>{
                "Updated entity user: description A reader v1 -> A reader v2"}));

  auto current = registry_->Load("books");
  ASSERT_TRUE(current.ok());
  EXPECT_EQ(current->entities[1].description, "A reader v2");

  auto old = registry_->LoadVersion("books", 1);
  ASSERT_TRUE(old.ok()) << old.status().ToString();
  EXPECT_EQ(old->entities[1].description, "A reader v1");
  EXPECT_EQ(Defs(*old), Defs(MakeRepo("books", "v1")));
  auto now = registry_->LoadVersion("books", 2);
  ASSERT_TRUE(now.ok());
  EXPECT_EQ(Defs(*now), Defs(MakeRepo("books", "v2")));
  EXPECT_EQ(registry_->LoadVersion("books", 3).status().code(),
            StatusCode::kNotFound);
  EXPECT_EQ(registry_->LoadVersion("books", 0).status().code(),
            StatusCode::kNotFound);

  auto applies = registry_->Applies("books");
  ASSERT_TRUE(applies.ok());
  EXPECT_EQ(*applies,
            (std::vector<ApplyRecord>{{1, 1'700'000'000'000'000, 12},
                                      {2, 1'700'000'060'000'000, 1}}));
}

TEST_F(RegistryTest, DeleteRemovesObjectsAndHistoryRemembersThem) {
  MustApply(MakeRepo("books"));
  FeatureRepo smaller = MakeRepo("books");
  smaller.feature_services.pop_back();  // model_v2
  smaller.feature_views.erase(smaller.feature_views.begin() + 1);  // user_agg
  ApplyResult r = MustApply(smaller);
  EXPECT_EQ(r.version, 2);
  EXPECT_EQ(Lines(r.plan), (std::vector<std::string>{
                               "Deleted feature service model_v2",
                               "Deleted feature view user_agg_rating_features",
                           }));
  auto loaded = registry_->Load("books");
  ASSERT_TRUE(loaded.ok());
  EXPECT_EQ(Defs(*loaded), Defs(smaller));
  EXPECT_EQ(Defs(*registry_->LoadVersion("books", 1)), Defs(MakeRepo("books")));

  // Re-creating a deleted object is a create at the next version.
  r = MustApply(MakeRepo("books"));
  EXPECT_EQ(r.version, 3);
  EXPECT_EQ(Lines(r.plan), (std::vector<std::string>{
                               "Created feature view user_agg_rating_features",
                               "Created feature service model_v2",
                           }));
  EXPECT_EQ(Defs(*registry_->LoadVersion("books", 2)), Defs(smaller));
}

TEST_F(RegistryTest, LoadRoundTripsTheRepo) {
  FeatureRepo repo = MakeRepo("books");
  MustApply(repo);
  auto loaded = registry_->Load("books");
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_EQ(loaded->config.project, "books");
  EXPECT_EQ(loaded->root, "");
  EXPECT_EQ(Defs(*loaded), Defs(repo));
  ASSERT_EQ(loaded->entities.size(), 2u);
  EXPECT_EQ(loaded->entities[0].name, "book");
  EXPECT_EQ(loaded->entities[1].name, "user");
  EXPECT_EQ(loaded->entities[1].location.file, "");
  ASSERT_EQ(loaded->data_sources.size(), 4u);
  EXPECT_EQ(loaded->data_sources[0].name, "agg_user_features");
  EXPECT_EQ(loaded->data_sources[0].kind, DataSourceKind::kModel);
  EXPECT_EQ(loaded->data_sources[3].file_format, FileFormat::kCsv);
  ASSERT_EQ(loaded->models.size(), 1u);
  EXPECT_EQ(loaded->models[0].sql, repo.models[0].sql);
  ASSERT_EQ(loaded->feature_views.size(), 3u);
  EXPECT_EQ(loaded->feature_views[0].ttl, repo.feature_views[0].ttl);
  EXPECT_FALSE(loaded->feature_views[1].online);
  ASSERT_EQ(loaded->feature_services.size(), 2u);
  EXPECT_EQ(loaded->feature_services[0].features[1].features,
            std::vector<std::string>{"country"});

  // A registry opened afresh on the same file sees the same.
  registry_.reset();
  auto again = OpenSqlite();
  ASSERT_NE(again, nullptr);
  EXPECT_EQ(Defs(*again->Load("books")), Defs(repo));
}

TEST_F(RegistryTest, ProjectsAreIndependent) {
  MustApply(MakeRepo("books"));
  FeatureRepo other = MakeRepo("films");
  other.feature_services.clear();
  ApplyResult r = MustApply(other);
  EXPECT_EQ(r.version, 1);
  EXPECT_EQ(r.plan.changes.size(), 10u);
  EXPECT_EQ(Defs(*registry_->Load("books")), Defs(MakeRepo("books")));
  EXPECT_EQ(Defs(*registry_->Load("films")), Defs(other));
  ASSERT_TRUE(registry_->Teardown("films").ok());
  EXPECT_EQ(*registry_->Version("books"), 1);
}

TEST_F(RegistryTest, TeardownRemovesTheProject) {
  EXPECT_EQ(registry_->Teardown("books").code(), StatusCode::kNotFound);
  MustApply(MakeRepo("books", "a"));
  MustApply(MakeRepo("books", "b"));
  Status s = registry_->Teardown("books");
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(*registry_->Version("books"), 0);
  Status missing = registry_->Load("books").status();
  EXPECT_EQ(missing.code(), StatusCode::kNotFound);
  EXPECT_NE(missing.message().find("books"), std::string::npos);
  EXPECT_NE(missing.message().find(path_), std::string::npos);
  EXPECT_EQ(registry_->DumpJson("books").status().code(),
            StatusCode::kNotFound);
  EXPECT_TRUE(registry_->Applies("books")->empty());
  EXPECT_EQ(registry_->LoadVersion("books", 1).status().code(),
            StatusCode::kNotFound);
  EXPECT_EQ(registry_->Teardown("books").code(), StatusCode::kNotFound);

  // Applying again starts a new history.
  ApplyResult r = MustApply(MakeRepo("books"));
  EXPECT_EQ(r.version, 1);
  EXPECT_EQ(r.plan.changes.size(), 12u);
}

TEST_F(RegistryTest, EmptyProjectNameIsRefused) {
  auto r = registry_->Apply(MakeRepo(""));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
}

TEST_F(RegistryTest, DuplicateObjectsAreRefusedWithoutWriting) {
  FeatureRepo repo = MakeRepo("books");
  repo.entities.push_back(repo.entities[0]);
  auto r = registry_->Apply(repo);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(*registry_->Version("books"), 0);
}

TEST_F(RegistryTest, DumpJsonListsEveryKind) {
  MustApply(MakeRepo("books"));
  auto text = registry_->DumpJson("books");
  ASSERT_TRUE(text.ok()) << text.status().ToString();
  nlohmann::json doc = nlohmann::json::parse(*text);
  EXPECT_EQ(doc["project"], "books");
  EXPECT_EQ(doc["version"], 1);
  ASSERT_EQ(doc["entities"].size(), 2u);
  EXPECT_EQ(doc["entities"][0]["name"], "book");
  EXPECT_EQ(doc["entities"][1]["join_keys"][0], "user_id");
  EXPECT_EQ(doc["entities"][1]["value_type"], "Int64");
  EXPECT_EQ(doc["data_sources"].size(), 4u);
  EXPECT_EQ(doc["data_sources"][2]["type"], "push");
  EXPECT_EQ(doc["sql_models"].size(), 1u);
  EXPECT_EQ(doc["feature_views"].size(), 3u);
  EXPECT_EQ(doc["feature_views"][0]["ttl"], "54750d");
  EXPECT_EQ(doc["feature_views"][0]["schema"][0]["dtype"], "String");
  EXPECT_EQ(doc["feature_services"].size(), 2u);
  EXPECT_EQ(doc["feature_services"][1]["features"][2]["feature_view"],
            "user_agg_rating_features");
  // Pretty-printed, and stable.
  EXPECT_NE(text->find("\n  \"entities\": ["), std::string::npos);
  EXPECT_EQ(*registry_->DumpJson("books"), *text);
}

TEST_F(RegistryTest, CorruptStoredDefinitionIsReported) {
  MustApply(MakeRepo("books"));
  {
    RawDb raw(path_);
    raw.Exec("UPDATE objects SET definition = '{\"name\": \"user\", ' "
             "WHERE kind = 'entity' AND name = 'user'");
  }
  Status s = registry_->Load("books").status();
  EXPECT_EQ(s.code(), StatusCode::kCorruption);
  EXPECT_NE(s.message().find(path_), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("entity user"), std::string::npos) << s.message();
  EXPECT_EQ(registry_->DumpJson("books").status().code(),
            StatusCode::kCorruption);
}

// --- Opening files that are not (current) Larder registries ---------------

TEST(RegistryOpen, GarbageFileIsCorruptionAndLeftAlone) {
  TempDir dir;
  const std::string path = dir.path() + "/registry.db";
  std::string garbage;
  for (int i = 0; i < 300; ++i) garbage += "this is not a database at all. ";
  { std::ofstream(path, std::ios::binary) << garbage; }
  RegistryOptions options;
  options.path = path;
  auto r = Registry::Open(options);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kCorruption);
  EXPECT_NE(r.status().message().find(path), std::string::npos)
      << r.status().message();
  EXPECT_NE(r.status().message().find("not a Larder registry"),
            std::string::npos)
      << r.status().message();
  std::ifstream in(path, std::ios::binary);
  std::stringstream after;
  after << in.rdbuf();
  EXPECT_EQ(after.str(), garbage);
}

TEST(RegistryOpen, OtherSqliteDatabaseIsCorruption) {
  TempDir dir;
  const std::string path = dir.path() + "/other.db";
  {
    RawDb raw(path);
    raw.Exec("CREATE TABLE customers (id INTEGER)");
  }
  RegistryOptions options;
  options.path = path;
  auto r = Registry::Open(options);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kCorruption);
  EXPECT_NE(r.status().message().find(path), std::string::npos);
}

TEST(RegistryOpen, NewerSchemaIsFailedPrecondition) {
  TempDir dir;
  RegistryOptions options;
  options.path = dir.path() + "/registry.db";
  ASSERT_TRUE(Registry::Open(options).ok());
  {
    RawDb raw(options.path);
    raw.Exec("UPDATE larder_meta SET value = '99' WHERE key = 'schema_version'");
  }
  auto r = Registry::Open(options);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(r.status().message().find(options.path), std::string::npos);
  EXPECT_NE(r.status().message().find("99"), std::string::npos);
}

TEST(RegistryOpen, BadPaths) {
  TempDir dir;
  RegistryOptions options;
  EXPECT_EQ(Registry::Open(options).status().code(),
            StatusCode::kInvalidArgument);
  options.path = dir.path();  // a directory
  auto r = Registry::Open(options);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kIOError) << r.status().ToString();
  EXPECT_NE(r.status().message().find(dir.path()), std::string::npos);
  { std::ofstream(dir.path() + "/file") << "x"; }
  options.path = dir.path() + "/file/registry.db";  // parent is a file
  r = Registry::Open(options);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kIOError) << r.status().ToString();
}

TEST(RegistryOpen, UsesWalMode) {
  TempDir dir;
  RegistryOptions options;
  options.path = dir.path() + "/registry.db";
  ASSERT_TRUE(Registry::Open(options).ok());
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(options.path.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &stmt, nullptr),
            SQLITE_OK);
  ASSERT_EQ(sqlite3_step(stmt), SQLITE_ROW);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(
                sqlite3_column_text(stmt, 0))),
            "wal");
  sqlite3_finalize(stmt);
  sqlite3_close(db);
}

// --- Concurrency --------------------------------------------------------------

TEST_F(RegistryTest, LockedRegistryIsBusyAndStaysIntact) {
  FeatureRepo first = MakeRepo("books", "first");
  MustApply(first);

  RawDb holder(path_);
  ASSERT_EQ(holder.Exec("BEGIN IMMEDIATE"), SQLITE_OK);

  auto second = OpenSqlite(200ms);  // opening needs no write lock
  ASSERT_NE(second, nullptr);
  auto start = std::chrono::steady_clock::now();
  auto r = second->Apply(MakeRepo("books", "second"));
  auto waited = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kBusy);
  EXPECT_EQ(r.status().message(),
            "registry " + path_ +
                " is locked by another apply or teardown; waited 200ms. "
                "Try again when it finishes.");
  EXPECT_GE(waited, 150ms);
  EXPECT_LT(waited, 5s);

  Status teardown = second->Teardown("books");
  EXPECT_EQ(teardown.code(), StatusCode::kBusy);

  // Readers are not blocked by the writer.
  EXPECT_EQ(*second->Version("books"), 1);
  auto plan = second->Plan(MakeRepo("books", "second"));
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  EXPECT_EQ(plan->changes.size(), 1u);
  EXPECT_TRUE(second->Load("books").ok());

  ASSERT_EQ(holder.Exec("ROLLBACK"), SQLITE_OK);

  // Nothing of the refused apply landed, and the registry still works.
  EXPECT_EQ(*second->Version("books"), 1);
  EXPECT_EQ(Defs(*second->Load("books")), Defs(first));
  auto ok = second->Apply(MakeRepo("books", "second"));
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(ok->version, 2);
  EXPECT_EQ(Defs(*registry_->Load("books")), Defs(MakeRepo("books", "second")));
}

TEST(RegistryBusyMessage, WholeSecondsAreWrittenAsADuration) {
  TempDir dir;
  RegistryOptions options;
  options.path = dir.path() + "/registry.db";
  options.lock_timeout = 1s;
  auto registry = Registry::Open(options);
  ASSERT_TRUE(registry.ok());
  RawDb holder(options.path);
  ASSERT_EQ(holder.Exec("BEGIN IMMEDIATE"), SQLITE_OK);
  auto r = (*registry)->Apply(MakeRepo("books"));
  ASSERT_EQ(r.status().code(), StatusCode::kBusy);
  EXPECT_NE(r.status().message().find("waited 1s. Try again"),
            std::string::npos)
      << r.status().message();
  ASSERT_EQ(holder.Exec("ROLLBACK"), SQLITE_OK);
}

struct Applied {
  int64_t version;
  std::string tag;
};

// Checks that the versions are exactly 1..n and that the registry's state,
// current and historical, matches what each apply wrote.
void CheckSerialised(const std::string& path, std::vector<Applied> applied,
                     size_t expected) {
  ASSERT_EQ(applied.size(), expected);
  std::sort(applied.begin(), applied.end(),
            [](const Applied& a, const Applied& b) {
              return a.version < b.version;
            });
  for (size_t i = 0; i < applied.size(); ++i) {
    EXPECT_EQ(applied[i].version, static_cast<int64_t>(i + 1));
  }
  RegistryOptions options;
  options.path = path;
  auto opened = SqliteRegistry::Open(options);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  SqliteRegistry& registry = **opened;
  EXPECT_EQ(*registry.Version("books"), static_cast<int64_t>(expected));
  EXPECT_EQ(Defs(*registry.Load("books")),
            Defs(MakeRepo("books", applied.back().tag)));
  for (const Applied& a : applied) {
    auto at = registry.LoadVersion("books", a.version);
    ASSERT_TRUE(at.ok()) << at.status().ToString();
    EXPECT_EQ(Defs(*at), Defs(MakeRepo("books", a.tag))) << a.version;
  }
  EXPECT_EQ(registry.Applies("books")->size(), expected);
}

TEST(RegistryConcurrency, ThreadsApplyingTogetherSerialise) {
  TempDir dir;
  const std::string path = dir.path() + "/data/registry.db";
  constexpr int kThreads = 4;
  constexpr int kApplies = 5;
  std::mutex mu;
  std::vector<Applied> applied;
  std::vector<std::string> errors;
  std::atomic<int> ready{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      ready.fetch_add(1);
      while (ready.load() < kThreads) std::this_thread::yield();
      RegistryOptions options;
      options.path = path;  // every thread opens the new file at once
      options.lock_timeout = 60s;
      auto registry = Registry::Open(options);
      if (!registry.ok()) {
        std::lock_guard lock(mu);
        errors.push_back(registry.status().ToString());
        return;
      }
      for (int i = 0; i < kApplies; ++i) {
        std::string tag = "t" + std::to_string(t) + "-" + std::to_string(i);
        auto r = (*registry)->Apply(MakeRepo("books", tag));
        std::lock_guard lock(mu);
        if (!r.ok()) {
          errors.push_back(r.status().ToString());
        } else if (r->plan.empty()) {
          errors.push_back(tag + ": empty plan");
        } else {
          applied.push_back({r->version, tag});
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_TRUE(errors.empty()) << errors.front();
  CheckSerialised(path, applied, kThreads * kApplies);
}

TEST(RegistryConcurrency, ProcessesApplyingTogetherSerialise) {
  TempDir dir;
  const std::string path = dir.path() + "/data/registry.db";
  constexpr int kProcesses = 4;
  constexpr int kApplies = 5;
  std::vector<pid_t> children;
  for (int p = 0; p < kProcesses; ++p) {
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      // The child: no gtest assertions; report through a file and the
      // exit code.
      int code = 0;
      {
        std::ofstream out(dir.path() + "/child" + std::to_string(p));
        RegistryOptions options;
        options.path = path;
        options.lock_timeout = 60s;
        auto registry = Registry::Open(options);
        if (!registry.ok()) {
          out << "error " << registry.status().ToString() << "\n";
          code = 1;
        }
        for (int i = 0; code == 0 && i < kApplies; ++i) {
          std::string tag = "p" + std::to_string(p) + "-" + std::to_string(i);
          auto r = (*registry)->Apply(MakeRepo("books", tag));
          if (!r.ok() || r->plan.empty()) {
            out << "error " << tag << " " << r.status().ToString() << "\n";
            code = 1;
          } else {
            out << r->version << " " << tag << "\n";
          }
        }
      }
      _exit(code);
    }
    children.push_back(pid);
  }
  for (pid_t pid : children) {
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  std::vector<Applied> applied;
  for (int p = 0; p < kProcesses; ++p) {
    std::ifstream in(dir.path() + "/child" + std::to_string(p));
    std::string first;
    std::string tag;
    while (in >> first >> tag) {
      ASSERT_NE(first, "error") << tag;
      applied.push_back({std::stoll(first), tag});
    }
  }
  CheckSerialised(path, applied, kProcesses * kApplies);
}

}  // namespace
}  // namespace larder
