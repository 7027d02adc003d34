// The stable binary encoding of entity keys, and the layout of online record
// keys. Both depend only on the data, never on the process or machine, and
// are documented byte by byte in docs/online-store.md.
//
// Entity key:
//   varint  number of join keys (>= 1)
//   then per join key, in ascending bytewise order of the name:
//     varint length, name bytes
//     value: tag byte and payload (online/value_codec.h); Int32 values are
//     widened to Int64 (tag 0x02, 8 bytes), so the width does not matter
//
// Record key (one per project, view and entity key):
//   0x01                         key layout version
//   varint length, project bytes
//   varint length, view bytes
//   entity key bytes (above)
// Because the project and the view are length-prefixed, the bytes up to the
// view are a prefix of exactly that view's records (ViewKeyPrefix), and the
// bytes up to the project a prefix of exactly that project's
// (ProjectKeyPrefix): deleting a view or a project is a range delete.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "larder/online_store.h"
#include "larder/status.h"

namespace larder::online {

inline constexpr uint8_t kRecordKeyVersion = 0x01;

// Appends the encoding of `key`. InvalidArgument when the key has no join
// keys, mismatched lengths, duplicate names, or a null or array value.
Status EncodeEntityKey(const EntityKey& key, std::string* out);

// Decodes an entity key (join keys come back sorted by name). Corruption on
// malformed bytes or trailing data.
Result<EntityKey> DecodeEntityKey(std::string_view bytes);

std::string ProjectKeyPrefix(std::string_view project);
// The name under which a view's aggregation states are keyed: the view's
// name and "#states", which no view name can be (names are identifiers), so
// states and records never share a key.
std::string StateKeyspace(std::string_view view);
std::string ViewKeyPrefix(std::string_view project, std::string_view view);

// Appends the record key of (project, view, key) to `*out`.
Status EncodeRecordKey(std::string_view project, std::string_view view, const EntityKey& key,
                       std::string* out);

// The smallest string greater than every string that starts with `prefix`,
// or "" when there is none (prefix empty or all 0xff). For range deletes.
std::string PrefixSuccessor(std::string_view prefix);

// Prepares a MultiGetViews call: resets each read's results to one
// kNotFound entry per key, and returns the record keys of all reads in order
// (read by read, key by key). With `hash_tag`, the entity key part is wrapped
// in '{' '}' (the Redis cluster hash tag). InvalidArgument naming the view
// and key index for a key that does not encode.
Result<std::vector<std::string>> EncodeReadKeys(std::string_view project,
                                                std::span<const OnlineViewRead> reads,
                                                bool hash_tag);

// The record keys of `keys` for one view, in order, as EncodeReadKeys
// encodes them (for deletes). InvalidArgument naming the view and the index
// of a bad key.
Result<std::vector<std::string>> EncodeViewKeys(std::string_view project, const OnlineView& view,
                                                std::span<const EntityKey> keys, bool hash_tag);

// The keys of `keys`' aggregation states in view `view_name` (under
// StateKeyspace), as EncodeViewKeys encodes records. With `distinct`, a key
// given twice is InvalidArgument too (an update must name each key once).
Result<std::vector<std::string>> EncodeStateKeys(std::string_view project,
                                                 std::string_view view_name,
                                                 std::span<const EntityKey> keys, bool hash_tag,
                                                 bool distinct);

}  // namespace larder::online
