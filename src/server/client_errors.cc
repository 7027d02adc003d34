#include "server/client_errors.h"

#include <regex>

namespace larder::server {
namespace {

// Characters after which a '/' starts an absolute path (not a URL's "//"
// nor a relative path's separator).
bool StartsPathAfter(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '"' || c == '\'' || c == '(' || c == '[' ||
         c == '`' || c == '=';
}

// Characters that end a path in a message.
bool EndsPath(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '"' || c == '\'' || c == ')' || c == ']' ||
         c == '`' || c == ',' || c == ';' || c == ':';
}

std::string CutPaths(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    if (text[i] != '/' || (i > 0 && !StartsPathAfter(text[i - 1]))) {
      out.push_back(text[i++]);
      continue;
    }
    size_t end = i;
    while (end < text.size() && !EndsPath(text[end])) ++end;
    std::string_view path = text.substr(i, end - i);
    // A sentence's full stop is not part of the path.
    while (path.size() > 1 && path.back() == '.') {
      path.remove_suffix(1);
      --end;
    }
    while (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
    const std::string_view last = path.substr(path.rfind('/') + 1);
    out.append(last.empty() ? path : last);
    i = end;
  }
  return out;
}

}  // namespace

std::string RedactForClient(std::string_view message) {
  static const std::regex kPid(R"(\s*\(\s*PID[:=\s]*\d+\s*\)|\bPID[:=\s]*\d+)",
                               std::regex::icase);
  static const std::regex kUser(R"(\s+by user\s+[^\s.,;:)]+)", std::regex::icase);
  std::string out = CutPaths(message);
  out = std::regex_replace(out, kPid, "");
  out = std::regex_replace(out, kUser, "");
  return out;
}

bool IsDiskFull(std::string_view message) {
  for (std::string_view sign : {"No space left on device", "ENOSPC", "disk is full",
                                "Disk quota exceeded", "EDQUOT"}) {
    if (message.find(sign) != std::string_view::npos) return true;
  }
  return false;
}

int HttpStatusFor(const Status& status) {
  // Bad input and unknown names echo what the client sent, which proves
  // nothing about the disk.
  const bool about_the_request =
      status.code() == StatusCode::kInvalidArgument || status.code() == StatusCode::kNotFound;
  if (!about_the_request && IsDiskFull(status.message())) return 507;
  switch (status.code()) {
    case StatusCode::kInvalidArgument:
      return 400;
    case StatusCode::kNotFound:
      return 404;
    case StatusCode::kFailedPrecondition:
      return 409;
    case StatusCode::kBusy:
      return 503;
    default:
      return 500;
  }
}

}  // namespace larder::server
