// Stream ingestion: FeatureStore::Stream consumes the Kinesis sources of
// the repo (docs/stream.md).
//
// Each record's JSON becomes a row of its source's batch_source columns
// (stream/json_record.h), and rows are pushed to the source as
// FeatureStore::Push does, to the source's `to` target: plain views get
// conditional latest-row writes, aggregation views merge the events into
// their states, and the offline history gets the row. A record that does
// not decode, or that the push refuses (a missing or mistyped column, an
// event time too far in the future), goes to the dead-letter table of the
// offline store with the reason; the stream goes on.
//
// Exactly-once effect: every write of a push is idempotent (larder/push.h:
// offline rows are distinct, online writes conditional, aggregation merges
// set unions), and a shard's checkpoint (its last sequence number, in the
// offline store with the dead letters, in one transaction) moves only after
// the rows before it landed. A consumer killed at any point restarts from
// the checkpoint and pushes again at most what it pushed since, which
// changes nothing. Consequently, two records with equal content count once,
// as identical events do everywhere (docs/aggregations.md).
//
// Shards: each consumer reads the shards whose id hashes to
// shard_index modulo shard_count, so n processes with indexes 0..n-1 split
// a stream with no coordinator. After a reshard, a child shard starts only
// when its parents are drained (checkpointed as closed) and reads from its
// start.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "larder/status.h"

namespace larder {

struct StreamShardProgress {
  std::string source;
  std::string shard;
  int64_t records = 0;      // read by this consumer
  int64_t dead_letters = 0;
  std::string checkpoint;   // the last sequence number checkpointed
  int64_t millis_behind_latest = 0;
  bool closed = false;      // drained after a reshard
  // When the stream service received the last record read (ms since the
  // epoch; 0 before any), and when the last checkpoint was committed.
  int64_t last_arrival_ms = 0;
  int64_t checkpointed_at_ms = 0;
};

// What the consumer's pushes did to one online feature view.
struct StreamViewProgress {
  std::string view;
  int64_t written = 0;  // rows that landed (newer than the stored record)
  int64_t skipped = 0;  // rows dropped by the conditional write
};

struct StreamProgress {
  int64_t records = 0;
  int64_t rows_pushed = 0;
  int64_t dead_letters = 0;
  double seconds = 0;
  // Of `seconds`: waiting on the stream (ListShards, GetShardIterator,
  // GetRecords), and decoding, pushing and checkpointing.
  double read_seconds = 0;
  double apply_seconds = 0;
  std::vector<StreamShardProgress> shards;
  std::vector<StreamViewProgress> views;  // by view name
};

struct StreamOptions {
  // The stream sources to consume. Default: every kinesis source that an
  // online feature view reads (or every kinesis source, when none does).
  std::vector<std::string> sources;
  // Or the sources of these feature views. Every online view of a source
  // gets its rows, so each such view must be named (InvalidArgument
  // otherwise). REQUIRES: not both sources and views.
  std::vector<std::string> views;
  // This consumer's share of a Kinesis source's shards: those whose id
  // hashes to shard_index modulo shard_count. REQUIRES: 0 <= shard_index <
  // shard_count. (A Kafka source's partitions are spread by its consumer
  // group instead; a shard_count above 1 is refused for it.)
  int shard_index = 0;
  int shard_count = 1;
  // Kafka: this consumer's static member id in the group (group.instance.id),
  // so that a restart takes its partitions back at once rather than after
  // the session timeout. Empty: a dynamic member.
  std::string consumer_id;
  // Records asked for per GetRecords call (Kinesis allows up to 10,000), or
  // taken per pass from a Kafka consumer (up to 100,000).
  int records_per_call = 10000;
  // A record larger than this is a dead letter. Default: 1 MiB, Kinesis's
  // own limit.
  size_t max_record_bytes = size_t{1} << 20;
  // Wait after a pass over the shards that found nothing. Default: 200 ms.
  std::chrono::milliseconds poll_interval{200};
  // Return once two passes in a row found no record and no shard behind
  // (a replay or a test), instead of running until `stop`.
  bool until_idle = false;
  // Asked between batches; true stops after the current batch is
  // checkpointed (SIGTERM in `larder stream`).
  std::function<bool()> stop;
  // Called after each checkpoint with the totals so far.
  std::function<void(const StreamProgress&)> progress;
  // When given, held while a batch is applied and checkpointed, so that
  // other writers of the same FeatureStore (the feature server's write
  // endpoints in `larder serve --stream`) take turns with the consumer.
  std::timed_mutex* write_mutex = nullptr;
};

// The offline store's tables (DuckDB): per (project, source, shard) the
// last sequence number applied and whether the shard is drained; and the
// dead letters with their reasons and bytes.
inline constexpr const char* kStreamCheckpointTable = "larder_stream_checkpoints";
inline constexpr const char* kStreamDeadLetterTable = "larder_stream_dead_letters";

// Deletes `project`'s checkpoints from the offline store database at
// `db_path` (teardown calls it; dead letters stay, as offline history does).
// OK when the database or the table does not exist.
Status ForgetStreamCheckpoints(const std::string& db_path, const std::string& project);

}  // namespace larder
