#include "online/dynamodb/sigv4.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <ctime>

namespace larder::online {
namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// Trims leading and trailing spaces and collapses inner runs of spaces to one.
std::string TrimValue(std::string_view v) {
  std::string out;
  bool space = false;
  for (char c : v) {
    if (c == ' ' || c == '\t') {
      space = !out.empty();
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += c;
  }
  return out;
}

bool HasHeader(const SigV4Request& r, std::string_view lower_name) {
  return std::any_of(r.headers.begin(), r.headers.end(),
                     [&](const auto& h) { return Lower(h.first) == lower_name; });
}

}  // namespace

std::string HexEncode(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char b : bytes) {
    out += kDigits[b >> 4];
    out += kDigits[b & 0x0f];
  }
  return out;
}

std::string Sha256Hex(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), digest, &len, EVP_sha256(), nullptr);
  return HexEncode(std::string_view(reinterpret_cast<const char*>(digest), len));
}

std::string HmacSha256(std::string_view key, std::string_view data) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), mac, &len);
  return std::string(reinterpret_cast<const char*>(mac), len);
}

std::string AmzDate(int64_t unix_seconds) {
  const std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

std::string SigV4SigningKey(std::string_view secret, std::string_view date,
                            std::string_view region, std::string_view service) {
  const std::string k_date = HmacSha256("AWS4" + std::string(secret), date);
  const std::string k_region = HmacSha256(k_date, region);
  const std::string k_service = HmacSha256(k_region, service);
  return HmacSha256(k_service, "aws4_request");
}

std::string SigV4CanonicalRequest(const SigV4Request& request, std::string* signed_headers) {
  std::vector<std::pair<std::string, std::string>> headers;
  headers.reserve(request.headers.size());
  for (const auto& [name, value] : request.headers) {
    headers.emplace_back(Lower(name), TrimValue(value));
  }
  std::sort(headers.begin(), headers.end());
  std::string out = request.method + "\n" + request.canonical_uri + "\n" +
                    request.canonical_query + "\n";
  signed_headers->clear();
  for (const auto& [name, value] : headers) {
    out += name + ":" + value + "\n";
    if (!signed_headers->empty()) *signed_headers += ';';
    *signed_headers += name;
  }
  out += "\n" + *signed_headers + "\n" + Sha256Hex(request.payload);
  return out;
}

std::string SigV4StringToSign(std::string_view amz_date, const SigV4Scope& scope,
                              std::string_view canonical_request) {
  return "AWS4-HMAC-SHA256\n" + std::string(amz_date) + "\n" +
         std::string(amz_date.substr(0, 8)) + "/" + scope.region + "/" + scope.service +
         "/aws4_request\n" + Sha256Hex(canonical_request);
}

std::string SignRequest(const AwsCredentials& credentials, const SigV4Scope& scope,
                        std::string_view amz_date, SigV4Request* request) {
  if (!HasHeader(*request, "x-amz-date")) {
    request->headers.emplace_back("X-Amz-Date", std::string(amz_date));
  }
  if (!credentials.session_token.empty() && !HasHeader(*request, "x-amz-security-token")) {
    request->headers.emplace_back("X-Amz-Security-Token", credentials.session_token);
  }
  std::string signed_headers;
  const std::string canonical = SigV4CanonicalRequest(*request, &signed_headers);
  const std::string to_sign = SigV4StringToSign(amz_date, scope, canonical);
  const std::string key = SigV4SigningKey(credentials.secret_access_key, amz_date.substr(0, 8),
                                          scope.region, scope.service);
  std::string authorization = "AWS4-HMAC-SHA256 Credential=" + credentials.access_key_id + "/" +
                              std::string(amz_date.substr(0, 8)) + "/" + scope.region + "/" +
                              scope.service + "/aws4_request, SignedHeaders=" + signed_headers +
                              ", Signature=" + HexEncode(HmacSha256(key, to_sign));
  request->headers.emplace_back("Authorization", authorization);
  return authorization;
}

}  // namespace larder::online
