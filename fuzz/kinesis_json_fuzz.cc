// Fuzzes the parsers of Kinesis response bodies (src/stream/kinesis/kinesis_json.h).
// The first byte picks the parser ((uint8_t)(b - '0') mod 6): 0 an error body,
// 1 DescribeStreamSummary, 2 ListShards, 3 GetShardIterator, 4 GetRecords,
// 5 PutRecords, whose number of entries sent is the second byte mod 8 (the
// body starts after it). The rest is the body. Every body must parse or give
// Corruption naming the operation, and a parsed answer must keep the
// parser's contract; anything else traps.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "stream/kinesis/kinesis_json.h"

namespace {

using larder::StatusCode;

void Check(bool ok) {
  if (!ok) __builtin_trap();
}

template <typename T>
void CheckFailure(const larder::Result<T>& r) {
  if (r.ok()) return;
  Check(r.status().code() == StatusCode::kCorruption);
  Check(r.status().message().starts_with("op: the response "));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string_view input(reinterpret_cast<const char*>(data), size);
  const int pick = static_cast<uint8_t>(input[0] - '0') % 6;
  std::string_view body = input.substr(1);
  switch (pick) {
    case 0: {
      const larder::stream::AwsErrorBody e = larder::stream::ParseAwsError(body);
      Check(e.type.find('#') == std::string::npos && e.type.find(':') == std::string::npos);
      break;
    }
    case 1: {
      auto r = larder::stream::ParseStreamStatus(body, "op");
      CheckFailure(r);
      if (r.ok()) Check(!r->empty());
      break;
    }
    case 2: {
      auto r = larder::stream::ParseListShards(body, "op");
      CheckFailure(r);
      if (r.ok()) {
        for (const auto& s : r->shards) {
          Check(!s.shard_id.empty() && !s.starting_hash_key.empty() &&
                !s.ending_hash_key.empty() && !s.starting_sequence_number.empty());
        }
      }
      break;
    }
    case 3: {
      auto r = larder::stream::ParseShardIterator(body, "op");
      CheckFailure(r);
      if (r.ok()) Check(!r->empty());
      break;
    }
    case 4: {
      auto r = larder::stream::ParseGetRecords(body, "op");
      CheckFailure(r);
      if (r.ok()) {
        for (const auto& rec : r->records) {
          Check(larder::stream::IsDecimalString(rec.sequence_number) && !rec.partition_key.empty());
        }
        for (const auto& c : r->child_shards) Check(!c.shard_id.empty());
      }
      break;
    }
    default: {
      if (body.empty()) return 0;
      const size_t sent = static_cast<unsigned char>(body[0]) % 8;
      body.remove_prefix(1);
      auto r = larder::stream::ParsePutRecords(body, sent, "op");
      CheckFailure(r);
      if (r.ok()) {
        Check(r->size() == sent);
        for (const auto& p : *r) {
          Check(!p.error_code.empty() || (!p.shard_id.empty() &&
                                          larder::stream::IsDecimalString(p.sequence_number)));
        }
      }
      break;
    }
  }
  return 0;
}
