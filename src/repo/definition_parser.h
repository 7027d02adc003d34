// Parses definition YAML files into repo objects. Checks each object's own
// fields (names, dtypes, durations, formats); references between objects are
// checked by the validator (validate.h).
#pragma once

#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "larder/repo.h"
#include "repo/diagnostics.h"

namespace larder::repo {

// Appends the objects declared in one file's YAML to `repo`. Entries of a
// `models:` list (descriptions and data tests of SQL models) go to
// `model_docs`, to be joined with the models/*.sql files by the loader.
// `rel_path` names the file in messages and in each object's location.
void ParseDefinitionFile(const YAML::Node& root, const std::string& rel_path,
                         FeatureRepo* repo, std::vector<SqlModel>* model_docs,
                         Diagnostics* diag);

}  // namespace larder::repo
