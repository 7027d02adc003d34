#include "online/entity_key.h"

#include <algorithm>
#include <numeric>
#include <vector>

#include "online/value_codec.h"

namespace larder::online {

Status EncodeEntityKey(const EntityKey& key, std::string* out) {
  const size_t n = key.join_keys.size();
  if (n == 0) return Status::InvalidArgument("entity key has no join keys");
  if (key.values.size() != n) {
    return Status::InvalidArgument("entity key has " + std::to_string(n) + " join keys but " +
                                   std::to_string(key.values.size()) + " values");
  }
  // Join keys are few (usually one or two): sort an index, not the strings.
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  if (n > 1) {
    std::sort(order.begin(), order.end(),
              [&](size_t a, size_t b) { return key.join_keys[a] < key.join_keys[b]; });
  }
  PutVarint(n, out);
  for (size_t k = 0; k < n; ++k) {
    size_t i = order[k];
    const std::string& name = key.join_keys[i];
    if (k > 0 && name == key.join_keys[order[k - 1]]) {
      return Status::InvalidArgument("entity key names join key `" + name + "` twice");
    }
    const Value& v = key.values[i];
    if (v.is_null()) {
      return Status::InvalidArgument("entity key: join key `" + name + "` is null");
    }
    if (v.type().is_array) {
      return Status::InvalidArgument("entity key: join key `" + name + "` is an array (" +
                                     ValueTypeName(v.type()) + "); join keys are scalars");
    }
    PutLengthPrefixed(name, out);
    if (v.type().scalar == ScalarType::kInt32) {
      EncodeValue(Value::Int64(v.int32_value()), out);
    } else {
      EncodeValue(v, out);
    }
  }
  return Status::OK();
}

Result<EntityKey> DecodeEntityKey(std::string_view bytes) {
  ByteReader r(bytes);
  uint64_t n;
  if (!r.ReadVarint(&n) || n == 0 || n > r.remaining()) {
    return Status::Corruption("entity key: bad join key count");
  }
  EntityKey key;
  for (uint64_t i = 0; i < n; ++i) {
    std::string_view name;
    if (!r.ReadLengthPrefixed(&name)) return Status::Corruption("entity key: truncated name");
    Value v;
    LARDER_RETURN_IF_ERROR(DecodeValue(&r, &v).WithContext("entity key"));
    if (v.is_null() || v.type().is_array) {
      return Status::Corruption("entity key: join key value is null or an array");
    }
    key.join_keys.emplace_back(name);
    key.values.push_back(std::move(v));
  }
  if (r.remaining() != 0) return Status::Corruption("entity key: trailing bytes");
  return key;
}

std::string ProjectKeyPrefix(std::string_view project) {
  std::string out;
  out.push_back(static_cast<char>(kRecordKeyVersion));
  PutLengthPrefixed(project, &out);
  return out;
}

std::string StateKeyspace(std::string_view view) { return std::string(view) + "#states"; }

std::string ViewKeyPrefix(std::string_view project, std::string_view view) {
  std::string out = ProjectKeyPrefix(project);
  PutLengthPrefixed(view, &out);
  return out;
}

Status EncodeRecordKey(std::string_view project, std::string_view view, const EntityKey& key,
                       std::string* out) {
  out->push_back(static_cast<char>(kRecordKeyVersion));
  PutLengthPrefixed(project, out);
  PutLengthPrefixed(view, out);
  return EncodeEntityKey(key, out);
}

std::string PrefixSuccessor(std::string_view prefix) {
  std::string s(prefix);
  while (!s.empty()) {
    auto last = static_cast<unsigned char>(s.back());
    if (last != 0xff) {
      s.back() = static_cast<char>(last + 1);
      return s;
    }
    s.pop_back();
  }
  return s;
}

Result<std::vector<std::string>> EncodeReadKeys(std::string_view project,
                                                std::span<const OnlineViewRead> reads,
                                                bool hash_tag) {
  size_t total = 0;
  for (const OnlineViewRead& r : reads) total += r.keys.size();
  std::vector<std::string> encoded;
  encoded.reserve(total);
  std::string prefix = ProjectKeyPrefix(project);
  const size_t project_size = prefix.size();
  // Reads of one feature service often share one key span (every view of
  // the same entity): each span's entity keys are encoded once, into one
  // buffer; ends[i] is where key i's bytes end.
  std::span<const EntityKey> last;
  std::string entity_bytes;
  std::vector<size_t> ends;
  for (const OnlineViewRead& r : reads) {
    r.results->clear();
    r.results->resize(r.keys.size());
    if (r.keys.data() != last.data() || r.keys.size() != last.size()) {
      entity_bytes.clear();
      ends.clear();
      for (size_t i = 0; i < r.keys.size(); ++i) {
        Status s = EncodeEntityKey(r.keys[i], &entity_bytes);
        if (!s.ok()) {
          return s.WithContext("feature view '" + r.view->name() + "': entity key " +
                               std::to_string(i));
        }
        ends.push_back(entity_bytes.size());
      }
      last = r.keys;
    }
    prefix.resize(project_size);
    PutLengthPrefixed(r.view->name(), &prefix);
    if (hash_tag) prefix += '{';
    size_t begin = 0;
    for (size_t end : ends) {
      std::string& key = encoded.emplace_back();
      key.reserve(prefix.size() + (end - begin) + 1);
      key.append(prefix).append(entity_bytes, begin, end - begin);
      if (hash_tag) key += '}';
      begin = end;
    }
  }
  return encoded;
}

Result<std::vector<std::string>> EncodeViewKeys(std::string_view project, const OnlineView& view,
                                                std::span<const EntityKey> keys, bool hash_tag) {
  std::vector<OnlineReadResult> unused;
  const OnlineViewRead read{&view, keys, &unused};
  return EncodeReadKeys(project, std::span<const OnlineViewRead>(&read, 1), hash_tag);
}

Result<std::vector<std::string>> EncodeStateKeys(std::string_view project,
                                                 std::string_view view_name,
                                                 std::span<const EntityKey> keys, bool hash_tag,
                                                 bool distinct) {
  const OnlineView states(StateKeyspace(view_name), {});
  LARDER_ASSIGN_OR_RETURN(std::vector<std::string> encoded,
                          EncodeViewKeys(project, states, keys, hash_tag));
  if (distinct) {
    std::vector<std::string_view> sorted(encoded.begin(), encoded.end());
    std::sort(sorted.begin(), sorted.end());
    if (std::adjacent_find(sorted.begin(), sorted.end()) != sorted.end()) {
      return Status::InvalidArgument("feature view '" + std::string(view_name) +
                                     "': an aggregation state update names a key twice");
    }
  }
  return encoded;
}

}  // namespace larder::online
