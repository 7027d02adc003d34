// The declaration of every key a definition file accepts, once. The parser
// reads against these tables and `larder help definitions` prints them.
#pragma once

#include <span>
#include <string_view>

#include "repo/yaml_reader.h"

namespace larder::repo {

struct DefinitionSection {
  std::string_view key;     // top-level list key, e.g. "feature_views"
  std::string_view object;  // object kind for messages, e.g. "feature view"
  std::span<const KeySpec> keys;
};

// Top-level sections of a definition file, in reading order.
std::span<const DefinitionSection> DefinitionSections();

// Keys of one schema field of a feature view.
std::span<const KeySpec> FieldKeys();
// Keys of one item of a feature view's `aggregations`.
std::span<const KeySpec> AggregationKeys();
// Keys of one `{feature_view, features}` item of a feature service.
std::span<const KeySpec> ServiceItemKeys();
// Keys of one `columns` item of a model's entry in `models`.
std::span<const KeySpec> ModelColumnKeys();

}  // namespace larder::repo
