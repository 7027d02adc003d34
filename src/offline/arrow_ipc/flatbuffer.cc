#include "offline/arrow_ipc/flatbuffer.h"

#include <string>

namespace larder::offline::arrow_ipc {

Status FlatTable::Truncated() {
  return Status::Corruption(
      "malformed flatbuffer: an offset or length points outside the metadata");
}

Result<FlatTable> FlatTable::Root(std::string_view buf) {
  uint32_t root = 0;
  if (!ReadLittleEndian(buf, 0, &root)) return Truncated();
  return At(buf, root);
}

Result<FlatTable> FlatTable::At(std::string_view buf, uint64_t pos) {
  int32_t soffset = 0;
  if (!ReadLittleEndian(buf, pos, &soffset)) return Truncated();
  const int64_t vtable = static_cast<int64_t>(pos) - int64_t{soffset};
  uint16_t vtable_size = 0;
  uint16_t table_size = 0;
  if (vtable < 0 || !ReadLittleEndian(buf, static_cast<uint64_t>(vtable), &vtable_size) ||
      !ReadLittleEndian(buf, static_cast<uint64_t>(vtable) + 2, &table_size)) {
    return Truncated();
  }
  if (vtable_size < 4 || vtable_size % 2 != 0 || table_size < 4) {
    return Status::Corruption("malformed flatbuffer: a vtable has impossible sizes");
  }
  if (static_cast<uint64_t>(vtable) + vtable_size > buf.size() || pos + table_size > buf.size()) {
    return Truncated();
  }
  return FlatTable(buf, pos, static_cast<uint64_t>(vtable), vtable_size, table_size);
}

Status FlatTable::FieldOffset(int id, uint64_t size, uint64_t* off) const {
  *off = 0;
  const uint64_t slot = 4 + 2 * static_cast<uint64_t>(id);
  if (id < 0 || slot + 2 > vtable_size_) return Status::OK();  // a field newer than the writer
  uint16_t field = 0;
  if (!ReadLittleEndian(buf_, vtable_ + slot, &field)) return Truncated();
  if (field == 0) return Status::OK();
  if (field < 4 || field + size > table_size_) {
    return Status::Corruption("malformed flatbuffer: a field lies outside its table");
  }
  *off = field;
  return Status::OK();
}

Status FlatTable::Target(int id, uint64_t* target) const {
  *target = 0;
  uint64_t off = 0;
  LARDER_RETURN_IF_ERROR(FieldOffset(id, 4, &off));
  if (off == 0) return Status::OK();
  uint32_t rel = 0;
  if (!ReadLittleEndian(buf_, pos_ + off, &rel)) return Truncated();
  const uint64_t at = pos_ + off + rel;
  if (rel == 0 || at >= buf_.size()) return Truncated();
  *target = at;
  return Status::OK();
}

Result<std::optional<FlatTable>> FlatTable::Table(int id) const {
  uint64_t at = 0;
  LARDER_RETURN_IF_ERROR(Target(id, &at));
  if (at == 0) return std::optional<FlatTable>();
  LARDER_ASSIGN_OR_RETURN(FlatTable t, At(buf_, at));
  return std::optional<FlatTable>(t);
}

Result<std::optional<std::string_view>> FlatTable::String(int id) const {
  uint64_t at = 0;
  LARDER_RETURN_IF_ERROR(Target(id, &at));
  if (at == 0) return std::optional<std::string_view>();
  uint32_t len = 0;
  if (!ReadLittleEndian(buf_, at, &len) || buf_.size() - at - 4 < len) return Truncated();
  return std::optional<std::string_view>(buf_.substr(at + 4, len));
}

Result<FlatVector> FlatTable::Vector(int id, uint32_t elem_size) const {
  uint64_t at = 0;
  LARDER_RETURN_IF_ERROR(Target(id, &at));
  if (at == 0) return FlatVector();
  uint32_t count = 0;
  if (!ReadLittleEndian(buf_, at, &count) || (buf_.size() - at - 4) / elem_size < count) {
    return Truncated();
  }
  return FlatVector(buf_, at + 4, count, elem_size);
}

Result<FlatTable> FlatVector::TableAt(uint32_t i) const {
  const uint64_t slot = start_ + uint64_t{i} * 4;
  uint32_t rel = 0;
  if (i >= size_ || !ReadLittleEndian(buf_, slot, &rel) || rel == 0) {
    return Status::Corruption("malformed flatbuffer: a vector element points outside the metadata");
  }
  return FlatTable::At(buf_, slot + rel);
}

}  // namespace larder::offline::arrow_ipc
