// The pieces of FeatureStore::Stream (larder/stream.h): a StreamReader per
// source reads batches of records from its shards or partitions, and the
// consumer applies each batch and checkpoints it before the reader reads on.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "larder/push.h"
#include "larder/definitions.h"
#include "store/stream_checkpoints.h"

namespace larder::stream_consumer {

// One record as read: its bytes, its position in its shard, and when the
// stream service received it (ms since the epoch; 0 when unknown).
struct StreamRecord {
  std::string_view data;
  std::string position;
  int64_t arrival_ms = 0;
};

// Records of one shard, in order, and the checkpoint that applying them
// reaches.
struct StreamBatch {
  std::string shard;
  std::vector<StreamRecord> records;
  Checkpoint checkpoint;
  int64_t millis_behind_latest = 0;
};

// Applies and checkpoints one batch; an error stops the consumer.
using BatchSink = std::function<Status(StreamBatch& batch)>;

class StreamReader {
 public:
  virtual ~StreamReader() = default;
  // One pass over this consumer's shards: hands each batch of records read
  // (and each shard found drained) to `sink`, which applies and
  // checkpoints it. Returns true when the pass read a record or a shard is
  // behind. Time spent waiting on the service is added to *read_seconds.
  // `stop` is asked between shards.
  virtual Result<bool> Pass(const BatchSink& sink, const std::function<bool()>& stop,
                            double* read_seconds) = 0;
  // True when Pass itself waits (up to the poll interval) for records to
  // arrive, so that the consumer need not sleep after a pass that found none.
  virtual bool WaitsForRecords() const { return false; }
};

// What applying a batch's records did.
struct AppliedRecords {
  int64_t rows_pushed = 0;
  std::vector<DeadLetter> dead;
};

// Decodes `records` as JSON rows of `source` (its field_mapping; its
// timestamp_field renamed to the batch source's) and pushes them with
// `push`, records with the same fields together. A record that does not
// decode, or that a push refuses with InvalidArgument, becomes a dead
// letter; any other error is returned.
Result<AppliedRecords> ApplyStreamRecords(
    const DataSource& source, const DataSource& batch_source,
    const std::vector<StreamRecord>& records, size_t max_record_bytes,
    const std::function<Result<PushReport>(const ColumnTable&)>& push);

}  // namespace larder::stream_consumer
