// The dynamodb backend: the shared conformance suite against a real dynalite
// server, plus options, table naming and lifecycle, and failures.
#include "online/dynamodb/dynamodb_online_store.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "larder/online_store.h"
#include "online/dynamodb/http_client.h"
#include "online/dynamodb/sigv4.h"
#include "online/entity_key.h"
#include "online/record_codec.h"
#include "online/online_store_conformance.h"
#include "support/dynalite_server.h"
#include "support/redis_server.h"
#include "support/scripted_server.h"
#include "support/server_process.h"
#include "support/test_certificates.h"
#include "support/test_util.h"

namespace larder::testing {
namespace {

using json = nlohmann::json;
using online::DynamoDbTableName;
using online::DynamoDbTableOfProject;
using online::ParseDynamoDbOptions;

DynaliteServer* SharedServer() {
  DynaliteServer::SetFakeCredentials();
  std::string error;
  DynaliteServer* server = DynaliteServer::Shared(&error);
  if (server == nullptr) ADD_FAILURE() << "cannot start the test dynalite: " << error;
  return server;
}

StoreConfig SharedDynamoConfig(const std::string& /*repo_root*/) {
  DynaliteServer* server = SharedServer();
  if (server == nullptr) return {"dynamodb", {{"endpoint_url", "http://127.0.0.1:1"}}};
  return {"dynamodb", {{"endpoint_url", server->endpoint_url()}}};
}

INSTANTIATE_TEST_SUITE_P(OnlineDynamoDb, OnlineStoreConformance,
                         ::testing::Values(OnlineBackend{"dynamodb", &SharedDynamoConfig}),
                         [](const ::testing::TestParamInfo<OnlineBackend>& p) {
                           return p.param.name;
                         });

OnlineStoreOptions Options(StoreConfig config, std::string project = "p") {
  OnlineStoreOptions o;
  o.config = std::move(config);
  o.project = std::move(project);
  return o;
}

OnlineView View(std::string name = "v") {
  return OnlineView(std::move(name), {{"x", {ScalarType::kInt64, false}}});
}

OnlineRecord Rec(int64_t id, int64_t ts, int64_t x) {
  return {{{"id"}, {Value::Int64(id)}}, ts, 0, {Value::Int64(x)}};
}

EntityKey Key(int64_t id) { return {{"id"}, {Value::Int64(id)}}; }

// A small base64 encoder, independent of the store's.
std::string Base64(std::string_view bytes) {
  static const char* kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string b64;
  for (size_t i = 0; i < bytes.size(); i += 3) {
    uint32_t v = static_cast<uint8_t>(bytes[i]) << 16;
    if (i + 1 < bytes.size()) v |= static_cast<uint8_t>(bytes[i + 1]) << 8;
    if (i + 2 < bytes.size()) v |= static_cast<uint8_t>(bytes[i + 2]);
    b64 += kAlphabet[(v >> 18) & 63];
    b64 += kAlphabet[(v >> 12) & 63];
    b64 += i + 1 < bytes.size() ? kAlphabet[(v >> 6) & 63] : '=';
    b64 += i + 2 < bytes.size() ? kAlphabet[v & 63] : '=';
  }
  return b64;
}

std::unique_ptr<OnlineStore> MustOpen(const std::string& project,
                                      std::map<std::string, std::string> extra = {}) {
  DynaliteServer* server = SharedServer();
  if (server == nullptr) return nullptr;
  extra["endpoint_url"] = server->endpoint_url();
  auto store = OnlineStore::Open(Options({"dynamodb", extra}, project));
  EXPECT_TRUE(store.ok()) << store.status().ToString();
  return store.ok() ? std::move(store).value() : nullptr;
}

// Calls the DynamoDB API directly, as an independent client would.
json Raw(const std::string& op, const json& request) {
  DynaliteServer* server = SharedServer();
  if (server == nullptr) return json();
  auto url = online::ParseHttpUrl(server->endpoint_url());
  EXPECT_TRUE(url.ok());
  online::HttpClient client(*url, {});
  online::SigV4Request req;
  req.headers = {{"Host", url->HostHeader()},
                 {"Content-Type", "application/x-amz-json-1.0"},
                 {"X-Amz-Target", "DynamoDB_20120810." + op}};
  req.payload = request.dump();
  online::SignRequest({"AKIDRAW", "raw-secret", ""}, {"us-east-1", "dynamodb"},
                      online::AmzDate(std::time(nullptr)), &req);
  auto response = client.Post("/", req.headers, req.payload);
  EXPECT_TRUE(response.ok()) << response.status().ToString();
  if (!response.ok()) return json();
  return json::parse(response->body, nullptr, false);
}

std::vector<std::string> Tables() {
  std::vector<std::string> out;
  json reply = Raw("ListTables", json::object());
  for (const json& t : reply.value("TableNames", json::array())) {
    out.push_back(t.get<std::string>());
  }
  return out;
}

bool HasTable(const std::string& name) {
  const auto t = Tables();
  return std::find(t.begin(), t.end(), name) != t.end();
}

// ---------------------------------------------------------------- options

TEST(OnlineDynamoDbOptions, DefaultsAndEnvironmentRegion) {
  const char* saved = std::getenv("AWS_REGION");
  const std::optional<std::string> region =
      saved ? std::optional<std::string>(saved) : std::nullopt;
  setenv("AWS_REGION", "eu-west-3", 1);
  auto o = ParseDynamoDbOptions({{"endpoint_url", "http://localhost:8000/"}});
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  EXPECT_EQ(o->region, "eu-west-3");
  EXPECT_EQ(o->endpoint_url, "http://localhost:8000");
  EXPECT_EQ(o->table_name_template, "{project}.{table_name}");
  EXPECT_EQ(o->batch_size, 100);
  EXPECT_EQ(o->concurrency, 4);
  EXPECT_EQ(o->max_retries, 8);
  auto explicit_region = ParseDynamoDbOptions(
      {{"endpoint_url", "http://h:1"}, {"region", "ap-south-1"}, {"batch_size", "7"},
       {"concurrency", "16"}, {"table_name_template", "feast-{table_name}-{project}"}});
  ASSERT_TRUE(explicit_region.ok()) << explicit_region.status().ToString();
  EXPECT_EQ(explicit_region->region, "ap-south-1");
  EXPECT_EQ(explicit_region->batch_size, 7);
  EXPECT_EQ(explicit_region->concurrency, 16);
  if (region) {
    setenv("AWS_REGION", region->c_str(), 1);
  } else {
    unsetenv("AWS_REGION");
  }
}

TEST(OnlineDynamoDbOptions, BadOptionsAreInvalidArgumentNamingTheKey) {
  const std::string ep = "http://127.0.0.1:8000";
  const std::vector<std::pair<std::map<std::string, std::string>, std::string>> cases = {
      {{{"endpoint_url", ep}, {"path", "x"}}, "online_store.path"},
      {{{"endpoint_url", ep}, {"batch_size", "0"}}, "online_store.batch_size"},
      {{{"endpoint_url", ep}, {"batch_size", "101"}}, "online_store.batch_size"},
      {{{"endpoint_url", ep}, {"concurrency", "many"}}, "online_store.concurrency"},
      {{{"endpoint_url", ep}, {"max_retries", "-1"}}, "online_store.max_retries"},
      {{{"endpoint_url", ep}, {"timeout_ms", "0"}}, "online_store.timeout_ms"},
      {{{"endpoint_url", ep}, {"region", "us east"}}, "online_store.region"},
      {{{"endpoint_url", "ftp://h"}}, "online_store.endpoint_url"},
      {{{"endpoint_url", "http://h:99999"}}, "online_store.endpoint_url"},
      {{{"endpoint_url", ep}, {"table_name_template", "{project}"}},
       "online_store.table_name_template"},
      {{{"endpoint_url", ep}, {"table_name_template", "{project}_{table_name}"}},
       "online_store.table_name_template"},
      {{{"endpoint_url", ep}, {"table_name_template", "{project}/{table_name}"}},
       "online_store.table_name_template"},
  };
  for (const auto& [options, expected] : cases) {
    auto o = ParseDynamoDbOptions(options);
    ASSERT_FALSE(o.ok()) << expected;
    EXPECT_EQ(o.status().code(), StatusCode::kInvalidArgument) << o.status().ToString();
    EXPECT_NE(o.status().message().find(expected), std::string::npos) << o.status().ToString();
  }
  // Without an endpoint: AWS's own for the region, over TLS.
  auto aws = ParseDynamoDbOptions({{"region", "eu-west-1"}});
  ASSERT_TRUE(aws.ok()) << aws.status().ToString();
  EXPECT_EQ(aws->endpoint_url, "https://dynamodb.eu-west-1.amazonaws.com");
  EXPECT_TRUE(ParseDynamoDbOptions({{"endpoint_url", "https://x"}}).ok());
}

TEST(OnlineDynamoDbOptions, TableNamesAndProjectMatching) {
  const std::string t = "{project}.{table_name}";
  EXPECT_EQ(*DynamoDbTableName(t, "shop", "user_features"), "shop.user_features");
  EXPECT_EQ(DynamoDbTableName(t, "p", "bad name").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(DynamoDbTableName("{project}{table_name}", "a", "b").status().code(),
            StatusCode::kInvalidArgument);  // too short
  EXPECT_TRUE(DynamoDbTableOfProject(t, "a", "a.user_features"));
  EXPECT_FALSE(DynamoDbTableOfProject(t, "a", "a_b.user_features"));
  EXPECT_FALSE(DynamoDbTableOfProject(t, "a", "a."));
  EXPECT_FALSE(DynamoDbTableOfProject(t, "a", "a.b.c"));
  EXPECT_FALSE(DynamoDbTableOfProject(t, "a_b", "a.b_c"));
  const std::string suffixed = "feast-{table_name}-{project}";
  EXPECT_TRUE(DynamoDbTableOfProject(suffixed, "a", "feast-v-a"));
  // A view's aggregation states table.
  EXPECT_TRUE(DynamoDbTableOfProject(t, "a", "a.user_features.states"));
  EXPECT_TRUE(DynamoDbTableOfProject(suffixed, "a", "feast-v.states-a"));
  EXPECT_FALSE(DynamoDbTableOfProject(t, "a", "a..states"));
  EXPECT_FALSE(DynamoDbTableOfProject(t, "a", "a.b.c.states"));
  EXPECT_FALSE(DynamoDbTableOfProject(suffixed, "a", "feast-v-b_a"));
  EXPECT_FALSE(DynamoDbTableOfProject(suffixed, "b_a", "feast-v-a"));
}

TEST(OnlineDynamoDb, MissingCredentialsFailOpen) {
  DynaliteServer::SetFakeCredentials();
  const std::string key = std::getenv("AWS_ACCESS_KEY_ID");
  unsetenv("AWS_ACCESS_KEY_ID");
  auto store = OnlineStore::Open(Options({"dynamodb", {{"endpoint_url", "http://127.0.0.1:9"}}}));
  setenv("AWS_ACCESS_KEY_ID", key.c_str(), 1);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(store.status().message().find("AWS_ACCESS_KEY_ID"), std::string::npos)
      << store.status().ToString();
}

// ---------------------------------------------------------------- server

// An https endpoint: a real dynalite serving TLS with a certificate from a
// test CA. Trusted through AWS_CA_BUNDLE, records go and come back; with
// the system's CAs alone the store refuses the server.
TEST(OnlineDynamoDb, HttpsEndpointsAreVerifiedAndWork) {
  DynaliteServer::SetFakeCredentials();
  testing::TestCertificates certs;
  ASSERT_TRUE(certs.ok) << certs.error;
  const std::string module = testing::SourceDir() + "/third_party/node/node_modules/dynalite";
  const std::string node = testing::FindExecutable("node", {"/usr/bin", "/usr/local/bin"});
  ASSERT_FALSE(node.empty()) << "node is not installed: run scripts/bootstrap.sh";
  const int port = RedisServer::FreePort();
  auto pid = testing::SpawnProcess(
      {node, "-e",
       "const fs = require('fs'); const [m, k, c, p] = process.argv.slice(1);"
       "require(m)({ssl: true, key: fs.readFileSync(k), cert: fs.readFileSync(c),"
       " ca: fs.readFileSync(c), createTableMs: 0, deleteTableMs: 0})"
       ".listen(Number(p), '127.0.0.1')",
       module, certs.key, certs.cert, std::to_string(port)},
      certs.dir.Join("dynalite.log"));
  ASSERT_TRUE(pid.ok()) << pid.status().ToString();
  const auto answering = testing::WaitUntilAnswering(
      *pid,
      [port] {
        const int fd = testing::ConnectLoopback(port, 1);
        if (fd >= 0) close(fd);
        return fd >= 0;
      },
      std::chrono::seconds(20));
  ASSERT_EQ(answering, testing::WaitOutcome::kAnswering)
      << testing::ReadFileText(certs.dir.Join("dynalite.log"));
  const StoreConfig config = {"dynamodb",
                              {{"endpoint_url", "https://127.0.0.1:" + std::to_string(port)},
                               {"max_retries", "1"}}};

  setenv("AWS_CA_BUNDLE", certs.ca.c_str(), 1);
  auto store = OnlineStore::Open(Options(config, "tls"));
  unsetenv("AWS_CA_BUNDLE");
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  auto w = (*store)->Write(View(), std::vector<OnlineRecord>{Rec(1, 10, 7)});
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  std::vector<OnlineReadResult> rows;
  ASSERT_TRUE((*store)->MultiGet(View(), std::vector<EntityKey>{Key(1)}, &rows).ok());
  ASSERT_EQ(rows[0].state, OnlineRecordState::kFound);
  EXPECT_EQ(rows[0].values[0], Value::Int64(7));

  auto untrusted = OnlineStore::Open(Options(config, "tls"));
  ASSERT_TRUE(untrusted.ok()) << untrusted.status().ToString();
  Status r = (*untrusted)->MultiGet(View(), std::vector<EntityKey>{Key(1)}, &rows);
  EXPECT_EQ(r.code(), StatusCode::kIOError) << r.ToString();
  EXPECT_NE(r.message().find("certificate is not trusted"), std::string::npos) << r.ToString();
  testing::StopProcess(*pid);
}

TEST(OnlineDynamoDb, UnreachableEndpointIsIOErrorNamingIt) {
  DynaliteServer::SetFakeCredentials();
  const int port = RedisServer::FreePort();  // nothing listens there
  ASSERT_NE(port, 0);
  const std::string address = "127.0.0.1:" + std::to_string(port);
  auto store = OnlineStore::Open(Options(
      {"dynamodb",
       {{"endpoint_url", "http://" + address}, {"max_retries", "2"}, {"timeout_ms", "500"}}}));
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  const auto start = std::chrono::steady_clock::now();
  auto w = (*store)->Write(View(), std::vector<OnlineRecord>{Rec(1, 10, 7)});
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(w.status().code(), StatusCode::kIOError) << w.status().ToString();
  EXPECT_NE(w.status().message().find(address), std::string::npos) << w.status().ToString();
  EXPECT_NE(w.status().message().find("after 3 attempts"), std::string::npos)
      << w.status().ToString();
  std::vector<OnlineReadResult> rows;
  Status r = (*store)->MultiGet(View(), std::vector<EntityKey>{Key(1)}, &rows);
  EXPECT_EQ(r.code(), StatusCode::kIOError) << r.ToString();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

TEST(OnlineDynamoDb, FirstWriteCreatesTheTableAndReadsOfMissingTablesAreNotFound) {
  auto store = MustOpen("autocreate");
  ASSERT_NE(store, nullptr);
  EXPECT_FALSE(HasTable("autocreate.v"));
  std::vector<OnlineReadResult> rows;
  ASSERT_TRUE(store->MultiGet(View(), std::vector<EntityKey>{Key(1), Key(2)}, &rows).ok());
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].state, OnlineRecordState::kNotFound);
  EXPECT_FALSE(HasTable("autocreate.v"));  // reads never create

  auto w = store->Write(View(), std::vector<OnlineRecord>{Rec(1, 10, 7)});
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  EXPECT_TRUE(HasTable("autocreate.v"));
  json described = Raw("DescribeTable", {{"TableName", "autocreate.v"}});
  EXPECT_EQ(described["Table"]["KeySchema"][0]["AttributeName"], "entity_id");
  EXPECT_EQ(described["Table"]["AttributeDefinitions"][0]["AttributeType"], "B");

  // One request over an existing and a missing table.
  OnlineView other = View("never_written");
  std::vector<EntityKey> keys = {Key(1)};
  std::vector<OnlineReadResult> a, b;
  std::vector<OnlineViewRead> reads = {{&other, keys, &b}, {nullptr, keys, &a}};
  OnlineView v = View();
  reads[1].view = &v;
  ASSERT_TRUE(store->MultiGetViews(reads).ok());
  EXPECT_EQ(b[0].state, OnlineRecordState::kNotFound);
  ASSERT_EQ(a[0].state, OnlineRecordState::kFound);
  EXPECT_EQ(a[0].values[0], Value::Int64(7));

  // A second store finds the table and writes to it.
  auto second = MustOpen("autocreate");
  auto w2 = second->Write(View(), std::vector<OnlineRecord>{Rec(1, 11, 8)});
  ASSERT_TRUE(w2.ok()) << w2.status().ToString();
  EXPECT_EQ(w2->written, 1);
  // The table removed behind the first store's back is created again.
  Raw("DeleteTable", {{"TableName", "autocreate.v"}});
  auto w3 = store->Write(View(), std::vector<OnlineRecord>{Rec(1, 1, 9)});
  ASSERT_TRUE(w3.ok()) << w3.status().ToString();
  EXPECT_EQ(w3->written, 1);
  EXPECT_TRUE(store->DeleteProject().ok());
  EXPECT_FALSE(HasTable("autocreate.v"));
}

// The stored record sits between records of one key in a batch: only the
// newer ones count as written, though one PutItem is sent.
TEST(OnlineDynamoDb, SummaryCountsAgainstTheStoredRecord) {
  auto store = MustOpen("summary");
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->Write(View(), std::vector<OnlineRecord>{Rec(1, 15, 0)}).ok());
  auto w = store->Write(View(), std::vector<OnlineRecord>{Rec(1, 10, 1), Rec(2, 5, 1),
                                                          Rec(1, 20, 2), Rec(1, 12, 3),
                                                          Rec(1, 30, 4)});
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  EXPECT_EQ(w->written, 3);  // 2@5, 1@20, 1@30
  EXPECT_EQ(w->skipped, 2);  // 1@10 (older than stored), 1@12
  auto all_old = store->Write(View(), std::vector<OnlineRecord>{Rec(1, 16, 0), Rec(1, 29, 0)});
  ASSERT_TRUE(all_old.ok());
  EXPECT_EQ(all_old->skipped, 2);
  std::vector<OnlineReadResult> rows;
  ASSERT_TRUE(store->MultiGet(View(), std::vector<EntityKey>{Key(1)}, &rows).ok());
  EXPECT_EQ(rows[0].event_timestamp, 30);
  EXPECT_EQ(rows[0].values[0], Value::Int64(4));
  EXPECT_TRUE(store->DeleteProject().ok());
}

TEST(OnlineDynamoDb, LargeBatchesAndReadsAcrossBatchGetItemCalls) {
  auto store = MustOpen("large_batches", {{"batch_size", "37"}, {"concurrency", "8"}});
  ASSERT_NE(store, nullptr);
  std::vector<OnlineRecord> records;
  for (int round = 0; round < 3; ++round) {
    for (int id = 0; id < 300; ++id) records.push_back(Rec(id, 10 + round, round));
  }
  auto w = store->Write(View(), records);
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  EXPECT_EQ(w->written, 900);
  auto again = store->Write(View(), records);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(again->written, 0);
  EXPECT_EQ(again->skipped, 900);
  std::vector<EntityKey> keys;
  for (int id = 0; id < 1000; ++id) keys.push_back(Key(id % 350));
  std::vector<OnlineReadResult> rows;
  ASSERT_TRUE(store->MultiGet(View(), keys, &rows).ok());
  ASSERT_EQ(rows.size(), keys.size());
  for (int i = 0; i < 1000; ++i) {
    if (i % 350 < 300) {
      ASSERT_EQ(rows[i].state, OnlineRecordState::kFound) << i;
      EXPECT_EQ(rows[i].values[0], Value::Int64(2)) << i;
    } else {
      EXPECT_EQ(rows[i].state, OnlineRecordState::kNotFound) << i;
    }
  }
  EXPECT_TRUE(store->DeleteProject().ok());
}

TEST(OnlineDynamoDb, DeleteProjectLeavesProjectsSharingAPrefix) {
  auto a = MustOpen("dp");
  auto ab = MustOpen("dp_b");
  ASSERT_NE(a, nullptr);
  ASSERT_NE(ab, nullptr);
  ASSERT_TRUE(a->Write(View(), std::vector<OnlineRecord>{Rec(1, 1, 1)}).ok());
  ASSERT_TRUE(a->Write(View("w"), std::vector<OnlineRecord>{Rec(1, 1, 1)}).ok());
  ASSERT_TRUE(ab->Write(View(), std::vector<OnlineRecord>{Rec(1, 1, 2)}).ok());
  EXPECT_TRUE(HasTable("dp.v"));
  EXPECT_TRUE(HasTable("dp.w"));
  ASSERT_TRUE(a->DeleteProject().ok());
  EXPECT_FALSE(HasTable("dp.v"));
  EXPECT_FALSE(HasTable("dp.w"));
  EXPECT_TRUE(HasTable("dp_b.v"));
  std::vector<OnlineReadResult> rows;
  ASSERT_TRUE(ab->MultiGet(View(), std::vector<EntityKey>{Key(1)}, &rows).ok());
  ASSERT_EQ(rows[0].state, OnlineRecordState::kFound);
  EXPECT_EQ(rows[0].values[0], Value::Int64(2));
  EXPECT_TRUE(ab->DeleteProject().ok());
  EXPECT_FALSE(HasTable("dp_b.v"));
}

// An item Larder did not write: Corruption naming the table on read, and
// replaced by the next write whatever its timestamps.
TEST(OnlineDynamoDb, UnparsableItemsAreCorruptionAndHealedOnWrite) {
  auto store = MustOpen("corrupt");
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->Write(View(), std::vector<OnlineRecord>{Rec(2, 1, 1)}).ok());
  // {id: 1}: 01 | 02 'id' | tag 02, int64 1 (little-endian), as documented.
  const std::string key("\x01\x02id\x02\x01\x00\x00\x00\x00\x00\x00\x00", 13);
  std::string encoded;
  ASSERT_TRUE(online::EncodeEntityKey(Key(1), &encoded).ok());
  ASSERT_EQ(encoded, key);
  const std::string b64 = Base64(key);
  json put = Raw("PutItem", {{"TableName", "corrupt.v"},
                             {"Item", {{"entity_id", {{"B", b64}}}, {"record", {{"S", "junk"}}}}}});
  ASSERT_FALSE(put.contains("__type")) << put.dump();
  std::vector<OnlineReadResult> rows;
  Status read = store->MultiGet(View(), std::vector<EntityKey>{Key(1)}, &rows);
  EXPECT_EQ(read.code(), StatusCode::kCorruption) << read.ToString();
  EXPECT_NE(read.message().find("corrupt.v"), std::string::npos) << read.ToString();

  auto w = store->Write(View(), std::vector<OnlineRecord>{Rec(1, -5, 7)});
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  EXPECT_EQ(w->written, 1);
  ASSERT_TRUE(store->MultiGet(View(), std::vector<EntityKey>{Key(1)}, &rows).ok());
  ASSERT_EQ(rows[0].state, OnlineRecordState::kFound);
  EXPECT_EQ(rows[0].values[0], Value::Int64(7));
  // The stored item's attributes, as documented.
  json item = Raw("GetItem", {{"TableName", "corrupt.v"}, {"Key", {{"entity_id", {{"B", b64}}}}}});
  EXPECT_EQ(item["Item"]["event_ts"]["N"], "-5");
  EXPECT_EQ(item["Item"]["created_ts"]["N"], "0");
  EXPECT_EQ(item["Item"]["fingerprint"]["N"], std::to_string(View().fingerprint()));
  std::string record;
  online::RecordHeader header;
  ASSERT_TRUE(online::EncodeRecord(View(), Rec(1, -5, 7), &record, &header).ok());
  EXPECT_EQ(item["Item"]["tie"]["N"], std::to_string(header.tie_key));
  EXPECT_EQ(item["Item"]["record"]["B"], Base64(record));
  EXPECT_TRUE(store->DeleteProject().ok());
}

// An item written before records had a tie key (no `tie`, a record of format
// version 1) is read, stays against an older record, and loses to one with
// equal timestamps.
TEST(OnlineDynamoDb, VersionOneItemsAreReadAndLoseTies) {
  auto store = MustOpen("v1items");
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->Write(View(), std::vector<OnlineRecord>{Rec(2, 1, 1)}).ok());  // the table
  std::string key, v1;
  ASSERT_TRUE(online::EncodeEntityKey(Key(1), &key).ok());
  ASSERT_TRUE(online::EncodeRecord(View(), Rec(1, 10, 7), &v1).ok());
  v1[0] = 1;
  v1.erase(17, 8);  // no tie key
  json put = Raw("PutItem", {{"TableName", "v1items.v"},
                             {"Item",
                              {{"entity_id", {{"B", Base64(key)}}},
                               {"event_ts", {{"N", "10"}}},
                               {"created_ts", {{"N", "0"}}},
                               {"fingerprint", {{"N", std::to_string(View().fingerprint())}}},
                               {"record", {{"B", Base64(v1)}}}}}});
  ASSERT_FALSE(put.contains("__type")) << put.dump();
  std::vector<OnlineReadResult> rows;
  ASSERT_TRUE(store->MultiGet(View(), std::vector<EntityKey>{Key(1)}, &rows).ok());
  ASSERT_EQ(rows[0].state, OnlineRecordState::kFound);
  EXPECT_EQ(rows[0].values[0], Value::Int64(7));
  auto older = store->Write(View(), std::vector<OnlineRecord>{Rec(1, 9, 8)});
  ASSERT_TRUE(older.ok()) << older.status().ToString();
  EXPECT_EQ(older->skipped, 1);
  auto tied = store->Write(View(), std::vector<OnlineRecord>{Rec(1, 10, 9)});
  ASSERT_TRUE(tied.ok()) << tied.status().ToString();
  EXPECT_EQ(tied->written, 1);
  ASSERT_TRUE(store->MultiGet(View(), std::vector<EntityKey>{Key(1)}, &rows).ok());
  EXPECT_EQ(rows[0].values[0], Value::Int64(9));
  EXPECT_TRUE(store->DeleteProject().ok());
}

// ---------------------------------------------------------------- scripted server

std::unique_ptr<OnlineStore> OpenOn(const ScriptedServer& server,
                                    std::map<std::string, std::string> extra = {}) {
  DynaliteServer::SetFakeCredentials();
  extra["endpoint_url"] = server.endpoint_url();
  auto store = OnlineStore::Open(Options({"dynamodb", extra}, "p"));
  EXPECT_TRUE(store.ok()) << store.status().ToString();
  return store.ok() ? std::move(store).value() : nullptr;
}

constexpr char kActive[] = R"({"Table":{"TableName":"p.v","TableStatus":"ACTIVE"}})";

TEST(OnlineDynamoDbScripted, ThrottlingAnd5xxAreRetriedAndChunkedRepliesRead) {
  ScriptedServer server({
      {200, kActive, false},
      {400, R"({"__type":"com.amazonaws.dynamodb.v20120810#ThrottlingException","message":"slow"})",
       false},
      {400,
       R"({"__type":"com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException"})",
       true},
      {503, "Service Unavailable", false},
      {200, "{}", true},
  });
  auto store = OpenOn(server);
  ASSERT_NE(store, nullptr);
  auto w = store->Write(View(), std::vector<OnlineRecord>{Rec(1, 10, 7)});
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  EXPECT_EQ(w->written, 1);
  ASSERT_EQ(server.requests().size(), 5u);
  EXPECT_EQ(server.requests()[0].target, "DescribeTable");
  for (size_t i = 1; i < 5; ++i) EXPECT_EQ(server.requests()[i].target, "PutItem");
  EXPECT_EQ(server.requests()[1].body, server.requests()[4].body);
  EXPECT_EQ(server.connections(), 1);  // kept alive throughout
}

TEST(OnlineDynamoDbScripted, RetriesAreBoundedAndOtherErrorsAreNotRetried) {
  ScriptedServer server({
      {200, kActive, false},
      {500, R"({"__type":"com.amazon.coral.service#InternalFailure","message":"boom"})", false},
      {500, R"({"__type":"com.amazon.coral.service#InternalFailure","message":"boom"})", false},
      {400, R"({"__type":"com.amazonaws.dynamodb.v20120810#ValidationException","message":"bad"})",
       false},
  });
  auto store = OpenOn(server, {{"max_retries", "1"}});
  ASSERT_NE(store, nullptr);
  auto w = store->Write(View(), std::vector<OnlineRecord>{Rec(1, 10, 7)});
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(w.status().code(), StatusCode::kIOError);
  EXPECT_NE(w.status().message().find(server.endpoint_url()), std::string::npos)
      << w.status().ToString();
  EXPECT_NE(w.status().message().find("InternalFailure: boom (after 2 attempts)"),
            std::string::npos)
      << w.status().ToString();
  auto again = store->Write(View(), std::vector<OnlineRecord>{Rec(1, 10, 7)});
  ASSERT_FALSE(again.ok());
  EXPECT_NE(again.status().message().find("ValidationException: bad"), std::string::npos)
      << again.status().ToString();
  EXPECT_EQ(server.requests().size(), 4u);  // the table was known: no DescribeTable
}

TEST(OnlineDynamoDbScripted, UnprocessedKeysAreAskedAgain) {
  std::string k1, k2, r1, r2;
  ASSERT_TRUE(online::EncodeEntityKey(Key(1), &k1).ok());
  ASSERT_TRUE(online::EncodeEntityKey(Key(2), &k2).ok());
  ASSERT_TRUE(online::EncodeRecord(View(), Rec(1, 10, 7), &r1).ok());
  ASSERT_TRUE(online::EncodeRecord(View(), Rec(2, 20, 8), &r2).ok());
  const auto item = [](const std::string& k, const std::string& r) {
    return json{{"entity_id", {{"B", Base64(k)}}}, {"record", {{"B", Base64(r)}}}};
  };
  const json first = {
      {"Responses", {{"p.v", json::array({item(k1, r1)})}}},
      {"UnprocessedKeys",
       {{"p.v", {{"Keys", json::array({json{{"entity_id", {{"B", Base64(k2)}}}}})},
                 {"ConsistentRead", true}}}}}};
  const json second = {{"Responses", {{"p.v", json::array({item(k2, r2)})}}},
                       {"UnprocessedKeys", json::object()}};
  ScriptedServer server({{200, first.dump(), false}, {200, second.dump(), true}},
                        /*close_each=*/true);
  auto store = OpenOn(server);
  ASSERT_NE(store, nullptr);
  std::vector<OnlineReadResult> rows;
  Status s = store->MultiGet(View(), std::vector<EntityKey>{Key(2), Key(1), Key(2)}, &rows);
  ASSERT_TRUE(s.ok()) << s.ToString();
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].values, std::vector<Value>{Value::Int64(8)});
  EXPECT_EQ(rows[1].values, std::vector<Value>{Value::Int64(7)});
  EXPECT_EQ(rows[2].values, std::vector<Value>{Value::Int64(8)});
  ASSERT_EQ(server.requests().size(), 2u);
  // Duplicates are asked for once; the retry holds only the unprocessed key.
  const json asked = json::parse(server.requests()[0].body);
  EXPECT_EQ(asked["RequestItems"]["p.v"]["Keys"].size(), 2u);
  EXPECT_EQ(asked["RequestItems"]["p.v"]["ConsistentRead"], true);
  const json retried = json::parse(server.requests()[1].body);
  ASSERT_EQ(retried["RequestItems"]["p.v"]["Keys"].size(), 1u);
  EXPECT_EQ(retried["RequestItems"]["p.v"]["Keys"][0]["entity_id"]["B"], Base64(k2));
  // The server closed the first connection after answering: the client
  // noticed and used a new one.
  EXPECT_EQ(server.connections(), 2);
}

}  // namespace
}  // namespace larder::testing
