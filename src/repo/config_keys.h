// The declaration of every feature_store.yaml key and store option, once.
// The loader validates against these tables and `larder help config` prints
// them.
#pragma once

#include <span>
#include <string_view>

#include "repo/yaml_reader.h"

namespace larder::repo {

// Top-level keys of feature_store.yaml.
std::span<const KeySpec> ConfigKeys();

// A store backend that a `type:` may name, and the options it takes.
struct StoreTypeSpec {
  std::string_view section;  // "online_store" or "offline_store"
  std::string_view type;
  std::string_view help;
  std::span<const KeySpec> options;  // excluding `type`
};
std::span<const StoreTypeSpec> StoreTypes();

// Accepted values of `batch_engine`.
std::span<const std::string_view> BatchEngines();

}  // namespace larder::repo
