// The rocksdb backend: the shared conformance suite, plus what only an
// embedded store has (a directory, one opener, tuning options).
#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <thread>

#include "larder/online_store.h"
#include "online/online_store_conformance.h"
#include "support/online_crash_writer.h"

namespace larder::testing {
namespace {

StoreConfig RocksDbConfig(const std::string& /*repo_root*/) {
  // Small cache: tests open many stores.
  return {"rocksdb", {{"path", "data/online_store"}, {"block_cache_mb", "8"}}};
}

StoreConfig RocksDbWithoutCacheConfig(const std::string& /*repo_root*/) {
  return {"rocksdb",
          {{"path", "data/online_store"}, {"block_cache_mb", "8"}, {"record_cache_mb", "0"}}};
}

// With the record cache (the default) and without it: both read paths.
INSTANTIATE_TEST_SUITE_P(OnlineRocksDb, OnlineStoreConformance,
                         ::testing::Values(OnlineBackend{"rocksdb", &RocksDbConfig},
                                           OnlineBackend{"rocksdb_uncached",
                                                         &RocksDbWithoutCacheConfig}),
                         [](const ::testing::TestParamInfo<OnlineBackend>& p) {
                           return p.param.name;
                         });

OnlineStoreOptions Options(const TempDir& dir, StoreConfig config) {
  OnlineStoreOptions o;
  o.config = std::move(config);
  o.project = "p";
  o.repo_root = dir.path();
  return o;
}

OnlineRecord Scored(int64_t ts, double score) {
  return OnlineRecord{EntityKey{{"user_id"}, {Value::Int64(1)}}, ts, 0, {Value::Float64(score)}};
}

// Reads through the record cache see writes and deletes at once.
TEST(OnlineRocksDb, CachedReadsFollowWritesAndDeletes) {
  TempDir dir;
  auto store = OnlineStore::Open(Options(dir, {"rocksdb", {}}));
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  OnlineView view("scores", {{"score", ValueType{ScalarType::kFloat64}}});
  const std::vector<EntityKey> keys = {EntityKey{{"user_id"}, {Value::Int64(1)}},
                                       EntityKey{{"user_id"}, {Value::Int64(2)}}};
  std::vector<OnlineReadResult> out;
  ASSERT_TRUE((*store)->MultiGet(view, keys, &out).ok());  // both absent, now cached so
  EXPECT_EQ(out[0].state, OnlineRecordState::kNotFound);
  std::vector<OnlineRecord> first = {Scored(10, 1.0)};
  ASSERT_TRUE((*store)->Write(view, first).ok());
  for (int round = 0; round < 2; ++round) {  // the second round hits the cache
    ASSERT_TRUE((*store)->MultiGet(view, keys, &out).ok());
    ASSERT_EQ(out[0].state, OnlineRecordState::kFound);
    EXPECT_EQ(out[0].values[0], Value::Float64(1.0));
    EXPECT_EQ(out[1].state, OnlineRecordState::kNotFound);
  }
  std::vector<OnlineRecord> older_then_newer = {Scored(5, 0.5), Scored(20, 2.0)};
  ASSERT_TRUE((*store)->Write(view, older_then_newer).ok());
  ASSERT_TRUE((*store)->MultiGet(view, keys, &out).ok());
  EXPECT_EQ(out[0].values[0], Value::Float64(2.0));
  EXPECT_EQ(out[0].event_timestamp, 20);
  ASSERT_TRUE((*store)->DeleteView("scores").ok());
  ASSERT_TRUE((*store)->MultiGet(view, keys, &out).ok());
  EXPECT_EQ(out[0].state, OnlineRecordState::kNotFound);
}

// A reader racing a writer never sees a value older than a write that had
// completed before the read began.
TEST(OnlineRocksDb, CachedReadsNeverGoBackInTime) {
  TempDir dir;
  auto store = OnlineStore::Open(Options(dir, {"rocksdb", {}}));
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  OnlineView view("scores", {{"score", ValueType{ScalarType::kFloat64}}});
  const std::vector<EntityKey> keys = {EntityKey{{"user_id"}, {Value::Int64(1)}}};
  std::atomic<int64_t> landed{0};
  std::atomic<bool> stop{false};
  std::atomic<int> stale{0};
  std::atomic<int64_t> reads{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 3; ++t) {
    readers.emplace_back([&] {
      std::vector<OnlineReadResult> out;
      while (!stop.load()) {
        const int64_t before = landed.load();
        if (!(*store)->MultiGet(view, keys, &out).ok()) {
          ++stale;
          continue;
        }
        const int64_t seen = out[0].state == OnlineRecordState::kFound ? out[0].event_timestamp : 0;
        if (seen < before) ++stale;
        ++reads;
      }
    });
  }
  for (int64_t ts = 1; ts <= 3000; ++ts) {
    std::vector<OnlineRecord> batch = {Scored(ts, static_cast<double>(ts))};
    ASSERT_TRUE((*store)->Write(view, batch).ok());
    landed.store(ts);
  }
  stop.store(true);
  for (auto& r : readers) r.join();
  EXPECT_EQ(stale.load(), 0);
  EXPECT_GT(reads.load(), 100);
}

TEST(OnlineRocksDb, PathIsRelativeToRepoRootByDefault) {
  TempDir dir;
  OnlineStoreOptions o = Options(dir, {"rocksdb", {}});
  auto store = OnlineStore::Open(o);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  EXPECT_TRUE(std::filesystem::exists(dir.Join("data/online_store/CURRENT")));
}

TEST(OnlineRocksDb, AbsolutePathIsKept) {
  TempDir dir;
  TempDir other;
  auto store = OnlineStore::Open(Options(dir, {"rocksdb", {{"path", other.Join("db")}}}));
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  EXPECT_TRUE(std::filesystem::exists(other.Join("db/CURRENT")));
}

TEST(OnlineRocksDb, SecondOpenerIsBusyAndNamesThePath) {
  TempDir dir;
  auto first = OnlineStore::Open(Options(dir, {"rocksdb", {}}));
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  auto second = OnlineStore::Open(Options(dir, {"rocksdb", {}}));
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), StatusCode::kBusy) << second.status().ToString();
  EXPECT_NE(second.status().message().find(dir.Join("data/online_store")), std::string::npos)
      << second.status().ToString();
  first->reset();
  auto third = OnlineStore::Open(Options(dir, {"rocksdb", {}}));
  EXPECT_TRUE(third.ok()) << third.status().ToString();
}

TEST(OnlineRocksDb, BadOptionsAreInvalidArgument) {
  TempDir dir;
  for (const auto& [key, value] :
       std::vector<std::pair<std::string, std::string>>{{"block_cache_mb", "lots"},
                                                        {"block_cache_mb", "0"},
                                                        {"bloom_bits_per_key", "-1"},
                                                        {"bloom_bits_per_key", "10x"},
                                                        {"path", ""},
                                                        {"host", "x"}}) {
    auto store = OnlineStore::Open(Options(dir, {"rocksdb", {{key, value}}}));
    ASSERT_FALSE(store.ok()) << key << "=" << value;
    EXPECT_EQ(store.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(store.status().message().find("online_store." + key), std::string::npos)
        << store.status().ToString();
  }
  auto no_bloom = OnlineStore::Open(Options(dir, {"rocksdb", {{"bloom_bits_per_key", "0"}}}));
  EXPECT_TRUE(no_bloom.ok()) << no_bloom.status().ToString();
}

TEST(OnlineRocksDb, PathThatIsAFileIsIOError) {
  TempDir dir;
  dir.Write("data/online_store", "not a directory");
  auto store = OnlineStore::Open(Options(dir, {"rocksdb", {}}));
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), StatusCode::kIOError) << store.status().ToString();
  EXPECT_NE(store.status().message().find("online_store"), std::string::npos);
}

TEST(OnlineStoreRegistry, UnknownTypeListsKnownOnes) {
  TempDir dir;
  auto store = OnlineStore::Open(Options(dir, {"cassandra", {}}));
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(store.status().message().find("rocksdb"), std::string::npos)
      << store.status().ToString();
  OnlineStoreOptions no_project = Options(dir, {"rocksdb", {}});
  no_project.project.clear();
  EXPECT_EQ(OnlineStore::Open(no_project).status().code(), StatusCode::kInvalidArgument);
}

TEST(OnlineStoreRegistry, RegistersTypesAtRunTime) {
  EXPECT_EQ(RegisterOnlineStoreType("rocksdb", nullptr).code(), StatusCode::kAlreadyExists);
  ASSERT_TRUE(RegisterOnlineStoreType("test_only_failing", [](const OnlineStoreOptions&) {
                return Result<std::unique_ptr<OnlineStore>>(Status::IOError("unreachable"));
              }).ok());
  auto types = OnlineStoreTypes();
  EXPECT_TRUE(std::is_sorted(types.begin(), types.end()));
  EXPECT_NE(std::find(types.begin(), types.end(), "test_only_failing"), types.end());
  TempDir dir;
  EXPECT_EQ(OnlineStore::Open(Options(dir, {"test_only_failing", {}})).status().code(),
            StatusCode::kIOError);
}

// --- Crash safety: a writer killed with SIGKILL at a random point -----------

TEST(OnlineRocksDb, KilledWriterLeavesAConsistentStore) {
  TempDir dir;
  const std::string exe = LARDER_ONLINE_CRASH_WRITER;
  std::string a0 = exe, a1 = dir.path();
  char* argv[] = {a0.data(), a1.data(), nullptr};

  OnlineView view = CrashView();
  std::vector<EntityKey> keys;
  for (int64_t id = 0; id < 200; ++id) keys.push_back({{"id"}, {Value::Int64(id)}});
  std::mt19937 rng(11);
  for (int kill = 0; kill < 3; ++kill) {
    std::filesystem::remove(dir.Join("started"));
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      int devnull = open("/dev/null", O_WRONLY);
      dup2(devnull, 1);
      execv(exe.c_str(), argv);
      _exit(127);
    }
    for (int i = 0; i < 1000 && !std::filesystem::exists(dir.Join("started")); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5 + rng() % 150));
    ASSERT_EQ(::kill(pid, SIGKILL), 0);
    int wstatus = 0;
    ASSERT_EQ(waitpid(pid, &wstatus, 0), pid);
    ASSERT_TRUE(WIFSIGNALED(wstatus)) << "the child writer ended before it was killed";

    // After the kill: the store opens, and every record is one the history
    // holds, whole (payload and ev agree with the header).
    OnlineStoreOptions o;
    o.config = {"rocksdb", {{"path", "db"}, {"block_cache_mb", "8"}}};
    o.project = "p";
    o.repo_root = dir.path();
    auto store = OnlineStore::Open(o);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    std::vector<OnlineReadResult> got;
    ASSERT_TRUE((*store)->MultiGet(view, keys, &got).ok());
    for (size_t id = 0; id < got.size(); ++id) {
      if (got[id].state == OnlineRecordState::kNotFound) continue;
      ASSERT_EQ(got[id].state, OnlineRecordState::kFound);
      int64_t ev = got[id].event_timestamp;
      EXPECT_EQ(got[id].values[1], Value::Int64(ev));
      EXPECT_EQ(got[id].values[0].string_value(),
                "p" + std::to_string(static_cast<int64_t>(id) * 100 + ev) + std::string(100, 'x'));
    }
  }
  // A rerun of the whole history converges to the latest record per key.
  OnlineStoreOptions o;
  o.config = {"rocksdb", {{"path", "db"}}};
  o.project = "p";
  o.repo_root = dir.path();
  auto store = OnlineStore::Open(o);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  ASSERT_TRUE((*store)->Write(view, CrashHistory()).ok());
  std::vector<OnlineReadResult> got;
  ASSERT_TRUE((*store)->MultiGet(view, keys, &got).ok());
  for (const auto& r : got) {
    ASSERT_EQ(r.state, OnlineRecordState::kFound);
    EXPECT_EQ(r.event_timestamp, 19);
  }
}

}  // namespace
}  // namespace larder::testing
