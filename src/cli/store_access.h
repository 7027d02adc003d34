// Helpers shared by the handlers: opening the repo's store and reporting a
// Status the same way everywhere.
#pragma once

#include <charconv>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "cli/command.h"
#include "larder/feature_store.h"

namespace larder::cli {

// Parses all of `text` as an integer in [lo, hi] into *out.
template <typename Int>
bool ParseInt(const std::string& text, Int lo, Int hi, Int* out) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return ec == std::errc() && end == text.data() + text.size() && *out >= lo && *out <= hi;
}

// Prints "Error: <message>" to o.err and returns kExitError.
int ReportError(Output& o, const Status& status);

// Opens the store of inv.repo_dir; on failure reports it and returns null.
std::unique_ptr<FeatureStore> OpenStore(const Invocation& inv, Output& o,
                                        FeatureStoreOptions options = {});

// Reads the flag `flag` (when given) as an ISO 8601 time into *out; on a
// bad value prints a usage error to o.err and returns false.
bool ParseTimeFlag(const Invocation& inv, Output& o, std::string_view flag, TimestampMicros* out);

// One entity row from the repeated `--entity KEY=VALUE` flag (a value per
// join key, as text; integer keys are parsed against the entity's dtype).
// On a usage error prints it to o.err and returns false.
bool ParseEntityFlag(const Invocation& inv, Output& o, std::string_view command,
                     std::map<std::string, std::vector<Value>>* rows);

}  // namespace larder::cli
