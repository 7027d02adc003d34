// Loads feature_store.yaml against the tables in config_keys.cc.
#include <algorithm>
#include <cctype>
#include <charconv>
#include <filesystem>
#include <vector>

#include "larder/config.h"
#include "repo/config_keys.h"
#include "common/names.h"
#include "repo/yaml_reader.h"

namespace larder {
namespace {

constexpr std::string_view kConfigFile = "feature_store.yaml";

// The scheme of a URL such as `s3://bucket/key` ("s3"); empty for a path.
std::string UrlScheme(std::string_view text) {
  const size_t colon = text.find("://");
  if (colon == std::string_view::npos || colon == 0) return "";
  for (size_t i = 0; i < colon; ++i) {
    const char c = text[i];
    const bool ok = std::isalpha(static_cast<unsigned char>(c)) ||
                    (i > 0 && (std::isdigit(static_cast<unsigned char>(c)) || c == '+' ||
                               c == '-' || c == '.'));
    if (!ok) return "";
  }
  return std::string(text.substr(0, colon));
}

// Records an error when `value` of `key` is a URL: Larder would otherwise
// take `s3://b/k` for the local folder `s3:/b/`.
void RefuseUrl(repo::MapReader& r, std::string_view key, const std::string& value,
               std::string_view wanted) {
  const std::string scheme = UrlScheme(value);
  if (scheme.empty()) return;
  r.FieldError(key, "`" + value + "`: " + scheme +
                        ":// locations are not supported yet; give " + std::string(wanted));
}

// Feast's form of the redis store, `redis_type` plus a `connection_string`
// of host:port items and key=value parameters, mapped onto the backend's
// own options (host, port, password, db or cluster_nodes). What the backend
// cannot honour (TLS, sentinels, other redis-py parameters) is refused.
void MapFeastRedisOptions(repo::MapReader& r, StoreConfig* config) {
  auto& opts = config->options;
  const std::string redis_type = opts.contains("redis_type") ? opts["redis_type"] : "";
  opts.erase("redis_type");
  if (!redis_type.empty() && redis_type != "redis" && redis_type != "redis_cluster") {
    r.FieldError("redis_type", "`" + redis_type +
                                   "` is not supported (redis or redis_cluster; Redis Sentinel "
                                   "is not supported yet)");
    return;
  }
  const bool cluster = redis_type == "redis_cluster";
  auto cs = opts.find("connection_string");
  if (cs == opts.end()) {
    if (cluster && !opts.contains("cluster_nodes")) {
      r.FieldError("redis_type", "redis_cluster needs its seed nodes in connection_string or "
                                 "cluster_nodes");
    } else if (redis_type == "redis" && opts.contains("cluster_nodes")) {
      r.FieldError("redis_type", "`redis` (one server) contradicts cluster_nodes; use "
                                 "redis_type: redis_cluster");
    }
    return;
  }
  for (const char* other : {"host", "port", "password", "db", "cluster_nodes"}) {
    if (opts.contains(other)) {
      r.FieldError(other, "cannot be combined with connection_string (give one or the other)");
      return;
    }
  }
  std::string nodes;
  int node_count = 0;
  std::map<std::string, std::string> mapped;
  std::vector<std::string> items;
  for (size_t start = 0; start <= cs->second.size();) {
    const size_t end = std::min(cs->second.find(',', start), cs->second.size());
    std::string item = cs->second.substr(start, end - start);
    item.erase(0, item.find_first_not_of(' '));
    item.erase(item.find_last_not_of(' ') + 1);
    if (!item.empty()) items.push_back(std::move(item));
    start = end + 1;
  }
  for (const std::string& item : items) {
    const size_t eq = item.find('=');
    if (eq == std::string::npos) {
      if (item.find(':') == std::string::npos) {
        r.FieldError("connection_string", "`" + item + "` is not host:port");
        return;
      }
      nodes += (nodes.empty() ? "" : ",") + item;
      ++node_count;
      continue;
    }
    const std::string name = item.substr(0, eq);
    const std::string value = item.substr(eq + 1);
    if (name == "password" || name == "db") {
      mapped[name] = value;
    } else if (name == "ssl" && (value == "false" || value == "False")) {
      // Plain TCP, as without the parameter.
    } else if (name == "ssl") {
      r.FieldError("connection_string", "ssl=" + value +
                                            ": TLS connections to Redis are not supported yet");
      return;
    } else {
      r.FieldError("connection_string",
                   "parameter `" + name +
                       "` is not supported (accepted: host:port items, password=..., db=N, "
                       "ssl=false)");
      return;
    }
  }
  if (node_count == 0) {
    r.FieldError("connection_string", "no host:port given");
    return;
  }
  if (redis_type == "redis" && node_count > 1) {
    r.FieldError("connection_string",
                 "lists " + std::to_string(node_count) +
                     " servers but redis_type is `redis` (one server); use redis_type: "
                     "redis_cluster for a cluster");
    return;
  }
  opts.erase(cs);
  // Without redis_type, several servers mean a cluster, as before.
  if (cluster || node_count > 1) {
    mapped["cluster_nodes"] = nodes;
  } else {
    const size_t colon = nodes.rfind(':');
    mapped["host"] = nodes.substr(0, colon);
    mapped["port"] = nodes.substr(colon + 1);
  }
  opts.merge(mapped);
}

// The spark offline store's options, checked where feature_store.yaml can
// name the line; the store checks them again when it connects.
void CheckSparkOptions(repo::MapReader& r, const StoreConfig& config) {
  const auto& opts = config.options;
  if (auto remote = opts.find("remote");
      remote != opts.end() && !remote->second.starts_with("sc://")) {
    r.FieldError("remote", "`" + remote->second +
                               "` is not a Spark Connect connection string, "
                               "sc://host[:port][/;param=value...]");
  }
  for (const char* key : {"connect_timeout_ms", "query_timeout_ms"}) {
    auto it = opts.find(key);
    if (it == opts.end()) continue;
    int64_t ms = 0;
    auto [end, ec] = std::from_chars(it->second.data(), it->second.data() + it->second.size(), ms);
    if (ec != std::errc() || end != it->second.data() + it->second.size() || ms < 1) {
      r.FieldError(key, "must be a positive number of milliseconds, found `" + it->second + "`");
    }
  }
  if (auto db = opts.find("database"); db != opts.end() && db->second.empty()) {
    r.FieldError("database", "must name a Spark database");
  }
  constexpr const char* kZone = "spark_conf.spark.sql.session.timeZone";
  if (auto zone = opts.find(kZone); zone != opts.end() && zone->second != "UTC") {
    r.FieldError("spark_conf", "spark.sql.session.timeZone: `" + zone->second +
                                   "` is not supported; Larder reads timestamps without a "
                                   "zone as UTC, so its Spark sessions run in UTC");
  }
}

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
  int type_line = repo::LineOf(node);
  for (const auto& kv : node) {
    if (kv.first.IsScalar() && kv.first.Scalar() == "type" && kv.second.IsScalar()) {
      type = kv.second.Scalar();
      type_line = repo::LineOf(kv.second);
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
    diag->Error(top.file(), type_line,
                what + ": field `type`: `" + type + "` is not supported (supported: " + types +
                    ")");
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
    if (opt.key == "spark_conf") {
      // Flattened to spark_conf.<key>: the one option that is a mapping.
      if (!value.IsMap()) {
        reader.FieldError(opt.key, "expected a mapping of Spark settings, e.g. "
                                   "{spark.sql.shuffle.partitions: \"8\"}");
        continue;
      }
      for (const auto& [key, setting] : reader.StringMap(opt.key)) {
        config.options["spark_conf." + key] = setting;
      }
    } else if (value.IsSequence()) {
      std::string joined;
      for (const auto& item : reader.StringList(opt.key)) {
        if (!joined.empty()) joined += ",";
        joined += item;
      }
      config.options[std::string(opt.key)] = joined;
    } else {
      config.options[std::string(opt.key)] = reader.String(opt.key);
    }
  }
  for (std::string_view key : {"path"}) {
    auto it = config.options.find(std::string(key));
    if (it != config.options.end()) RefuseUrl(reader, key, it->second, "a local path");
  }
  if (type == "redis") MapFeastRedisOptions(reader, &config);
  if (type == "spark") CheckSparkOptions(reader, config);
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
      {"type", false, "`local` (the only one; for Feast compatibility)"},
      {"enabled", false, "`true` (for Feast compatibility; `larder serve` always serves)"},
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
  if (std::string type = r.String("type", "local"); type != "local") {
    r.FieldError("type", "`" + type + "` is not supported (local)");
  }
  if (r.Bool("enabled") == false) {
    r.FieldError("enabled", "`false` is not supported: `larder serve` always serves; remove "
                            "the key");
  }
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

// `registry:` as a path, or a mapping {path, registry_type,
// cache_ttl_seconds}.
void ReadRegistry(repo::MapReader& top, RepoConfig* config, repo::Diagnostics* diag) {
  YAML::Node registry = top.Get("registry");
  if (!registry.IsMap()) {
    config->registry = top.String("registry", config->registry);
    if (config->registry.empty()) top.FieldError("registry", "must not be empty");
    RefuseUrl(top, "registry", config->registry, "the path of a local SQLite file");
    return;
  }
  static constexpr repo::KeySpec kRegistryKeys[] = {
      {"path", true, "registry file path"},
      {"registry_type", false,
       "`file` (default), or `sql` with a `sqlite:///PATH` URL; both are a SQLite file"},
      {"cache_ttl_seconds", false,
       "how often a long-running process (larder serve) looks for a newer apply, in seconds; "
       "0 = never after the first read (default 1)"},
  };
  repo::MapReader r(registry, top.file(), "section `registry`", kRegistryKeys, diag);
  config->registry = r.String("path", config->registry);
  if (config->registry.empty()) r.FieldError("path", "must not be empty");
  const std::string type = r.String("registry_type", "file");
  constexpr std::string_view kSqlite = "sqlite:///";
  if (type == "sql" && config->registry.starts_with(kSqlite)) {
    // SQLAlchemy's form: sqlite:///relative/path, sqlite:////absolute/path.
    config->registry.erase(0, kSqlite.size());
  } else if (type == "sql") {
    // Only the scheme is echoed: a database URL may hold a password.
    const std::string scheme = UrlScheme(config->registry);
    r.FieldError("registry_type",
                 "`sql` takes a `sqlite:///PATH` URL; " +
                     (scheme.empty() ? std::string("a plain path") : scheme + ":// databases") +
                     " are not supported yet (use registry_type: file with a local path)");
    return;
  } else if (type != "file") {
    r.FieldError("registry_type", "unknown registry type `" + type + "` (file or sql)");
  }
  RefuseUrl(r, "path", config->registry, "the path of a local SQLite file");
  int64_t seconds = -1;
  ReadBoundedInt(r, "cache_ttl_seconds", 0, int64_t{365} * 24 * 3600, &seconds);
  if (seconds >= 0) config->registry_cache_ttl_seconds = seconds;
}

// `batch_engine:` as a name, or a mapping {type, partitions}. Only the local
// engine exists; any other name is refused rather than run locally.
void ReadBatchEngine(repo::MapReader& top, RepoConfig* config, repo::Diagnostics* diag) {
  YAML::Node engine = top.Get("batch_engine");
  std::string type = config->batch_engine;
  std::optional<repo::MapReader> nested;
  if (engine.IsMap()) {
    static constexpr repo::KeySpec kEngineKeys[] = {
        {"type", true, "local, or spark.engine with the spark offline store"},
        {"partitions", false, "parallel partitions per view when materializing (default 4)"},
    };
    nested.emplace(engine, top.file(), "section `batch_engine`", kEngineKeys, diag);
    type = nested->String("type", type);
    int64_t partitions = config->materialize_partitions;
    ReadBoundedInt(*nested, "partitions", 1, 256, &partitions);
    config->materialize_partitions = static_cast<int>(partitions);
  } else {
    type = top.String("batch_engine", type);
  }
  const auto engines = repo::BatchEngines();
  std::string message;
  if (std::find(engines.begin(), engines.end(), type) == engines.end()) {
    message = "`" + type + "` is not supported (local, or spark.engine with the spark "
              "offline store)";
  } else if (type == "spark.engine" && config->offline_store.type != "spark") {
    // Spark computes the rows to materialize only where it holds them.
    message = "`spark.engine` materializes through the spark offline store, and this "
              "repo's is `" + config->offline_store.type +
              "` (set offline_store: {type: spark, ...}, or batch_engine: local)";
  } else {
    config->batch_engine = type;
    return;
  }
  if (nested) {
    nested->FieldError("type", message);
  } else {
    top.FieldError("batch_engine", message);
  }
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
      if (!config.project.empty() && !IsIdentifier(config.project)) {
        top.FieldError("project", "`" + config.project +
                                      "` is not a valid name: use letters, digits and underscores");
      }
      ReadRegistry(top, &config, &diag);
      config.provider = top.String("provider", config.provider);
      if (config.provider != "local") {
        top.FieldError("provider", "unknown provider `" + config.provider + "` (local)");
      }
      ReadStoreSection(top, "online_store", &config.online_store, &diag);
      ReadStoreSection(top, "offline_store", &config.offline_store, &diag);
      ReadBatchEngine(top, &config, &diag);
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
      // Larder's key encoding is its own (docs/online-store.md); 3 names
      // Feast's current format and changes nothing, 2 would be ignored.
      std::string version = top.String("entity_key_serialization_version", "3");
      if (version != "3") {
        top.FieldError("entity_key_serialization_version",
                       "must be 3, found `" + version + "` (Larder does not support Feast's "
                       "older entity key formats)");
      }
    }
  }
  LARDER_RETURN_IF_ERROR(diag.ToStatus("invalid feature_store.yaml in " + repo_dir));
  return config;
}

}  // namespace larder
