// Parses definition YAML files into repo objects. Checks each object's own
// fields (names, dtypes, durations, formats); references between objects are
// checked by the validator (validate.h).
#pragma once

#include <string>

#include <yaml-cpp/yaml.h>

#include "larder/repo.h"
#include "repo/diagnostics.h"

namespace larder::repo {

// Appends the objects declared in one file's YAML to `repo`. `rel_path`
// names the file in messages and in each object's location.
void ParseDefinitionFile(const YAML::Node& root, const std::string& rel_path,
                         FeatureRepo* repo, Diagnostics* diag);

}  // namespace larder::repo
