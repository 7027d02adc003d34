#include "repo/diagnostics.h"

namespace larder::repo {

void Diagnostics::Error(std::string_view file, int line,
                        std::string_view message) {
  std::string text(file);
  if (line > 0) text += ":" + std::to_string(line);
  text += ": ";
  text += message;
  errors_.push_back(std::move(text));
}

Status Diagnostics::ToStatus(std::string_view summary) const {
  if (errors_.empty()) return Status::OK();
  std::string msg(summary);
  msg += " (" + std::to_string(errors_.size()) +
         (errors_.size() == 1 ? " error)" : " errors)");
  for (const auto& e : errors_) {
    msg += "\n  ";
    msg += e;
  }
  return Status::InvalidArgument(std::move(msg));
}

}  // namespace larder::repo
