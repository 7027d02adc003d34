// The Kinesis client and `larder stream` over HTTPS, against a real
// kinesalite serving TLS with a certificate from a test CA: the chain and
// the server's name are checked, and a consumer whose AWS_CA_BUNDLE trusts
// the CA reads the stream.
#include <gtest/gtest.h>

#include <cstdlib>
#include <random>
#include <string>

#include "larder/feature_store.h"
#include "stream/kinesis/kinesis_client.h"
#include "support/kinesalite_server.h"
#include "support/stream_test_repo.h"
#include "support/test_certificates.h"
#include "support/test_util.h"

namespace larder {
namespace {

using ::larder::testing::KinesaliteServer;
using ::larder::testing::TestCertificates;

std::unique_ptr<stream::KinesisClient> Client(const std::string& endpoint, const std::string& ca) {
  stream::KinesisClientOptions o;
  o.endpoint_url = endpoint;
  o.region = "us-east-1";
  o.ca_file = ca;
  o.credentials = {"AKIDLARDERTEST", "larder-test-secret", ""};
  o.max_attempts = 1;
  auto client = stream::KinesisClient::Open(o);
  EXPECT_TRUE(client.ok()) << client.status().ToString();
  return client.ok() ? std::move(*client) : nullptr;
}

TEST(KinesisTls, VerifiedConnectionsWorkAndUntrustedOnesAreRefused) {
  TestCertificates certs;
  ASSERT_TRUE(certs.ok) << certs.error;
  auto server = KinesaliteServer::StartTls(certs.key, certs.cert);
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  const std::string endpoint = (*server)->endpoint_url();
  ASSERT_EQ(endpoint.rfind("https://127.0.0.1:", 0), 0u) << endpoint;

  // Trusting the test CA: a full round trip.
  auto client = Client(endpoint, certs.ca);
  ASSERT_NE(client, nullptr);
  ASSERT_TRUE(client->CreateStream("tls_events", 1).ok());
  ASSERT_TRUE(client->WaitForActive("tls_events", std::chrono::seconds(10)).ok());
  auto put = client->PutRecords("tls_events", {{"k", "{\"a\": 1}"}, {"k", "{\"a\": 2}"}});
  ASSERT_TRUE(put.ok()) << put.status().ToString();
  auto shards = client->ListShards("tls_events");
  ASSERT_TRUE(shards.ok()) << shards.status().ToString();
  auto it = client->GetShardIterator("tls_events", (*shards)[0].shard_id,
                                     stream::ShardIteratorType::kTrimHorizon);
  ASSERT_TRUE(it.ok()) << it.status().ToString();
  auto got = client->GetRecords(*it, 10);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  ASSERT_EQ(got->records.size(), 2u);
  EXPECT_EQ(got->records[1].data, "{\"a\": 2}");

  // The system's CAs do not include the test CA.
  auto untrusted = Client(endpoint, "");
  ASSERT_NE(untrusted, nullptr);
  Status s = untrusted->ListShards("tls_events").status();
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("TLS handshake"), std::string::npos) << s.ToString();
  EXPECT_NE(s.message().find("certificate is not trusted"), std::string::npos) << s.ToString();

  // The certificate names 127.0.0.1, not localhost.
  const std::string by_name = "https://localhost:" + std::to_string((*server)->port());
  auto mismatched = Client(by_name, certs.ca);
  ASSERT_NE(mismatched, nullptr);
  s = mismatched->ListShards("tls_events").status();
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("certificate is not trusted"), std::string::npos) << s.ToString();
  EXPECT_NE(s.message().find("mismatch"), std::string::npos) << s.ToString();

  // A CA file that does not exist is named.
  auto missing = Client(endpoint, certs.dir.Join("nope.pem"));
  ASSERT_NE(missing, nullptr);
  s = missing->ListShards("tls_events").status();
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("nope.pem"), std::string::npos) << s.ToString();

  // Plain HTTP to a TLS port is a transport error, not a hang.
  auto plain = Client("http://127.0.0.1:" + std::to_string((*server)->port()), "");
  ASSERT_NE(plain, nullptr);
  EXPECT_FALSE(plain->ListShards("tls_events").ok());
}

// `larder stream` reads an https stream source, trusting AWS_CA_BUNDLE.
TEST(KinesisTls, ConsumerReadsAnHttpsSourceWithAwsCaBundle) {
  TestCertificates certs;
  ASSERT_TRUE(certs.ok) << certs.error;
  auto server = KinesaliteServer::StartTls(certs.key, certs.cert);
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  auto client = Client((*server)->endpoint_url(), certs.ca);
  ASSERT_NE(client, nullptr);
  ASSERT_TRUE(client->CreateStream("tls_stream", 2).ok());
  ASSERT_TRUE(client->WaitForActive("tls_stream", std::chrono::seconds(10)).ok());
  std::mt19937_64 rng(9);
  const int64_t tile = 10 * testing::kStreamMinute;
  const TimestampMicros base = (testing::NowMicros() - testing::kStreamDay) / tile * tile;
  const auto events = testing::StreamEvents(rng, base, 50, 0);
  std::vector<stream::PutRecordsEntry> entries;
  for (const auto& e : events) entries.push_back({std::to_string(e.user), testing::StreamRecordJson(e)});
  ASSERT_TRUE(client->PutRecords("tls_stream", entries).ok());

  testing::StreamTestRepo repo(testing::KinesisSourceYaml((*server)->endpoint_url(), "tls_stream"));
  setenv("AWS_ACCESS_KEY_ID", "AKIDLARDERTEST", 0);
  setenv("AWS_SECRET_ACCESS_KEY", "larder-test-secret", 0);
  const std::string args = "-c " + repo.dir.path() + " stream --until-idle --poll-ms 50";
  setenv("AWS_CA_BUNDLE", certs.ca.c_str(), 1);
  const testing::CommandResult out = testing::RunLarder(args);
  unsetenv("AWS_CA_BUNDLE");
  ASSERT_EQ(out.exit_code, 0) << out.err;
  EXPECT_NE(out.out.find("Streamed 50 records"), std::string::npos) << out.out;
  EXPECT_EQ(repo.Online({1, 2, 3, 4, 5, 6, 7}, base + testing::kStreamDay),
            testing::ExpectedOnline(events));

  // Without the bundle the consumer stops with the TLS error, naming the source.
  const testing::CommandResult refused = testing::RunLarder(args);
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_NE(refused.err.find("kinesis source 'events_stream'"), std::string::npos) << refused.err;
  EXPECT_NE(refused.err.find("certificate is not trusted"), std::string::npos) << refused.err;
}

}  // namespace
}  // namespace larder
