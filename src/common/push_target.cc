#include <string>

#include "larder/push.h"

namespace larder {

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
