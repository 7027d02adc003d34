// Rules for the names of projects and repo objects.
#pragma once

#include <string_view>

namespace larder {

// True for a non-empty name of ASCII letters, digits and underscores that
// does not start with a digit. Projects, entities, sources, views, services,
// models and features must be identifiers: they become table, key and
// column names.
bool IsIdentifier(std::string_view name);

}  // namespace larder
