// The redis backend: the shared conformance suite against a real
// redis-server, plus what only a networked store has (addresses, passwords,
// databases, a server-side script).
#include "online/redis/redis_online_store.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "larder/online_store.h"
#include "online/entity_key.h"
#include "online/record_codec.h"
#include "online/online_store_conformance.h"
#include "support/redis_server.h"

namespace larder::testing {
namespace {

using online::ParseRedisOptions;
using online::RedisEndpoint;

StoreConfig SharedRedisConfig(const std::string& /*repo_root*/) {
  std::string error;
  RedisServer* server = RedisServer::Shared(&error);
  if (server == nullptr) {
    ADD_FAILURE() << "cannot start the test redis-server: " << error;
    return {"redis", {{"port", "0"}}};  // Open then fails too
  }
  return {"redis", {{"host", server->host()}, {"port", std::to_string(server->port())}}};
}

INSTANTIATE_TEST_SUITE_P(OnlineRedis, OnlineStoreConformance,
                         ::testing::Values(OnlineBackend{"redis", &SharedRedisConfig}),
                         [](const ::testing::TestParamInfo<OnlineBackend>& p) {
                           return p.param.name;
                         });

OnlineStoreOptions Options(StoreConfig config, std::string project = "p") {
  OnlineStoreOptions o;
  o.config = std::move(config);
  o.project = std::move(project);
  return o;
}

OnlineView View() { return OnlineView("v", {{"x", {ScalarType::kInt64, false}}}); }

OnlineRecord Rec(int64_t id, int64_t ts, int64_t x) {
  return {{{"id"}, {Value::Int64(id)}}, ts, 0, {Value::Int64(x)}};
}

TEST(OnlineRedisOptions, Defaults) {
  auto ep = ParseRedisOptions({});
  ASSERT_TRUE(ep.ok()) << ep.status().ToString();
  EXPECT_EQ(ep->host, "127.0.0.1");
  EXPECT_EQ(ep->port, 6379);
  EXPECT_EQ(ep->password, "");
  EXPECT_EQ(ep->db, 0);
}

TEST(OnlineRedisOptions, HostPortPasswordDb) {
  auto ep = ParseRedisOptions({{"host", "redis.local"}, {"port", "7000"},
                               {"password", "s3cret"}, {"db", "3"}});
  ASSERT_TRUE(ep.ok()) << ep.status().ToString();
  EXPECT_EQ(ep->host, "redis.local");
  EXPECT_EQ(ep->port, 7000);
  EXPECT_EQ(ep->password, "s3cret");
  EXPECT_EQ(ep->db, 3);
}

TEST(OnlineRedisOptions, ConnectionString) {
  auto ep = ParseRedisOptions({{"connection_string", "cache:6380,password=pw=x,db=2"}});
  ASSERT_TRUE(ep.ok()) << ep.status().ToString();
  EXPECT_EQ(ep->host, "cache");
  EXPECT_EQ(ep->port, 6380);
  EXPECT_EQ(ep->password, "pw=x");
  EXPECT_EQ(ep->db, 2);

  auto plain = ParseRedisOptions({{"connection_string", "localhost:6379"}});
  ASSERT_TRUE(plain.ok()) << plain.status().ToString();
  EXPECT_EQ(plain->host, "localhost");
  EXPECT_EQ(plain->port, 6379);
  EXPECT_EQ(plain->db, 0);
}

TEST(OnlineRedisOptions, ClusterSeeds) {
  auto ep = ParseRedisOptions({{"cluster_nodes", "a:7000, b:7001,c:7002"}, {"password", "pw"}});
  ASSERT_TRUE(ep.ok()) << ep.status().ToString();
  ASSERT_EQ(ep->cluster_nodes.size(), 3u);
  EXPECT_EQ(ep->cluster_nodes[1].host, "b");
  EXPECT_EQ(ep->cluster_nodes[2].port, 7002);
  EXPECT_EQ(ep->password, "pw");

  // Feast style: several hosts in connection_string are cluster seeds.
  auto feast = ParseRedisOptions({{"connection_string", "a:7000,b:7001,password=pw"}});
  ASSERT_TRUE(feast.ok()) << feast.status().ToString();
  ASSERT_EQ(feast->cluster_nodes.size(), 2u);
  EXPECT_EQ(feast->cluster_nodes[0].host, "a");
  EXPECT_EQ(feast->password, "pw");
  auto single = ParseRedisOptions({{"connection_string", "a:7000,password=pw"}});
  ASSERT_TRUE(single.ok()) << single.status().ToString();
  EXPECT_TRUE(single->cluster_nodes.empty());
}

TEST(OnlineRedisOptions, KeySlotsFollowHashTags) {
  // Values from Redis' documentation of CLUSTER KEYSLOT.
  EXPECT_EQ(online::RedisKeySlot("somekey"), 11058);
  EXPECT_EQ(online::RedisKeySlot("foo{hash_tag}"), online::RedisKeySlot("hash_tag"));
  EXPECT_EQ(online::RedisKeySlot("a{}b"), online::RedisKeySlot("a{}b"));
  EXPECT_NE(online::RedisKeySlot("{user1000}.following"), online::RedisKeySlot("{}x"));
  EXPECT_EQ(online::RedisKeySlot("{user1000}.following"),
            online::RedisKeySlot("{user1000}.followers"));
}

TEST(OnlineRedisOptions, BadOptionsAreInvalidArgumentNamingTheKey) {
  const std::vector<std::pair<std::map<std::string, std::string>, std::string>> cases = {
      {{{"port", "http"}}, "online_store.port"},
      {{{"port", "0"}}, "online_store.port"},
      {{{"port", "65536"}}, "online_store.port"},
      {{{"db", "-1"}}, "online_store.db"},
      {{{"host", ""}}, "online_store.host"},
      {{{"path", "x"}}, "online_store.path"},
      {{{"connection_string", "nohost"}}, "online_store.connection_string"},
      {{{"connection_string", "h:1,ssl=true"}}, "online_store.connection_string"},
      {{{"connection_string", "h:1,db=x"}}, "db"},
      {{{"connection_string", "h:1"}, {"port", "2"}}, "online_store.connection_string"},
      {{{"cluster_nodes", "h:1,nohost"}}, "online_store.cluster_nodes"},
      {{{"cluster_nodes", "h:1"}, {"port", "2"}}, "online_store.cluster_nodes"},
      {{{"cluster_nodes", "h:1"}, {"db", "1"}}, "online_store.db"},
      {{{"connection_string", "h:1,h:2,db=1"}}, "online_store.db"},
  };
  for (const auto& [options, expected] : cases) {
    auto ep = ParseRedisOptions(options);
    ASSERT_FALSE(ep.ok()) << expected;
    EXPECT_EQ(ep.status().code(), StatusCode::kInvalidArgument) << ep.status().ToString();
    EXPECT_NE(ep.status().message().find(expected), std::string::npos) << ep.status().ToString();
  }
}

TEST(OnlineRedis, UnreachableServerIsIOErrorNamingHostAndPort) {
  const int port = RedisServer::FreePort();  // nothing listens there
  ASSERT_NE(port, 0);
  auto store = OnlineStore::Open(Options({"redis", {{"port", std::to_string(port)}}}));
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), StatusCode::kIOError) << store.status().ToString();
  EXPECT_NE(store.status().message().find("127.0.0.1:" + std::to_string(port)),
            std::string::npos)
      << store.status().ToString();
}

TEST(OnlineRedis, PasswordIsSentAndAWrongOneIsRefused) {
  auto server = RedisServer::Start({.password = "s3cret"});
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  const std::string port = std::to_string((*server)->port());
  const std::string address = "127.0.0.1:" + port;

  for (const StoreConfig& bad :
       {StoreConfig{"redis", {{"port", port}}},
        StoreConfig{"redis", {{"port", port}, {"password", "wrong"}}}}) {
    auto store = OnlineStore::Open(Options(bad));
    ASSERT_FALSE(store.ok());
    EXPECT_EQ(store.status().code(), StatusCode::kIOError) << store.status().ToString();
    EXPECT_NE(store.status().message().find(address), std::string::npos)
        << store.status().ToString();
  }
  for (const StoreConfig& good :
       {StoreConfig{"redis", {{"port", port}, {"password", "s3cret"}}},
        StoreConfig{"redis", {{"connection_string", address + ",password=s3cret"}}}}) {
    auto store = OnlineStore::Open(Options(good));
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    auto w = (*store)->Write(View(), std::vector<OnlineRecord>{Rec(1, 10, 7)});
    ASSERT_TRUE(w.ok()) << w.status().ToString();
  }
}

TEST(OnlineRedis, DatabasesAreSeparate) {
  auto server = RedisServer::Start();
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  const std::string port = std::to_string((*server)->port());
  auto db0 = OnlineStore::Open(Options({"redis", {{"port", port}}}));
  auto db1 = OnlineStore::Open(Options({"redis", {{"connection_string", "127.0.0.1:" + port +
                                                                           ",db=1"}}}));
  ASSERT_TRUE(db0.ok()) << db0.status().ToString();
  ASSERT_TRUE(db1.ok()) << db1.status().ToString();
  auto w = (*db1)->Write(View(), std::vector<OnlineRecord>{Rec(1, 10, 7)});
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  const std::vector<EntityKey> keys = {{{"id"}, {Value::Int64(1)}}};
  std::vector<OnlineReadResult> in0, in1;
  ASSERT_TRUE((*db0)->MultiGet(View(), keys, &in0).ok());
  ASSERT_TRUE((*db1)->MultiGet(View(), keys, &in1).ok());
  EXPECT_EQ(in0[0].state, OnlineRecordState::kNotFound);
  ASSERT_EQ(in1[0].state, OnlineRecordState::kFound);
  EXPECT_EQ(in1[0].values[0], Value::Int64(7));

  auto bad_db = OnlineStore::Open(Options({"redis", {{"port", port}, {"db", "100000"}}}));
  ASSERT_FALSE(bad_db.ok());
  EXPECT_NE(bad_db.status().message().find("127.0.0.1:" + port), std::string::npos)
      << bad_db.status().ToString();
}

TEST(OnlineRedis, FlushedScriptCacheFallsBackToEval) {
  auto server = RedisServer::Start();
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  const std::string port = std::to_string((*server)->port());
  auto store = OnlineStore::Open(Options({"redis", {{"port", port}}}));
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  EXPECT_EQ((*server)->Call("SCRIPT FLUSH"), "+OK\r\n");
  auto w = (*store)->Write(View(), std::vector<OnlineRecord>{Rec(1, 10, 7)});
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  EXPECT_EQ(w->written, 1);
  auto older = (*store)->Write(View(), std::vector<OnlineRecord>{Rec(1, 9, 8)});
  ASSERT_TRUE(older.ok()) << older.status().ToString();
  EXPECT_EQ(older->skipped, 1);
}

// The key layout is part of the documented format: project "p", view "v",
// {id: 1} is 01 | 01 'p' | 01 'v' | '{' entity key '}'. A stored value whose
// header does not parse is Corruption on read and is replaced on write, as in
// the rocksdb backend.
TEST(OnlineRedis, KeyLayoutAndUnparsableRecordsAreHealedOnWrite) {
  auto server = RedisServer::Start();
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  const std::string port = std::to_string((*server)->port());
  auto store = OnlineStore::Open(Options({"redis", {{"port", port}}}));
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  const std::string key =
      R"("\x01\x01p\x01v{\x01\x02id\x02\x01\x00\x00\x00\x00\x00\x00\x00}")";
  ASSERT_EQ((*server)->Call("SET " + key + " garbage"), "+OK\r\n");
  const std::vector<EntityKey> keys = {{{"id"}, {Value::Int64(1)}}};
  std::vector<OnlineReadResult> rows;
  Status read = (*store)->MultiGet(View(), keys, &rows);
  EXPECT_EQ(read.code(), StatusCode::kCorruption) << read.ToString();
  EXPECT_NE(read.message().find("127.0.0.1:" + port), std::string::npos) << read.ToString();

  auto w = (*store)->Write(View(), std::vector<OnlineRecord>{Rec(1, -5, 7)});
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  EXPECT_EQ(w->written, 1);
  ASSERT_TRUE((*store)->MultiGet(View(), keys, &rows).ok());
  ASSERT_EQ(rows[0].state, OnlineRecordState::kFound);
  EXPECT_EQ(rows[0].values[0], Value::Int64(7));
  EXPECT_EQ((*server)->Call("EXISTS " + key), ":1\r\n");

  ASSERT_TRUE((*store)->DeleteView("v").ok());
  EXPECT_EQ((*server)->Call("EXISTS " + key), ":0\r\n");
}

// A record of format version 1 (written before records had a tie key) is
// read, stays against an older record, and loses to one with equal timestamps.
TEST(OnlineRedis, VersionOneRecordsAreReadAndLoseTies) {
  auto server = RedisServer::Start();
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  const std::string port = std::to_string((*server)->port());
  auto store = OnlineStore::Open(Options({"redis", {{"port", port}}}));
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  std::string v1;
  ASSERT_TRUE(online::EncodeRecord(View(), Rec(1, 10, 7), &v1).ok());
  v1[0] = 1;
  v1.erase(17, 8);  // no tie key
  std::string quoted = "\"";
  for (unsigned char c : v1) {
    static constexpr char kHex[] = "0123456789abcdef";
    quoted += std::string("\\x") + kHex[c >> 4] + kHex[c & 0xf];
  }
  quoted += "\"";
  const std::string key =
      R"("\x01\x01p\x01v{\x01\x02id\x02\x01\x00\x00\x00\x00\x00\x00\x00}")";
  ASSERT_EQ((*server)->Call("SET " + key + " " + quoted), "+OK\r\n");
  const std::vector<EntityKey> keys = {{{"id"}, {Value::Int64(1)}}};
  std::vector<OnlineReadResult> rows;
  ASSERT_TRUE((*store)->MultiGet(View(), keys, &rows).ok());
  ASSERT_EQ(rows[0].state, OnlineRecordState::kFound);
  EXPECT_EQ(rows[0].values[0], Value::Int64(7));
  auto older = (*store)->Write(View(), std::vector<OnlineRecord>{Rec(1, 9, 8)});
  ASSERT_TRUE(older.ok()) << older.status().ToString();
  EXPECT_EQ(older->skipped, 1);
  auto tied = (*store)->Write(View(), std::vector<OnlineRecord>{Rec(1, 10, 9)});
  ASSERT_TRUE(tied.ok()) << tied.status().ToString();
  EXPECT_EQ(tied->written, 1);
  ASSERT_TRUE((*store)->MultiGet(View(), keys, &rows).ok());
  EXPECT_EQ(rows[0].values[0], Value::Int64(9));
}

TEST(OnlineRedis, LargeBatchesAreSplitAndKeepBatchOrder) {
  std::string error;
  RedisServer* server = RedisServer::Shared(&error);
  ASSERT_NE(server, nullptr) << error;
  auto store = OnlineStore::Open(
      Options({"redis", {{"port", std::to_string(server->port())}}}, "large_batches"));
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  // 3000 records over 1000 keys, each key three times with rising timestamps,
  // spread so that one key's records fall into different script calls.
  std::vector<OnlineRecord> records;
  for (int round = 0; round < 3; ++round) {
    for (int id = 0; id < 1000; ++id) records.push_back(Rec(id, 10 + round, round));
  }
  auto w = (*store)->Write(View(), records);
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  EXPECT_EQ(w->written, 3000);
  auto again = (*store)->Write(View(), records);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(again->written, 0);
  EXPECT_EQ(again->skipped, 3000);
  std::vector<EntityKey> keys;
  for (int id = 0; id < 5000; ++id) keys.push_back({{"id"}, {Value::Int64(id % 1200)}});
  std::vector<OnlineReadResult> rows;
  ASSERT_TRUE((*store)->MultiGet(View(), keys, &rows).ok());
  ASSERT_EQ(rows.size(), keys.size());
  for (int i = 0; i < 5000; ++i) {
    if (i % 1200 < 1000) {
      ASSERT_EQ(rows[i].state, OnlineRecordState::kFound) << i;
      EXPECT_EQ(rows[i].values[0], Value::Int64(2)) << i;
    } else {
      EXPECT_EQ(rows[i].state, OnlineRecordState::kNotFound) << i;
    }
  }
  EXPECT_TRUE((*store)->DeleteProject().ok());
}

RedisCluster* SharedCluster(std::string* error) {
  static std::unique_ptr<RedisCluster> cluster;  // stopped by static destruction
  static std::string start_error;
  if (cluster == nullptr && start_error.empty()) {
    auto started = RedisCluster::Start(3);
    if (started.ok()) {
      cluster = std::move(started).value();
    } else {
      start_error = started.status().ToString();
    }
  }
  *error = start_error;
  return cluster.get();
}

StoreConfig SharedClusterConfig(const std::string& /*repo_root*/) {
  std::string error;
  RedisCluster* cluster = SharedCluster(&error);
  if (cluster == nullptr) {
    ADD_FAILURE() << "cannot start the test Redis cluster: " << error;
    return {"redis", {{"port", "0"}}};
  }
  return {"redis", {{"cluster_nodes", cluster->Seeds()}}};
}

INSTANTIATE_TEST_SUITE_P(OnlineRedisCluster, OnlineStoreConformance,
                         ::testing::Values(OnlineBackend{"redis_cluster", &SharedClusterConfig}),
                         [](const ::testing::TestParamInfo<OnlineBackend>& p) {
                           return p.param.name;
                         });

// A slot that changes owner after the store read the slot map: the old owner
// answers MOVED, and the store refreshes the map and retries.
TEST(OnlineRedisCluster, MovedSlotIsFollowed) {
  auto cluster = RedisCluster::Start(3);
  ASSERT_TRUE(cluster.ok()) << cluster.status().ToString();
  auto store = OnlineStore::Open(Options({"redis", {{"cluster_nodes", (*cluster)->Seeds()}}}));
  ASSERT_TRUE(store.ok()) << store.status().ToString();

  std::string key = online::ViewKeyPrefix("p", "v") + "{";
  ASSERT_TRUE(online::EncodeEntityKey({{"id"}, {Value::Int64(1)}}, &key).ok());
  key += '}';
  const int slot = online::RedisKeySlot(key);
  const size_t owner = static_cast<size_t>(slot) * 3 / 16384;
  const size_t target = (owner + 1) % 3;
  const std::string target_id = (*cluster)->NodeId(target);
  ASSERT_EQ(target_id.size(), 40u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ((*cluster)->node(i).Call("CLUSTER SETSLOT " + std::to_string(slot) + " NODE " +
                                       target_id),
              "+OK\r\n");
  }
  auto w = (*store)->Write(View(), std::vector<OnlineRecord>{Rec(1, 10, 7), Rec(2, 10, 8)});
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  EXPECT_EQ(w->written, 2);
  const std::vector<EntityKey> keys = {{{"id"}, {Value::Int64(1)}}, {{"id"}, {Value::Int64(2)}}};
  std::vector<OnlineReadResult> rows;
  ASSERT_TRUE((*store)->MultiGet(View(), keys, &rows).ok());
  ASSERT_EQ(rows[0].state, OnlineRecordState::kFound);
  EXPECT_EQ(rows[0].values[0], Value::Int64(7));
  ASSERT_EQ(rows[1].state, OnlineRecordState::kFound);
  EXPECT_EQ(rows[1].values[0], Value::Int64(8));
  const std::string count = (*cluster)->node(target).Call("CLUSTER COUNTKEYSINSLOT " +
                                                          std::to_string(slot));
  EXPECT_EQ(count, ":1\r\n");
  ASSERT_TRUE((*store)->DeleteProject().ok());
  EXPECT_EQ((*cluster)->node(target).Call("CLUSTER COUNTKEYSINSLOT " + std::to_string(slot)),
            ":0\r\n");
}

// A slot being migrated: the source node answers ASK for keys it does not
// hold, and the store repeats the command on the target after ASKING.
TEST(OnlineRedisCluster, AskRedirectDuringMigrationIsFollowed) {
  auto cluster = RedisCluster::Start(3);
  ASSERT_TRUE(cluster.ok()) << cluster.status().ToString();
  auto store = OnlineStore::Open(Options({"redis", {{"cluster_nodes", (*cluster)->Seeds()}}}));
  ASSERT_TRUE(store.ok()) << store.status().ToString();

  std::string key = online::ViewKeyPrefix("p", "v") + "{";
  ASSERT_TRUE(online::EncodeEntityKey({{"id"}, {Value::Int64(5)}}, &key).ok());
  key += '}';
  const std::string slot = std::to_string(online::RedisKeySlot(key));
  const size_t source = static_cast<size_t>(online::RedisKeySlot(key)) * 3 / 16384;
  const size_t target = (source + 1) % 3;
  EXPECT_EQ((*cluster)->node(target).Call("CLUSTER SETSLOT " + slot + " IMPORTING " +
                                          (*cluster)->NodeId(source)),
            "+OK\r\n");
  EXPECT_EQ((*cluster)->node(source).Call("CLUSTER SETSLOT " + slot + " MIGRATING " +
                                          (*cluster)->NodeId(target)),
            "+OK\r\n");
  auto w = (*store)->Write(View(), std::vector<OnlineRecord>{Rec(5, 10, 7)});
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  EXPECT_EQ(w->written, 1);
  EXPECT_EQ((*cluster)->node(target).Call("CLUSTER COUNTKEYSINSLOT " + slot), ":1\r\n");
  EXPECT_EQ((*cluster)->node(source).Call("CLUSTER COUNTKEYSINSLOT " + slot), ":0\r\n");
  std::vector<OnlineReadResult> rows;
  ASSERT_TRUE((*store)->MultiGet(View(), {{{{"id"}, {Value::Int64(5)}}}}, &rows).ok());
  ASSERT_EQ(rows[0].state, OnlineRecordState::kFound);
  EXPECT_EQ(rows[0].values[0], Value::Int64(7));
}

TEST(OnlineRedisCluster, UnreachableSeedsAreIOErrorNamingAnAddress) {
  const std::string a = "127.0.0.1:" + std::to_string(RedisServer::FreePort());
  auto store = OnlineStore::Open(Options({"redis", {{"cluster_nodes", a + "," + a}}}));
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), StatusCode::kIOError) << store.status().ToString();
  EXPECT_NE(store.status().message().find(a), std::string::npos) << store.status().ToString();
}

}  // namespace
}  // namespace larder::testing
