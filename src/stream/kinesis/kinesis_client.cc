#include "stream/kinesis/kinesis_client.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdlib>
#include <random>
#include <thread>
#include <utility>

#include "common/base64.h"
#include "common/names.h"
#include "stream/kinesis/kinesis_json.h"

namespace larder::stream {
namespace {

using json = nlohmann::json;

constexpr std::string_view kTargetPrefix = "Kinesis_20131202.";
constexpr size_t kMaxPartitionKey = 256;
constexpr size_t kMaxRecordData = 1 << 20;
constexpr auto kPollInterval = std::chrono::milliseconds(50);

std::string EnvOr(const char* name, std::string def) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::string(v) : def;
}

bool IsRetryable(int http_status, std::string_view type) {
  return http_status >= 500 || type == "ProvisionedThroughputExceededException" ||
         type == "LimitExceededException" || type == "ThrottlingException" ||
         type == "InternalFailure" || type == "ServiceUnavailable";
}

// Entry-level error codes of PutRecords that a later attempt may clear.
bool IsRetryableRecordError(std::string_view code) {
  return code == "ProvisionedThroughputExceededException" || code == "InternalFailure";
}

Status StatusForType(std::string_view type, std::string message) {
  if (type == "ResourceNotFoundException") return Status::NotFound(std::move(message));
  if (type == "ResourceInUseException" || type == "ExpiredIteratorException") {
    return Status::FailedPrecondition(std::move(message));
  }
  if (type == "InvalidArgumentException") return Status::InvalidArgument(std::move(message));
  return Status::IOError(std::move(message));
}

Status CheckStreamName(std::string_view op, std::string_view stream) {
  if (!IsKinesisStreamName(stream)) {
    return Status::InvalidArgument("kinesis " + std::string(op) + ": '" + std::string(stream) +
                                   "' is not a stream name: 1 to 128 characters of A-Z a-z 0-9 "
                                   "_ . -");
  }
  return Status::OK();
}

// The request body; InvalidArgument when a string is not valid UTF-8 (JSON
// cannot carry it).
Result<std::string> Dump(std::string_view op, const json& request) {
  try {
    return request.dump();
  } catch (const json::exception&) {
    return Status::InvalidArgument("kinesis " + std::string(op) +
                                   ": a request string is not valid UTF-8");
  }
}

}  // namespace

std::string_view ShardIteratorTypeName(ShardIteratorType type) {
  switch (type) {
    case ShardIteratorType::kTrimHorizon:
      return "TRIM_HORIZON";
    case ShardIteratorType::kLatest:
      return "LATEST";
    case ShardIteratorType::kAtSequenceNumber:
      return "AT_SEQUENCE_NUMBER";
    case ShardIteratorType::kAfterSequenceNumber:
      return "AFTER_SEQUENCE_NUMBER";
  }
  return "TRIM_HORIZON";
}

// The outcome of one call: the parsed body of a 200 answer, or an error;
// `error_type` is the AWS error type when the server answered with one.
struct KinesisClient::Reply {
  Status status;
  std::string error_type;
  std::string body;  // of a 200 answer, parsed by the operation (kinesis_json.h)
};

Result<std::unique_ptr<KinesisClient>> KinesisClient::Open(KinesisClientOptions options) {
  while (options.endpoint_url.ends_with("/")) options.endpoint_url.pop_back();
  if (options.region.empty()) {
    options.region = EnvOr("AWS_REGION", EnvOr("AWS_DEFAULT_REGION", "us-east-1"));
  }
  if (!std::all_of(options.region.begin(), options.region.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '_' || c == '-';
      })) {
    return Status::InvalidArgument("kinesis client region: '" + options.region +
                                   "' is not a region name (like us-east-1)");
  }
  if (options.endpoint_url.empty()) {
    options.endpoint_url = "https://kinesis." + options.region + ".amazonaws.com";
  }
  auto url = online::ParseHttpUrl(options.endpoint_url);
  if (!url.ok()) return url.status().WithContext("kinesis client endpoint_url");
  if (options.ca_file.empty()) options.ca_file = online::AwsCaBundle();
  if (options.credentials.access_key_id.empty() && options.credentials.secret_access_key.empty()) {
    options.credentials = {EnvOr("AWS_ACCESS_KEY_ID", ""), EnvOr("AWS_SECRET_ACCESS_KEY", ""),
                           EnvOr("AWS_SESSION_TOKEN", "")};
  }
  if (options.credentials.access_key_id.empty() || options.credentials.secret_access_key.empty()) {
    return Status::FailedPrecondition(
        "kinesis client " + options.endpoint_url +
        ": no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and "
        "AWS_SESSION_TOKEN for temporary credentials); profiles and instance roles are not read");
  }
  const auto bound = [](std::string_view name, int value, int lo, int hi) -> Status {
    if (value >= lo && value <= hi) return Status::OK();
    return Status::InvalidArgument("kinesis client " + std::string(name) + ": " +
                                   std::to_string(value) + " is not in [" + std::to_string(lo) +
                                   ", " + std::to_string(hi) + "]");
  };
  LARDER_RETURN_IF_ERROR(bound("max_attempts", options.max_attempts, 1, 50));
  LARDER_RETURN_IF_ERROR(bound("backoff_base_ms", options.backoff_base_ms, 1, 60000));
  LARDER_RETURN_IF_ERROR(
      bound("backoff_cap_ms", options.backoff_cap_ms, options.backoff_base_ms, 600000));
  LARDER_RETURN_IF_ERROR(bound("timeout_ms", options.timeout_ms, 1, 3600000));
  return std::unique_ptr<KinesisClient>(new KinesisClient(std::move(options), std::move(*url)));
}

KinesisClient::KinesisClient(KinesisClientOptions options, online::HttpUrl url)
    : options_(std::move(options)),
      scope_{options_.region, "kinesis"},
      http_(std::move(url), online::HttpClientOptions{std::min(options_.timeout_ms, 10000),
                                                      options_.timeout_ms, 64, options_.ca_file}) {}

void KinesisClient::Backoff(int attempt) const {
  thread_local std::mt19937 rng(std::random_device{}());
  const int64_t base = options_.backoff_base_ms;
  const int64_t step = std::min<int64_t>(options_.backoff_cap_ms, base << std::min(attempt, 20));
  std::uniform_int_distribution<int64_t> jitter(step / 2, step);
  std::this_thread::sleep_for(std::chrono::milliseconds(jitter(rng)));
}

KinesisClient::Reply KinesisClient::Call(std::string_view op, std::string_view stream,
                                         const std::string& body) {
  std::string where = "kinesis " + options_.endpoint_url + ": " + std::string(op);
  if (!stream.empty()) where += " stream '" + std::string(stream) + "'";
  Reply reply;
  for (int attempt = 0;; ++attempt) {
    online::SigV4Request req;
    req.headers = {{"Host", http_.url().HostHeader()},
                   {"Content-Type", "application/x-amz-json-1.1"},
                   {"X-Amz-Target", std::string(kTargetPrefix) + std::string(op)}};
    req.payload = body;
    const auto now = std::chrono::duration_cast<std::chrono::seconds>(
        std::chrono::system_clock::now().time_since_epoch());
    online::SignRequest(options_.credentials, scope_, online::AmzDate(now.count()), &req);
    auto response = http_.Post(http_.url().path, req.headers, body);
    bool retry = false;
    std::string text;  // the error, when there is one
    reply.error_type.clear();
    if (!response.ok()) {
      text = where + ": " + response.status().message();
      retry = true;
    } else {
      if (response->status == 200) {
        reply.status = Status::OK();
        reply.body = std::move(response->body);
        return reply;
      }
      AwsErrorBody error = ParseAwsError(response->body);
      if (error.type.empty() && error.message.empty()) {
        error.message = response->body.substr(0, 200);
      }
      reply.error_type = error.type;
      text = where + ": HTTP " + std::to_string(response->status) + ": " +
             (error.type.empty() ? "" : error.type + ": ") + error.message;
      retry = IsRetryable(response->status, reply.error_type);
    }
    if (!retry || attempt + 1 >= options_.max_attempts) {
      if (retry && attempt > 0) text += " (after " + std::to_string(attempt + 1) + " attempts)";
      reply.status = StatusForType(reply.error_type, std::move(text));
      return reply;
    }
    Backoff(attempt);
  }
}

Status KinesisClient::CreateStream(std::string_view stream, int shard_count) {
  LARDER_RETURN_IF_ERROR(CheckStreamName("CreateStream", stream));
  if (shard_count < 1) {
    return Status::InvalidArgument("kinesis CreateStream stream '" + std::string(stream) +
                                   "': shard count " + std::to_string(shard_count) +
                                   " must be at least 1");
  }
  return Call("CreateStream", stream,
              json{{"StreamName", stream}, {"ShardCount", shard_count}}.dump())
      .status;
}

Status KinesisClient::WaitForActive(std::string_view stream, std::chrono::milliseconds timeout) {
  LARDER_RETURN_IF_ERROR(CheckStreamName("DescribeStreamSummary", stream));
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  const std::string body = json{{"StreamName", stream}}.dump();
  const std::string what = "kinesis DescribeStreamSummary stream '" + std::string(stream) + "'";
  for (;;) {
    Reply r = Call("DescribeStreamSummary", stream, body);
    if (!r.status.ok()) return r.status;
    LARDER_ASSIGN_OR_RETURN(std::string status, ParseStreamStatus(r.body, what));
    if (status == "ACTIVE") return Status::OK();
    if (status == "DELETING") {
      return Status::NotFound("kinesis stream '" + std::string(stream) + "' is being deleted");
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      return Status::IOError("kinesis stream '" + std::string(stream) + "' is still " + status +
                             " after " + std::to_string(timeout.count()) + " ms");
    }
    std::this_thread::sleep_for(kPollInterval);
  }
}

Status KinesisClient::DeleteStream(std::string_view stream) {
  LARDER_RETURN_IF_ERROR(CheckStreamName("DeleteStream", stream));
  return Call("DeleteStream", stream, json{{"StreamName", stream}}.dump()).status;
}

Result<std::vector<KinesisShard>> KinesisClient::ListShards(std::string_view stream) {
  LARDER_RETURN_IF_ERROR(CheckStreamName("ListShards", stream));
  const std::string what = "kinesis ListShards stream '" + std::string(stream) + "'";
  std::vector<KinesisShard> shards;
  std::string token;
  for (;;) {
    // A later page is asked for by its token alone (the API refuses both).
    json request = token.empty() ? json{{"StreamName", stream}} : json{{"NextToken", token}};
    LARDER_ASSIGN_OR_RETURN(std::string body, Dump("ListShards", request));
    Reply r = Call("ListShards", stream, body);
    if (!r.status.ok()) return r.status;
    LARDER_ASSIGN_OR_RETURN(ListShardsPage page, ParseListShards(r.body, what));
    for (KinesisShard& shard : page.shards) shards.push_back(std::move(shard));
    if (page.next_token.empty()) return shards;
    if (page.next_token == token) {
      return Status::Corruption(what + ": the response repeats its NextToken");
    }
    token = std::move(page.next_token);
  }
}

Result<std::string> KinesisClient::GetShardIterator(std::string_view stream,
                                                    std::string_view shard_id,
                                                    ShardIteratorType type,
                                                    std::string_view sequence_number) {
  LARDER_RETURN_IF_ERROR(CheckStreamName("GetShardIterator", stream));
  const std::string_view type_name = ShardIteratorTypeName(type);
  const bool needs_sequence = type == ShardIteratorType::kAtSequenceNumber ||
                              type == ShardIteratorType::kAfterSequenceNumber;
  const std::string where = "kinesis GetShardIterator stream '" + std::string(stream) +
                            "' shard '" + std::string(shard_id) + "' " + std::string(type_name);
  if (needs_sequence && !IsDecimalString(sequence_number)) {
    return Status::InvalidArgument(where + ": the sequence number '" +
                                   std::string(sequence_number) + "' is not a decimal number");
  }
  if (!needs_sequence && !sequence_number.empty()) {
    return Status::InvalidArgument(where + ": takes no sequence number");
  }
  json request = {{"StreamName", stream}, {"ShardId", shard_id}, {"ShardIteratorType", type_name}};
  if (needs_sequence) request["StartingSequenceNumber"] = sequence_number;
  LARDER_ASSIGN_OR_RETURN(std::string body, Dump("GetShardIterator", request));
  Reply r = Call("GetShardIterator", stream, body);
  if (!r.status.ok()) return r.status;
  return ParseShardIterator(r.body, where);
}

Result<GetRecordsResult> KinesisClient::GetRecords(std::string_view iterator, int limit) {
  if (limit < 1 || limit > 10000) {
    return Status::InvalidArgument("kinesis GetRecords: limit " + std::to_string(limit) +
                                   " is not in [1, 10000]");
  }
  if (iterator.empty()) return Status::InvalidArgument("kinesis GetRecords: empty shard iterator");
  LARDER_ASSIGN_OR_RETURN(std::string body,
                          Dump("GetRecords", {{"ShardIterator", iterator}, {"Limit", limit}}));
  Reply r = Call("GetRecords", "", body);
  if (!r.status.ok()) return r.status;
  return ParseGetRecords(r.body, "kinesis GetRecords");
}

Result<PutRecordsResult> KinesisClient::PutRecords(std::string_view stream,
                                                   const std::vector<PutRecordsEntry>& entries) {
  LARDER_RETURN_IF_ERROR(CheckStreamName("PutRecords", stream));
  const std::string where = "kinesis PutRecords stream '" + std::string(stream) + "'";
  for (size_t i = 0; i < entries.size(); ++i) {
    const PutRecordsEntry& e = entries[i];
    if (e.partition_key.empty() || e.partition_key.size() > kMaxPartitionKey) {
      return Status::InvalidArgument(where + ": entry " + std::to_string(i) +
                                     ": the partition key must have 1 to 256 characters");
    }
    if (e.data.size() > kMaxRecordData) {
      return Status::InvalidArgument(where + ": entry " + std::to_string(i) + ": " +
                                     std::to_string(e.data.size()) +
                                     " bytes of data; at most 1 MiB");
    }
  }
  PutRecordsResult result;
  result.records.resize(entries.size());
  for (size_t begin = 0; begin < entries.size(); begin += kMaxPutRecordsEntries) {
    std::vector<size_t> pending;
    for (size_t i = begin; i < std::min(entries.size(), begin + kMaxPutRecordsEntries); ++i) {
      pending.push_back(i);
    }
    for (int attempt = 0; !pending.empty(); ++attempt) {
      json records = json::array();
      for (size_t i : pending) {
        records.push_back(
            {{"Data", Base64Encode(entries[i].data)}, {"PartitionKey", entries[i].partition_key}});
      }
      LARDER_ASSIGN_OR_RETURN(
          std::string body, Dump("PutRecords", {{"StreamName", stream}, {"Records", records}}));
      Reply r = Call("PutRecords", stream, body);
      if (!r.status.ok()) return r.status;
      LARDER_ASSIGN_OR_RETURN(std::vector<PutRecordResult> answers,
                              ParsePutRecords(r.body, pending.size(), where));
      std::vector<size_t> again;
      for (size_t k = 0; k < pending.size(); ++k) {
        const bool retry = IsRetryableRecordError(answers[k].error_code);
        result.records[pending[k]] = std::move(answers[k]);
        if (retry) again.push_back(pending[k]);
      }
      if (again.empty() || attempt + 1 >= options_.max_attempts) break;
      Backoff(attempt);
      pending = std::move(again);
    }
  }
  for (const PutRecordResult& r : result.records) result.failed += r.error_code.empty() ? 0 : 1;
  return result;
}

Status KinesisClient::SplitShard(std::string_view stream, std::string_view shard_id,
                                 std::string_view new_starting_hash_key) {
  LARDER_RETURN_IF_ERROR(CheckStreamName("SplitShard", stream));
  if (!IsDecimalString(new_starting_hash_key)) {
    return Status::InvalidArgument("kinesis SplitShard stream '" + std::string(stream) +
                                   "': the hash key '" + std::string(new_starting_hash_key) +
                                   "' is not a decimal number");
  }
  LARDER_ASSIGN_OR_RETURN(std::string body,
                          Dump("SplitShard", {{"StreamName", stream},
                                              {"ShardToSplit", shard_id},
                                              {"NewStartingHashKey", new_starting_hash_key}}));
  return Call("SplitShard", stream, body).status;
}

Status KinesisClient::MergeShards(std::string_view stream, std::string_view shard_id,
                                  std::string_view adjacent_shard_id) {
  LARDER_RETURN_IF_ERROR(CheckStreamName("MergeShards", stream));
  LARDER_ASSIGN_OR_RETURN(std::string body,
                          Dump("MergeShards", {{"StreamName", stream},
                                               {"ShardToMerge", shard_id},
                                               {"AdjacentShardToMerge", adjacent_shard_id}}));
  return Call("MergeShards", stream, body).status;
}

}  // namespace larder::stream
