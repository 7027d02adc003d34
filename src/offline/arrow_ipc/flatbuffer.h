// A minimal reader of FlatBuffers tables (https://flatbuffers.dev, "binary
// format"), enough for Arrow's IPC metadata (Schema.fbs, Message.fbs)
// without flatc or its runtime. Every offset and length is checked against
// the buffer before it is read, so any input, however malformed, gives a
// value or a Corruption status and never reads outside the buffer.
//
// The format, briefly: a buffer starts with a uint32 offset to the root
// table. A table starts with an int32 that, subtracted from the table's
// position, gives its vtable: uint16 vtable size in bytes, uint16 table size,
// then one uint16 per field id, the field's offset in the table (0: absent,
// the default applies). Scalars sit inline; a table, vector or string field
// holds a uint32 offset, relative to the field's own position, to the
// object. A vector is a uint32 element count followed by the elements (uint32
// offsets for tables, inline bytes for structs); a string is a uint32 byte
// count followed by the bytes. A union is two fields: the uint8 type at id
// n and the table at id n + 1. All little-endian.
//
// Thread safety: values; the viewed buffer must outlive them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string_view>
#include <type_traits>

#include "larder/status.h"

namespace larder::offline::arrow_ipc {

// Reads a little-endian T at `pos` of `buf`; false when it does not fit.
template <typename T>
bool ReadLittleEndian(std::string_view buf, uint64_t pos, T* out) {
  static_assert(std::is_trivially_copyable_v<T>);
  if (pos > buf.size() || buf.size() - pos < sizeof(T)) return false;
  std::memcpy(out, buf.data() + pos, sizeof(T));  // the host is little-endian (x86-64, arm64)
  return true;
}

class FlatTable;

// A vector of a table: its element count and where the elements start.
class FlatVector {
 public:
  FlatVector() = default;
  uint32_t size() const { return size_; }
  // The element at `i` of a vector of tables. REQUIRES: i < size().
  Result<FlatTable> TableAt(uint32_t i) const;
  // The `elem_size` bytes of element `i` of a vector of structs or scalars
  // (bounds were checked when the vector was read). REQUIRES: i < size().
  std::string_view BytesAt(uint32_t i) const {
    return buf_.substr(start_ + uint64_t{i} * elem_size_, elem_size_);
  }

 private:
  friend class FlatTable;
  FlatVector(std::string_view buf, uint64_t start, uint32_t size, uint32_t elem_size)
      : buf_(buf), start_(start), size_(size), elem_size_(elem_size) {}
  std::string_view buf_;
  uint64_t start_ = 0;
  uint32_t size_ = 0;
  uint32_t elem_size_ = 0;
};

// One table of a FlatBuffer, its vtable checked.
class FlatTable {
 public:
  // The root table of `buf`.
  static Result<FlatTable> Root(std::string_view buf);
  // The table at position `pos` of `buf`.
  static Result<FlatTable> At(std::string_view buf, uint64_t pos);

  // The scalar field `id` (int8..int64, uint8..uint64, bool as uint8), or
  // `fallback` when the field is absent.
  template <typename T>
  Result<T> Scalar(int id, T fallback) const {
    uint64_t off = 0;
    LARDER_RETURN_IF_ERROR(FieldOffset(id, sizeof(T), &off));
    if (off == 0) return fallback;
    T v{};
    if (!ReadLittleEndian(buf_, pos_ + off, &v)) return Truncated();
    return v;
  }
  // The table field `id`; nullopt when absent.
  Result<std::optional<FlatTable>> Table(int id) const;
  // The string field `id`; nullopt when absent.
  Result<std::optional<std::string_view>> String(int id) const;
  // The vector field `id` of elements of `elem_size` bytes (4 for tables);
  // an empty vector when absent.
  Result<FlatVector> Vector(int id, uint32_t elem_size) const;

 private:
  FlatTable(std::string_view buf, uint64_t pos, uint64_t vtable, uint16_t vtable_size,
            uint16_t table_size)
      : buf_(buf), pos_(pos), vtable_(vtable), vtable_size_(vtable_size), table_size_(table_size) {}
  // The offset of field `id` in the table (0 when absent), checked to hold
  // `size` bytes inside the table.
  Status FieldOffset(int id, uint64_t size, uint64_t* off) const;
  // The absolute position that the uint32 offset in field `id` points to;
  // 0 when the field is absent (no object can sit at position 0).
  Status Target(int id, uint64_t* target) const;
  static Status Truncated();

  std::string_view buf_;
  uint64_t pos_ = 0;
  uint64_t vtable_ = 0;
  uint16_t vtable_size_ = 0;
  uint16_t table_size_ = 0;
};

}  // namespace larder::offline::arrow_ipc
