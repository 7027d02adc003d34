// The consumer's bookkeeping in the offline store (larder/stream.h): per
// (project, source, shard) the last position applied, and the dead letters.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "larder/status.h"

namespace larder::duckdb {
class Connection;
}

namespace larder::stream_consumer {

// A shard's (or partition's) checkpoint: the position of the last record
// applied (a Kinesis sequence number, a Kafka offset), and whether the
// shard is drained (closed by a reshard and read to its end).
struct Checkpoint {
  std::string position;
  bool closed = false;
};

// A record that did not decode or that the push refused.
struct DeadLetter {
  size_t index = 0;  // in the records applied
  std::string position;
  int64_t arrival_ms = 0;
  std::string reason;
  std::string data;
};

// What a batch of a shard leaves in the offline store.
struct ShardCommit {
  std::string shard;
  Checkpoint checkpoint;
  std::vector<DeadLetter> dead;
};

class CheckpointStore {
 public:
  CheckpointStore(std::string db_path, std::string project);
  ~CheckpointStore();

  // The checkpoints of `source`, by shard.
  Result<std::map<std::string, Checkpoint>> Load(const std::string& source);

  // In one transaction, for each shard: its dead letters (each once), then
  // its checkpoint.
  Status Commit(const std::string& source, const std::vector<ShardCommit>& commits);

  const std::string& project() const { return project_; }

 private:
  Result<std::unique_ptr<duckdb::Connection>> Open();

  std::string db_path_;
  std::string project_;
};

}  // namespace larder::stream_consumer
