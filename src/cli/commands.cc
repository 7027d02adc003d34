// The table of `larder` commands: the one place a command or flag is
// declared. Parsing and help text come from it (run.cc).
#include <array>

#include "cli/command.h"
#include "cli/handlers.h"

namespace larder::cli {
namespace {

constexpr ArgSpec kNameArg[] = {{"NAME", "the object's name"}};
constexpr ArgSpec kDirArg[] = {{"DIR", "directory to create"}};

constexpr FlagSpec kInitFlags[] = {
    {"--template", "NAME", "`minimal`, or `book_recs` for the book-recommendation example",
     "minimal"},
};
constexpr FlagSpec kApplyFlags[] = {
    {"--skip-source-validation", "", "do not check file sources against their files", ""},
    {"--lock-timeout", "SECONDS", "how long to wait for another apply", "10"},
};
constexpr FlagSpec kPlanFlags[] = {
    {"--skip-source-validation", "", "do not check file sources against their files", ""},
};
constexpr FlagSpec kRunFlags[] = {
    {"--select", "NAMES",
     "models to build, comma- or space-separated; NAME builds only NAME, +NAME adds its "
     "upstream, NAME+ its downstream",
     "every model"},
    {"--full-refresh", "", "rebuild incremental models from scratch", ""},
};
constexpr FlagSpec kTestFlags[] = {
    {"--select", "NAMES", "models whose data tests to run, as for `run`", "every model"},
};
constexpr FlagSpec kDemoDataFlags[] = {
    {"--scale", "S", "data size; 1.0 is ~92k users, 139k books, 1.03M ratings", "1.0"},
    {"--out", "DIR", "directory for users/books/ratings.parquet", "data/raw in the repo"},
    {"--seed", "N", "random seed; the same seed, scale and end give the same data", "42"},
    {"--end", "TIME", "end of the timeline (ISO 8601 UTC); ratings cover the 3 years before it",
     "the start of the current UTC day"},
};

constexpr ArgSpec kPushArgs[] = {{"SOURCE", "the push source"},
                                 {"FILE", "rows to push (.parquet or .csv)"}};
constexpr FlagSpec kPushFlags[] = {
    {"--to", "TARGET",
     "where the rows go: offline (the push source's history), online (the views reading it), "
     "or online_and_offline (offline first; retrying a failed push is safe)",
     "online"},
};

constexpr FlagSpec kHistoricalFlags[] = {
    {"--entities", "FILE", "entity rows (.parquet or .csv): join keys and event_timestamp", ""},
    {"--entity-sql", "SQL",
     "or: one SELECT giving the entity rows, run on the offline store opened read-only", ""},
    {"--features", "VIEW:FEATURE,...", "the features to fetch, in output order", ""},
    {"--feature-service", "NAME", "or: every feature of a feature service", ""},
    {"--full-feature-names", "", "name columns view__feature instead of feature", ""},
    {"--output", "FILE", "where to write (.parquet or .csv)", ""},
    {"--memory-limit", "SIZE", "DuckDB memory before spilling to disk", "1GB"},
};

constexpr ArgSpec kMaterializeArgs[] = {{"START", "window start, ISO 8601 UTC (inclusive)"},
                                        {"END", "window end, ISO 8601 UTC (exclusive)"}};
constexpr ArgSpec kMaterializeIncrementalArgs[] = {
    {"END", "window end, ISO 8601 UTC (exclusive); each view starts at its watermark"}};
constexpr FlagSpec kMaterializeFlags[] = {
    {"--views", "NAMES", "feature views to materialize, comma-separated", "every online view"},
    {"--partitions", "N", "parallel partitions per view (by hash of the join keys)",
     "batch_engine.partitions, else 4"},
};
constexpr FlagSpec kScheduleFlags[] = {
    {"--select", "NAMES", "scheduled views or models to run (and what they wait for)",
     "every scheduled task"},
    {"--concurrency", "N", "tasks run at once", "2"},
    {"--once", "", "run the intervals due now (catching up), then exit", ""},
};
constexpr FlagSpec kBackfillFlags[] = {
    {"--start", "TIME", "the range's start, ISO 8601 UTC: intervals ending after it run", ""},
    {"--end", "TIME", "the range's end, ISO 8601 UTC: intervals ending at or before it run", ""},
    {"--select", "NAMES", "scheduled views or models to run (and what they wait for)",
     "every scheduled task"},
    {"--parallel", "N", "tasks run at once", "2"},
};
constexpr FlagSpec kRunsFlags[] = {
    {"--view", "NAME", "only this feature view's runs", ""},
    {"--model", "NAME", "only this model's runs", ""},
    {"--task", "TASK", "only this task's runs (view:NAME or model:NAME)", ""},
    {"--status", "STATUS",
     "only runs in this state: running, success, up_for_retry, failed, upstream_failed, "
     "abandoned",
     ""},
    {"--failed", "", "only failed runs, with their errors", ""},
    {"--since", "TIME", "only intervals ending at or after TIME (ISO 8601 UTC)", ""},
    {"--until", "TIME", "only intervals ending before TIME (ISO 8601 UTC)", ""},
    {"--limit", "N", "the newest N runs; 0 for all", "50"},
};
constexpr FlagSpec kAirflowDagFlags[] = {
    {"--out", "DIR",
     "directory for the DAG files (created); this project's stale generated files there are "
     "removed",
     ""},
    {"--select", "NAMES", "scheduled views or models to export (and what they wait for)",
     "every scheduled task"},
    {"--larder", "PATH", "the larder binary the DAGs' tasks run (a bare name: from PATH)",
     "this binary's absolute path"},
    {"--start-date", "TIME",
     "the DAGs' start_date, ISO 8601 UTC: scheduled runs cover intervals from it on (backfill "
     "earlier ones with `airflow backfill create`)",
     "the start of the current UTC day"},
};
constexpr FlagSpec kOnlineFlags[] = {
    {"--features", "VIEW:FEATURE,...", "the features to read, in output order", ""},
    {"--feature-service", "NAME", "or: every feature of a feature service", ""},
    {"--entity", "KEY=VALUE...", "a join key of the entity row; repeat for each key", ""},
    {"--full-feature-names", "", "name features view__feature instead of feature", ""},
    {"--now", "TIME", "the time ttl is judged against (ISO 8601 UTC)", "the system clock"},
};

constexpr FlagSpec kOnlineDeleteFlags[] = {
    {"--entity", "KEY=VALUE...", "a join key of the entity row; repeat for each key", ""},
    {"--views", "NAMES", "feature views to delete from, comma-separated",
     "every online view with exactly these join keys"},
};

constexpr FlagSpec kServeFlags[] = {
    {"--host", "ADDRESS", "IP address to listen on", "127.0.0.1"},
    {"--port", "PORT", "port to listen on; 0 picks a free one", "6566"},
    {"--workers", "N", "worker threads", "one per core"},
    {"--max-connections", "N",
     "connections open at once; at the cap an idle one is closed, else the new one",
     "half of ulimit -n"},
    {"--max-inflight-bytes", "BYTES",
     "memory for request bodies being read and parsed, all at once; over it, 503",
     "max(128 MiB, 4 x max_request_bytes)"},
    {"--window-value-cache-mb", "MB",
     "aggregation window values kept for reads of unchanged states within an interval; 0 "
     "evaluates every read",
     "64"},
    {"--stream", "", "also consume the stream sources, as `larder stream` (metrics in /metrics)",
     ""},
    {"--stream-sources", "NAMES", "with --stream: the stream sources, comma-separated",
     "those that online views read"},
    {"--poll-ms", "MS", "with --stream: wait after a pass that found no record", "200"},
    {"--records-per-call", "N",
     "with --stream: records per GetRecords call, 1..10000 (kafka: per pass, 1..100000)",
     "10000"},
    {"--consumer-id", "ID", "with --stream: kafka: this consumer's static id in its group",
     "none"},
    {"--schedule", "", "also run the scheduled views and models, as `larder schedule`", ""},
    {"--concurrency", "N", "with --schedule: scheduled tasks run at once", "2"},
};

constexpr FlagSpec kStreamFlags[] = {
    {"--sources", "NAMES", "stream sources to consume, comma-separated",
     "those that online views read"},
    {"--views", "NAMES",
     "or the sources of these feature views (name every online view of those sources)", ""},
    {"--shard-index", "I",
     "kinesis: this consumer's share of the shards, those whose id hashes to I (kafka: the group "
     "shares partitions)",
     "0"},
    {"--shard-count", "N", "consumers sharing the shards", "1"},
    {"--consumer-id", "ID",
     "kafka: this consumer's static id in its group, so a restart takes its partitions back at "
     "once",
     "none (a dynamic member)"},
    {"--until-idle", "", "stop once every shard is caught up (a replay, a test)", ""},
    {"--records-per-call", "N",
     "records per GetRecords call, 1..10000 (kafka: records per pass, 1..100000)", "10000"},
    {"--poll-ms", "MS", "wait after a pass that found no record (kafka: wait for one)", "200"},
    {"--metrics-port", "PORT", "serve GET /metrics (Prometheus) on this port; 0 picks one", "none"},
    {"--metrics-host", "ADDRESS", "IP address of the metrics port", "127.0.0.1"},
};

constexpr FlagSpec kDemoStreamFlags[] = {
    {"--source", "NAME", "the kinesis or kafka source whose stream or topic gets its rows",
     "the repo's only one"},
    {"--rate", "N", "records per second, 1..100000", "1000"},
    {"--limit", "K", "send only the K latest rows (in event-time order); 0 only creates the stream",
     "every row"},
    {"--seconds", "S", "stop after S seconds", "when every record is sent"},
    {"--restamp-to-now", "",
     "move every event time by one shift so that the last record is 1 s before now: new "
     "events, as a live stream would bring",
     ""},
    {"--late-fraction", "F", "this share of records is sent after up to 1,000 later ones", "0"},
    {"--duplicate-fraction", "F", "this share of records is sent twice, the copy up to 1,000 later",
     "0"},
    {"--shards", "K", "shards (kafka: partitions) of the stream when it is created (1..100)",
     "2"},
    {"--seed", "N", "random seed of the late and duplicate records", "42"},
};

const std::array<CommandSpec, 30> kCommands{{
    {"init", "Create a feature repo in DIR", kDirArg, kInitFlags, InitCommand},
    {"plan", "Show what `apply` would create, update and delete", {}, kPlanFlags, PlanCommand},
    {"apply", "Register the repo's definitions, all or none", {}, kApplyFlags, ApplyCommand},
    {"teardown", "Remove the project: registry, online data, watermarks", {}, {},
     TeardownCommand},
    {"entities list", "List registered entities", {}, {}, EntitiesListCommand},
    {"data-sources list", "List registered data sources", {}, {}, DataSourcesListCommand},
    {"models list", "List registered SQL models", {}, {}, ModelsListCommand},
    {"feature-views list", "List registered feature views", {}, {}, FeatureViewsListCommand},
    {"feature-views describe", "Show a registered feature view", kNameArg, {},
     FeatureViewsDescribeCommand},
    {"feature-services list", "List registered feature services", {}, {},
     FeatureServicesListCommand},
    {"feature-services describe", "Show a registered feature service", kNameArg, {},
     FeatureServicesDescribeCommand},
    {"registry-dump", "Print the registered project as JSON", {}, {}, RegistryDumpCommand},
    {"historical", "Write point-in-time correct training data for entity rows", {},
     kHistoricalFlags, HistoricalCommand},
    {"run", "Build the SQL models in models/ into the offline store, in dependency order", {},
     kRunFlags, RunCommand},
    {"test", "Run the data tests of the SQL models", {}, kTestFlags, TestCommand},
    {"push", "Push rows to a push source's views online, its history offline, or both",
     kPushArgs, kPushFlags, PushCommand},
    {"materialize", "Write the latest values in [START, END) of the online views online",
     kMaterializeArgs, kMaterializeFlags, MaterializeCommand},
    {"materialize-incremental", "Materialize each online view from its watermark up to END",
     kMaterializeIncrementalArgs, kMaterializeFlags, MaterializeIncrementalCommand},
    {"online", "Print online feature values of an entity row as Feast's JSON", {}, kOnlineFlags,
     OnlineCommand},
    {"online-delete",
     "Delete an entity row's online records (a later write or materialize restores them)", {},
     kOnlineDeleteFlags, OnlineDeleteCommand},
    {"serve", "Serve online features over HTTP, as Feast's feature server does", {},
     kServeFlags, ServeCommand},
    {"stream", "Consume the kinesis and kafka sources into the online and offline stores", {},
     kStreamFlags, StreamCommand},
    {"schedule",
     "Run the scheduled views and models at their batch_schedule, with retries and history", {},
     kScheduleFlags, ScheduleCommand},
    {"backfill", "Run the scheduled tasks over a past range, interval by interval (resumable)",
     {}, kBackfillFlags, BackfillCommand},
    {"runs", "List the scheduler's and backfills' runs", {}, kRunsFlags, RunsCommand},
    {"airflow-dag",
     "Write Airflow DAG files running the registered scheduled tasks, one per schedule", {},
     kAirflowDagFlags, AirflowDagCommand},
    {"demo-data", "Generate the book-recommendation example data", {}, kDemoDataFlags,
     DemoDataCommand},
    {"demo-stream",
     "Replay a stream source's batch rows (the example's ratings) into its stream, in time order",
     {}, kDemoStreamFlags, DemoStreamCommand},
    {"repo-format", "Print every accepted key of feature_store.yaml and definition files", {},
     {}, RepoFormatCommand},
    {"version", "Print Larder's version (also --version)", {}, {}, VersionCommand},
}};

}  // namespace

std::span<const CommandSpec> Commands() { return kCommands; }

}  // namespace larder::cli
