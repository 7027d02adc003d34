// feature_store.yaml: a repo's configuration.
//
// The keys are Feast's, so a Feast user's file reads the same. Every key is
// declared once, in the table in src/repo/config_keys.cc, which also produces
// `larder config-keys` help. An unknown key is an error that names it.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "larder/status.h"
#include "larder/types.h"

namespace larder {

// A store section such as `online_store:`: its `type` plus backend options.
// Options are kept as text; each backend validates its own.
struct StoreConfig {
  std::string type;
  std::map<std::string, std::string> options;
};

// The `feature_server:` section: settings of `larder serve`.
struct FeatureServerConfig {
  // Bearer token every endpoint but /health requires; empty = none.
  // $LARDER_AUTH_TOKEN, when set, replaces it.
  std::string auth_token;
  // Bearer token the write endpoints (push, write-to-online-store,
  // materialize) require instead of auth_token; empty = auth_token's rule.
  // The write token also grants reads. $LARDER_WRITE_TOKEN replaces it.
  std::string write_token;
  // PEM certificate chain and private key: both set = HTTPS only. Relative
  // to the repo root unless absolute. Default: plain HTTP.
  std::string tls_cert_file;
  std::string tls_key_file;
  // Largest request body, in bytes. Default: 16 MiB.
  int64_t max_request_bytes = 16 << 20;
  // Most entity rows in one get-online-features request, and rows in one
  // push or write. Default: 10,000.
  int64_t max_entity_rows = 10'000;
  // Longest wait for a whole request on a connection, in ms. Default: 30 s.
  int64_t read_timeout_ms = 30'000;
};

struct RepoConfig {
  // REQUIRES: non-empty; letters, digits and underscores.
  std::string project;
  // Path of the registry file, relative to the repo root unless absolute.
  // Default: "data/registry.db".
  std::string registry = "data/registry.db";
  // registry.cache_ttl_seconds: how long a long-running process (the
  // feature server) serves its cached definitions before it looks for a
  // newer apply; 0 = never after the first read (Feast's meaning). Unset:
  // FeatureStoreOptions::registry_refresh_interval's default, 1 s.
  std::optional<int64_t> registry_cache_ttl_seconds;
  // Default: "local", the only provider.
  std::string provider = "local";
  // Default: type "rocksdb", path "data/online_store".
  StoreConfig online_store{"rocksdb", {{"path", "data/online_store"}}};
  // Default: type "duckdb", path "data/offline_store.duckdb".
  StoreConfig offline_store{"duckdb", {{"path", "data/offline_store.duckdb"}}};
  // `batch_engine: local`, or a mapping `{type: local, partitions: N}`.
  // Default and only value: "local" (others are refused at load).
  std::string batch_engine = "local";
  // batch_engine.partitions: parallel partitions per view when
  // materializing, 1..256. Default: 4.
  int materialize_partitions = 4;
  // Feast's entity key format version; only 3 is accepted. Larder's own key
  // encoding (docs/online-store.md) does not depend on it.
  int entity_key_serialization_version = 3;
  FeatureServerConfig feature_server;
  // How far past now a pushed or written event time may be; later ones are
  // refused (they would win every conditional write and pin their key).
  // `push_max_future_skew: 1d`. Default: 1 day.
  Duration push_max_future_skew{Duration::kDay};
};

// Reads `<repo_dir>/feature_store.yaml`. Errors name the file, line and key.
Result<RepoConfig> LoadRepoConfig(const std::string& repo_dir);

}  // namespace larder
