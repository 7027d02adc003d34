// Diagnostics: collects user-facing errors while a repo is read, so that one
// run reports every problem it finds instead of only the first.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "larder/status.h"

namespace larder::repo {

class Diagnostics {
 public:
  // Records "FILE:LINE: message" ("FILE: message" when line is 0).
  void Error(std::string_view file, int line, std::string_view message);

  bool empty() const { return errors_.empty(); }
  size_t size() const { return errors_.size(); }
  const std::vector<std::string>& errors() const { return errors_; }

  // OK when empty; otherwise InvalidArgument whose message is `summary`
  // followed by one error per line.
  Status ToStatus(std::string_view summary) const;

 private:
  std::vector<std::string> errors_;
};

}  // namespace larder::repo
