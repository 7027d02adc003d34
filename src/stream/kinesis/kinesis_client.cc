#include "stream/kinesis/kinesis_client.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <random>
#include <thread>
#include <utility>

#include "common/base64.h"

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

// The bare error code: without a namespace ("aws.kinesis#Code") or a
// trailing URL ("Code:http://internal.amazon.com/...").
std::string ShortErrorType(std::string_view type) {
  if (const size_t hash = type.rfind('#'); hash != std::string_view::npos) {
    type = type.substr(hash + 1);
  }
  return std::string(type.substr(0, type.find(':')));
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

bool IsStreamNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '.' || c == '-';
}

Status CheckStreamName(std::string_view op, std::string_view stream) {
  if (stream.empty() || stream.size() > 128 ||
      !std::all_of(stream.begin(), stream.end(), IsStreamNameChar)) {
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

// The string member `key` of `object`, or "" when absent or null. False when
// present with another type.
bool OptionalString(const json& object, std::string_view key, std::string* out) {
  out->clear();
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return true;
  if (!it->is_string()) return false;
  *out = it->get<std::string>();
  return true;
}

bool RequiredString(const json& object, std::string_view key, std::string* out) {
  return OptionalString(object, key, out) && !out->empty();
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

bool IsDecimalString(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

int CompareSequenceNumbers(std::string_view a, std::string_view b) {
  const auto strip = [](std::string_view s) {
    const size_t first = s.find_first_not_of('0');
    return first == std::string_view::npos ? std::string_view() : s.substr(first);
  };
  a = strip(a);
  b = strip(b);
  if (a.size() != b.size()) return a.size() < b.size() ? -1 : 1;
  const int c = a.compare(b);
  return c < 0 ? -1 : (c > 0 ? 1 : 0);
}

// The outcome of one call: the parsed body of a 200 answer, or an error;
// `error_type` is the AWS error type when the server answered with one.
struct KinesisClient::Reply {
  Status status;
  std::string error_type;
  json body;
};

Result<std::unique_ptr<KinesisClient>> KinesisClient::Open(KinesisClientOptions options) {
  while (options.endpoint_url.ends_with("/")) options.endpoint_url.pop_back();
  if (options.endpoint_url.empty()) {
    return Status::InvalidArgument(
        "kinesis client: no endpoint_url: set an http:// endpoint (kinesalite, or a "
        "TLS-terminating proxy); TLS is not supported yet");
  }
  auto url = online::ParseHttpUrl(options.endpoint_url);
  if (!url.ok()) return url.status().WithContext("kinesis client endpoint_url");
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
                                                      options_.timeout_ms, 64}) {}

void KinesisClient::Backoff(int attempt) const {
  thread_local std::mt19937 rng(std::random_device{}());
  const int64_t step = std::min<int64_t>(
      options_.backoff_cap_ms, static_cast<int64_t>(options_.backoff_base_ms) << std::min(attempt, 20));
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
    const auto now = std::chrono::system_clock::now().time_since_epoch();
    online::SignRequest(options_.credentials, scope_,
                        online::AmzDate(std::chrono::duration_cast<std::chrono::seconds>(now).count()),
                        &req);
    auto response = http_.Post(http_.url().path, req.headers, body);
    bool retry = false;
    std::string text;  // the error, when there is one
    reply.error_type.clear();
    if (!response.ok()) {
      text = where + ": " + response.status().message();
      retry = true;
    } else {
      // CreateStream, DeleteStream, SplitShard and MergeShards answer 200
      // with an empty body.
      json parsed = response->body.find_first_not_of(" \t\r\n") == std::string::npos
                        ? json::object()
                        : json::parse(response->body, nullptr, /*allow_exceptions=*/false);
      if (response->status == 200) {
        if (parsed.is_discarded() || !parsed.is_object()) {
          reply.status = Status::Corruption(where + ": the response is not a JSON object: " +
                                            response->body.substr(0, 200));
          return reply;
        }
        reply.status = Status::OK();
        reply.body = std::move(parsed);
        return reply;
      }
      std::string message;
      if (parsed.is_object()) {
        if (auto t = parsed.find("__type"); t != parsed.end() && t->is_string()) {
          reply.error_type = ShortErrorType(t->get_ref<const std::string&>());
        }
        for (const char* key : {"message", "Message"}) {
          if (auto m = parsed.find(key); m != parsed.end() && m->is_string()) {
            message = m->get<std::string>();
          }
        }
      }
      if (reply.error_type.empty() && message.empty()) message = response->body.substr(0, 200);
      text = where + ": HTTP " + std::to_string(response->status) + ": " +
             (reply.error_type.empty() ? "" : reply.error_type + ": ") + message;
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
  std::string status;
  for (;;) {
    Reply r = Call("DescribeStreamSummary", stream, body);
    if (!r.status.ok()) return r.status;
    auto summary = r.body.find("StreamDescriptionSummary");
    if (summary == r.body.end() || !summary->is_object() ||
        !RequiredString(*summary, "StreamStatus", &status)) {
      return Status::Corruption("kinesis DescribeStreamSummary stream '" + std::string(stream) +
                                "': the response has no StreamDescriptionSummary.StreamStatus");
    }
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
  const auto corrupt = [&](const std::string& why) {
    return Status::Corruption("kinesis ListShards stream '" + std::string(stream) +
                              "': the response " + why);
  };
  std::vector<KinesisShard> shards;
  std::string token;
  for (;;) {
    // A later page is asked for by its token alone (the API refuses both).
    json request = token.empty() ? json{{"StreamName", stream}} : json{{"NextToken", token}};
    LARDER_ASSIGN_OR_RETURN(std::string body, Dump("ListShards", request));
    Reply r = Call("ListShards", stream, body);
    if (!r.status.ok()) return r.status;
    auto list = r.body.find("Shards");
    if (list == r.body.end() || !list->is_array()) return corrupt("has no Shards array");
    for (const json& s : *list) {
      if (!s.is_object()) return corrupt("has a shard that is not an object");
      KinesisShard shard;
      if (!RequiredString(s, "ShardId", &shard.shard_id)) return corrupt("has a shard without ShardId");
      if (!OptionalString(s, "ParentShardId", &shard.parent_shard_id) ||
          !OptionalString(s, "AdjacentParentShardId", &shard.adjacent_parent_shard_id)) {
        return corrupt("has a non-string parent of shard " + shard.shard_id);
      }
      auto hash = s.find("HashKeyRange");
      auto seq = s.find("SequenceNumberRange");
      if (hash == s.end() || !hash->is_object() || seq == s.end() || !seq->is_object() ||
          !RequiredString(*hash, "StartingHashKey", &shard.starting_hash_key) ||
          !RequiredString(*hash, "EndingHashKey", &shard.ending_hash_key) ||
          !RequiredString(*seq, "StartingSequenceNumber", &shard.starting_sequence_number) ||
          !OptionalString(*seq, "EndingSequenceNumber", &shard.ending_sequence_number)) {
        return corrupt("lacks the hash key or sequence number range of shard " + shard.shard_id);
      }
      shards.push_back(std::move(shard));
    }
    std::string next;
    if (!OptionalString(r.body, "NextToken", &next)) return corrupt("has a non-string NextToken");
    if (next.empty()) return shards;
    if (next == token) return corrupt("repeats its NextToken");
    token = std::move(next);
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
  std::string iterator;
  if (!RequiredString(r.body, "ShardIterator", &iterator)) {
    return Status::Corruption(where + ": the response has no ShardIterator");
  }
  return iterator;
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
  const auto corrupt = [](const std::string& why) {
    return Status::Corruption("kinesis GetRecords: the response " + why);
  };
  GetRecordsResult out;
  auto records = r.body.find("Records");
  if (records == r.body.end() || !records->is_array()) return corrupt("has no Records array");
  out.records.reserve(records->size());
  for (const json& rec : *records) {
    if (!rec.is_object()) return corrupt("has a record that is not an object");
    KinesisRecord record;
    std::string data;
    if (!RequiredString(rec, "SequenceNumber", &record.sequence_number) ||
        !IsDecimalString(record.sequence_number)) {
      return corrupt("has a record without a decimal SequenceNumber");
    }
    if (!RequiredString(rec, "PartitionKey", &record.partition_key) ||
        !OptionalString(rec, "Data", &data) || !Base64Decode(data, &record.data)) {
      return corrupt("has record " + record.sequence_number +
                     " without a PartitionKey or base64 Data");
    }
    if (auto ts = rec.find("ApproximateArrivalTimestamp"); ts != rec.end() && !ts->is_null()) {
      const double seconds = ts->is_number() ? ts->get<double>() : NAN;
      if (!std::isfinite(seconds) || std::fabs(seconds) > 1e12) {
        return corrupt("has record " + record.sequence_number +
                       " with an ApproximateArrivalTimestamp that is not epoch seconds");
      }
      record.approximate_arrival_timestamp_ms = std::llround(seconds * 1000);
    }
    out.records.push_back(std::move(record));
  }
  if (!OptionalString(r.body, "NextShardIterator", &out.next_shard_iterator)) {
    return corrupt("has a non-string NextShardIterator");
  }
  if (auto m = r.body.find("MillisBehindLatest"); m != r.body.end() && !m->is_null()) {
    if (!m->is_number_integer()) return corrupt("has a non-integer MillisBehindLatest");
    out.millis_behind_latest = m->get<int64_t>();
  }
  if (auto children = r.body.find("ChildShards"); children != r.body.end() && !children->is_null()) {
    if (!children->is_array()) return corrupt("has a ChildShards that is not an array");
    for (const json& c : *children) {
      KinesisChildShard child;
      if (!c.is_object() || !RequiredString(c, "ShardId", &child.shard_id)) {
        return corrupt("has a child shard without ShardId");
      }
      if (auto parents = c.find("ParentShards"); parents != c.end() && parents->is_array()) {
        for (const json& p : *parents) {
          if (!p.is_string()) return corrupt("has a non-string parent of " + child.shard_id);
          child.parent_shards.push_back(p.get<std::string>());
        }
      }
      if (auto hash = c.find("HashKeyRange"); hash != c.end() && hash->is_object()) {
        if (!OptionalString(*hash, "StartingHashKey", &child.starting_hash_key) ||
            !OptionalString(*hash, "EndingHashKey", &child.ending_hash_key)) {
          return corrupt("has a malformed HashKeyRange of " + child.shard_id);
        }
      }
      out.child_shards.push_back(std::move(child));
    }
  }
  return out;
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
      auto answers = r.body.find("Records");
      if (answers == r.body.end() || !answers->is_array() || answers->size() != pending.size()) {
        return Status::Corruption(where + ": the response does not have one Records entry per "
                                          "record sent (" +
                                  std::to_string(pending.size()) + ")");
      }
      std::vector<size_t> again;
      for (size_t k = 0; k < pending.size(); ++k) {
        const json& a = (*answers)[k];
        PutRecordResult& out = result.records[pending[k]];
        if (!a.is_object() || !OptionalString(a, "ErrorCode", &out.error_code) ||
            !OptionalString(a, "ErrorMessage", &out.error_message)) {
          return Status::Corruption(where + ": a Records entry of the response is malformed");
        }
        if (!out.error_code.empty()) {
          if (IsRetryableRecordError(out.error_code)) again.push_back(pending[k]);
          continue;
        }
        if (!RequiredString(a, "ShardId", &out.shard_id) ||
            !RequiredString(a, "SequenceNumber", &out.sequence_number) ||
            !IsDecimalString(out.sequence_number)) {
          return Status::Corruption(where + ": a Records entry of the response has neither an "
                                            "ErrorCode nor a ShardId and decimal SequenceNumber");
        }
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
