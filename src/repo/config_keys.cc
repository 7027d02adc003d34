#include "repo/config_keys.h"

#include <array>

namespace larder::repo {
namespace {

constexpr std::array<KeySpec, 9> kConfigKeys{{
    {"project", true, "project name: letters, digits and underscores"},
    {"registry", false,
     "registry file path, or a mapping with `path` (default data/registry.db)"},
    {"provider", false, "deployment provider; `local` (default)"},
    {"online_store", false,
     "online store: `type` (rocksdb, redis, dynamodb) plus its options "
     "(default rocksdb at data/online_store)"},
    {"offline_store", false,
     "offline store: `type` (duckdb, spark) plus its options (default duckdb "
     "at data/offline_store.duckdb)"},
    {"batch_engine", false,
     "engine that runs materialization: local, or spark.engine with the spark offline store; "
     "or a mapping with `type` and `partitions` (parallel partitions per view, default 4)"},
    {"entity_key_serialization_version", false,
     "3 (Feast's current entity key format; the only value accepted, and it does not change "
     "Larder's own key encoding)"},
    {"feature_server", false,
     "settings of `larder serve`: auth_token, write_token, tls_cert_file, tls_key_file, "
     "max_request_bytes, max_entity_rows, read_timeout_ms"},
    {"push_max_future_skew", false,
     "how far past now a pushed event time may be, e.g. 1d, 6h (default 1d); later ones are "
     "refused"},
}};

constexpr std::array<KeySpec, 4> kRocksDbOptions{{
    {"path", false, "database directory (default data/online_store)"},
    {"block_cache_mb", false, "block cache size in MiB (default 256)"},
    {"record_cache_mb", false, "in-memory cache of hot records for reads, MiB; 0 = off (default 256)"},
    {"bloom_bits_per_key", false, "bloom filter bits per key (default 10)"},
}};
constexpr std::array<KeySpec, 7> kRedisOptions{{
    {"redis_type", false,
     "Feast's `redis` (one server) or `redis_cluster` (connection_string lists seed nodes)"},
    {"connection_string", false,
     "Feast style host:port[,host:port...][,password=...][,db=N][,ssl=false]"},
    {"host", false, "server host (default 127.0.0.1)"},
    {"port", false, "server port (default 6379)"},
    {"password", false, "AUTH password"},
    {"db", false, "database number (default 0)"},
    {"cluster_nodes", false, "list of host:port seed nodes; enables cluster mode"},
}};
constexpr std::array<KeySpec, 7> kDynamoDbOptions{{
    {"region", false, "AWS region (default $AWS_REGION, $AWS_DEFAULT_REGION, us-east-1)"},
    {"endpoint_url", false,
     "http(s):// endpoint, e.g. http://127.0.0.1:4567 (default https://dynamodb.<region>."
     "amazonaws.com; $AWS_CA_BUNDLE adds trusted CAs)"},
    {"table_name_template", false, "table name pattern (default {project}.{table_name})"},
    {"batch_size", false, "keys per BatchGetItem, 1..100 (default 100)"},
    {"concurrency", false, "parallel requests per write or read, 1..64 (default 4)"},
    {"max_retries", false, "retries of throttled, 5xx or failed requests, 0..20 (default 8)"},
    {"timeout_ms", false, "connect and read timeout per request in ms (default 30000)"},
}};
constexpr std::array<KeySpec, 1> kDuckDbOptions{{
    {"path", false, "database file holding model outputs (default data/offline_store.duckdb)"},
}};
constexpr std::array<KeySpec, 5> kSparkOptions{{
    {"remote", false,
     "Spark Connect server, sc://host:port (default $SPARK_REMOTE; scripts/spark.sh server "
     "runs one locally)"},
    {"spark_conf", false,
     "mapping of Spark settings for Larder's sessions; static ones must match the server's"},
    {"database", false, "Spark database that model tables are built in (default larder_<project>)"},
    {"connect_timeout_ms", false, "longest wait to reach the server, ms (default 10000)"},
    {"query_timeout_ms", false, "longest wait for one query, ms (default 600000)"},
}};
const std::array<StoreTypeSpec, 5> kStoreTypes{{
    {"online_store", "rocksdb", "embedded RocksDB (default)", kRocksDbOptions},
    {"online_store", "redis", "Redis server or cluster", kRedisOptions},
    {"online_store", "dynamodb", "Amazon DynamoDB or a compatible server", kDynamoDbOptions},
    {"offline_store", "duckdb", "embedded DuckDB (default)", kDuckDbOptions},
    {"offline_store", "spark", "Apache Spark over Spark Connect (docs/spark.md)", kSparkOptions},
}};

constexpr std::array<std::string_view, 2> kBatchEngines{"local", "spark.engine"};

}  // namespace

std::span<const KeySpec> ConfigKeys() { return kConfigKeys; }
std::span<const StoreTypeSpec> StoreTypes() { return kStoreTypes; }
std::span<const std::string_view> BatchEngines() { return kBatchEngines; }

}  // namespace larder::repo
