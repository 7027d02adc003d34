// A client of Amazon Kinesis Data Streams over its JSON 1.1 protocol
// (POST /, `X-Amz-Target: Kinesis_20131202.<Operation>`, Content-Type
// `application/x-amz-json-1.1`, SigV4-signed for the service "kinesis").
// http:// (kinesalite, a private endpoint) or https:// (AWS's own, by
// default) endpoints; TLS verifies the server's certificate and name.
//
//   KinesisClientOptions options;
//   options.endpoint_url = "http://127.0.0.1:4567";
//   auto client = KinesisClient::Open(options);
//   LARDER_RETURN_IF_ERROR((*client)->CreateStream("events", 2));
//   LARDER_RETURN_IF_ERROR((*client)->WaitForActive("events", std::chrono::seconds(30)));
//   auto shards = (*client)->ListShards("events");
//   auto it = (*client)->GetShardIterator("events", (*shards)[0].shard_id,
//                                         ShardIteratorType::kTrimHorizon);
//   auto batch = (*client)->GetRecords(*it, 1000);
//
// Retries: a call answered with ProvisionedThroughputExceededException,
// LimitExceededException, another throttling error or an HTTP 5xx, or that
// failed in transport, is sent again after a capped exponential backoff
// with jitter, up to `max_attempts` times in all. Other errors come back at
// once as a Status naming the endpoint, the operation, the stream and the
// AWS error type and message: ResourceNotFoundException is NotFound,
// ResourceInUseException is FailedPrecondition, ExpiredIteratorException
// is FailedPrecondition (with the type in the message: get a new iterator),
// InvalidArgumentException is InvalidArgument, the rest IOError. A response
// that does not parse, or lacks a field the operation needs, is Corruption
// naming the operation; the client never crashes on one.
//
// Sequence numbers are decimal strings of up to 128 bits; they are kept as
// strings and ordered with CompareSequenceNumbers.
//
// Thread safety: every method may be called from many threads at once.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "larder/status.h"
#include "online/dynamodb/http_client.h"
#include "online/dynamodb/sigv4.h"

namespace larder::stream {

struct KinesisClientOptions {
  // http(s)://host[:port]. Default: AWS's https://kinesis.<region>.amazonaws.com.
  std::string endpoint_url;
  // https: a PEM file of the CAs to trust in place of the system's.
  // Default: $AWS_CA_BUNDLE, else the system's.
  std::string ca_file;
  // The SigV4 region. Default: AWS_REGION, else AWS_DEFAULT_REGION, else
  // us-east-1.
  std::string region;
  // Default: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN
  // from the environment (profiles and instance roles are not read). Open
  // fails when neither these nor the environment give a key id and secret.
  online::AwsCredentials credentials;
  // Attempts per call (and, for PutRecords, per failed entry) before giving
  // up on retryable errors. Default: 10. Must be 1 to 50.
  int max_attempts = 10;
  // The first backoff and the cap of the exponential backoff; each wait is
  // drawn uniformly from [cap/2, cap] of its step. Defaults: 50 ms, 2000 ms.
  int backoff_base_ms = 50;
  int backoff_cap_ms = 2000;
  // Longest wait for a response. Default: 30000 ms.
  int timeout_ms = 30000;
};

// A shard as ListShards describes it. Hash keys and sequence numbers are
// decimal strings; `ending_sequence_number` is empty while the shard is open,
// and the parents are empty when it has none.
struct KinesisShard {
  std::string shard_id;
  std::string parent_shard_id;
  std::string adjacent_parent_shard_id;
  std::string starting_hash_key;
  std::string ending_hash_key;
  std::string starting_sequence_number;
  std::string ending_sequence_number;
};

enum class ShardIteratorType {
  kTrimHorizon,          // the oldest record kept
  kLatest,               // only records put after the iterator was made
  kAtSequenceNumber,     // the record with the given sequence number
  kAfterSequenceNumber,  // the record after the given sequence number
};
// "TRIM_HORIZON", "LATEST", "AT_SEQUENCE_NUMBER", "AFTER_SEQUENCE_NUMBER".
std::string_view ShardIteratorTypeName(ShardIteratorType type);

struct KinesisRecord {
  std::string sequence_number;
  std::string partition_key;
  std::string data;  // the raw bytes (decoded from base64)
  // ApproximateArrivalTimestamp in milliseconds since the Unix epoch; 0 when
  // the server did not send one.
  int64_t approximate_arrival_timestamp_ms = 0;
};

struct KinesisChildShard {
  std::string shard_id;
  std::vector<std::string> parent_shards;
  std::string starting_hash_key;
  std::string ending_hash_key;
};

struct GetRecordsResult {
  std::vector<KinesisRecord> records;  // in sequence-number order
  // Empty when the shard is closed and every record was read.
  std::string next_shard_iterator;
  int64_t millis_behind_latest = 0;
  // The shards that followed a closed shard, when the server names them
  // (Kinesis does at the end of a closed shard; kinesalite never does: use
  // ListShards' parent links instead).
  std::vector<KinesisChildShard> child_shards;
};

struct PutRecordsEntry {
  std::string partition_key;  // 1 to 256 characters
  std::string data;           // raw bytes, at most 1 MiB
};

// The outcome of one entry: its shard and sequence number, or the error of
// its last attempt (`error_code` non-empty).
struct PutRecordResult {
  std::string shard_id;
  std::string sequence_number;
  std::string error_code;
  std::string error_message;
};

struct PutRecordsResult {
  std::vector<PutRecordResult> records;  // one per entry, in input order
  size_t failed = 0;                     // entries with an error_code
};

// The most entries one PutRecords request carries; PutRecords splits
// larger input.
inline constexpr size_t kMaxPutRecordsEntries = 500;

// Compares two sequence numbers (or hash keys) numerically: < 0, 0 or > 0.
// Leading zeros are ignored. REQUIRES: both are decimal digit strings (see
// IsDecimalString).
int CompareSequenceNumbers(std::string_view a, std::string_view b);
// True for a non-empty string of ASCII digits.
bool IsDecimalString(std::string_view s);

class KinesisClient {
 public:
  // Checks the options (endpoint, region, credentials, bounds) and makes a
  // client; nothing is sent. InvalidArgument for a bad option,
  // FailedPrecondition when there are no credentials.
  [[nodiscard]] static Result<std::unique_ptr<KinesisClient>> Open(KinesisClientOptions options);

  // Starts creating `stream` with `shard_count` shards (ResourceInUse, as
  // FailedPrecondition, when it exists). It is usable once WaitForActive
  // returns.
  [[nodiscard]] Status CreateStream(std::string_view stream, int shard_count);
  // Polls DescribeStreamSummary until the stream is ACTIVE. NotFound when it
  // does not exist, IOError when `timeout` passes first.
  [[nodiscard]] Status WaitForActive(std::string_view stream,
                                     std::chrono::milliseconds timeout);
  // Starts deleting `stream` (NotFound when it does not exist).
  [[nodiscard]] Status DeleteStream(std::string_view stream);

  // Every shard of `stream`, open and closed, following NextToken pages.
  [[nodiscard]] Result<std::vector<KinesisShard>> ListShards(std::string_view stream);

  // An iterator for `shard_id`. `sequence_number` is required (decimal) for
  // the *_SEQUENCE_NUMBER types and must be empty for the others.
  [[nodiscard]] Result<std::string> GetShardIterator(std::string_view stream,
                                                     std::string_view shard_id,
                                                     ShardIteratorType type,
                                                     std::string_view sequence_number = {});

  // Up to `limit` (1 to 10000) records from `iterator`. An expired iterator
  // is FailedPrecondition with ExpiredIteratorException in the message.
  [[nodiscard]] Result<GetRecordsResult> GetRecords(std::string_view iterator, int limit);

  // Puts `entries` in requests of at most kMaxPutRecordsEntries; entries
  // that fail with a retryable error code are sent again (alone) with
  // backoff until they succeed or max_attempts is reached. The result has
  // one outcome per entry; a request-level error that is not retried is
  // returned as a Status (entries of earlier requests were put).
  [[nodiscard]] Result<PutRecordsResult> PutRecords(std::string_view stream,
                                                    const std::vector<PutRecordsEntry>& entries);

  // Splits `shard_id` at `new_starting_hash_key` (decimal); the stream is
  // UPDATING until WaitForActive returns.
  [[nodiscard]] Status SplitShard(std::string_view stream, std::string_view shard_id,
                                  std::string_view new_starting_hash_key);
  // Merges two adjacent shards; the stream is UPDATING until WaitForActive.
  [[nodiscard]] Status MergeShards(std::string_view stream, std::string_view shard_id,
                                   std::string_view adjacent_shard_id);

  const std::string& endpoint_url() const { return options_.endpoint_url; }

 private:
  struct Reply;
  KinesisClient(KinesisClientOptions options, online::HttpUrl url);
  // Sends `op` with `body` (a JSON object), retrying retryable failures.
  // `stream` names the stream in messages ("" when the call has none).
  Reply Call(std::string_view op, std::string_view stream, const std::string& body);
  void Backoff(int attempt) const;

  const KinesisClientOptions options_;
  const online::SigV4Scope scope_;
  online::HttpClient http_;
};

}  // namespace larder::stream
