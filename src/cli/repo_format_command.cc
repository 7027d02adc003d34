// `larder repo-format`: the accepted keys, printed from the same tables the
// loader validates against.
#include "cli/handlers.h"
#include "repo/config_keys.h"
#include "repo/definition_keys.h"

namespace larder::cli {
namespace {

void PrintKeys(std::ostream& os, std::span<const repo::KeySpec> keys, int indent) {
  for (const auto& k : keys) {
    std::string left(static_cast<size_t>(indent), ' ');
    left += k.key;
    left += ":";
    os << left << std::string(left.size() < 32 ? 32 - left.size() : 1, ' ')
       << (k.required ? "required. " : "") << k.help << "\n";
  }
}

}  // namespace

int RepoFormatCommand(const Invocation&, Output& o) {
  o.out << "feature_store.yaml\n";
  PrintKeys(o.out, repo::ConfigKeys(), 2);
  for (const auto& t : repo::StoreTypes()) {
    o.out << "\n" << t.section << " with type: " << t.type << " (" << t.help << ")\n";
    PrintKeys(o.out, t.options, 2);
  }
  o.out << "\nDefinition files (any other *.yaml or *.yml in the repo) hold these lists:\n";
  for (const auto& section : repo::DefinitionSections()) {
    o.out << "\n" << section.key << ": list of " << section.object << " mappings\n";
    PrintKeys(o.out, section.keys, 2);
    if (section.key == "feature_views") {
      o.out << "  each schema item:\n";
      PrintKeys(o.out, repo::FieldKeys(), 4);
      o.out << "  each aggregations item:\n";
      PrintKeys(o.out, repo::AggregationKeys(), 4);
    } else if (section.key == "feature_services") {
      o.out << "  each features item is a feature view name, or a mapping:\n";
      PrintKeys(o.out, repo::ServiceItemKeys(), 4);
    } else if (section.key == "models") {
      o.out << "  each columns item:\n";
      PrintKeys(o.out, repo::ModelColumnKeys(), 4);
    }
  }
  o.out << "\nSQL models: models/NAME.sql\n"
        << "Durations: an integer and a unit, summed: 365d, 12h, 10m, 30s, 1d12h; 0 is none.\n";
  return kExitOk;
}

}  // namespace larder::cli
