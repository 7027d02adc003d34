#include "stream/kinesis/kinesis_json.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <utility>

#include "common/base64.h"

namespace larder::stream {
namespace {

using json = nlohmann::json;

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

Status Corrupt(std::string_view what, std::string_view why) {
  return Status::Corruption(std::string(what) + ": the response " + std::string(why));
}

// The body as a JSON object; Corruption otherwise.
Result<json> ParseObject(std::string_view body, std::string_view what) {
  json parsed = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded() || !parsed.is_object()) {
    return Corrupt(what, "is not a JSON object: " + std::string(body.substr(0, 200)));
  }
  return parsed;
}

Result<KinesisShard> ParseShard(const json& s, std::string_view what) {
  if (!s.is_object()) return Corrupt(what, "has a shard that is not an object");
  KinesisShard shard;
  if (!RequiredString(s, "ShardId", &shard.shard_id)) {
    return Corrupt(what, "has a shard without ShardId");
  }
  if (!OptionalString(s, "ParentShardId", &shard.parent_shard_id) ||
      !OptionalString(s, "AdjacentParentShardId", &shard.adjacent_parent_shard_id)) {
    return Corrupt(what, "has a non-string parent of shard " + shard.shard_id);
  }
  auto hash = s.find("HashKeyRange");
  auto seq = s.find("SequenceNumberRange");
  if (hash == s.end() || !hash->is_object() || seq == s.end() || !seq->is_object() ||
      !RequiredString(*hash, "StartingHashKey", &shard.starting_hash_key) ||
      !RequiredString(*hash, "EndingHashKey", &shard.ending_hash_key) ||
      !RequiredString(*seq, "StartingSequenceNumber", &shard.starting_sequence_number) ||
      !OptionalString(*seq, "EndingSequenceNumber", &shard.ending_sequence_number)) {
    return Corrupt(what, "lacks the hash key or sequence number range of shard " + shard.shard_id);
  }
  return shard;
}

Result<KinesisRecord> ParseRecord(const json& rec, std::string_view what) {
  if (!rec.is_object()) return Corrupt(what, "has a record that is not an object");
  KinesisRecord record;
  if (!RequiredString(rec, "SequenceNumber", &record.sequence_number) ||
      !IsDecimalString(record.sequence_number)) {
    return Corrupt(what, "has a record without a decimal SequenceNumber");
  }
  std::string data;
  if (!RequiredString(rec, "PartitionKey", &record.partition_key) ||
      !OptionalString(rec, "Data", &data) || !Base64Decode(data, &record.data)) {
    return Corrupt(what, "has record " + record.sequence_number +
                             " without a PartitionKey or base64 Data");
  }
  if (auto ts = rec.find("ApproximateArrivalTimestamp"); ts != rec.end() && !ts->is_null()) {
    const double seconds = ts->is_number() ? ts->get<double>() : NAN;
    // Epoch seconds (with a fraction); bounded so that the milliseconds fit.
    if (!std::isfinite(seconds) || std::fabs(seconds) > 1e12) {
      return Corrupt(what, "has record " + record.sequence_number +
                               " with an ApproximateArrivalTimestamp that is not epoch seconds");
    }
    record.approximate_arrival_timestamp_ms = std::llround(seconds * 1000);
  }
  return record;
}

Result<KinesisChildShard> ParseChildShard(const json& c, std::string_view what) {
  KinesisChildShard child;
  if (!c.is_object() || !RequiredString(c, "ShardId", &child.shard_id)) {
    return Corrupt(what, "has a child shard without ShardId");
  }
  if (auto parents = c.find("ParentShards"); parents != c.end() && !parents->is_null()) {
    if (!parents->is_array()) {
      return Corrupt(what, "has a malformed ParentShards of " + child.shard_id);
    }
    for (const json& p : *parents) {
      if (!p.is_string()) return Corrupt(what, "has a non-string parent of " + child.shard_id);
      child.parent_shards.push_back(p.get<std::string>());
    }
  }
  if (auto hash = c.find("HashKeyRange"); hash != c.end() && !hash->is_null()) {
    if (!hash->is_object() || !OptionalString(*hash, "StartingHashKey", &child.starting_hash_key) ||
        !OptionalString(*hash, "EndingHashKey", &child.ending_hash_key)) {
      return Corrupt(what, "has a malformed HashKeyRange of " + child.shard_id);
    }
  }
  return child;
}

}  // namespace

// Declared in kinesis_client.h; here so that the parsers (and their fuzz
// target) need nothing of the client.
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

AwsErrorBody ParseAwsError(std::string_view body) {
  AwsErrorBody out;
  const json parsed = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (!parsed.is_object()) return out;
  if (auto t = parsed.find("__type"); t != parsed.end() && t->is_string()) {
    std::string_view type = t->get_ref<const std::string&>();
    if (const size_t hash = type.rfind('#'); hash != std::string_view::npos) {
      type = type.substr(hash + 1);
    }
    out.type = std::string(type.substr(0, type.find(':')));
  }
  for (const char* key : {"message", "Message"}) {
    if (auto m = parsed.find(key); m != parsed.end() && m->is_string()) {
      out.message = m->get<std::string>();
    }
  }
  return out;
}

Result<std::string> ParseStreamStatus(std::string_view body, std::string_view what) {
  LARDER_ASSIGN_OR_RETURN(json reply, ParseObject(body, what));
  std::string status;
  auto summary = reply.find("StreamDescriptionSummary");
  if (summary == reply.end() || !summary->is_object() ||
      !RequiredString(*summary, "StreamStatus", &status)) {
    return Corrupt(what, "has no StreamDescriptionSummary.StreamStatus");
  }
  return status;
}

Result<ListShardsPage> ParseListShards(std::string_view body, std::string_view what) {
  LARDER_ASSIGN_OR_RETURN(json reply, ParseObject(body, what));
  ListShardsPage page;
  auto list = reply.find("Shards");
  if (list == reply.end() || !list->is_array()) return Corrupt(what, "has no Shards array");
  page.shards.reserve(list->size());
  for (const json& s : *list) {
    LARDER_ASSIGN_OR_RETURN(KinesisShard shard, ParseShard(s, what));
    page.shards.push_back(std::move(shard));
  }
  if (!OptionalString(reply, "NextToken", &page.next_token)) {
    return Corrupt(what, "has a non-string NextToken");
  }
  return page;
}

Result<std::string> ParseShardIterator(std::string_view body, std::string_view what) {
  LARDER_ASSIGN_OR_RETURN(json reply, ParseObject(body, what));
  std::string iterator;
  if (!RequiredString(reply, "ShardIterator", &iterator)) {
    return Corrupt(what, "has no ShardIterator");
  }
  return iterator;
}

Result<GetRecordsResult> ParseGetRecords(std::string_view body, std::string_view what) {
  LARDER_ASSIGN_OR_RETURN(json reply, ParseObject(body, what));
  GetRecordsResult out;
  auto records = reply.find("Records");
  if (records == reply.end() || !records->is_array()) return Corrupt(what, "has no Records array");
  out.records.reserve(records->size());
  for (const json& rec : *records) {
    LARDER_ASSIGN_OR_RETURN(KinesisRecord record, ParseRecord(rec, what));
    out.records.push_back(std::move(record));
  }
  if (!OptionalString(reply, "NextShardIterator", &out.next_shard_iterator)) {
    return Corrupt(what, "has a non-string NextShardIterator");
  }
  if (auto m = reply.find("MillisBehindLatest"); m != reply.end() && !m->is_null()) {
    if (!m->is_number_integer()) return Corrupt(what, "has a non-integer MillisBehindLatest");
    out.millis_behind_latest = m->get<int64_t>();
  }
  if (auto children = reply.find("ChildShards"); children != reply.end() && !children->is_null()) {
    if (!children->is_array()) return Corrupt(what, "has a ChildShards that is not an array");
    for (const json& c : *children) {
      LARDER_ASSIGN_OR_RETURN(KinesisChildShard child, ParseChildShard(c, what));
      out.child_shards.push_back(std::move(child));
    }
  }
  return out;
}

Result<std::vector<PutRecordResult>> ParsePutRecords(std::string_view body, size_t sent,
                                                     std::string_view what) {
  LARDER_ASSIGN_OR_RETURN(json reply, ParseObject(body, what));
  auto answers = reply.find("Records");
  if (answers == reply.end() || !answers->is_array() || answers->size() != sent) {
    return Corrupt(what, "does not have one Records entry per record sent (" +
                             std::to_string(sent) + ")");
  }
  std::vector<PutRecordResult> out(sent);
  for (size_t k = 0; k < sent; ++k) {
    const json& a = (*answers)[k];
    PutRecordResult& r = out[k];
    if (!a.is_object() || !OptionalString(a, "ErrorCode", &r.error_code) ||
        !OptionalString(a, "ErrorMessage", &r.error_message)) {
      return Corrupt(what, "has a malformed Records entry");
    }
    if (!r.error_code.empty()) continue;
    if (!RequiredString(a, "ShardId", &r.shard_id) ||
        !RequiredString(a, "SequenceNumber", &r.sequence_number) ||
        !IsDecimalString(r.sequence_number)) {
      return Corrupt(what, "has a Records entry with neither an ErrorCode nor a ShardId and a "
                           "decimal SequenceNumber");
    }
  }
  return out;
}

}  // namespace larder::stream
