#include "common/names.h"

#include <cstddef>
#include <string>

namespace larder {

bool IsIdentifier(std::string_view name) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
    bool digit = c >= '0' && c <= '9';
    if (!letter && !(digit && i > 0)) return false;
  }
  return true;
}

namespace {

// 1 to `max` of ASCII letters, digits, `_`, `.`, `-`.
bool IsDottedName(std::string_view name, size_t max) {
  if (name.empty() || name.size() > max) return false;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '.' || c == '-';
    if (!ok) return false;
  }
  return true;
}

bool IsPort(std::string_view text) {
  if (text.empty() || text.size() > 5) return false;
  int port = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    port = port * 10 + (c - '0');
  }
  return port >= 1 && port <= 65535;
}

bool IsBroker(std::string_view broker) {
  const size_t colon = broker.rfind(':');
  if (colon == std::string_view::npos || !IsPort(broker.substr(colon + 1))) return false;
  const std::string_view host = broker.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    for (char c : host.substr(1, host.size() - 2)) {
      const bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') ||
                      c == ':' || c == '.';
      if (!ok) return false;
    }
    return true;
  }
  if (host.empty() || host.size() > 253 || host.front() == '-' || host.front() == '.') return false;
  for (char c : host) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '-';
    if (!ok) return false;
  }
  return true;
}

}  // namespace

bool IsKinesisStreamName(std::string_view name) { return IsDottedName(name, 128); }

bool IsKafkaName(std::string_view name) {
  return IsDottedName(name, 249) && name != "." && name != "..";
}

bool IsHttpEndpoint(std::string_view url) {
  if (url.starts_with("https://")) {
    url.remove_prefix(8);
  } else if (url.starts_with("http://")) {
    url.remove_prefix(7);
  } else {
    return false;
  }
  if (url.ends_with("/")) url.remove_suffix(1);
  if (url.empty()) return false;
  // host:port is a broker's shape; a host alone gets the scheme's port.
  return IsBroker(url) || IsBroker(std::string(url) + ":1");
}

bool IsKafkaBootstrapServers(std::string_view servers) {
  if (servers.empty()) return false;
  size_t start = 0;
  while (true) {
    const size_t comma = servers.find(',', start);
    if (!IsBroker(servers.substr(start, comma - start))) return false;
    if (comma == std::string_view::npos) return true;
    start = comma + 1;
  }
}

bool IsAwsRegion(std::string_view name) {
  if (name.empty() || name.size() > 32 || !(name[0] >= 'a' && name[0] <= 'z')) return false;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
    if (!ok) return false;
  }
  return true;
}

}  // namespace larder
