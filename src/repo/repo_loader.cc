// LoadFeatureRepo: finds a repo's files, parses them and validates the result.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "larder/repo.h"
#include "repo/definition_parser.h"
#include "repo/diagnostics.h"
#include "repo/validate.h"
#include "common/names.h"
#include "repo/yaml_reader.h"

namespace larder {
namespace fs = std::filesystem;

namespace {

constexpr std::string_view kModelsDir = "models";

template <typename T>
const T* FindByName(const std::vector<T>& items, std::string_view name) {
  auto it = std::lower_bound(items.begin(), items.end(), name,
                             [](const T& item, std::string_view n) { return item.name < n; });
  return it != items.end() && it->name == name ? &*it : nullptr;
}

template <typename T>
void SortByName(std::vector<T>* items) {
  std::stable_sort(items->begin(), items->end(),
                   [](const T& a, const T& b) { return a.name < b.name; });
}

std::string Relative(const fs::path& path, const fs::path& root) {
  return path.lexically_relative(root).generic_string();
}

// Directories that hold state or tooling rather than definitions.
bool SkipDirectory(const fs::path& dir, const fs::path& root,
                   const fs::path& registry_dir) {
  std::string name = dir.filename().string();
  if (name.starts_with(".") || name == "__pycache__" || name == "node_modules") return true;
  if (dir == root / "data") return true;
  return !registry_dir.empty() && dir == registry_dir;
}

std::string ReadWholeFile(const fs::path& path, bool* ok) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  *ok = static_cast<bool>(in) || in.eof();
  return text.str();
}

// Moves schema fields named like a join key of the view's entities into
// entity_columns: Feast lets a schema list entity columns beside features.
void SplitEntityColumns(FeatureRepo* repo) {
  for (auto& view : repo->feature_views) {
    std::vector<Field> features;
    for (auto& field : view.schema) {
      bool is_key = false;
      for (const auto& entity_name : view.entities) {
        const Entity* entity = repo->FindEntity(entity_name);
        if (entity == nullptr) continue;
        is_key = is_key || std::find(entity->join_keys.begin(), entity->join_keys.end(),
                                     field.name) != entity->join_keys.end();
      }
      (is_key ? view.entity_columns : features).push_back(std::move(field));
    }
    view.schema = std::move(features);
  }
}

// Gives each SQL model the description and data tests of its `models:`
// entry. REQUIRES: repo->models sorted by name.
void AttachModelDocs(std::vector<SqlModel>& docs, FeatureRepo* repo,
                     repo::Diagnostics* diag) {
  std::map<std::string, const SqlModel*> seen;
  for (auto& doc : docs) {
    auto [it, inserted] = seen.emplace(doc.name, &doc);
    if (!inserted) {
      diag->Error(doc.location.file, doc.location.line,
                  "model '" + doc.name + "' is described twice; first at " +
                      it->second->location.file + ":" + std::to_string(it->second->location.line));
      continue;
    }
    auto model = std::lower_bound(
        repo->models.begin(), repo->models.end(), doc.name,
        [](const SqlModel& m, const std::string& n) { return m.name < n; });
    if (model == repo->models.end() || model->name != doc.name) {
      diag->Error(doc.location.file, doc.location.line,
                  "model '" + doc.name + "': there is no models/" + doc.name + ".sql");
      continue;
    }
    model->description = std::move(doc.description);
    model->tests = std::move(doc.tests);
    model->schedule = std::move(doc.schedule);
  }
}

// `dbt_executable` makes a scheduled run of a view over the dbt source run
// dbt first: on a source that no scheduled online view reads it would do
// nothing, so it is refused.
Status CheckDbtBuildsAreScheduled(const FeatureRepo& repo) {
  for (const DataSource& source : repo.data_sources) {
    if (source.kind != DataSourceKind::kDbt || source.dbt_executable.empty()) continue;
    const bool used = std::any_of(
        repo.feature_views.begin(), repo.feature_views.end(), [&](const FeatureView& v) {
          return v.source == source.name && v.online && v.schedule.scheduled();
        });
    if (!used) {
      return Status::InvalidArgument(
          source.location.file + ":" + std::to_string(source.location.line) + ": data source '" +
          source.name + "': field `dbt_executable`: no scheduled online view reads this source, "
          "so dbt would never run; give a view over it a `batch_schedule`, or remove the field");
    }
  }
  return Status::OK();
}

// Whether a Python file imports Feast: a line starting `from feast` or
// `import feast`. Only the first 1 MiB is read.
bool ImportsFeast(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::string line;
  size_t read = 0;
  while (read < (size_t{1} << 20) && std::getline(in, line)) {
    read += line.size() + 1;
    const size_t start = line.find_first_not_of(" \t");
    if (start == std::string::npos) continue;
    std::string_view code = std::string_view(line).substr(start);
    for (std::string_view prefix : {"from feast", "import feast"}) {
      if (code.starts_with(prefix) &&
          (code.size() == prefix.size() || code[prefix.size()] == ' ' ||
           code[prefix.size()] == '.' || code[prefix.size()] == ',')) {
        return true;
      }
    }
  }
  return false;
}

}  // namespace

const Entity* FeatureRepo::FindEntity(std::string_view name) const {
  return FindByName(entities, name);
}
const DataSource* FeatureRepo::FindDataSource(std::string_view name) const {
  return FindByName(data_sources, name);
}
const SqlModel* FeatureRepo::FindModel(std::string_view name) const {
  return FindByName(models, name);
}
const FeatureView* FeatureRepo::FindFeatureView(std::string_view name) const {
  return FindByName(feature_views, name);
}
const FeatureService* FeatureRepo::FindFeatureService(std::string_view name) const {
  return FindByName(feature_services, name);
}

Result<FeatureRepo> LoadFeatureRepo(const std::string& repo_dir,
                                    const LoadOptions& options) {
  std::error_code ec;
  fs::path root = fs::weakly_canonical(fs::absolute(repo_dir, ec), ec);
  if (ec || !fs::is_directory(root, ec)) {
    return Status::NotFound("feature repo directory " + repo_dir + " does not exist");
  }
  LARDER_ASSIGN_OR_RETURN(RepoConfig config, LoadRepoConfig(root.string()));

  FeatureRepo repo;
  repo.root = root.string();
  repo.config = std::move(config);
  fs::path registry = fs::path(repo.config.registry);
  if (registry.is_relative()) registry = root / registry;
  fs::path registry_dir = registry.lexically_normal().parent_path();

  // Collect files in a stable order so messages and results are repeatable.
  std::vector<fs::path> yaml_files;
  std::vector<fs::path> model_files;
  std::vector<std::string> python_files;
  fs::recursive_directory_iterator it(root, fs::directory_options::skip_permission_denied, ec);
  if (ec) return Status::IOError("cannot list " + root.string() + ": " + ec.message());
  for (; it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (ec) return Status::IOError("cannot list " + root.string() + ": " + ec.message());
    const fs::path& path = it->path();
    if (it->is_directory(ec)) {
      if (SkipDirectory(path, root, registry_dir)) it.disable_recursion_pending();
      continue;
    }
    std::string ext = path.extension().string();
    std::string rel = Relative(path, root);
    if ((ext == ".yaml" || ext == ".yml") && rel != "feature_store.yaml") {
      yaml_files.push_back(path);
    } else if (ext == ".sql" && rel.starts_with(std::string(kModelsDir) + "/")) {
      model_files.push_back(path);
    } else if (ext == ".py" && ImportsFeast(path)) {
      python_files.push_back(rel);
    }
  }
  std::sort(python_files.begin(), python_files.end());
  for (const auto& rel : python_files) {
    repo.warnings.push_back(rel + ": looks like Feast Python definitions (it imports feast); "
                            "Larder reads definitions from YAML files only, so it is ignored "
                            "(`larder repo-format` lists the YAML keys)");
  }
  std::sort(yaml_files.begin(), yaml_files.end());
  std::sort(model_files.begin(), model_files.end());

  repo::Diagnostics diag;
  std::vector<SqlModel> model_docs;
  for (const auto& path : yaml_files) {
    std::string rel = Relative(path, root);
    std::optional<YAML::Node> node = repo::ParseYamlFile(path.string(), rel, &diag);
    if (node) repo::ParseDefinitionFile(*node, rel, &repo, &model_docs, &diag);
  }
  for (const auto& path : model_files) {
    std::string rel = Relative(path, root);
    SqlModel model;
    model.name = path.stem().string();
    model.location = {rel, 0};
    if (!IsIdentifier(model.name)) {
      diag.Error(rel, 0, "sql model name `" + model.name +
                             "` (from the file name) must use letters, digits and underscores");
    }
    bool ok = false;
    model.sql = ReadWholeFile(path, &ok);
    if (!ok) diag.Error(rel, 0, "cannot read the file");
    repo.models.push_back(std::move(model));
  }
  SortByName(&repo.models);
  AttachModelDocs(model_docs, &repo, &diag);
  LARDER_RETURN_IF_ERROR(diag.ToStatus("feature repo " + repo.root + " is invalid"));

  SortByName(&repo.entities);
  SortByName(&repo.data_sources);
  SortByName(&repo.models);
  SortByName(&repo.feature_views);
  SortByName(&repo.feature_services);
  SplitEntityColumns(&repo);
  LARDER_RETURN_IF_ERROR(repo::ValidateAndResolve(&repo, options));
  LARDER_RETURN_IF_ERROR(CheckDbtBuildsAreScheduled(repo));
  return repo;
}

}  // namespace larder
