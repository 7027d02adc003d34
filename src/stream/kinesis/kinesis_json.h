// Parsers of the response bodies of Kinesis's JSON 1.1 protocol, one per
// operation that KinesisClient reads an answer of. Each takes the body of an
// HTTP 200 answer (or, for ParseAwsError, of an error answer) and never
// throws: a body that is not what the operation answers is Corruption
// "<what>: the response ...". Thread-safe: pure functions. Fuzzed by
// fuzz/kinesis_json_fuzz.cc.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "larder/status.h"
#include "stream/kinesis/kinesis_client.h"

namespace larder::stream {

struct AwsErrorBody {
  std::string type;     // the bare code, e.g. "ResourceNotFoundException"; "" when absent
  std::string message;  // "" when absent
};
// The `__type` (without a namespace "ns#" or a trailing ":url") and the
// `message` (or `Message`) of an error body; both empty when it has none.
AwsErrorBody ParseAwsError(std::string_view body);

// DescribeStreamSummary: StreamDescriptionSummary.StreamStatus ("ACTIVE", ...).
[[nodiscard]] Result<std::string> ParseStreamStatus(std::string_view body, std::string_view what);

struct ListShardsPage {
  std::vector<KinesisShard> shards;
  std::string next_token;  // "" on the last page
};
[[nodiscard]] Result<ListShardsPage> ParseListShards(std::string_view body, std::string_view what);

// GetShardIterator: the (non-empty) ShardIterator.
[[nodiscard]] Result<std::string> ParseShardIterator(std::string_view body, std::string_view what);

// GetRecords. On success every record has a decimal sequence number and a
// non-empty partition key.
[[nodiscard]] Result<GetRecordsResult> ParseGetRecords(std::string_view body,
                                                       std::string_view what);

// PutRecords of `sent` entries: one outcome per entry, in order; each has an
// error code, or a shard id and a decimal sequence number.
[[nodiscard]] Result<std::vector<PutRecordResult>> ParsePutRecords(std::string_view body,
                                                                   size_t sent,
                                                                   std::string_view what);

}  // namespace larder::stream
