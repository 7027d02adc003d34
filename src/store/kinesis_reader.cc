#include "store/kinesis_reader.h"

#include <chrono>
#include <map>
#include <set>

#include "common/fnv.h"
#include "stream/kinesis/kinesis_client.h"

namespace larder::stream_consumer {
namespace {

using Clock = std::chrono::steady_clock;

double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

class KinesisReader final : public StreamReader {
 public:
  KinesisReader(const DataSource& source, std::unique_ptr<stream::KinesisClient> client,
                std::map<std::string, Checkpoint> checkpoints, const StreamOptions& options)
      : source_(source),
        client_(std::move(client)),
        checkpoints_(std::move(checkpoints)),
        options_(options) {}

  Result<bool> Pass(const BatchSink& sink, const std::function<bool()>& stop,
                    double* read_seconds) override {
    bool busy = false;
    if (refresh_ || Clock::now() - last_list_ > std::chrono::seconds(30)) {
      const auto start = Clock::now();
      LARDER_RETURN_IF_ERROR(Refresh());
      *read_seconds += SecondsSince(start);
    }
    for (auto it = active_.begin(); it != active_.end();) {
      if (stop && stop()) break;
      Shard& sh = it->second;
      const auto start = Clock::now();
      Result<stream::GetRecordsResult> got =
          client_->GetRecords(sh.iterator, options_.records_per_call);
      *read_seconds += SecondsSince(start);
      if (!got.ok() && got.status().code() == StatusCode::kFailedPrecondition) {
        // An expired iterator: start again after the checkpoint.
        active_.erase(it++);
        refresh_ = true;
        continue;
      }
      if (!got.ok()) return got.status().WithContext("shard " + sh.id);
      const bool drained = got->next_shard_iterator.empty();
      if (!got->records.empty() || drained) {
        StreamBatch batch;
        batch.shard = sh.id;
        batch.records.reserve(got->records.size());
        for (const stream::KinesisRecord& r : got->records) {
          batch.records.push_back({r.data, r.sequence_number, r.approximate_arrival_timestamp_ms});
        }
        batch.checkpoint.position =
            got->records.empty() ? sh.position : got->records.back().sequence_number;
        batch.checkpoint.closed = drained;
        batch.millis_behind_latest = got->millis_behind_latest;
        LARDER_RETURN_IF_ERROR(sink(batch));
        checkpoints_[sh.id] = batch.checkpoint;
        sh.position = batch.checkpoint.position;
      }
      busy = busy || !got->records.empty() || got->millis_behind_latest > 0;
      if (drained) {
        active_.erase(it++);
        refresh_ = true;  // its children may start now
        busy = true;
        continue;
      }
      sh.iterator = got->next_shard_iterator;
      ++it;
    }
    return busy;
  }

 private:
  struct Shard {
    std::string id;
    std::string iterator;
    std::string position;  // of the last record applied
  };

  // Starts the shards that are this consumer's and not drained, a child
  // once those of its parents that this consumer reads are drained. A parent
  // that another consumer reads does not hold a child back: every write is
  // order-independent (conditional latest-row writes, set-union merges,
  // distinct offline rows), so reading a child early changes no result, and
  // consumers need not see each other's checkpoints.
  Status Refresh() {
    LARDER_ASSIGN_OR_RETURN(std::vector<stream::KinesisShard> shards,
                            client_->ListShards(source_.stream_name));
    last_list_ = Clock::now();
    std::set<std::string> listed;
    for (const auto& s : shards) listed.insert(s.shard_id);
    auto mine = [&](const std::string& id) {
      return static_cast<int>(Fnv1a64(id) % static_cast<uint64_t>(options_.shard_count)) ==
             options_.shard_index;
    };
    auto drained = [&](const std::string& id) {
      if (id.empty() || !listed.contains(id) || !mine(id)) return true;
      auto it = checkpoints_.find(id);
      return it != checkpoints_.end() && it->second.closed;
    };
    for (const stream::KinesisShard& s : shards) {
      if (!mine(s.shard_id) || active_.contains(s.shard_id) || drained(s.shard_id)) continue;
      if (!drained(s.parent_shard_id) || !drained(s.adjacent_parent_shard_id)) continue;
      auto cp = checkpoints_.find(s.shard_id);
      const bool child = !s.parent_shard_id.empty();
      const stream::ShardIteratorType fresh =
          child || source_.starting_position == "trim_horizon"
              ? stream::ShardIteratorType::kTrimHorizon
              : stream::ShardIteratorType::kLatest;
      Result<std::string> it =
          cp != checkpoints_.end() && !cp->second.position.empty()
              ? client_->GetShardIterator(source_.stream_name, s.shard_id,
                                          stream::ShardIteratorType::kAfterSequenceNumber,
                                          cp->second.position)
              : client_->GetShardIterator(source_.stream_name, s.shard_id, fresh);
      if (!it.ok() && it.status().code() == StatusCode::kInvalidArgument &&
          cp != checkpoints_.end()) {
        // The checkpoint is of another stream of that name (deleted and
        // created again): this shard starts over, which pushes nothing twice.
        cp->second.position.clear();
        it = client_->GetShardIterator(source_.stream_name, s.shard_id,
                                       stream::ShardIteratorType::kTrimHorizon);
      }
      if (!it.ok()) return it.status();
      Shard sh;
      sh.id = s.shard_id;
      sh.iterator = *it;
      if (cp != checkpoints_.end()) sh.position = cp->second.position;
      active_.emplace(s.shard_id, std::move(sh));
    }
    refresh_ = false;
    return Status::OK();
  }

  const DataSource& source_;
  std::unique_ptr<stream::KinesisClient> client_;
  std::map<std::string, Checkpoint> checkpoints_;
  const StreamOptions& options_;
  std::map<std::string, Shard> active_;  // by shard id
  bool refresh_ = true;
  Clock::time_point last_list_ = Clock::now();
};

}  // namespace

Result<std::unique_ptr<StreamReader>> OpenKinesisReader(const DataSource& source,
                                                        CheckpointStore& checkpoints,
                                                        const StreamOptions& options) {
  if (options.records_per_call < 1 || options.records_per_call > 10000) {
    return Status::InvalidArgument("records per call must be 1..10000");
  }
  stream::KinesisClientOptions co;
  co.endpoint_url = source.endpoint_url;
  co.region = source.region;
  LARDER_ASSIGN_OR_RETURN(std::unique_ptr<stream::KinesisClient> client,
                          stream::KinesisClient::Open(co));
  LARDER_ASSIGN_OR_RETURN(auto loaded, checkpoints.Load(source.name));
  return std::unique_ptr<StreamReader>(
      new KinesisReader(source, std::move(client), std::move(loaded), options));
}

}  // namespace larder::stream_consumer
