// Loads feature_store.yaml against the tables in config_keys.cc.
#include <charconv>
#include <filesystem>
#include <vector>

#include "larder/config.h"
#include "repo/config_keys.h"
#include "repo/names.h"
#include "repo/yaml_reader.h"

namespace larder {
namespace {

constexpr std::string_view kConfigFile = "feature_store.yaml";

// Reads an `online_store:` / `offline_store:` section into `out`.
void ReadStoreSection(repo::MapReader& top, std::string_view section,
                      StoreConfig* out, repo::Diagnostics* diag) {
  YAML::Node node = top.Get(section);
  if (!node.IsDefined() || node.IsNull()) return;
  std::string what = "section `" + std::string(section) + "`";
  if (!node.IsMap()) {
    top.FieldError(section, "expected a mapping with `type` and options");
    return;
  }
  // Find the type first: it decides which options are valid.
  std::string type;
  for (const auto& kv : node) {
    if (kv.first.IsScalar() && kv.first.Scalar() == "type" && kv.second.IsScalar()) {
      type = kv.second.Scalar();
    }
  }
  const repo::StoreTypeSpec* spec = nullptr;
  std::string types;
  for (const auto& s : repo::StoreTypes()) {
    if (s.section != section) continue;
    if (!types.empty()) types += ", ";
    types += s.type;
    if (s.type == type) spec = &s;
  }
  if (type.empty()) {
    diag->Error(top.file(), repo::LineOf(node),
                what + ": missing field `type` (one of " + types + ")");
    return;
  }
  if (spec == nullptr) {
    diag->Error(top.file(), repo::LineOf(node),
                what + ": unknown type `" + type + "` (one of " + types + ")");
    return;
  }
  std::vector<repo::KeySpec> keys(spec->options.begin(), spec->options.end());
  keys.push_back({"type", true, "backend type"});
  repo::MapReader reader(node, top.file(), what, keys, diag);
  if (!reader.valid()) return;
  StoreConfig config;
  config.type = type;
  for (const auto& opt : spec->options) {
    YAML::Node value = reader.Get(opt.key);
    if (!value.IsDefined() || value.IsNull()) continue;
    if (value.IsSequence()) {
      std::string joined;
      for (const auto& item : reader.StringList(opt.key)) {
        if (!joined.empty()) joined += ",";
        joined += item;
      }
      config.options[std::string(opt.key)] = joined;
    } else if (value.IsMap()) {
      // Nested options (spark_conf) are kept as `a=b` pairs joined by ','.
      std::string joined;
      for (const auto& [k, v] : reader.StringMap(opt.key)) {
        if (!joined.empty()) joined += ",";
        joined += k + "=" + v;
      }
      config.options[std::string(opt.key)] = joined;
    } else {
      config.options[std::string(opt.key)] = reader.String(opt.key);
    }
  }
  // Defaults of the built-in section stay unless overridden.
  if (out->type == type) {
    for (const auto& [k, v] : out->options) config.options.emplace(k, v);
  }
  *out = std::move(config);
}

// An integer option from lo to hi; a bad value is reported and leaves *out.
void ReadBoundedInt(repo::MapReader& r, std::string_view key, int64_t lo, int64_t hi,
                    int64_t* out) {
  const std::string text = r.String(key, "");
  if (text.empty()) return;
  int64_t n = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || end != text.data() + text.size() || n < lo || n > hi) {
    r.FieldError(key, "must be an integer from " + std::to_string(lo) + " to " +
                          std::to_string(hi) + ", found `" + text + "`");
    return;
  }
  *out = n;
}

void ReadFeatureServerSection(const YAML::Node& node, const std::string& file,
                              FeatureServerConfig* out, repo::Diagnostics* diag) {
  static constexpr repo::KeySpec kServerKeys[] = {
      {"type", false, "`local`; accepted for Feast compatibility"},
      {"enabled", false, "accepted for Feast compatibility"},
      {"auth_token", false, "bearer token for every endpoint but /health ($LARDER_AUTH_TOKEN)"},
      {"write_token", false, "bearer token for push, write and materialize ($LARDER_WRITE_TOKEN)"},
      {"tls_cert_file", false, "PEM certificate chain; with tls_key_file, serve HTTPS"},
      {"tls_key_file", false, "PEM private key"},
      {"max_request_bytes", false, "largest request body in bytes (default 16777216)"},
      {"max_entity_rows", false, "most entity rows per request (default 10000)"},
      {"read_timeout_ms", false, "longest wait for a whole request, ms (default 30000)"},
  };
  repo::MapReader r(node, file, "section `feature_server`", kServerKeys, diag);
  if (!r.valid()) return;
  out->auth_token = r.String("auth_token", "");
  out->write_token = r.String("write_token", "");
  out->tls_cert_file = r.String("tls_cert_file", "");
  out->tls_key_file = r.String("tls_key_file", "");
  if (out->tls_cert_file.empty() != out->tls_key_file.empty()) {
    r.FieldError(out->tls_cert_file.empty() ? "tls_cert_file" : "tls_key_file",
                 "TLS needs both tls_cert_file and tls_key_file");
  }
  ReadBoundedInt(r, "max_request_bytes", 1024, int64_t{1} << 31, &out->max_request_bytes);
  ReadBoundedInt(r, "max_entity_rows", 1, 10'000'000, &out->max_entity_rows);
  ReadBoundedInt(r, "read_timeout_ms", 10, 3'600'000, &out->read_timeout_ms);
}

}  // namespace

Result<RepoConfig> LoadRepoConfig(const std::string& repo_dir) {
  namespace fs = std::filesystem;
  fs::path path = fs::path(repo_dir) / kConfigFile;
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) {
    return Status::NotFound("no " + std::string(kConfigFile) + " in " + repo_dir +
                            " (is this a feature repo? `larder init DIR` makes one)");
  }
  repo::Diagnostics diag;
  std::string file(kConfigFile);
  std::optional<YAML::Node> root = repo::ParseYamlFile(path.string(), file, &diag);
  RepoConfig config;
  if (root) {
    repo::MapReader top(*root, file, "feature_store.yaml", repo::ConfigKeys(), &diag);
    if (top.valid()) {
      config.project = top.String("project");
      if (!config.project.empty() && !repo::IsIdentifier(config.project)) {
        top.FieldError("project", "`" + config.project +
                                      "` is not a valid name: use letters, digits and underscores");
      }
      YAML::Node registry = top.Get("registry");
      if (registry.IsMap()) {
        static constexpr repo::KeySpec kRegistryKeys[] = {
            {"path", true, "registry file path"},
            {"registry_type", false, "`file` or `sql` (SQLite file); both mean the default"},
            {"cache_ttl_seconds", false, "accepted for Feast compatibility"},
        };
        repo::MapReader r(registry, file, "section `registry`", kRegistryKeys, &diag);
        config.registry = r.String("path", config.registry);
        std::string type = r.String("registry_type", "file");
        if (type != "file" && type != "sql") {
          r.FieldError("registry_type", "unknown registry type `" + type + "` (file or sql)");
        }
      } else {
        config.registry = top.String("registry", config.registry);
      }
      if (config.registry.empty()) top.FieldError("registry", "must not be empty");
      config.provider = top.String("provider", config.provider);
      if (config.provider != "local") {
        top.FieldError("provider", "unknown provider `" + config.provider + "` (local)");
      }
      ReadStoreSection(top, "online_store", &config.online_store, &diag);
      ReadStoreSection(top, "offline_store", &config.offline_store, &diag);
      YAML::Node engine = top.Get("batch_engine");
      if (engine.IsMap()) {
        static constexpr repo::KeySpec kEngineKeys[] = {
            {"type", true, "local or spark"},
            {"partitions", false, "parallel partitions per view when materializing (default 4)"},
        };
        repo::MapReader r(engine, file, "section `batch_engine`", kEngineKeys, &diag);
        config.batch_engine = r.String("type", config.batch_engine);
        std::string partitions = r.String("partitions", "");
        if (!partitions.empty()) {
          int n = 0;
          auto [end, parse_error] =
              std::from_chars(partitions.data(), partitions.data() + partitions.size(), n);
          if (parse_error != std::errc() || end != partitions.data() + partitions.size() || n < 1 ||
              n > 256) {
            r.FieldError("partitions", "must be an integer from 1 to 256, found `" + partitions + "`");
          } else {
            config.materialize_partitions = n;
          }
        }
      } else {
        config.batch_engine = top.String("batch_engine", config.batch_engine);
      }
      bool engine_known = false;
      std::string engines;
      for (auto e : repo::BatchEngines()) {
        engine_known = engine_known || e == config.batch_engine;
        engines += engines.empty() ? "" : ", ";
        engines += e;
      }
      if (!engine_known) {
        top.FieldError("batch_engine",
                       "unknown engine `" + config.batch_engine + "` (" + engines + ")");
      }
      if (YAML::Node server = top.Get("feature_server"); server) {
        ReadFeatureServerSection(server, file, &config.feature_server, &diag);
      }
      if (std::string skew = top.String("push_max_future_skew", ""); !skew.empty()) {
        Result<Duration> d = ParseDuration(skew);
        if (d.ok()) {
          config.push_max_future_skew = *d;
        } else {
          top.FieldError("push_max_future_skew", d.status().message());
        }
      }
      std::string version = top.String("entity_key_serialization_version", "3");
      if (version == "2" || version == "3") {
        config.entity_key_serialization_version = version[0] - '0';
      } else {
        top.FieldError("entity_key_serialization_version",
                       "must be 2 or 3, found `" + version + "`");
      }
    }
  }
  LARDER_RETURN_IF_ERROR(diag.ToStatus("invalid feature_store.yaml in " + repo_dir));
  return config;
}

}  // namespace larder
