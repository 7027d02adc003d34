#include "transform/model_graph.h"

#include <algorithm>
#include <functional>
#include <set>

namespace larder::transform {
namespace {

// The model a data source reads, if any (a model source, or a push source
// whose history is a model's output).
std::string SourceModel(const FeatureRepo& repo, const DataSource& source) {
  if (source.kind == DataSourceKind::kModel) return source.model;
  if (ReceivesRows(source.kind)) {
    const DataSource* batch = repo.FindDataSource(source.batch_source);
    if (batch != nullptr && batch->kind == DataSourceKind::kModel) return batch->model;
  }
  return "";
}

// A cycle among `remaining` (models that are all on cycles), in data-flow
// order from its smallest name: "a -> b -> a" when b reads a and a reads b.
std::string DescribeCycle(const ModelGraph& g, const std::set<std::string>& remaining) {
  // Walk upstream edges inside `remaining` until a model repeats.
  std::string at = *remaining.begin();
  std::vector<std::string> path;
  std::map<std::string, size_t> seen;
  while (!seen.contains(at)) {
    seen[at] = path.size();
    path.push_back(at);
    for (const auto& up : g.upstream.at(at)) {
      if (remaining.contains(up)) {
        at = up;
        break;
      }
    }
  }
  // path[seen[at]..] is the cycle, walking upstream; print it downstream.
  std::vector<std::string> cycle(path.begin() + static_cast<std::ptrdiff_t>(seen[at]), path.end());
  std::reverse(cycle.begin(), cycle.end());
  std::rotate(cycle.begin(), std::min_element(cycle.begin(), cycle.end()), cycle.end());
  std::string text;
  for (const auto& m : cycle) text += m + " -> ";
  return text + cycle.front();
}

}  // namespace

Result<ModelGraph> BuildModelGraph(const FeatureRepo& repo) {
  ModelGraph g;
  std::vector<std::string> errors;
  for (const SqlModel& model : repo.models) {
    if (model.name == "larder_run_history" || model.name.ends_with("__larder_build") ||
        model.name.ends_with("__larder_incoming")) {
      errors.push_back("models/" + model.name + ".sql: the name '" + model.name +
                       "' is reserved for Larder's own tables in the offline store");
      continue;
    }
    Result<ParsedModel> parsed = ParseModelTemplate(model);
    if (!parsed.ok()) {
      errors.push_back(parsed.status().message());
      continue;
    }
    g.models.emplace(model.name, std::move(parsed).value());
  }
  for (const auto& [name, parsed] : g.models) {
    std::vector<std::string>& up = g.upstream[name];
    for (const auto& [ref, line] : parsed.refs) {
      if (repo.FindModel(ref) == nullptr) {
        errors.push_back(parsed.file + ":" + std::to_string(line) + ": model '" + name +
                         "' refs unknown model '" + ref + "'");
      } else if (g.models.contains(ref)) {
        up.push_back(ref);
      }
    }
    for (const auto& [source, line] : parsed.sources) {
      const DataSource* ds = repo.FindDataSource(source);
      if (ds == nullptr) {
        errors.push_back(parsed.file + ":" + std::to_string(line) + ": model '" + name +
                         "' uses unknown data source '" + source + "'");
        continue;
      }
      std::string m = SourceModel(repo, *ds);
      if (!m.empty() && g.models.contains(m)) up.push_back(m);
    }
  }
  if (!errors.empty()) {
    std::string msg = errors.size() == 1 ? errors[0] : "";
    if (errors.size() > 1) {
      msg = std::to_string(errors.size()) + " errors in SQL models:";
      for (const auto& e : errors) msg += "\n  " + e;
    }
    return Status::InvalidArgument(msg);
  }
  // Kahn's algorithm; the ready set is ordered by name.
  std::map<std::string, int> pending;
  std::map<std::string, std::vector<std::string>> downstream;
  for (const auto& [name, ups] : g.upstream) {
    std::set<std::string> distinct(ups.begin(), ups.end());
    pending[name] = static_cast<int>(distinct.size());
    for (const auto& u : distinct) downstream[u].push_back(name);
  }
  std::set<std::string> ready;
  for (const auto& [name, n] : pending) {
    if (n == 0) ready.insert(name);
  }
  while (!ready.empty()) {
    std::string next = *ready.begin();
    ready.erase(ready.begin());
    g.order.push_back(next);
    for (const auto& d : downstream[next]) {
      if (--pending[d] == 0) ready.insert(d);
    }
  }
  if (g.order.size() != g.models.size()) {
    std::set<std::string> remaining;
    for (const auto& [name, n] : pending) {
      if (n > 0) remaining.insert(name);
    }
    // Keep only models on a cycle: drop those that merely depend on one.
    bool changed = true;
    while (changed) {
      changed = false;
      for (auto it = remaining.begin(); it != remaining.end();) {
        bool feeds_remaining = false;
        for (const auto& d : downstream[*it]) feeds_remaining |= remaining.contains(d);
        if (!feeds_remaining) {
          it = remaining.erase(it);
          changed = true;
        } else {
          ++it;
        }
      }
    }
    const std::string cycle = DescribeCycle(g, remaining);
    const std::string first = cycle.substr(0, cycle.find(' '));
    return Status::InvalidArgument("models/" + first + ".sql:1: SQL models form a dependency cycle: " +
                                   cycle);
  }
  return g;
}

Result<std::vector<std::string>> SelectModels(const ModelGraph& graph,
                                              const std::vector<std::string>& selectors) {
  if (selectors.empty()) return graph.order;
  std::map<std::string, std::vector<std::string>> downstream;
  for (const auto& [name, ups] : graph.upstream) {
    for (const auto& u : ups) downstream[u].push_back(name);
  }
  std::set<std::string> chosen;
  std::set<std::string> walked[2];  // upstream, downstream
  std::function<void(const std::string&, bool)> walk = [&](const std::string& name, bool up) {
    if (!walked[up ? 0 : 1].insert(name).second) return;
    const auto& next = up ? graph.upstream.at(name) : downstream[name];
    for (const auto& n : next) {
      chosen.insert(n);
      walk(n, up);
    }
  };
  for (std::string sel : selectors) {
    bool up = sel.starts_with('+');
    bool down = sel.size() > 1 && sel.ends_with('+');
    if (up) sel.erase(0, 1);
    if (down) sel.pop_back();
    if (!graph.models.contains(sel)) {
      std::string known;
      for (const auto& name : graph.order) known += (known.empty() ? "" : ", ") + name;
      return Status::InvalidArgument("--select: no SQL model '" + sel + "' (models: " +
                                     (known.empty() ? "none" : known) + ")");
    }
    chosen.insert(sel);
    if (up) walk(sel, true);
    if (down) walk(sel, false);
  }
  std::vector<std::string> out;
  for (const auto& name : graph.order) {
    if (chosen.contains(name)) out.push_back(name);
  }
  return out;
}

}  // namespace larder::transform
