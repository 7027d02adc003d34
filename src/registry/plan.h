// Plan: the difference between what the registry holds and what a repo
// declares. Pure functions; no I/O.
#pragma once

#include <compare>
#include <map>
#include <string>

#include "larder/registry.h"
#include "larder/repo.h"
#include "larder/status.h"

namespace larder {

// Identifies a registry object within a project.
struct ObjectKey {
  ObjectKind kind;
  std::string name;

  auto operator<=>(const ObjectKey&) const = default;
  bool operator==(const ObjectKey&) const = default;
};

// Canonical definition JSON text (registry/definition_json.h) per object.
using DefinitionMap = std::map<ObjectKey, std::string>;

// The canonical definitions of every object of `repo`. root, config and
// SourceLocation do not take part. InvalidArgument when two objects of one
// kind share a name, or when a definition is not valid UTF-8.
Result<DefinitionMap> RepoDefinitions(const FeatureRepo& repo);

// The changes that turn `stored` into `desired`: an object only in desired
// is created, one only in stored is deleted, and one in both is updated
// when its definition text differs. Ordered as RegistryPlan documents:
// for each kind in ObjectKind order, that kind's creates and updates
// together sorted by name; then deletes, kinds in reverse order (services
// first, entities last), each kind's sorted by name.
RegistryPlan DiffDefinitions(const DefinitionMap& stored,
                             const DefinitionMap& desired);

}  // namespace larder
