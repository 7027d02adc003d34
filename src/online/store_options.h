// Reading the `online_store:` options that backends share the shape of.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "larder/status.h"

namespace larder::online {

// The integer option `key`, or `def` when absent. InvalidArgument naming
// `online_store.<key>` when it is not an integer in [lo, hi].
[[nodiscard]] Result<int64_t> IntOption(const std::map<std::string, std::string>& options,
                                        const std::string& key, int64_t def, int64_t lo,
                                        int64_t hi);

}  // namespace larder::online
