#include "online/record_codec.h"

#include "common/fnv.h"
#include "online/value_codec.h"

namespace larder::online {
namespace {

constexpr uint64_t kSignBit = uint64_t{1} << 63;

void PutOrderedTimestamp(TimestampMicros ts, std::string* out) {
  uint64_t u = static_cast<uint64_t>(ts) ^ kSignBit;
  for (int i = 7; i >= 0; --i) out->push_back(static_cast<char>((u >> (8 * i)) & 0xff));
}

TimestampMicros FromOrdered(uint64_t u) { return static_cast<TimestampMicros>(u ^ kSignBit); }

}  // namespace

uint64_t RecordTieKey(std::string_view value_section) { return Fnv1a64(value_section); }

uint64_t SchemaFingerprint(const std::vector<OnlineFeature>& features) {
  uint64_t h = kFnvOffsetBasis;
  auto mix = [&h](std::string_view s) {
    h = Fnv1a64(s, h) * kFnvPrime;  // the 0x00 separator: h ^= 0 changes nothing
  };
  for (const OnlineFeature& f : features) {
    mix(f.name);
    mix(ValueTypeName(f.dtype));
  }
  return h;
}

Status EncodeRecord(const OnlineView& view, const OnlineRecord& record, std::string* out,
                    RecordHeader* header) {
  const auto& features = view.features();
  if (record.values.size() != features.size()) {
    return Status::InvalidArgument("feature view '" + view.name() + "': record has " +
                                   std::to_string(record.values.size()) + " values, the view has " +
                                   std::to_string(features.size()) + " features");
  }
  for (size_t i = 0; i < features.size(); ++i) {
    const Value& v = record.values[i];
    if (!v.is_null() && v.type() != features[i].dtype) {
      return Status::InvalidArgument("feature view '" + view.name() + "': feature `" +
                                     features[i].name + "` is " +
                                     ValueTypeName(features[i].dtype) + " but the value is " +
                                     ValueTypeName(v.type()));
    }
  }
  const size_t start = out->size();
  out->push_back(static_cast<char>(kRecordFormatVersion));
  PutOrderedTimestamp(record.event_timestamp, out);
  PutOrderedTimestamp(record.created_timestamp, out);
  out->append(8, '\0');  // the tie key, set below from the value section
  PutFixed64(view.fingerprint(), out);
  const size_t values = out->size();
  PutVarint(features.size(), out);
  for (const Value& v : record.values) EncodeValue(v, out);
  const uint64_t tie = RecordTieKey(std::string_view(*out).substr(values));
  for (int i = 0; i < 8; ++i) {
    (*out)[start + 17 + static_cast<size_t>(i)] = static_cast<char>((tie >> (8 * (7 - i))) & 0xff);
  }
  if (header != nullptr) {
    *header = {record.event_timestamp, record.created_timestamp, tie, view.fingerprint(), true};
  }
  return Status::OK();
}

Result<RecordHeader> DecodeRecordHeader(std::string_view bytes) {
  ByteReader r(bytes);
  uint8_t version;
  if (!r.ReadByte(&version)) return Status::Corruption("empty record");
  if (version != kRecordFormatVersion && version != kRecordFormatVersionNoTie) {
    return Status::Corruption("unknown record format version " + std::to_string(version));
  }
  RecordHeader h;
  h.has_tie_key = version == kRecordFormatVersion;
  uint64_t ev, cr;
  if (!r.ReadBigEndian64(&ev) || !r.ReadBigEndian64(&cr) ||
      (h.has_tie_key && !r.ReadBigEndian64(&h.tie_key)) ||
      !r.ReadFixed64(&h.schema_fingerprint)) {
    return Status::Corruption("truncated record header (" + std::to_string(bytes.size()) +
                              " bytes)");
  }
  h.event_timestamp = FromOrdered(ev);
  h.created_timestamp = FromOrdered(cr);
  return h;
}

Status DecodeRecord(const OnlineView& view, std::string_view bytes, OnlineReadResult* result) {
  LARDER_ASSIGN_OR_RETURN(RecordHeader h, DecodeRecordHeader(bytes));
  result->values.clear();
  if (h.schema_fingerprint != view.fingerprint()) {
    result->state = OnlineRecordState::kSchemaMismatch;
    result->event_timestamp = 0;
    result->created_timestamp = 0;
    return Status::OK();
  }
  ByteReader r(bytes.substr(h.has_tie_key ? kRecordHeaderSize : kRecordHeaderSizeNoTie));
  const auto& features = view.features();
  uint64_t n;
  if (!r.ReadVarint(&n)) return Status::Corruption("truncated record: no value count");
  if (n != features.size()) {
    return Status::Corruption("record has " + std::to_string(n) + " values, its schema " +
                              std::to_string(features.size()));
  }
  result->values.resize(features.size());
  for (size_t i = 0; i < features.size(); ++i) {
    Value& v = result->values[i];
    if (Status s = DecodeValue(&r, &v); !s.ok()) {
      return s.WithContext("feature `" + features[i].name + "`");
    }
    if (!v.is_null() && v.type() != features[i].dtype) {
      return Status::Corruption("feature `" + features[i].name + "` holds " +
                                ValueTypeName(v.type()) + ", its schema says " +
                                ValueTypeName(features[i].dtype));
    }
  }
  if (r.remaining() != 0) {
    return Status::Corruption(std::to_string(r.remaining()) + " trailing bytes after the record");
  }
  result->state = OnlineRecordState::kFound;
  result->event_timestamp = h.event_timestamp;
  result->created_timestamp = h.created_timestamp;
  return Status::OK();
}

}  // namespace larder::online
