#include "store/kafka_reader.h"

#include <charconv>
#include <chrono>
#include <map>

#include "common/names.h"
#include "stream/kafka/kafka_client.h"

namespace larder::stream_consumer {
namespace {

using Clock = std::chrono::steady_clock;

double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

int64_t UnixMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// How long a consumer may wait for its first assignment from the group.
constexpr auto kJoinTimeout = std::chrono::seconds(60);
// How long a partition's first fetch may go unanswered before Idle asks
// its leader for its watermarks.
constexpr auto kUnknownGrace = std::chrono::seconds(2);
// Requests to the brokers outside fetches.
constexpr auto kRequestTimeout = std::chrono::seconds(10);

class KafkaReader final : public StreamReader {
 public:
  KafkaReader(const DataSource& source, CheckpointStore& checkpoints, const StreamOptions& options)
      : source_(source), checkpoints_(checkpoints), options_(options) {}

  Status Open() {
    stream::KafkaConsumerOptions co;
    co.bootstrap_servers = source_.bootstrap_servers;
    co.topic = source_.topic;
    co.group_id = source_.group_id.empty()
                      ? "larder." + checkpoints_.project() + "." + source_.name
                      : source_.group_id;
    co.group_instance_id = options_.consumer_id;
    co.offset_reset = source_.starting_position == "latest" ? "latest" : "earliest";
    LARDER_ASSIGN_OR_RETURN(
        consumer_, stream::KafkaConsumer::Open(co, [this](const std::vector<int32_t>& parts) {
          return StartOffsets(parts);
        }));
    return Status::OK();
  }

  bool WaitsForRecords() const override { return true; }

  Result<bool> Pass(const BatchSink& sink, const std::function<bool()>& /*stop*/,
                    double* read_seconds) override {
    // What the previous pass applied is checkpointed by now (the consumer
    // flushes at the end of each pass): tell the group, for its lag tools.
    consumer_->CommitAsync(checkpointed_);
    checkpointed_.clear();

    // One poll per pass, so that a rebalance (served inside the poll) finds
    // nothing read and not yet checkpointed.
    const auto start = Clock::now();
    LARDER_ASSIGN_OR_RETURN(
        std::vector<stream::KafkaMessage> messages,
        consumer_->Poll(static_cast<size_t>(options_.records_per_call), options_.poll_interval));
    *read_seconds += SecondsSince(start);
    if (messages.empty()) return Idle(read_seconds);

    std::map<int32_t, StreamBatch> batches;
    std::map<int32_t, int64_t> last_offset;
    for (const stream::KafkaMessage& m : messages) {
      batches[m.partition].records.push_back({m.value, std::to_string(m.offset), m.timestamp_ms});
      last_offset[m.partition] = m.offset;
    }
    const int64_t now_ms = UnixMillis();
    for (auto& [partition, batch] : batches) {
      batch.shard = std::to_string(partition);
      batch.checkpoint.position = batch.records.back().position;
      const int64_t next = last_offset[partition] + 1;
      // Records remain past this batch: its last record's age is the lag.
      const int64_t arrival = batch.records.back().arrival_ms;
      batch.millis_behind_latest = consumer_->CachedHighWatermark(partition) > next && arrival > 0
                                       ? std::max<int64_t>(0, now_ms - arrival)
                                       : 0;
      LARDER_RETURN_IF_ERROR(sink(batch));
      next_[partition] = next;
      checkpointed_[partition] = next;
    }
    return true;
  }

 private:
  // Where each newly assigned partition starts: after its checkpoint; or,
  // when this consumer has none (the partition moved here from another
  // node), at the group's committed offset, which the consumer that held it
  // wrote after its own checkpoints; or at the source's starting position.
  Result<std::map<int32_t, int64_t>> StartOffsets(const std::vector<int32_t>& parts) {
    joined_at_ = Clock::now();
    LARDER_ASSIGN_OR_RETURN(auto loaded, checkpoints_.Load(source_.name));
    next_.clear();
    std::map<int32_t, int64_t> out;
    std::vector<int32_t> fresh;  // without a checkpoint here
    for (int32_t p : parts) {
      auto it = loaded.find(std::to_string(p));
      int64_t last = -1;
      if (it != loaded.end()) {
        const std::string& pos = it->second.position;
        auto [end, ec] = std::from_chars(pos.data(), pos.data() + pos.size(), last);
        if (ec != std::errc() || end != pos.data() + pos.size() || last < 0) {
          return Status::Corruption("the checkpoint of Kafka source '" + source_.name +
                                    "' partition " + std::to_string(p) + " is '" + pos +
                                    "', not an offset");
        }
        out[p] = next_[p] = last + 1;
      } else {
        fresh.push_back(p);
      }
    }
    if (fresh.empty()) return out;
    LARDER_ASSIGN_OR_RETURN(auto committed, consumer_->Committed(fresh, kRequestTimeout));
    for (int32_t p : fresh) {
      auto c = committed.find(p);
      if (c != committed.end()) {
        out[p] = next_[p] = c->second;
        continue;
      }
      LARDER_ASSIGN_OR_RETURN(auto marks, consumer_->Watermarks(p, kRequestTimeout));
      out[p] = next_[p] = source_.starting_position == "latest" ? marks.second : marks.first;
    }
    return out;
  }

  // A pass that found no record: busy while the group has not assigned
  // partitions yet, or while one of them has records past where this
  // consumer stands. The high watermarks come from the fetches' responses;
  // a partition not fetched yet counts as behind, and is asked about (a
  // request that may wait behind a fetch) only after kUnknownGrace.
  Result<bool> Idle(double* read_seconds) {
    if (!consumer_->joined()) {
      if (Clock::now() - opened_ > kJoinTimeout) {
        const std::string why = consumer_->LastLogged();
        return Status::IOError("no partitions from Kafka group after " +
                               std::to_string(kJoinTimeout.count()) + " s" +
                               (why.empty() ? "" : ": " + why));
      }
      return true;
    }
    const auto start = Clock::now();
    const auto since_join = Clock::now() - joined_at_;
    bool behind = false;
    for (int32_t p : consumer_->partitions()) {
      const int64_t at = next_[p];  // every assigned partition has one (StartOffsets)
      int64_t high = consumer_->CachedHighWatermark(p);
      if (high < 0) {
        if (since_join < kUnknownGrace) {
          behind = true;  // its first fetch has not answered yet
          continue;
        }
        LARDER_ASSIGN_OR_RETURN(auto marks, consumer_->Watermarks(p, kRequestTimeout));
        high = marks.second;
      }
      behind = behind || high > at;
    }
    *read_seconds += SecondsSince(start);
    return behind;
  }

  const DataSource& source_;
  CheckpointStore& checkpoints_;
  const StreamOptions& options_;
  std::unique_ptr<stream::KafkaConsumer> consumer_;
  std::map<int32_t, int64_t> next_;          // partition -> next offset to apply
  std::map<int32_t, int64_t> checkpointed_;  // to commit to the group
  Clock::time_point opened_ = Clock::now();
  Clock::time_point joined_at_ = Clock::now();  // the last assignment
};

}  // namespace

Result<std::unique_ptr<StreamReader>> OpenKafkaReader(const DataSource& source,
                                                      CheckpointStore& checkpoints,
                                                      const StreamOptions& options) {
  if (options.records_per_call < 1 || options.records_per_call > 100000) {
    return Status::InvalidArgument("records per pass must be 1..100000 for a Kafka source");
  }
  if (options.shard_count != 1) {
    return Status::InvalidArgument(
        "a Kafka source's partitions are spread by its consumer group: start more consumers "
        "rather than give a shard index and count (those apply to Kinesis sources)");
  }
  if (!options.consumer_id.empty() && !IsKafkaName(options.consumer_id)) {
    return Status::InvalidArgument("consumer id '" + options.consumer_id +
                                   "' is not 1 to 249 of a-z, A-Z, 0-9, _ . -");
  }
  auto reader = std::make_unique<KafkaReader>(source, checkpoints, options);
  LARDER_RETURN_IF_ERROR(reader->Open());
  return std::unique_ptr<StreamReader>(std::move(reader));
}

}  // namespace larder::stream_consumer
