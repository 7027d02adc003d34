#include <string>
#include <vector>

#include "larder/push.h"

namespace larder {

Result<size_t> ColumnTableRows(const ColumnTable& rows) {
  if (rows.empty()) return size_t{0};
  const auto& [first, first_values] = *rows.begin();
  for (const auto& [name, values] : rows) {
    if (values.size() != first_values.size()) {
      return Status::InvalidArgument("df: column `" + name + "` has " +
                                     std::to_string(values.size()) + " values, column `" + first +
                                     "` " + std::to_string(first_values.size()));
    }
  }
  return first_values.size();
}

const char* PushTargetName(PushTarget target) {
  switch (target) {
    case PushTarget::kOnline: return "online";
    case PushTarget::kOffline: return "offline";
    case PushTarget::kOnlineAndOffline: return "online_and_offline";
  }
  return "online";
}

Result<PushTarget> ParsePushTarget(std::string_view text) {
  for (PushTarget t : {PushTarget::kOnline, PushTarget::kOffline, PushTarget::kOnlineAndOffline}) {
    if (text == PushTargetName(t)) return t;
  }
  return Status::InvalidArgument("'" + std::string(text) +
                                 "' is not a push target (online, offline, online_and_offline)");
}

}  // namespace larder
