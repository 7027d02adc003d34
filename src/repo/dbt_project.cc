#include "repo/dbt_project.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include <nlohmann/json.hpp>

#include "larder/types.h"
#include "repo/diagnostics.h"
#include "repo/yaml_reader.h"

namespace larder::repo {
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

// Manifest schema versions whose nodes have the fields read here (database,
// schema, alias, original_file_path, config.materialized): dbt 1.6 to 1.11.
constexpr int kOldestManifest = 10;
constexpr int kNewestManifest = 12;

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v == nullptr ? "" : v;
}

// A string from dbt's files, shown in a message: printable ASCII kept,
// anything else as '?', long ones cut.
std::string Shown(std::string_view s) {
  std::string out;
  for (char c : s.substr(0, 120)) out += (c >= 0x20 && c < 0x7f) ? c : '?';
  if (s.size() > 120) out += "...";
  return out;
}

// An identifier dbt wrote, checked: not empty, no control characters (a NUL
// would cut the string where DuckDB's C API reads it).
Status CheckIdentifier(std::string_view value, std::string_view field, const std::string& file,
                       const std::string& node) {
  bool control = std::any_of(value.begin(), value.end(), [](char c) {
    return static_cast<unsigned char>(c) < 0x20 || c == 0x7f;
  });
  if (value.empty() || control) {
    return Status::InvalidArgument(file + ": node " + Shown(node) + ": field `" +
                                   std::string(field) + "` `" + Shown(value) +
                                   "` is not an identifier Larder reads (empty, or with control "
                                   "characters)");
  }
  return Status::OK();
}

std::string FileTime(const fs::path& path) {
  std::error_code ec;
  auto t = fs::last_write_time(path, ec);
  if (ec) return "?";
  auto sys = std::chrono::file_clock::to_sys(t);
  return FormatIsoTimestamp(
      std::chrono::duration_cast<std::chrono::microseconds>(sys.time_since_epoch()).count());
}

Result<std::string> ReadText(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::IOError(path.string() + ": cannot be read");
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return Status::IOError(path.string() + ": cannot be read");
  return text.str();
}

// The N of ".../manifest/vN.json".
int ManifestVersion(const json& manifest) {
  const json* metadata = manifest.contains("metadata") ? &manifest["metadata"] : nullptr;
  if (metadata == nullptr || !metadata->is_object() || !metadata->contains("dbt_schema_version") ||
      !(*metadata)["dbt_schema_version"].is_string()) {
    return -1;
  }
  const std::string& url = (*metadata)["dbt_schema_version"].get_ref<const std::string&>();
  const std::string marker = "/manifest/v";
  size_t at = url.rfind(marker);
  if (at == std::string::npos || !url.ends_with(".json")) return -1;
  std::string digits = url.substr(at + marker.size(), url.size() - 5 - at - marker.size());
  if (digits.empty() || digits.size() > 3 ||
      !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return -1;
  }
  return std::stoi(digits);
}

// The string member `key` of `node`, or "" when absent or not a string.
std::string Member(const json& node, const char* key) {
  if (!node.is_object() || !node.contains(key) || !node[key].is_string()) return "";
  return node[key].get<std::string>();
}

// The scalar at `key` of YAML mapping `map`, or "".
std::string Scalar(const YAML::Node& map, const char* key) {
  if (!map.IsMap()) return "";
  YAML::Node v = map[key];
  return v.IsDefined() && v.IsScalar() ? v.Scalar() : "";
}

// dbt renders profiles with Jinja; Larder takes a plain value or the whole
// value `{{ env_var('NAME') }}` / `{{ env_var('NAME', 'default') }}`.
Result<std::string> RenderProfileValue(const std::string& value, const std::string& what) {
  if (value.find("{{") == std::string::npos && value.find("{%") == std::string::npos) return value;
  std::string s = value;
  auto trim = [](std::string t) {
    size_t b = t.find_first_not_of(" \t");
    size_t e = t.find_last_not_of(" \t");
    return b == std::string::npos ? std::string() : t.substr(b, e - b + 1);
  };
  s = trim(s);
  auto fail = [&] {
    return Status::InvalidArgument(what + " `" + Shown(value) +
                                   "` is a template Larder does not render (only "
                                   "{{ env_var('NAME') }} and {{ env_var('NAME', 'default') }}); "
                                   "set the source's `database_path` instead");
  };
  if (!s.starts_with("{{") || !s.ends_with("}}")) return fail();
  s = trim(s.substr(2, s.size() - 4));
  if (!s.starts_with("env_var(") || !s.ends_with(")")) return fail();
  s = s.substr(8, s.size() - 9);
  std::vector<std::string> args;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && (s[i] == ' ' || s[i] == ',')) ++i;
    if (i == s.size()) break;
    char quote = s[i];
    if (quote != '\'' && quote != '"') return fail();
    size_t end = s.find(quote, i + 1);
    if (end == std::string::npos) return fail();
    args.push_back(s.substr(i + 1, end - i - 1));
    i = end + 1;
  }
  if (args.empty() || args.size() > 2) return fail();
  std::string v = Env(args[0].c_str());
  if (!v.empty()) return v;
  if (args.size() == 2) return args[1];
  return Status::InvalidArgument(what + " reads the environment variable " + Shown(args[0]) +
                                 ", which is not set");
}

bool SameCatalog(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

// The manifest's node for `model`, checked, into `out`.
Status ReadManifest(const fs::path& project, const DataSource& source, DbtRelation* out) {
  fs::path manifest = project / source.target_path / "manifest.json";
  manifest = manifest.lexically_normal();
  out->manifest_path = manifest.string();
  const std::string m = manifest.string();
  std::error_code ec;
  if (!fs::is_regular_file(manifest, ec)) {
    return Status::FailedPrecondition("dbt manifest " + m + " does not exist; run `dbt compile` or "
                                      "`dbt run` in " + project.string());
  }
  LARDER_ASSIGN_OR_RETURN(std::string text, ReadText(manifest));
  json doc = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) {
    return Status::InvalidArgument("dbt manifest " + m + " is not a JSON object; run `dbt "
                                   "compile` in " + project.string() + " to write it again");
  }
  int version = ManifestVersion(doc);
  if (version < kOldestManifest || version > kNewestManifest) {
    std::string found = version < 0 ? "no metadata.dbt_schema_version of the form "
                                      ".../manifest/vN.json"
                                    : "version v" + std::to_string(version);
    return Status::InvalidArgument("dbt manifest " + m + " has " + found + "; Larder reads v" +
                                   std::to_string(kOldestManifest) + " to v" +
                                   std::to_string(kNewestManifest) + " (dbt 1.6 to 1.11)");
  }
  std::string adapter = Member(doc["metadata"], "adapter_type");
  if (!adapter.empty() && adapter != "duckdb") {
    return Status::InvalidArgument("dbt manifest " + m + " was built by the dbt adapter `" +
                                   Shown(adapter) + "`; Larder reads relations of dbt-duckdb only");
  }
  if (!doc.contains("nodes") || !doc["nodes"].is_object()) {
    return Status::InvalidArgument("dbt manifest " + m + " has no `nodes` object");
  }
  std::vector<std::string> matches;
  std::vector<std::string> others;
  for (const auto& [id, node] : doc["nodes"].items()) {
    if (Member(node, "resource_type") != "model") continue;
    std::string name = Member(node, "name");
    if (name == source.model && id.starts_with("model.")) {
      matches.push_back(id);
    } else {
      others.push_back(name);
    }
  }
  if (matches.empty()) {
    std::sort(others.begin(), others.end());
    others.erase(std::unique(others.begin(), others.end()), others.end());
    std::string listed;
    for (size_t i = 0; i < others.size() && i < 8; ++i) {
      listed += (listed.empty() ? "" : ", ") + Shown(others[i]);
    }
    if (others.size() > 8) listed += ", ... (" + std::to_string(others.size()) + " models)";
    return Status::NotFound("dbt manifest " + m + " has no model `" + source.model + "` (" +
                            (listed.empty() ? "it has no models" : "models: " + listed) +
                            "); check `model`, or run `dbt compile` in " + project.string());
  }
  if (matches.size() > 1) {
    std::sort(matches.begin(), matches.end());
    std::string listed;
    for (const auto& id : matches) listed += (listed.empty() ? "" : ", ") + Shown(id);
    return Status::InvalidArgument("dbt manifest " + m + " has " +
                                   std::to_string(matches.size()) + " models named `" +
                                   source.model + "` (" + listed +
                                   "); Larder cannot tell which one the source means");
  }
  const json& node = doc["nodes"][matches[0]];
  out->node_id = matches[0];
  out->database = Member(node, "database");
  out->schema = Member(node, "schema");
  out->identifier = Member(node, "alias");
  if (out->identifier.empty()) out->identifier = Member(node, "name");
  LARDER_RETURN_IF_ERROR(CheckIdentifier(out->database, "database", m, out->node_id));
  LARDER_RETURN_IF_ERROR(CheckIdentifier(out->schema, "schema", m, out->node_id));
  LARDER_RETURN_IF_ERROR(CheckIdentifier(out->identifier, "alias", m, out->node_id));
  std::string materialized =
      node.contains("config") ? Member(node["config"], "materialized") : std::string();
  if (materialized == "ephemeral") {
    return Status::InvalidArgument("dbt manifest " + m + ": model `" + source.model +
                                   "` is ephemeral, so dbt builds no table or view for it; "
                                   "materialize it as a table, view or incremental model");
  }

  // Stale: the model's file changed after the manifest was written.
  std::string file = Member(node, "original_file_path");
  fs::path rel(file);
  bool escapes = file.empty() || rel.is_absolute() || rel.has_root_name() ||
                 std::any_of(rel.begin(), rel.end(), [](const fs::path& p) { return p == ".."; }) ||
                 file.find('\0') != std::string::npos;
  if (escapes) {
    return Status::InvalidArgument("dbt manifest " + m + ": node " + Shown(out->node_id) +
                                   ": `original_file_path` `" + Shown(file) +
                                   "` is not a path inside the project");
  }
  fs::path sql = (project / rel).lexically_normal();
  if (!fs::exists(sql, ec)) {
    return Status::FailedPrecondition("dbt manifest " + m + " is stale: model `" + source.model +
                                      "`'s file " + sql.string() +
                                      " no longer exists; run `dbt compile` or `dbt run` in " +
                                      project.string());
  }
  auto sql_time = fs::last_write_time(sql, ec);
  auto manifest_time = ec ? sql_time : fs::last_write_time(manifest, ec);
  if (!ec && sql_time > manifest_time) {
    return Status::FailedPrecondition(
        "dbt manifest " + m + " (written " + FileTime(manifest) + ") is stale: it is older than " +
        sql.string() + " (changed " + FileTime(sql) + "); run `dbt run` in " + project.string() +
        " to rebuild the model");
  }
  return Status::OK();
}

// The DuckDB file of `rel->database` from dbt's profile, into `rel`.
Status ReadProfile(const fs::path& project, const DbtEnvironment& env, DbtRelation* rel) {
  std::error_code ec;
  Diagnostics diag;
  const fs::path project_file = project / "dbt_project.yml";
  std::optional<YAML::Node> project_yaml =
      ParseYamlFile(project_file.string(), project_file.string(), &diag);
  if (!project_yaml) {
    return Status::InvalidArgument("dbt project file " + project_file.string() +
                                   " cannot be read: " +
                                   (diag.empty() ? "" : diag.errors().front()) +
                                   "; or set the source's `database_path`");
  }
  std::string profile_name = Scalar(*project_yaml, "profile");
  if (profile_name.empty()) {
    return Status::InvalidArgument(project_file.string() + " names no `profile`; set the source's "
                                   "`database_path` to the DuckDB file dbt-duckdb writes");
  }

  std::vector<fs::path> candidates;
  if (!env.profiles_dir.empty()) {
    candidates.push_back(fs::path(env.profiles_dir) / "profiles.yml");
  } else {
    candidates.push_back(project / "profiles.yml");
    if (!env.home.empty()) candidates.push_back(fs::path(env.home) / ".dbt" / "profiles.yml");
  }
  fs::path profiles;
  for (const auto& c : candidates) {
    if (fs::is_regular_file(c, ec)) {
      profiles = c;
      break;
    }
  }
  if (profiles.empty()) {
    std::string looked;
    for (const auto& c : candidates) looked += (looked.empty() ? "" : ", ") + c.string();
    return Status::FailedPrecondition("no dbt profiles.yml (looked for " + looked +
                                      "); set DBT_PROFILES_DIR or the source's `database_path`");
  }
  const std::string pf = profiles.string();
  std::optional<YAML::Node> root = ParseYamlFile(pf, pf, &diag);
  if (!root) {
    return Status::InvalidArgument("dbt profiles " + pf + " cannot be read: " +
                                   (diag.empty() ? "" : diag.errors().front()));
  }
  YAML::Node profile = root->IsMap() ? (*root)[profile_name] : YAML::Node();
  if (!profile.IsDefined() || !profile.IsMap()) {
    return Status::InvalidArgument("dbt profiles " + pf + " has no profile `" +
                                   Shown(profile_name) + "` (named by " + project_file.string() +
                                   ")");
  }
  std::string target = env.target.empty() ? Scalar(profile, "target") : env.target;
  if (target.empty()) {
    return Status::InvalidArgument("dbt profiles " + pf + ": profile `" + Shown(profile_name) +
                                   "` has no `target`; set one, or DBT_TARGET");
  }
  YAML::Node outputs = profile["outputs"];
  YAML::Node output = outputs.IsDefined() && outputs.IsMap() ? outputs[target] : YAML::Node();
  const std::string where = "dbt profiles " + pf + ", profile `" + Shown(profile_name) +
                            "`, target `" + Shown(target) + "`";
  if (!output.IsDefined() || !output.IsMap()) {
    return Status::InvalidArgument(where + ": no such output");
  }
  if (std::string type = Scalar(output, "type"); type != "duckdb") {
    return Status::InvalidArgument(where + ": type `" + Shown(type) +
                                   "`; Larder reads relations of dbt-duckdb (type: duckdb) only");
  }
  // The main database, then attached ones: the one whose catalog name (the
  // alias, else the file's stem) is the node's database.
  struct Candidate {
    std::string path;
    std::string catalog;
  };
  std::vector<Candidate> found;
  LARDER_ASSIGN_OR_RETURN(std::string main_path,
                          RenderProfileValue(Scalar(output, "path"), where + ": `path`"));
  if (!main_path.empty()) found.push_back({main_path, fs::path(main_path).stem().string()});
  YAML::Node attach = output["attach"];
  if (attach.IsDefined() && attach.IsSequence()) {
    for (const auto& item : attach) {
      LARDER_ASSIGN_OR_RETURN(std::string path,
                              RenderProfileValue(Scalar(item, "path"), where + ": attach `path`"));
      std::string alias = Scalar(item, "alias");
      if (!path.empty()) found.push_back({path, alias.empty() ? fs::path(path).stem().string() : alias});
    }
  }
  for (const auto& c : found) {
    if (!SameCatalog(c.catalog, rel->database)) continue;
    if (c.path == ":memory:" || c.path.starts_with("md:") || c.path.starts_with("motherduck:") ||
        c.path.find("://") != std::string::npos) {
      return Status::InvalidArgument(where + ": database `" + Shown(rel->database) + "` is `" +
                                     Shown(c.path) + "`, not a local DuckDB file Larder can read");
    }
    fs::path file(c.path);
    if (file.is_relative()) file = project / file;
    rel->database_file = file.lexically_normal().string();
    rel->database_file_origin = where;
    return Status::OK();
  }
  std::string paths;
  for (const auto& c : found) paths += (paths.empty() ? "" : ", ") + Shown(c.path);
  return Status::InvalidArgument(
      "dbt manifest " + rel->manifest_path + " puts model " + Shown(rel->node_id) +
      " in database `" + Shown(rel->database) + "`, but " + where + " writes " +
      (paths.empty() ? std::string("no file (in memory)") : paths) +
      "; was the manifest built with another target? Set DBT_TARGET, or the source's "
      "`database_path`");
}

}  // namespace

DbtEnvironment DbtEnvironment::FromProcess() {
  return DbtEnvironment{Env("DBT_PROFILES_DIR"), Env("DBT_TARGET"), Env("HOME")};
}

std::string DbtProjectDir(const std::string& repo_root, const DataSource& source) {
  fs::path dir(source.project_dir);
  if (dir.is_relative()) dir = fs::path(repo_root) / dir;
  return dir.lexically_normal().string();
}

Result<DbtRelation> ResolveDbtRelation(const std::string& project_dir, const DataSource& source,
                                       const DbtEnvironment& env) {
  DbtRelation rel;
  fs::path project(project_dir);
  std::error_code ec;
  if (!fs::is_directory(project, ec)) {
    return Status::NotFound("dbt project folder " + project_dir + " does not exist");
  }
  DataSource checked = source;
  if (checked.target_path.empty()) checked.target_path = "target";
  LARDER_RETURN_IF_ERROR(ReadManifest(project, checked, &rel));
  if (!source.database_path.empty()) {
    fs::path file(source.database_path);
    if (file.is_relative()) file = project / file;
    rel.database_file = file.lexically_normal().string();
    rel.database_file_origin = "database_path";
  } else {
    LARDER_RETURN_IF_ERROR(ReadProfile(project, env, &rel));
  }
  if (!fs::is_regular_file(rel.database_file, ec)) {
    return Status::FailedPrecondition("dbt's database file " + rel.database_file + " (from " +
                                      rel.database_file_origin +
                                      ") does not exist; run `dbt run` in " + project_dir);
  }
  return rel;
}

}  // namespace larder::repo
