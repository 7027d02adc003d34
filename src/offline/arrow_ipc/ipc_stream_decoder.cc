#include "offline/arrow_ipc/ipc_stream_decoder.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <utility>

#include "offline/arrow_ipc/flatbuffer.h"

namespace larder::offline::arrow_ipc {

// 64-byte aligned blocks, freed together when the last array of the batch is
// released.
struct BatchMemory {
  struct Free {
    void operator()(uint8_t* p) const { std::free(p); }
  };
  std::vector<std::unique_ptr<uint8_t, Free>> blocks;
};

namespace {

// Ids of the FlatBuffer fields and union members (Schema.fbs, Message.fbs).
namespace fb {
// Message
constexpr int kMessageVersion = 0, kMessageHeaderType = 1, kMessageHeader = 2,
              kMessageBodyLength = 3;
constexpr uint8_t kHeaderSchema = 1, kHeaderDictionaryBatch = 2, kHeaderRecordBatch = 3;
constexpr int16_t kMetadataV4 = 3, kMetadataV5 = 4;
// Schema
constexpr int kSchemaEndianness = 0, kSchemaFields = 1;
// Field
constexpr int kFieldName = 0, kFieldNullable = 1, kFieldTypeType = 2, kFieldType = 3,
              kFieldDictionary = 4, kFieldChildren = 5;
// RecordBatch
constexpr int kBatchLength = 0, kBatchNodes = 1, kBatchBuffers = 2, kBatchCompression = 3;
// BodyCompression
constexpr int kCompressionCodec = 0;
// The Type union.
enum TypeId : uint8_t {
  kNone = 0,
  kNull,
  kInt,
  kFloatingPoint,
  kBinary,
  kUtf8,
  kBool,
  kDecimal,
  kDate,
  kTime,
  kTimestamp,
  kInterval,
  kList,
  kStruct,
  kUnion,
  kFixedSizeBinary,
  kFixedSizeList,
  kMap,
  kDuration,
  kLargeBinary,
  kLargeUtf8,
  kLargeList,
  kRunEndEncoded,
  kBinaryView,
  kUtf8View,
  kListView,
  kLargeListView,
};
}  // namespace fb

constexpr int kMaxDepth = 64;  // nesting of fields
constexpr uint32_t kContinuation = 0xFFFFFFFFu;

// A zeroed, aligned stand-in for empty buffers that consumers may still read
// (the first offset of an empty string array).
alignas(64) constexpr int64_t kZeros[8] = {};

Status Malformed(std::string what) { return Status::Corruption("arrow ipc: " + std::move(what)); }

std::string Quoted(const std::string& path) { return "column '" + path + "'"; }

Status ColumnCorrupt(const std::string& path, const Field& f, const std::string& what) {
  return Status::Corruption("arrow ipc: " + Quoted(path) + " (" + f.type_name + "): " + what);
}

// The scalar `id` of an optional table (a type table may be omitted).
template <typename T>
Result<T> OptScalar(const std::optional<FlatTable>& t, int id, T fallback) {
  if (!t) return fallback;
  return t->Scalar<T>(id, fallback);
}

const char* UnitLetter(int16_t unit) {
  switch (unit) {
    case 0:
      return "s";
    case 1:
      return "m";
    case 2:
      return "u";
    case 3:
      return "n";
  }
  return nullptr;
}
const char* UnitName(int16_t unit) {
  switch (unit) {
    case 0:
      return "s";
    case 1:
      return "ms";
    case 2:
      return "us";
    case 3:
      return "ns";
  }
  return "?";
}

// ---------------------------------------------------------------------------
// Schema

struct SchemaReader {
  uint64_t field_budget;  // fields left to read: bounds shared (DAG) subtables

  Status ReadField(const FlatTable& t, const std::string& parent, size_t index, int depth,
                   Field* out);
  Status ReadType(const FlatTable& t, const std::string& path, Field* f);
};

Status SchemaReader::ReadType(const FlatTable& t, const std::string& path, Field* f) {
  LARDER_ASSIGN_OR_RETURN(uint8_t type_id, t.Scalar<uint8_t>(fb::kFieldTypeType, fb::kNone));
  LARDER_ASSIGN_OR_RETURN(std::optional<FlatTable> type, t.Table(fb::kFieldType));
  auto unsupported = [&](const std::string& name) {
    return Status::InvalidArgument("arrow ipc: " + Quoted(path) + " has type " + name +
                                   ", which is not supported");
  };
  auto fixed = [&](std::string format, std::string name, int64_t width) {
    f->format = std::move(format);
    f->type_name = std::move(name);
    f->layout = Layout::kFixed;
    f->byte_width = width;
  };
  auto simple = [&](std::string format, std::string name, Layout layout) {
    f->format = std::move(format);
    f->type_name = std::move(name);
    f->layout = layout;
  };
  switch (type_id) {
    case fb::kNull:
      simple("n", "null", Layout::kNull);
      break;
    case fb::kBool:
      simple("b", "bool", Layout::kBool);
      break;
    case fb::kInt: {
      LARDER_ASSIGN_OR_RETURN(int32_t bits, OptScalar<int32_t>(type, 0, 0));
      LARDER_ASSIGN_OR_RETURN(uint8_t is_signed, OptScalar<uint8_t>(type, 1, 0));
      const char* formats[2][4] = {{"C", "S", "I", "L"}, {"c", "s", "i", "l"}};
      int w = bits == 8 ? 0 : bits == 16 ? 1 : bits == 32 ? 2 : bits == 64 ? 3 : -1;
      if (w < 0) return Malformed(Quoted(path) + ": integer of " + std::to_string(bits) + " bits");
      fixed(formats[is_signed ? 1 : 0][w],
            std::string(is_signed ? "int" : "uint") + std::to_string(bits), bits / 8);
      break;
    }
    case fb::kFloatingPoint: {
      LARDER_ASSIGN_OR_RETURN(int16_t precision, OptScalar<int16_t>(type, 0, 0));
      if (precision == 1) {
        fixed("f", "float32", 4);
      } else if (precision == 2) {
        fixed("g", "float64", 8);
      } else if (precision == 0) {
        return unsupported("float16");
      } else {
        return Malformed(Quoted(path) + ": unknown float precision " + std::to_string(precision));
      }
      break;
    }
    case fb::kBinary:
      simple("z", "binary", Layout::kBinary);
      break;
    case fb::kUtf8:
      simple("u", "utf8", Layout::kBinary);
      break;
    case fb::kLargeBinary:
      simple("Z", "large_binary", Layout::kLargeBinary);
      break;
    case fb::kLargeUtf8:
      simple("U", "large_utf8", Layout::kLargeBinary);
      break;
    case fb::kDecimal: {
      LARDER_ASSIGN_OR_RETURN(int32_t precision, OptScalar<int32_t>(type, 0, 0));
      LARDER_ASSIGN_OR_RETURN(int32_t scale, OptScalar<int32_t>(type, 1, 0));
      LARDER_ASSIGN_OR_RETURN(int32_t bits, OptScalar<int32_t>(type, 2, 128));
      if (bits != 128 && bits != 256) {
        return unsupported("decimal" + std::to_string(bits));
      }
      if (precision <= 0 || precision > (bits == 128 ? 38 : 76)) {
        return Malformed(Quoted(path) + ": decimal precision " + std::to_string(precision));
      }
      const std::string ps = std::to_string(precision) + "," + std::to_string(scale);
      fixed("d:" + ps + (bits == 256 ? ",256" : ""),
            "decimal" + std::to_string(bits) + "(" + ps + ")", bits / 8);
      break;
    }
    case fb::kDate: {
      LARDER_ASSIGN_OR_RETURN(int16_t unit, OptScalar<int16_t>(type, 0, 1));
      if (unit == 0) {
        fixed("tdD", "date32", 4);
      } else if (unit == 1) {
        fixed("tdm", "date64", 8);
      } else {
        return Malformed(Quoted(path) + ": unknown date unit " + std::to_string(unit));
      }
      break;
    }
    case fb::kTime: {
      LARDER_ASSIGN_OR_RETURN(int16_t unit, OptScalar<int16_t>(type, 0, 1));
      LARDER_ASSIGN_OR_RETURN(int32_t bits, OptScalar<int32_t>(type, 1, 32));
      const char* letter = UnitLetter(unit);
      const bool ok32 = bits == 32 && (unit == 0 || unit == 1);
      const bool ok64 = bits == 64 && (unit == 2 || unit == 3);
      if (letter == nullptr || !(ok32 || ok64)) {
        return Malformed(Quoted(path) + ": time of unit " + std::to_string(unit) + " in " +
                         std::to_string(bits) + " bits");
      }
      fixed(std::string("tt") + letter, "time" + std::to_string(bits) + "[" + UnitName(unit) + "]",
            bits / 8);
      break;
    }
    case fb::kTimestamp: {
      LARDER_ASSIGN_OR_RETURN(int16_t unit, OptScalar<int16_t>(type, 0, 0));
      std::optional<std::string_view> tz;
      if (type) {
        LARDER_ASSIGN_OR_RETURN(tz, type->String(1));
      }
      const char* letter = UnitLetter(unit);
      if (letter == nullptr) {
        return Malformed(Quoted(path) + ": unknown timestamp unit " + std::to_string(unit));
      }
      const std::string zone(tz.value_or(""));
      if (zone.find('\0') != std::string::npos) {
        return Malformed(Quoted(path) + ": a time zone name holds a NUL byte");
      }
      fixed(std::string("ts") + letter + ":" + zone,
            std::string("timestamp[") + UnitName(unit) + (zone.empty() ? "" : ", tz=" + zone) + "]",
            8);
      break;
    }
    case fb::kDuration: {
      LARDER_ASSIGN_OR_RETURN(int16_t unit, OptScalar<int16_t>(type, 0, 1));
      const char* letter = UnitLetter(unit);
      if (letter == nullptr) {
        return Malformed(Quoted(path) + ": unknown duration unit " + std::to_string(unit));
      }
      fixed(std::string("tD") + letter, std::string("duration[") + UnitName(unit) + "]", 8);
      break;
    }
    case fb::kFixedSizeBinary: {
      LARDER_ASSIGN_OR_RETURN(int32_t width, OptScalar<int32_t>(type, 0, 0));
      if (width <= 0) {
        return Malformed(Quoted(path) + ": fixed_size_binary of width " + std::to_string(width));
      }
      fixed("w:" + std::to_string(width), "fixed_size_binary[" + std::to_string(width) + "]",
            width);
      break;
    }
    case fb::kList:
      simple("+l", "list", Layout::kList);
      break;
    case fb::kLargeList:
      simple("+L", "large_list", Layout::kLargeList);
      break;
    case fb::kFixedSizeList: {
      LARDER_ASSIGN_OR_RETURN(int32_t size, OptScalar<int32_t>(type, 0, 0));
      if (size < 0) {
        return Malformed(Quoted(path) + ": fixed_size_list of size " + std::to_string(size));
      }
      simple("+w:" + std::to_string(size), "fixed_size_list[" + std::to_string(size) + "]",
             Layout::kFixedSizeList);
      f->list_size = size;
      break;
    }
    case fb::kStruct:
      simple("+s", "struct", Layout::kStruct);
      break;
    case fb::kMap: {
      LARDER_ASSIGN_OR_RETURN(uint8_t sorted, OptScalar<uint8_t>(type, 0, 0));
      simple("+m", "map", Layout::kList);
      f->map_keys_sorted = sorted != 0;
      break;
    }
    case fb::kInterval: {
      LARDER_ASSIGN_OR_RETURN(int16_t unit, OptScalar<int16_t>(type, 0, 0));
      if (unit == 0) {
        fixed("tiM", "interval[year_month]", 4);  // int32 months
      } else if (unit == 1) {
        fixed("tiD", "interval[day_time]", 8);  // int32 days, int32 milliseconds
      } else if (unit == 2) {
        fixed("tin", "interval[month_day_nano]", 16);  // int32 months, days; int64 ns
      } else {
        return Malformed(Quoted(path) + ": unknown interval unit " + std::to_string(unit));
      }
      break;
    }
    case fb::kUnion:
      return unsupported("union");
    case fb::kRunEndEncoded:
      return unsupported("run_end_encoded");
    case fb::kBinaryView:
      return unsupported("binary_view");
    case fb::kUtf8View:
      return unsupported("utf8_view");
    case fb::kListView:
      return unsupported("list_view");
    case fb::kLargeListView:
      return unsupported("large_list_view");
    default:
      return Malformed(Quoted(path) + ": unknown type id " + std::to_string(type_id));
  }
  return Status::OK();
}

Status SchemaReader::ReadField(const FlatTable& t, const std::string& parent, size_t index,
                               int depth, Field* out) {
  if (field_budget == 0) return Malformed("the schema has more fields than its metadata can hold");
  --field_budget;
  if (depth > kMaxDepth) {
    return Status::InvalidArgument("arrow ipc: fields nest deeper than " +
                                   std::to_string(kMaxDepth) + " levels, which is not supported");
  }
  LARDER_ASSIGN_OR_RETURN(std::optional<std::string_view> name, t.String(fb::kFieldName));
  out->name = std::string(name.value_or(""));
  if (out->name.find('\0') != std::string::npos) {
    return Malformed("a field name holds a NUL byte");
  }
  // Unnamed fields are shown by position.
  const std::string own = out->name.empty() ? "#" + std::to_string(index) : out->name;
  const std::string path = parent.empty() ? own : parent + "." + own;
  LARDER_ASSIGN_OR_RETURN(uint8_t nullable, t.Scalar<uint8_t>(fb::kFieldNullable, 0));
  out->nullable = nullable != 0;
  LARDER_RETURN_IF_ERROR(ReadType(t, path, out));
  LARDER_ASSIGN_OR_RETURN(std::optional<FlatTable> dictionary, t.Table(fb::kFieldDictionary));
  if (dictionary) {
    return Status::InvalidArgument("arrow ipc: " + Quoted(path) + " (" + out->type_name +
                                   ") is dictionary-encoded, which is not supported");
  }
  LARDER_ASSIGN_OR_RETURN(FlatVector children, t.Vector(fb::kFieldChildren, 4));
  if (children.size() > field_budget) {
    return Malformed("the schema has more fields than its metadata can hold");
  }
  out->children.resize(children.size());
  for (uint32_t i = 0; i < children.size(); ++i) {
    LARDER_ASSIGN_OR_RETURN(FlatTable child, children.TableAt(i));
    LARDER_RETURN_IF_ERROR(ReadField(child, path, i, depth + 1, &out->children[i]));
  }
  const size_t n = out->children.size();
  switch (out->layout) {
    case Layout::kList:
    case Layout::kLargeList:
    case Layout::kFixedSizeList:
      if (n != 1) {
        return ColumnCorrupt(path, *out, "has " + std::to_string(n) + " child fields, not 1");
      }
      if (out->format == "+m" &&
          (out->children[0].layout != Layout::kStruct || out->children[0].children.size() != 2)) {
        return ColumnCorrupt(path, *out, "its entries are not a struct of key and value");
      }
      break;
    case Layout::kStruct:
      break;
    default:
      if (n != 0) return ColumnCorrupt(path, *out, "a non-nested type has child fields");
  }
  if (out->format == "+m") {
    out->type_name = "map<" + out->children[0].children[0].type_name + ", " +
                     out->children[0].children[1].type_name + ">";
  } else if (out->layout == Layout::kList || out->layout == Layout::kLargeList ||
             out->layout == Layout::kFixedSizeList) {
    out->type_name += "<" + out->children[0].type_name + ">";
  }
  return Status::OK();
}

Result<Schema> ReadSchemaTable(const FlatTable& header, uint64_t metadata_size) {
  LARDER_ASSIGN_OR_RETURN(int16_t endianness, header.Scalar<int16_t>(fb::kSchemaEndianness, 0));
  if (endianness != 0) {
    return Status::InvalidArgument("arrow ipc: big-endian streams are not supported");
  }
  LARDER_ASSIGN_OR_RETURN(FlatVector fields, header.Vector(fb::kSchemaFields, 4));
  SchemaReader reader{metadata_size / 4 + 1};
  Schema schema;
  if (fields.size() > reader.field_budget) {
    return Malformed("the schema has more fields than its metadata can hold");
  }
  schema.fields.resize(fields.size());
  for (uint32_t i = 0; i < fields.size(); ++i) {
    LARDER_ASSIGN_OR_RETURN(FlatTable f, fields.TableAt(i));
    LARDER_RETURN_IF_ERROR(reader.ReadField(f, "", i, 0, &schema.fields[i]));
  }
  return schema;
}

// Where two schemas first differ, for the mismatch error.
std::string FirstDifference(const std::vector<Field>& a, const std::vector<Field>& b,
                            const std::string& parent) {
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) {
    const std::string path = parent.empty() ? a[i].name : parent + "." + a[i].name;
    if (a[i].name != b[i].name) {
      return "field " + std::to_string(i) + (parent.empty() ? "" : " of '" + parent + "'") +
             " is '" + b[i].name + "' here but was '" + a[i].name + "'";
    }
    if (a[i].format != b[i].format || a[i].map_keys_sorted != b[i].map_keys_sorted) {
      return Quoted(path) + " is " + b[i].type_name + " here but was " + a[i].type_name;
    }
    if (a[i].nullable != b[i].nullable) {
      return Quoted(path) + " is " + (b[i].nullable ? "nullable" : "not nullable") +
             " here but was not";
    }
    if (a[i].children != b[i].children) return FirstDifference(a[i].children, b[i].children, path);
  }
  return "it has " + std::to_string(b.size()) + " fields" +
         (parent.empty() ? "" : " in '" + parent + "'") + " but had " + std::to_string(a.size());
}

// ---------------------------------------------------------------------------
// Messages

struct Message {
  uint8_t header_type = 0;
  std::optional<FlatTable> header;
  std::string_view body;
  uint64_t metadata_size = 0;
};

// Reads the message at `*pos` of `bytes`, moving `*pos` past its body.
// nullopt at the end-of-stream marker or the end of the bytes.
Result<std::optional<Message>> NextMessage(std::string_view bytes, uint64_t* pos) {
  if (*pos == bytes.size()) return std::optional<Message>();
  const std::string at = " at byte " + std::to_string(*pos);
  uint32_t marker = 0;
  int32_t length = 0;
  if (!ReadLittleEndian(bytes, *pos, &marker)) {
    return Malformed("truncated stream: a message prefix is cut short" + at);
  }
  if (marker != kContinuation) {
    char hex[16];
    std::snprintf(hex, sizeof(hex), "0x%08X", marker);
    return Malformed("expected the continuation marker 0xFFFFFFFF" + at + ", found " + hex);
  }
  if (!ReadLittleEndian(bytes, *pos + 4, &length)) {
    return Malformed("truncated stream: a message prefix is cut short" + at);
  }
  if (length == 0) {  // end of stream
    *pos += 8;
    if (*pos != bytes.size()) {
      return Malformed(std::to_string(bytes.size() - *pos) +
                       " bytes follow the end-of-stream marker" + at);
    }
    return std::optional<Message>();
  }
  if (length < 0) return Malformed("negative metadata length " + std::to_string(length) + at);
  const uint64_t meta_start = *pos + 8;
  if (bytes.size() - meta_start < static_cast<uint64_t>(length)) {
    return Malformed("truncated stream: the message metadata" + at + " needs " +
                     std::to_string(length) + " bytes, " +
                     std::to_string(bytes.size() - meta_start) + " remain");
  }
  const std::string_view metadata = bytes.substr(meta_start, static_cast<uint64_t>(length));
  auto malformed = [&](const Status& s) {
    return Status::Corruption("arrow ipc: the message" + at + ": " + s.message());
  };
  auto root = FlatTable::Root(metadata);
  if (!root.ok()) return malformed(root.status());
  auto version = root->Scalar<int16_t>(fb::kMessageVersion, 0);
  if (!version.ok()) return malformed(version.status());
  if (*version != fb::kMetadataV4 && *version != fb::kMetadataV5) {
    return Status::InvalidArgument("arrow ipc: the message" + at + " has metadata version V" +
                                   std::to_string(*version + 1) + "; V4 and V5 are supported");
  }
  Message m;
  m.metadata_size = metadata.size();
  auto type = root->Scalar<uint8_t>(fb::kMessageHeaderType, 0);
  if (!type.ok()) return malformed(type.status());
  m.header_type = *type;
  auto header = root->Table(fb::kMessageHeader);
  if (!header.ok()) return malformed(header.status());
  m.header = *header;
  auto body_length = root->Scalar<int64_t>(fb::kMessageBodyLength, 0);
  if (!body_length.ok()) return malformed(body_length.status());
  const uint64_t body_start = meta_start + metadata.size();
  if (*body_length < 0) {
    return Malformed("negative body length " + std::to_string(*body_length) + at);
  }
  if (bytes.size() - body_start < static_cast<uint64_t>(*body_length)) {
    return Malformed("truncated stream: the message body" + at + " needs " +
                     std::to_string(*body_length) + " bytes, " +
                     std::to_string(bytes.size() - body_start) + " remain");
  }
  m.body = bytes.substr(body_start, static_cast<uint64_t>(*body_length));
  *pos = body_start + m.body.size();
  if (!m.header) return Malformed("the message" + at + " has no header");
  return std::optional<Message>(std::move(m));
}

// ---------------------------------------------------------------------------
// Record batches

// True when [p, p + n) is well-formed UTF-8 (no overlong forms, surrogates or
// code points past U+10FFFF), as Arrow's utf8 type requires.
bool ValidUtf8(const uint8_t* p, uint64_t n) {
  uint64_t i = 0;
  while (i < n) {
    const uint8_t c = p[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    uint64_t len = 0;
    uint32_t cp = 0, min = 0;
    if ((c & 0xE0) == 0xC0) {
      len = 2, cp = c & 0x1F, min = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3, cp = c & 0x0F, min = 0x800;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4, cp = c & 0x07, min = 0x10000;
    } else {
      return false;
    }
    if (n - i < len) return false;
    for (uint64_t k = 1; k < len; ++k) {
      if ((p[i + k] & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (p[i + k] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += len;
  }
  return true;
}

class BatchReader {
 public:
  BatchReader(std::string_view body, FlatVector nodes, FlatVector buffers)
      : body_(body), nodes_(nodes), buffers_(buffers), memory_(std::make_shared<BatchMemory>()) {}

  Result<RecordBatch> Read(const Schema& schema, int64_t length);

 private:
  Status ReadArray(const Field& f, const std::string& path, ArrayData* out);
  // The next buffer of the message, placed in aligned memory; nullptr for an
  // empty validity bitmap, kZeros for other empty buffers.
  Status NextBuffer(const Field& f, const std::string& path, bool validity, const void** ptr,
                    uint64_t* size);
  Result<uint8_t*> Allocate(uint64_t size);
  template <typename Offset>
  Status CheckOffsets(const Field& f, const std::string& path, int64_t length, const void* offsets,
                      uint64_t offsets_size, uint64_t limit, const char* limit_name);

  std::string_view body_;
  FlatVector nodes_;
  FlatVector buffers_;
  uint32_t next_node_ = 0;
  uint32_t next_buffer_ = 0;
  std::shared_ptr<BatchMemory> memory_;
  const uint8_t* body_copy_ = nullptr;
};

Result<uint8_t*> BatchReader::Allocate(uint64_t size) {
  const uint64_t rounded = (size + 63) / 64 * 64;
  void* p = std::aligned_alloc(64, rounded == 0 ? 64 : rounded);
  if (p == nullptr) {
    return Status::Internal("arrow ipc: cannot allocate " + std::to_string(size) + " bytes");
  }
  memory_->blocks.emplace_back(static_cast<uint8_t*>(p));
  return static_cast<uint8_t*>(p);
}

Status BatchReader::NextBuffer(const Field& f, const std::string& path, bool validity,
                               const void** ptr, uint64_t* size) {
  if (next_buffer_ >= buffers_.size()) {
    return ColumnCorrupt(path, f,
                         "the record batch has fewer buffers (" + std::to_string(buffers_.size()) +
                             ") than its columns need");
  }
  const std::string_view raw = buffers_.BytesAt(next_buffer_++);
  int64_t offset = 0, length = 0;
  std::memcpy(&offset, raw.data(), 8);
  std::memcpy(&length, raw.data() + 8, 8);
  if (offset < 0 || length < 0 || static_cast<uint64_t>(offset) > body_.size() ||
      static_cast<uint64_t>(length) > body_.size() - static_cast<uint64_t>(offset)) {
    return ColumnCorrupt(path, f,
                         "buffer " + std::to_string(next_buffer_ - 1) + " (offset " +
                             std::to_string(offset) + ", length " + std::to_string(length) +
                             ") lies outside the body of " + std::to_string(body_.size()) +
                             " bytes");
  }
  *size = static_cast<uint64_t>(length);
  if (length == 0) {
    *ptr = validity ? nullptr : static_cast<const void*>(kZeros);
    return Status::OK();
  }
  if (offset % 8 == 0) {
    if (body_copy_ == nullptr) {
      LARDER_ASSIGN_OR_RETURN(uint8_t * copy, Allocate(body_.size()));
      std::memcpy(copy, body_.data(), body_.size());
      body_copy_ = copy;
    }
    *ptr = body_copy_ + offset;
  } else {  // the format asks for 8-byte alignment; copy rather than refuse
    LARDER_ASSIGN_OR_RETURN(uint8_t * copy, Allocate(*size));
    std::memcpy(copy, body_.data() + offset, *size);
    *ptr = copy;
  }
  return Status::OK();
}

template <typename Offset>
Status BatchReader::CheckOffsets(const Field& f, const std::string& path, int64_t length,
                                 const void* offsets, uint64_t offsets_size, uint64_t limit,
                                 const char* limit_name) {
  if (length == 0 && offsets_size == 0) return Status::OK();  // kZeros: one offset 0
  const uint64_t needed = (static_cast<uint64_t>(length) + 1) * sizeof(Offset);
  if (offsets_size < needed) {
    return ColumnCorrupt(path, f,
                         "the offsets buffer holds " + std::to_string(offsets_size) + " bytes, " +
                             std::to_string(needed) + " are needed");
  }
  const auto* p = static_cast<const uint8_t*>(offsets);
  Offset prev = 0;
  std::memcpy(&prev, p, sizeof(Offset));
  if (prev < 0) return ColumnCorrupt(path, f, "the first offset is negative");
  for (int64_t i = 1; i <= length; ++i) {
    Offset cur = 0;
    std::memcpy(&cur, p + static_cast<uint64_t>(i) * sizeof(Offset), sizeof(Offset));
    if (cur < prev) {
      return ColumnCorrupt(path, f, "offsets decrease at row " + std::to_string(i - 1));
    }
    prev = cur;
  }
  if (static_cast<uint64_t>(prev) > limit) {
    return ColumnCorrupt(path, f,
                         std::string("offsets exceed the ") + limit_name + " (" +
                             std::to_string(prev) + " > " + std::to_string(limit) + ")");
  }
  return Status::OK();
}

// REQUIRES: CheckOffsets passed for these offsets and `data`.
template <typename Offset>
Status CheckUtf8(const Field& f, const std::string& path, int64_t length, const void* offsets,
                 const void* data) {
  const auto* o = static_cast<const uint8_t*>(offsets);
  const auto* d = static_cast<const uint8_t*>(data);
  Offset begin = 0;
  std::memcpy(&begin, o, sizeof(Offset));
  for (int64_t i = 0; i < length; ++i) {
    Offset end = 0;
    std::memcpy(&end, o + static_cast<uint64_t>(i + 1) * sizeof(Offset), sizeof(Offset));
    if (!ValidUtf8(d + begin, static_cast<uint64_t>(end - begin))) {
      return ColumnCorrupt(path, f, "row " + std::to_string(i) + " is not valid UTF-8");
    }
    begin = end;
  }
  return Status::OK();
}

Status BatchReader::ReadArray(const Field& f, const std::string& path, ArrayData* out) {
  if (next_node_ >= nodes_.size()) {
    return ColumnCorrupt(path, f,
                         "the record batch has fewer field nodes (" +
                             std::to_string(nodes_.size()) + ") than the schema has fields");
  }
  const std::string_view node = nodes_.BytesAt(next_node_++);
  std::memcpy(&out->length, node.data(), 8);
  std::memcpy(&out->null_count, node.data() + 8, 8);
  const int64_t length = out->length;
  if (length < 0) return ColumnCorrupt(path, f, "negative length " + std::to_string(length));
  if (out->null_count < 0 || out->null_count > length) {
    return ColumnCorrupt(path, f,
                         "null count " + std::to_string(out->null_count) + " is outside 0.." +
                             std::to_string(length));
  }
  const uint64_t ulength = static_cast<uint64_t>(length);
  if (f.layout == Layout::kNull) {
    out->null_count = length;  // every value of a null array is null
    return Status::OK();
  }
  const void* validity = nullptr;
  uint64_t validity_size = 0;
  LARDER_RETURN_IF_ERROR(NextBuffer(f, path, true, &validity, &validity_size));
  if (validity == nullptr) {
    if (out->null_count > 0) {
      return ColumnCorrupt(
          path, f, "null count " + std::to_string(out->null_count) + " but no validity bitmap");
    }
  } else if (validity_size < (ulength + 7) / 8) {
    return ColumnCorrupt(path, f,
                         "the validity bitmap holds " + std::to_string(validity_size) +
                             " bytes, too few for " + std::to_string(length) + " rows");
  }
  out->buffers.push_back(validity);

  auto read_child = [&](size_t i, uint64_t min_length) -> Status {
    const Field& cf = f.children[i];
    const std::string cpath = path + "." + (cf.name.empty() ? "#" + std::to_string(i) : cf.name);
    LARDER_RETURN_IF_ERROR(ReadArray(cf, cpath, &out->children[i]));
    if (static_cast<uint64_t>(out->children[i].length) < min_length) {
      return ColumnCorrupt(
          path, f,
          "child '" + cf.name + "' has " + std::to_string(out->children[i].length) +
              " values, fewer than the " + std::to_string(min_length) + " its parent needs");
    }
    return Status::OK();
  };

  switch (f.layout) {
    case Layout::kNull:
      break;
    case Layout::kBool:
    case Layout::kFixed: {
      const void* data = nullptr;
      uint64_t size = 0;
      LARDER_RETURN_IF_ERROR(NextBuffer(f, path, false, &data, &size));
      const bool too_small = f.layout == Layout::kBool
                                 ? size < (ulength + 7) / 8
                                 : size / static_cast<uint64_t>(f.byte_width) < ulength;
      if (too_small) {
        return ColumnCorrupt(path, f,
                             "the data buffer holds " + std::to_string(size) +
                                 " bytes, too few for " + std::to_string(length) + " values");
      }
      out->buffers.push_back(data);
      break;
    }
    case Layout::kBinary:
    case Layout::kLargeBinary: {
      const void* offsets = nullptr;
      const void* data = nullptr;
      uint64_t offsets_size = 0, data_size = 0;
      LARDER_RETURN_IF_ERROR(NextBuffer(f, path, false, &offsets, &offsets_size));
      LARDER_RETURN_IF_ERROR(NextBuffer(f, path, false, &data, &data_size));
      // Strings must be UTF-8: DuckDB's Arrow scan takes them as they are.
      const bool utf8 = f.format == "u" || f.format == "U";
      if (f.layout == Layout::kBinary) {
        LARDER_RETURN_IF_ERROR(CheckOffsets<int32_t>(f, path, length, offsets, offsets_size,
                                                     data_size, "data buffer"));
        if (utf8) LARDER_RETURN_IF_ERROR(CheckUtf8<int32_t>(f, path, length, offsets, data));
      } else {
        LARDER_RETURN_IF_ERROR(CheckOffsets<int64_t>(f, path, length, offsets, offsets_size,
                                                     data_size, "data buffer"));
        if (utf8) LARDER_RETURN_IF_ERROR(CheckUtf8<int64_t>(f, path, length, offsets, data));
      }
      out->buffers.push_back(offsets);
      out->buffers.push_back(data);
      break;
    }
    case Layout::kList:
    case Layout::kLargeList: {
      const void* offsets = nullptr;
      uint64_t offsets_size = 0;
      LARDER_RETURN_IF_ERROR(NextBuffer(f, path, false, &offsets, &offsets_size));
      out->buffers.push_back(offsets);
      out->children.resize(1);
      LARDER_RETURN_IF_ERROR(read_child(0, 0));
      const uint64_t values = static_cast<uint64_t>(out->children[0].length);
      if (f.layout == Layout::kList) {
        LARDER_RETURN_IF_ERROR(CheckOffsets<int32_t>(f, path, length, offsets, offsets_size, values,
                                                     "child's length"));
      } else {
        LARDER_RETURN_IF_ERROR(CheckOffsets<int64_t>(f, path, length, offsets, offsets_size, values,
                                                     "child's length"));
      }
      break;
    }
    case Layout::kFixedSizeList: {
      out->children.resize(1);
      int64_t needed = 0;
      if (__builtin_mul_overflow(length, f.list_size, &needed)) {
        return ColumnCorrupt(path, f, "length times list size overflows");
      }
      LARDER_RETURN_IF_ERROR(read_child(0, static_cast<uint64_t>(needed)));
      break;
    }
    case Layout::kStruct: {
      out->children.resize(f.children.size());
      for (size_t i = 0; i < f.children.size(); ++i) {
        LARDER_RETURN_IF_ERROR(read_child(i, ulength));
      }
      break;
    }
  }
  return Status::OK();
}

Result<RecordBatch> BatchReader::Read(const Schema& schema, int64_t length) {
  RecordBatch batch;
  batch.length = length;
  batch.columns.resize(schema.fields.size());
  for (size_t i = 0; i < schema.fields.size(); ++i) {
    const Field& f = schema.fields[i];
    const std::string path = f.name.empty() ? "#" + std::to_string(i) : f.name;
    LARDER_RETURN_IF_ERROR(ReadArray(f, path, &batch.columns[i]));
    if (batch.columns[i].length != length) {
      return ColumnCorrupt(path, f,
                           "has " + std::to_string(batch.columns[i].length) +
                               " rows in a record batch of " + std::to_string(length));
    }
  }
  if (next_node_ != nodes_.size()) {
    return Malformed("the record batch has " + std::to_string(nodes_.size()) +
                     " field nodes, more than the schema's " + std::to_string(next_node_));
  }
  if (next_buffer_ != buffers_.size()) {
    return Malformed("the record batch has " + std::to_string(buffers_.size()) +
                     " buffers, more than its columns' " + std::to_string(next_buffer_));
  }
  batch.memory = std::move(memory_);
  return batch;
}

Result<RecordBatch> ReadRecordBatch(const Schema& schema, const Message& m) {
  const FlatTable& h = *m.header;
  LARDER_ASSIGN_OR_RETURN(std::optional<FlatTable> compression, h.Table(fb::kBatchCompression));
  if (compression) {
    LARDER_ASSIGN_OR_RETURN(int8_t codec, compression->Scalar<int8_t>(fb::kCompressionCodec, 0));
    const std::string name = codec == 0   ? "LZ4_FRAME"
                             : codec == 1 ? "ZSTD"
                                          : "codec " + std::to_string(codec);
    return Status::InvalidArgument(
        "arrow ipc: the record batch body is compressed with " + name +
        ", which is not supported (ask the producer for uncompressed Arrow; in Spark, "
        "spark.sql.execution.arrow.compression.codec=none)");
  }
  LARDER_ASSIGN_OR_RETURN(int64_t length, h.Scalar<int64_t>(fb::kBatchLength, 0));
  if (length < 0) return Malformed("negative record batch length " + std::to_string(length));
  LARDER_ASSIGN_OR_RETURN(FlatVector nodes, h.Vector(fb::kBatchNodes, 16));
  LARDER_ASSIGN_OR_RETURN(FlatVector buffers, h.Vector(fb::kBatchBuffers, 16));
  BatchReader reader(m.body, nodes, buffers);
  return reader.Read(schema, length);
}

Result<Schema> SchemaOf(const Message& m) {
  if (m.header_type != fb::kHeaderSchema) {
    return Malformed("the stream does not start with a Schema message (header type " +
                     std::to_string(m.header_type) + ")");
  }
  auto schema = ReadSchemaTable(*m.header, m.metadata_size);
  if (!schema.ok() && schema.status().code() == StatusCode::kCorruption &&
      !schema.status().message().starts_with("arrow ipc: ")) {
    return Malformed("the schema: " + schema.status().message());
  }
  return schema;
}

// Prefixes flatbuffer errors (which do not know the stream) with "arrow ipc".
Status InStream(Status s) {
  if (s.ok() || s.message().starts_with("arrow ipc: ")) return s;
  return s.WithContext("arrow ipc");
}

// ---------------------------------------------------------------------------
// The C data interface

struct SchemaPrivate {
  std::string format;
  std::string name;
  std::vector<ArrowSchema*> children;
};

void ReleaseSchema(ArrowSchema* s) {
  if (s == nullptr || s->release == nullptr) return;
  auto* p = static_cast<SchemaPrivate*>(s->private_data);
  for (ArrowSchema* child : p->children) {
    if (child->release != nullptr) child->release(child);
    delete child;
  }
  delete p;
  s->release = nullptr;
}

void FillSchema(const std::string& format, const std::string& name, int64_t flags,
                const std::vector<Field>& children, ArrowSchema* out) {
  auto* p = new SchemaPrivate{format, name, {}};
  p->children.reserve(children.size());
  for (const Field& c : children) {
    auto* child = new ArrowSchema;
    const int64_t child_flags = (c.nullable ? ARROW_FLAG_NULLABLE : 0) |
                                (c.map_keys_sorted ? ARROW_FLAG_MAP_KEYS_SORTED : 0);
    FillSchema(c.format, c.name, child_flags, c.children, child);
    p->children.push_back(child);
  }
  out->format = p->format.c_str();
  out->name = p->name.c_str();
  out->metadata = nullptr;
  out->flags = flags;
  out->n_children = static_cast<int64_t>(p->children.size());
  out->children = p->children.empty() ? nullptr : p->children.data();
  out->dictionary = nullptr;
  out->release = ReleaseSchema;
  out->private_data = p;
}

struct ArrayPrivate {
  std::shared_ptr<const BatchMemory> memory;
  std::vector<const void*> buffers;
  std::vector<ArrowArray*> children;
};

void ReleaseArray(ArrowArray* a) {
  if (a == nullptr || a->release == nullptr) return;
  auto* p = static_cast<ArrayPrivate*>(a->private_data);
  for (ArrowArray* child : p->children) {
    if (child->release != nullptr) child->release(child);
    delete child;
  }
  delete p;
  a->release = nullptr;
}

void FillArray(ArrayData data, const std::shared_ptr<const BatchMemory>& memory, ArrowArray* out) {
  auto* p = new ArrayPrivate{memory, std::move(data.buffers), {}};
  p->children.reserve(data.children.size());
  for (ArrayData& c : data.children) {
    auto* child = new ArrowArray;
    FillArray(std::move(c), memory, child);
    p->children.push_back(child);
  }
  out->length = data.length;
  out->null_count = data.null_count;
  out->offset = 0;
  out->n_buffers = static_cast<int64_t>(p->buffers.size());
  out->n_children = static_cast<int64_t>(p->children.size());
  out->buffers = p->buffers.empty() ? nullptr : p->buffers.data();
  out->children = p->children.empty() ? nullptr : p->children.data();
  out->dictionary = nullptr;
  out->release = ReleaseArray;
  out->private_data = p;
}

}  // namespace

void ExportSchema(const Schema& schema, ArrowSchema* out) {
  FillSchema("+s", "", 0, schema.fields, out);
}

void ExportRecordBatch(RecordBatch batch, ArrowArray* out) {
  ArrayData top;
  top.length = batch.length;
  top.null_count = 0;
  top.buffers = {nullptr};
  top.children = std::move(batch.columns);
  FillArray(std::move(top), batch.memory, out);
}

Result<Schema> ReadSchema(std::string_view bytes) {
  uint64_t pos = 0;
  auto first = NextMessage(bytes, &pos);
  if (!first.ok()) return first.status();
  if (!first->has_value()) return Malformed("the stream holds no Schema message");
  auto schema = SchemaOf(**first);
  if (!schema.ok()) return InStream(schema.status());
  return schema;
}

Result<ArrowSchema> DecodeSchema(std::string_view bytes) {
  LARDER_ASSIGN_OR_RETURN(Schema schema, ReadSchema(bytes));
  ArrowSchema out;
  ExportSchema(schema, &out);
  return out;
}

Status IpcStreamDecoder::Append(std::string_view ipc_stream) {
  uint64_t pos = 0;
  LARDER_ASSIGN_OR_RETURN(std::optional<Message> first, NextMessage(ipc_stream, &pos));
  if (!first) return Malformed("the stream holds no Schema message");
  auto schema = SchemaOf(*first);
  if (!schema.ok()) return InStream(schema.status());
  if (schema_ && *schema != *schema_) {
    return Malformed("the schema differs from the first stream's: " +
                     FirstDifference(schema_->fields, schema->fields, ""));
  }
  std::vector<RecordBatch> batches;
  while (true) {
    const uint64_t at = pos;
    LARDER_ASSIGN_OR_RETURN(std::optional<Message> m, NextMessage(ipc_stream, &pos));
    if (!m) break;
    if (m->header_type == fb::kHeaderRecordBatch) {
      auto batch = ReadRecordBatch(*schema, *m);
      if (!batch.ok()) {
        Status s = batch.status();
        if (!s.message().starts_with("arrow ipc: ")) {
          s = Status::Corruption("arrow ipc: the record batch at byte " + std::to_string(at) +
                                 ": " + s.message());
        }
        return s;
      }
      batches.push_back(std::move(*batch));
    } else if (m->header_type == fb::kHeaderDictionaryBatch) {
      return Status::InvalidArgument(
          "arrow ipc: the stream holds a dictionary batch; dictionary encoding is not supported");
    } else if (m->header_type == fb::kHeaderSchema) {
      return Malformed("a second Schema message at byte " + std::to_string(at));
    } else {
      return Malformed("unexpected message (header type " + std::to_string(m->header_type) +
                       ") at byte " + std::to_string(at));
    }
  }
  if (!schema_) schema_ = std::move(*schema);
  for (RecordBatch& b : batches) queue_.push_back(std::move(b));
  return Status::OK();
}

std::optional<RecordBatch> IpcStreamDecoder::PopBatch() {
  if (queue_.empty()) return std::nullopt;
  RecordBatch b = std::move(queue_.front());
  queue_.pop_front();
  return b;
}

}  // namespace larder::offline::arrow_ipc
