#include "online/store_options.h"

#include <charconv>

namespace larder::online {

Result<int64_t> IntOption(const std::map<std::string, std::string>& options,
                          const std::string& key, int64_t def, int64_t lo, int64_t hi) {
  auto it = options.find(key);
  if (it == options.end()) return def;
  const std::string& text = it->second;
  int64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || v < lo || v > hi) {
    return Status::InvalidArgument("online_store." + key + ": '" + text +
                                   "' is not an integer in [" + std::to_string(lo) + ", " +
                                   std::to_string(hi) + "]");
  }
  return v;
}

}  // namespace larder::online
