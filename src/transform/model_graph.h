// The dependency graph of a repo's SQL models, from their ref() calls and
// from source() calls on model data sources.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "larder/repo.h"
#include "larder/status.h"
#include "transform/model_template.h"

namespace larder::transform {

struct ModelGraph {
  // Every model, parsed, by name.
  std::map<std::string, ParsedModel> models;
  // model -> the models it reads (refs, and sources of kind model).
  std::map<std::string, std::vector<std::string>> upstream;
  // Every model in dependency order: a model comes after all it reads. Ties
  // are broken by name, so the order is deterministic.
  std::vector<std::string> order;
};

// Parses every model of `repo` and orders them. Errors (InvalidArgument),
// all found listed one per line: template errors (file:line), a ref to an
// unknown model or a source() of an unknown data source (naming both the
// model and the missing name), and a cycle ("a -> b -> a").
Result<ModelGraph> BuildModelGraph(const FeatureRepo& repo);

// The models that `selectors` choose, in dependency order. A selector is
// "NAME" (that model), "+NAME" (it and all upstream), "NAME+" (it and all
// downstream) or "+NAME+". Empty selectors choose every model. An unknown
// name is InvalidArgument listing the models.
Result<std::vector<std::string>> SelectModels(const ModelGraph& graph,
                                              const std::vector<std::string>& selectors);

}  // namespace larder::transform
