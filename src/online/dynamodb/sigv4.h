// AWS Signature Version 4 (SigV4) request signing, as documented by AWS
// ("Create a signed AWS API request"), over OpenSSL's libcrypto.
//
//   SigV4Request req;
//   req.method = "POST";
//   req.headers = {{"Host", "127.0.0.1:8000"}, {"Content-Type", "application/x-amz-json-1.0"},
//                  {"X-Amz-Target", "DynamoDB_20120810.GetItem"}};
//   req.payload = body;
//   SigV4Scope scope{"us-east-1", "dynamodb"};
//   SignRequest(credentials, scope, AmzDate(now), &req);  // adds X-Amz-Date,
//   // X-Amz-Security-Token (when the credentials have one) and Authorization
//
// Only what Larder's clients send is covered: the canonical URI and query
// string are taken as given (already normalised and URI-encoded by the
// caller; DynamoDB always uses "/" and ""), and a header name is expected at
// most once. Header values are trimmed and inner runs of spaces collapsed.
// Thread-safe: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace larder::online {

// AWS credentials. `session_token` is empty for long-term keys.
struct AwsCredentials {
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;
};

// The credential scope: region and service ("dynamodb").
struct SigV4Scope {
  std::string region;
  std::string service;
};

// A request to sign. Every header in `headers` is signed; Host must be one.
struct SigV4Request {
  std::string method = "POST";
  std::string canonical_uri = "/";
  std::string canonical_query;  // "a=1&b=2", sorted and encoded; "" for none
  std::vector<std::pair<std::string, std::string>> headers;
  std::string payload;
};

// Lower-case hex of SHA-256(data).
std::string Sha256Hex(std::string_view data);
// Raw 32-byte HMAC-SHA256(key, data).
std::string HmacSha256(std::string_view key, std::string_view data);
std::string HexEncode(std::string_view bytes);

// "YYYYMMDDTHHMMSSZ" of a Unix time in seconds (UTC).
std::string AmzDate(int64_t unix_seconds);

// The derived signing key: HMAC chain over "AWS4" + secret, the date
// (YYYYMMDD), the region, the service and "aws4_request". Raw bytes.
std::string SigV4SigningKey(std::string_view secret, std::string_view date,
                            std::string_view region, std::string_view service);

// The canonical request, and the semicolon-separated signed header names
// in `*signed_headers`.
std::string SigV4CanonicalRequest(const SigV4Request& request, std::string* signed_headers);

// "AWS4-HMAC-SHA256\n<amz_date>\n<date>/<region>/<service>/aws4_request\n<hex sha256>".
std::string SigV4StringToSign(std::string_view amz_date, const SigV4Scope& scope,
                              std::string_view canonical_request);

// Adds X-Amz-Date: amz_date (unless present), X-Amz-Security-Token (when
// credentials.session_token is set, unless present) to request->headers, then
// signs every header and adds Authorization. Returns the Authorization value.
std::string SignRequest(const AwsCredentials& credentials, const SigV4Scope& scope,
                        std::string_view amz_date, SigV4Request* request);

}  // namespace larder::online
