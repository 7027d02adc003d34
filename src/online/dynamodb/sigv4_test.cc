// SigV4 against the values AWS publishes: the signing-key derivation examples
// and cases of the "Signature Version 4 test suite" (credentials AKIDEXAMPLE /
// wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY, 2015-08-30T12:36:00Z,
// us-east-1, service "service", host example.amazonaws.com).
#include "online/dynamodb/sigv4.h"

#include <gtest/gtest.h>

#include <string>

namespace larder::online {
namespace {

const AwsCredentials kSuite{"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", ""};
const SigV4Scope kSuiteScope{"us-east-1", "service"};
constexpr char kSuiteDate[] = "20150830T123600Z";
constexpr char kScopePrefix[] =
    "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, ";

SigV4Request SuiteRequest(std::string method) {
  SigV4Request r;
  r.method = std::move(method);
  r.headers = {{"Host", "example.amazonaws.com"}, {"X-Amz-Date", kSuiteDate}};
  return r;
}

TEST(SigV4, HashesAndHmac) {
  EXPECT_EQ(Sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(AmzDate(1440938160), kSuiteDate);
}

TEST(SigV4, SigningKeyMatchesTheDocumentedDerivations) {
  const std::string secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
  EXPECT_EQ(HexEncode(SigV4SigningKey(secret, "20120215", "us-east-1", "iam")),
            "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d");
  EXPECT_EQ(HexEncode(SigV4SigningKey(secret, "20150830", "us-east-1", "iam")),
            "c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9");
}

// The IAM ListUsers walkthrough of the SigV4 documentation.
TEST(SigV4, IamListUsersExample) {
  SigV4Request r;
  r.method = "GET";
  r.canonical_query = "Action=ListUsers&Version=2010-05-08";
  r.headers = {{"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"},
               {"Host", "iam.amazonaws.com"},
               {"X-Amz-Date", kSuiteDate}};
  std::string signed_headers;
  const std::string canonical = SigV4CanonicalRequest(r, &signed_headers);
  EXPECT_EQ(signed_headers, "content-type;host;x-amz-date");
  const std::string to_sign = SigV4StringToSign(kSuiteDate, {"us-east-1", "iam"}, canonical);
  EXPECT_EQ(to_sign,
            "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/iam/aws4_request\n"
            "f536975d06c0309214f805bb90ccff089219ecd68b2577efef23edd43b7e1a59");
  const std::string auth = SignRequest(kSuite, {"us-east-1", "iam"}, kSuiteDate, &r);
  EXPECT_NE(auth.find("Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"),
            std::string::npos)
      << auth;
}

TEST(SigV4, TestSuiteGetVanilla) {
  SigV4Request r = SuiteRequest("GET");
  EXPECT_EQ(SignRequest(kSuite, kSuiteScope, kSuiteDate, &r),
            std::string(kScopePrefix) +
                "SignedHeaders=host;x-amz-date, "
                "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
}

TEST(SigV4, TestSuitePostVanillaAndQuery) {
  SigV4Request r = SuiteRequest("POST");
  EXPECT_EQ(SignRequest(kSuite, kSuiteScope, kSuiteDate, &r),
            std::string(kScopePrefix) +
                "SignedHeaders=host;x-amz-date, "
                "Signature=5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b");

  SigV4Request q = SuiteRequest("POST");
  q.canonical_query = "Param1=value1";
  std::string signed_headers;
  EXPECT_EQ(SigV4CanonicalRequest(q, &signed_headers),
            "POST\n/\nParam1=value1\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\n"
            "host;x-amz-date\n"
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(SigV4StringToSign(kSuiteDate, kSuiteScope, SigV4CanonicalRequest(q, &signed_headers)),
            "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n"
            "9d659678c1756bb3113e2ce898845a0a79dbbc57b740555917687f1b3340fbbd");
  EXPECT_NE(SignRequest(kSuite, kSuiteScope, kSuiteDate, &q)
                .find("Signature=28038455d6de14eafc1f9222cf5aa6f1a96197d7deb8263271d420d138af7f11"),
            std::string::npos);
}

TEST(SigV4, TestSuitePostXWwwFormUrlencoded) {
  SigV4Request r = SuiteRequest("POST");
  r.headers.insert(r.headers.begin(), {"Content-Type", "application/x-www-form-urlencoded"});
  r.payload = "Param1=value1";
  EXPECT_EQ(SignRequest(kSuite, kSuiteScope, kSuiteDate, &r),
            std::string(kScopePrefix) +
                "SignedHeaders=content-type;host;x-amz-date, "
                "Signature=ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a");
}

TEST(SigV4, TestSuiteHeaderValueTrim) {
  SigV4Request r = SuiteRequest("GET");
  r.headers.push_back({"My-Header1", " value1"});
  r.headers.push_back({"My-Header2", "\"a   b   c\""});
  EXPECT_EQ(SignRequest(kSuite, kSuiteScope, kSuiteDate, &r),
            std::string(kScopePrefix) +
                "SignedHeaders=host;my-header1;my-header2;x-amz-date, "
                "Signature=acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736");
}

TEST(SigV4, TestSuiteSessionTokenIsAddedAndSigned) {
  AwsCredentials creds = kSuite;
  creds.session_token =
      "AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAe"
      "MicRXmxfpSPfIeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phU"
      "ZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38x"
      "Vqr7ZD0u0iPPkUL64lIZbqBAz+scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2"
      "ICCR/oLxBA==";
  SigV4Request r;
  r.method = "POST";
  r.headers = {{"Host", "example.amazonaws.com"}};  // X-Amz-Date is added
  EXPECT_EQ(SignRequest(creds, kSuiteScope, kSuiteDate, &r),
            std::string(kScopePrefix) +
                "SignedHeaders=host;x-amz-date;x-amz-security-token, "
                "Signature=85d96828115b5dc0cfc3bd16ad9e210dd772bbebba041836c64533a82be05ead");
  ASSERT_EQ(r.headers.size(), 4u);
  EXPECT_EQ(r.headers[1], (std::pair<std::string, std::string>{"X-Amz-Date", kSuiteDate}));
  EXPECT_EQ(r.headers[2].first, "X-Amz-Security-Token");
  EXPECT_EQ(r.headers[2].second, creds.session_token);
  EXPECT_EQ(r.headers[3].first, "Authorization");
}

}  // namespace
}  // namespace larder::online
