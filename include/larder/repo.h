// A feature repo: feature_store.yaml, definition YAML files and SQL models.
//
// Layout of a repo directory:
//   feature_store.yaml        configuration (larder/config.h)
//   **/*.yaml, **/*.yml       definitions: top-level lists `entities`,
//                             `data_sources`, `feature_views`,
//                             `feature_services`
//   models/NAME.sql           SQL models
// Directories whose name starts with '.' and the directory holding the
// registry (by default data/) are not scanned.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "larder/config.h"
#include "larder/definitions.h"
#include "larder/status.h"

namespace larder {

// Every object of a repo, each list sorted by name.
struct FeatureRepo {
  std::string root;  // absolute path of the repo directory
  RepoConfig config;
  std::vector<Entity> entities;
  std::vector<DataSource> data_sources;
  std::vector<SqlModel> models;
  std::vector<FeatureView> feature_views;
  std::vector<FeatureService> feature_services;
  // Things the loader noticed that do not make the repo invalid, one line
  // each, naming the file (e.g. Feast Python definitions it does not read).
  std::vector<std::string> warnings;

  // Look-ups by name; nullptr when absent.
  const Entity* FindEntity(std::string_view name) const;
  const DataSource* FindDataSource(std::string_view name) const;
  const SqlModel* FindModel(std::string_view name) const;
  const FeatureView* FindFeatureView(std::string_view name) const;
  const FeatureService* FindFeatureService(std::string_view name) const;
};

// A column of a data source as the data holds it.
struct ColumnInfo {
  std::string name;
  std::string type;  // the engine's type name, e.g. "BIGINT", "VARCHAR"
};

// Gives the columns of a file or dbt source so that the loader can check join
// keys, timestamps and features against the data. `abs_path` is a file
// source's path or glob, or a dbt source's project_dir, resolved against the
// repo root. Returns NotFound when the path matches no file. The offline
// store provides the real one; tests may pass a fake.
using SchemaResolver =
    std::function<Result<std::vector<ColumnInfo>>(const DataSource& source,
                                                  const std::string& abs_path)>;

struct LoadOptions {
  // When set, file and dbt sources are checked against their data's columns.
  // Default: unset (no data is read).
  SchemaResolver schema_resolver;
};

// Reads and validates the repo at `repo_dir`. The whole repo is refused on
// the first error class found; the Status lists every error found, one per
// line, each as "FILE:LINE: field `x`: what is wrong".
Result<FeatureRepo> LoadFeatureRepo(const std::string& repo_dir,
                                    const LoadOptions& options = {});

// Checks references and schemas of an already parsed repo. LoadFeatureRepo
// calls it; it is public so that programmatic repos can be checked too.
Status ValidateFeatureRepo(const FeatureRepo& repo, const LoadOptions& options);

}  // namespace larder
