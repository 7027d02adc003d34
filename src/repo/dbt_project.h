// Reading a dbt project's own files to find the relation that dbt-duckdb
// built for a `type: dbt` data source: target/manifest.json (which node,
// database, schema and alias) and profiles.yml (which DuckDB file holds that
// database). Nothing here opens a database; offline/source_relation attaches
// the file and reads the relation.
//
// Every string read from these files is treated as hostile: identifiers with
// control characters are refused, the model's file path must stay inside the
// project, and callers quote the identifiers before they reach SQL.
#pragma once

#include <string>

#include "larder/definitions.h"
#include "larder/status.h"

namespace larder::repo {

// What dbt's environment variables say, passed in so that tests need not
// change the process's environment.
struct DbtEnvironment {
  std::string profiles_dir;  // DBT_PROFILES_DIR ("" = unset)
  std::string target;        // DBT_TARGET ("" = the profile's `target`)
  std::string home;          // HOME, for ~/.dbt/profiles.yml ("" = unset)

  // The current process's variables. Thread-safe (reads only).
  static DbtEnvironment FromProcess();
};

// Where dbt-duckdb put one model, as dbt's files say.
struct DbtRelation {
  std::string manifest_path;  // absolute
  std::string node_id;        // "model.<dbt project>.<model>"
  std::string database;       // the DuckDB catalog name dbt used
  std::string schema;
  std::string identifier;     // the table or view (the node's alias)
  // The DuckDB file holding `database`, absolute, and how it was found:
  // "database_path" or "profiles.yml <file>, profile <p>, target <t>".
  std::string database_file;
  std::string database_file_origin;
};

// The absolute project folder of dbt source `source` (project_dir resolved
// against `repo_root` unless absolute).
std::string DbtProjectDir(const std::string& repo_root, const DataSource& source);

// Finds dbt source `source`'s relation. `project_dir` is absolute
// (DbtProjectDir). Reads <project_dir>/<target_path>/manifest.json, whose
// node model.<any project>.<source.model> must be unique, and then the
// database file: `database_path` when the source sets it, else the `path` of
// the dbt profile's target (profiles.yml in env.profiles_dir, project_dir or
// ~/.dbt; the profile named by dbt_project.yml; the target env.target, else
// the profile's `target`), or of one of that target's `attach` entries whose
// alias is the node's database.
//
// Errors, each naming the file:
//   FailedPrecondition: no manifest ("run `dbt compile` or `dbt run` in
//     PROJECT_DIR"); a manifest older than the model's .sql file (stale:
//     both files and their times); the database file does not exist.
//   InvalidArgument: a manifest that is not JSON, of an unsupported schema
//     version (v10 to v12, dbt 1.6 to 1.11, are read), or of an adapter other
//     than duckdb; an ephemeral model (no relation); hostile identifiers or
//     paths; a profile that cannot be read or names no file.
//   NotFound: no such model in the manifest (a few that are, named).
// Thread-safe.
Result<DbtRelation> ResolveDbtRelation(const std::string& project_dir, const DataSource& source,
                                       const DbtEnvironment& env);

}  // namespace larder::repo
