#include "offline_stores/spark_offline_store.h"

#include <cctype>
#include <charconv>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <utility>

#include "materialize/materializer.h"
#include "offline/source_relation.h"
#include "offline/spark/spark_historical.h"
#include "offline/spark/spark_materialize.h"
#include "offline/spark/spark_sql.h"
#include "offline/spark/spark_types.h"
#include "offline_stores/offline_stores.h"
#include "transform/spark_model_runner.h"

namespace larder::offline_stores {
namespace {

constexpr std::string_view kConfPrefix = "spark_conf.";
constexpr const char* kTimeZoneKey = "spark.sql.session.timeZone";

Result<std::chrono::milliseconds> Millis(const StoreConfig& config, const std::string& key,
                                         int64_t fallback) {
  auto it = config.options.find(key);
  if (it == config.options.end()) return std::chrono::milliseconds(fallback);
  int64_t ms = 0;
  const std::string& text = it->second;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), ms);
  if (ec != std::errc() || end != text.data() + text.size() || ms < 1) {
    return Status::InvalidArgument("offline_store." + key +
                                   ": must be a positive number of milliseconds, found `" + text +
                                   "`");
  }
  return std::chrono::milliseconds(ms);
}

std::string ToLower(std::string text) {
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

// What the spark store does not do yet, as the error of the operation.
Status NotOnSparkYet(const std::string& operation) {
  return Status::InvalidArgument("the spark offline store does not " + operation +
                                 " yet (docs/offline-store.md#spark)");
}

}  // namespace

SparkOfflineStore::SparkOfflineStore(OfflineStoreOptions options) : options_(std::move(options)) {}

Result<std::shared_ptr<offline::spark::SparkConnectClient>> SparkOfflineStore::Client() {
  if (client_ != nullptr) return client_;
  // A store that could not connect says so again at once, rather than
  // waiting out connect_timeout_ms for every source of a plan.
  if (!connect_error_.ok()) return connect_error_;
  Result<std::shared_ptr<offline::spark::SparkConnectClient>> client = Connect();
  if (!client.ok()) {
    connect_error_ = client.status();
    return connect_error_;
  }
  client_ = *client;
  return client_;
}

Result<std::shared_ptr<offline::spark::SparkConnectClient>> SparkOfflineStore::Connect() const {
  const StoreConfig& config = options_.config;
  offline::spark::SparkConnectOptions connect;
  auto remote = config.options.find("remote");
  if (remote != config.options.end() && !remote->second.empty()) {
    connect.remote = remote->second;
  } else if (const char* env = std::getenv("SPARK_REMOTE"); env != nullptr && *env != '\0') {
    connect.remote = env;  // as pyspark reads it
  } else {
    return Status::InvalidArgument(
        "offline_store.remote: not set, and neither is $SPARK_REMOTE; give the Spark Connect "
        "server, e.g. sc://127.0.0.1:15002 (scripts/spark.sh server runs one locally)");
  }
  std::map<std::string, std::string> conf;
  for (const auto& [key, value] : config.options) {
    if (key.starts_with(kConfPrefix)) {
      conf[key.substr(kConfPrefix.size())] = value;
    } else if (key != "remote" && key != "connect_timeout_ms" && key != "query_timeout_ms" &&
               key != "database") {
      // Nothing would read it.
      return Status::InvalidArgument("offline_store." + key +
                                     ": not an option of the spark offline store (remote, "
                                     "spark_conf, database, connect_timeout_ms, "
                                     "query_timeout_ms)");
    }
  }
  if (auto tz = conf.find(kTimeZoneKey); tz != conf.end() && tz->second != "UTC") {
    return Status::InvalidArgument(
        "offline_store.spark_conf." + std::string(kTimeZoneKey) + ": `" + tz->second +
        "` is not supported; Larder reads timestamps without a zone as UTC, so its Spark "
        "sessions run in UTC");
  }
  conf.erase(kTimeZoneKey);
  connect.conf[kTimeZoneKey] = "UTC";
  LARDER_ASSIGN_OR_RETURN(connect.connect_timeout, Millis(config, "connect_timeout_ms", 10'000));
  LARDER_ASSIGN_OR_RETURN(connect.query_timeout, Millis(config, "query_timeout_ms", 600'000));
  LARDER_ASSIGN_OR_RETURN(std::unique_ptr<offline::spark::SparkConnectClient> client,
                          offline::spark::SparkConnectClient::Connect(connect));
  // One setting at a time: a static one (the catalog, the UI) cannot be set
  // in a session, and is accepted when the server already runs with it.
  for (const auto& [key, value] : conf) {
    Status set = client->SetConf({{key, value}});
    if (set.ok()) continue;
    if (set.message().find("[CANNOT_MODIFY_") == std::string::npos) {  // _CONFIG, _STATIC_CONFIG
      return set.WithContext("offline_store.spark_conf." + key);
    }
    Result<std::string> actual = client->GetConf(key);
    if (actual.ok() && ToLower(*actual) == ToLower(value)) continue;
    return Status::InvalidArgument(
        "offline_store.spark_conf." + key + ": `" + value +
        "` is a static setting of the Spark server, which a session cannot change, and the "
        "server at " + client->endpoint() + " runs with " +
        (actual.ok() ? "`" + *actual + "`" : std::string("no value for it")) +
        "; start the server with --conf " + key + "=" + value);
  }
  return std::shared_ptr<offline::spark::SparkConnectClient>(std::move(client));
}

Result<std::vector<ColumnInfo>> SparkOfflineStore::SourceSchema(const DataSource& source,
                                                                const std::string& abs_path) {
  LARDER_ASSIGN_OR_RETURN(auto client, Client());
  FeatureRepo here;
  here.root = options_.repo_root;
  here.config.project = options_.project;  // a model source's table, in ModelDatabase
  here.config.offline_store = options_.config;
  DataSource located = source;
  if (source.kind == DataSourceKind::kFile) located.path = abs_path;
  LARDER_ASSIGN_OR_RETURN(std::string relation,
                          offline::spark::RawSourceRelation(here, located));
  Result<offline::spark::SparkColumns> columns = client->Schema("SELECT * FROM " + relation);
  if (!columns.ok()) {
    return columns.status().WithContext(std::string(DataSourceKindName(source.kind)) +
                                        " source '" + source.name + "'");
  }
  std::vector<ColumnInfo> out;
  for (const auto& [name, type] : *columns) {
    out.push_back({name, offline::spark::CanonicalColumnType(type)});
  }
  return out;
}

const FeatureRepo& SparkOfflineStore::Here(const FeatureRepo& repo,
                                           std::optional<FeatureRepo>& copy) const {
  return RepoForStore(repo, options_, copy);
}

Result<RunReport> SparkOfflineStore::RunModels(const FeatureRepo& repo, const RunOptions& options) {
  LARDER_ASSIGN_OR_RETURN(auto client, Client());
  const std::string state = StatePath();
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(state).parent_path(), ec);
  LARDER_ASSIGN_OR_RETURN(std::unique_ptr<duckdb::Connection> history,
                          duckdb::Connection::Open(state));
  std::optional<FeatureRepo> copy;
  return transform::RunSparkModels(Here(repo, copy), *client, *history, options);
}

Result<TestReport> SparkOfflineStore::TestModels(const FeatureRepo& repo,
                                                 const TestOptions& options) {
  LARDER_ASSIGN_OR_RETURN(auto client, Client());
  std::optional<FeatureRepo> copy;
  return transform::RunSparkDataTests(Here(repo, copy), *client, options);
}

Result<std::unique_ptr<HistoricalRetrievalJob>> SparkOfflineStore::GetHistoricalFeatures(
    const FeatureRepo& repo, const HistoricalFeaturesRequest& request,
    const HistoricalRetrievalOptions& options) {
  LARDER_ASSIGN_OR_RETURN(auto client, Client());
  // Model sources read the store's database (offline_store.database).
  std::optional<FeatureRepo> copy;
  return offline::spark::PrepareSparkHistoricalRetrieval(Here(repo, copy), request, options,
                                                         client);
}

Result<MaterializeReport> SparkOfflineStore::Materialize(const FeatureRepo& repo,
                                                         OnlineStore& online,
                                                         std::optional<TimestampMicros> start,
                                                         TimestampMicros end,
                                                         const MaterializeOptions& options) {
  LARDER_ASSIGN_OR_RETURN(auto client, Client());
  const int partitions =
      options.partitions > 0 ? options.partitions : repo.config.materialize_partitions;
  // The materializer keeps the watermarks in the state file (StatePath);
  // model sources read the store's database.
  std::optional<FeatureRepo> copy;
  const FeatureRepo& here = Here(repo, copy);
  auto import = [&](duckdb::Connection& conn, const FeatureView& view,
                    materialize::ImportedRows rows, TimestampMicros from, TimestampMicros to,
                    const std::string& table) {
    if (rows == materialize::ImportedRows::kEvents) {
      return offline::spark::ImportEvents(client, here, view, from, to, conn, table);
    }
    return offline::spark::ImportLatestRows(client, here, view, from, to, partitions, conn, table);
  };
  return materialize::Materialize(here, online, start, end, options, import);
}

Status SparkOfflineStore::ForgetWatermarks(const std::vector<std::string>* views) {
  return materialize::ForgetWatermarks(StatePath(), options_.project, views);
}

std::string SparkOfflineStore::StatePath() const {
  FeatureRepo here;
  here.root = options_.repo_root;
  return offline::OfflineDatabasePath(here);
}

Result<OfflineAppend> SparkOfflineStore::PushFile(const FeatureRepo&, const std::string&,
                                                  const std::string&, TimestampMicros) {
  return NotOnSparkYet("take offline pushes");
}

Result<OfflineAppend> SparkOfflineStore::PushRows(const FeatureRepo&, const std::string&,
                                                  const ColumnTable&, TimestampMicros) {
  return NotOnSparkYet("take offline pushes");
}

}  // namespace larder::offline_stores
