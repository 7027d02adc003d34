#include "offline/duckdb/duckdb_connection.h"

#include "offline/duckdb/duckdb_result.h"

#include <array>
#include <charconv>
#include <condition_variable>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <system_error>
#include <utility>

namespace larder::duckdb {

namespace {

__extension__ typedef __int128 Int128;
__extension__ typedef unsigned __int128 UInt128;

// ---- Rendering values as text ---------------------------------------------

// The parts of a logical type that rendering needs, read once per column.
struct TypeNode {
  duckdb_type id = DUCKDB_TYPE_INVALID;
  std::string name;
  duckdb_type internal = DUCKDB_TYPE_INVALID;  // DECIMAL and ENUM storage
  uint8_t scale = 0;                           // DECIMAL
  idx_t array_size = 0;                        // ARRAY
  std::vector<std::string> enum_values;        // ENUM
  std::vector<std::string> child_names;        // STRUCT, UNION
  std::vector<TypeNode> children;  // LIST/ARRAY: 1; MAP: key, value; ...
};

std::string TakeDuckString(char* s) {
  if (s == nullptr) return std::string();
  std::string out(s);
  duckdb_free(s);
  return out;
}

bool IdentifierNeedsQuotes(std::string_view name) {
  if (name.empty()) return true;
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
    if (!ok) return true;
  }
  return name[0] >= '0' && name[0] <= '9';
}

std::string StructFieldName(std::string_view name) {
  return IdentifierNeedsQuotes(name) ? QuoteIdentifier(name)
                                     : std::string(name);
}

TypeNode BuildTypeNode(duckdb_logical_type type) {
  TypeNode node;
  node.id = duckdb_get_type_id(type);
  auto child = [&](duckdb_logical_type t) {
    TypeNode c = BuildTypeNode(t);
    duckdb_destroy_logical_type(&t);
    return c;
  };
  switch (node.id) {
    case DUCKDB_TYPE_BOOLEAN: node.name = "BOOLEAN"; break;
    case DUCKDB_TYPE_TINYINT: node.name = "TINYINT"; break;
    case DUCKDB_TYPE_SMALLINT: node.name = "SMALLINT"; break;
    case DUCKDB_TYPE_INTEGER: node.name = "INTEGER"; break;
    case DUCKDB_TYPE_BIGINT: node.name = "BIGINT"; break;
    case DUCKDB_TYPE_UTINYINT: node.name = "UTINYINT"; break;
    case DUCKDB_TYPE_USMALLINT: node.name = "USMALLINT"; break;
    case DUCKDB_TYPE_UINTEGER: node.name = "UINTEGER"; break;
    case DUCKDB_TYPE_UBIGINT: node.name = "UBIGINT"; break;
    case DUCKDB_TYPE_FLOAT: node.name = "FLOAT"; break;
    case DUCKDB_TYPE_DOUBLE: node.name = "DOUBLE"; break;
    case DUCKDB_TYPE_TIMESTAMP: node.name = "TIMESTAMP"; break;
    case DUCKDB_TYPE_DATE: node.name = "DATE"; break;
    case DUCKDB_TYPE_TIME: node.name = "TIME"; break;
    case DUCKDB_TYPE_INTERVAL: node.name = "INTERVAL"; break;
    case DUCKDB_TYPE_HUGEINT: node.name = "HUGEINT"; break;
    case DUCKDB_TYPE_UHUGEINT: node.name = "UHUGEINT"; break;
    case DUCKDB_TYPE_VARCHAR: node.name = "VARCHAR"; break;
    case DUCKDB_TYPE_BLOB: node.name = "BLOB"; break;
    case DUCKDB_TYPE_TIMESTAMP_S: node.name = "TIMESTAMP_S"; break;
    case DUCKDB_TYPE_TIMESTAMP_MS: node.name = "TIMESTAMP_MS"; break;
    case DUCKDB_TYPE_TIMESTAMP_NS: node.name = "TIMESTAMP_NS"; break;
    case DUCKDB_TYPE_UUID: node.name = "UUID"; break;
    case DUCKDB_TYPE_BIT: node.name = "BIT"; break;
    case DUCKDB_TYPE_TIME_TZ: node.name = "TIME WITH TIME ZONE"; break;
    case DUCKDB_TYPE_TIMESTAMP_TZ:
      node.name = "TIMESTAMP WITH TIME ZONE";
      break;
    case DUCKDB_TYPE_ANY: node.name = "ANY"; break;
    case DUCKDB_TYPE_BIGNUM: node.name = "BIGNUM"; break;
    case DUCKDB_TYPE_SQLNULL: node.name = "\"NULL\""; break;
    case DUCKDB_TYPE_STRING_LITERAL: node.name = "STRING_LITERAL"; break;
    case DUCKDB_TYPE_INTEGER_LITERAL: node.name = "INTEGER_LITERAL"; break;
    case DUCKDB_TYPE_TIME_NS: node.name = "TIME_NS"; break;
    case DUCKDB_TYPE_DECIMAL: {
      node.internal = duckdb_decimal_internal_type(type);
      node.scale = duckdb_decimal_scale(type);
      node.name = "DECIMAL(" + std::to_string(duckdb_decimal_width(type)) +
                  "," + std::to_string(node.scale) + ")";
      break;
    }
    case DUCKDB_TYPE_ENUM: {
      node.internal = duckdb_enum_internal_type(type);
      uint32_t n = duckdb_enum_dictionary_size(type);
      node.name = "ENUM(";
      for (uint32_t i = 0; i < n; ++i) {
        node.enum_values.push_back(
            TakeDuckString(duckdb_enum_dictionary_value(type, i)));
        if (i > 0) node.name += ", ";
        node.name += QuoteLiteral(node.enum_values.back());
      }
      node.name += ")";
      break;
    }
    case DUCKDB_TYPE_LIST:
      node.children.push_back(child(duckdb_list_type_child_type(type)));
      node.name = node.children[0].name + "[]";
      break;
    case DUCKDB_TYPE_ARRAY:
      node.children.push_back(child(duckdb_array_type_child_type(type)));
      node.array_size = duckdb_array_type_array_size(type);
      node.name = node.children[0].name + "[" +
                  std::to_string(node.array_size) + "]";
      break;
    case DUCKDB_TYPE_MAP:
      node.children.push_back(child(duckdb_map_type_key_type(type)));
      node.children.push_back(child(duckdb_map_type_value_type(type)));
      node.name = "MAP(" + node.children[0].name + ", " +
                  node.children[1].name + ")";
      break;
    case DUCKDB_TYPE_STRUCT:
    case DUCKDB_TYPE_UNION: {
      bool is_union = node.id == DUCKDB_TYPE_UNION;
      idx_t n = is_union ? duckdb_union_type_member_count(type)
                         : duckdb_struct_type_child_count(type);
      node.name = is_union ? "UNION(" : "STRUCT(";
      for (idx_t i = 0; i < n; ++i) {
        node.child_names.push_back(TakeDuckString(
            is_union ? duckdb_union_type_member_name(type, i)
                     : duckdb_struct_type_child_name(type, i)));
        node.children.push_back(
            child(is_union ? duckdb_union_type_member_type(type, i)
                           : duckdb_struct_type_child_type(type, i)));
        if (i > 0) node.name += ", ";
        node.name += StructFieldName(node.child_names.back()) + " " +
                     node.children.back().name;
      }
      node.name += ")";
      break;
    }
    default:
      node.name = "UNKNOWN";
      break;
  }
  std::string alias = TakeDuckString(duckdb_logical_type_get_alias(type));
  if (!alias.empty()) node.name = alias;
  return node;
}

bool Renderable(const TypeNode& node) {
  switch (node.id) {
    case DUCKDB_TYPE_BIGNUM:
    case DUCKDB_TYPE_ANY:
    case DUCKDB_TYPE_INVALID:
    case DUCKDB_TYPE_STRING_LITERAL:
    case DUCKDB_TYPE_INTEGER_LITERAL:
      return false;
    default:
      break;
  }
  if (node.id == DUCKDB_TYPE_ENUM && node.internal != DUCKDB_TYPE_UTINYINT &&
      node.internal != DUCKDB_TYPE_USMALLINT &&
      node.internal != DUCKDB_TYPE_UINTEGER) {
    return false;
  }
  for (const TypeNode& c : node.children) {
    if (!Renderable(c)) return false;
  }
  return true;
}

template <typename T>
const T* Data(duckdb_vector v) {
  return static_cast<const T*>(duckdb_vector_get_data(v));
}

void AppendInt128(UInt128 magnitude, bool negative, std::string& out) {
  char buf[48];
  char* p = buf + sizeof(buf);
  do {
    *--p = static_cast<char>('0' + static_cast<int>(magnitude % 10));
    magnitude /= 10;
  } while (magnitude != 0);
  if (negative) *--p = '-';
  out.append(p, static_cast<size_t>(buf + sizeof(buf) - p));
}

void AppendSigned128(Int128 v, std::string& out) {
  bool negative = v < 0;
  UInt128 magnitude =
      negative ? UInt128(0) - static_cast<UInt128>(v) : static_cast<UInt128>(v);
  AppendInt128(magnitude, negative, out);
}

void AppendDecimal(Int128 v, uint8_t scale, std::string& out) {
  bool negative = v < 0;
  UInt128 magnitude =
      negative ? UInt128(0) - static_cast<UInt128>(v) : static_cast<UInt128>(v);
  std::string digits;
  AppendInt128(magnitude, false, digits);
  if (scale == 0) {
    if (negative) out += '-';
    out += digits;
    return;
  }
  if (digits.size() <= scale) {
    digits.insert(0, scale + 1 - digits.size(), '0');
  }
  if (negative) out += '-';
  out.append(digits, 0, digits.size() - scale);
  out += '.';
  out.append(digits, digits.size() - scale, std::string::npos);
}

template <typename T>
void AppendFloating(T v, std::string& out) {
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof(buf), v);
  std::string_view s(buf, static_cast<size_t>(res.ptr - buf));
  out += s;
  bool integral = true;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || c == '-')) integral = false;
  }
  if (integral) out += ".0";
}

void AppendPadded(int64_t v, int width, std::string& out) {
  std::string digits = std::to_string(v);
  if (static_cast<int>(digits.size()) < width) {
    out.append(static_cast<size_t>(width) - digits.size(), '0');
  }
  out += digits;
}

int64_t FloorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

// Appends "YYYY-MM-DD"; returns true when the year is before 1 AD, which the
// caller marks with " (BC)" as DuckDB does.
bool AppendDateOnly(int32_t days, std::string& out) {
  duckdb_date_struct d = duckdb_from_date(duckdb_date{days});
  bool bc = d.year <= 0;
  AppendPadded(bc ? 1 - int64_t{d.year} : d.year, 4, out);
  out += '-';
  AppendPadded(d.month, 2, out);
  out += '-';
  AppendPadded(d.day, 2, out);
  return bc;
}

void AppendDate(int32_t days, std::string& out) {
  if (AppendDateOnly(days, out)) out += " (BC)";
}

// Appends "HH:MM:SS[.fraction]" for `units` of 10^-digits seconds since
// midnight (hours may exceed 23 for intervals), trailing zeros trimmed.
void AppendClock(uint64_t units, int digits, std::string& out) {
  uint64_t per_second = 1;
  for (int i = 0; i < digits; ++i) per_second *= 10;
  uint64_t seconds = units / per_second;
  uint64_t fraction = units % per_second;
  AppendPadded(static_cast<int64_t>(seconds / 3600), 2, out);
  out += ':';
  AppendPadded(static_cast<int64_t>(seconds / 60 % 60), 2, out);
  out += ':';
  AppendPadded(static_cast<int64_t>(seconds % 60), 2, out);
  if (fraction != 0) {
    std::string f;
    AppendPadded(static_cast<int64_t>(fraction), digits, f);
    while (!f.empty() && f.back() == '0') f.pop_back();
    out += '.';
    out += f;
  }
}

// `units` of 10^-digits seconds since the epoch.
void AppendTimestampUnits(int64_t units, int digits, std::string& out) {
  int64_t per_day = 86400;
  for (int i = 0; i < digits; ++i) per_day *= 10;
  int64_t days = FloorDiv(units, per_day);
  int64_t rem = units - days * per_day;
  if (AppendDateOnly(static_cast<int32_t>(days), out)) out += " (BC)";
  out += ' ';
  AppendClock(static_cast<uint64_t>(rem), digits, out);
}

bool AppendInfinity(int64_t v, int64_t max, std::string& out) {
  if (v == max) {
    out += "infinity";
    return true;
  }
  if (v == -max) {
    out += "-infinity";
    return true;
  }
  return false;
}

void AppendInterval(const duckdb_interval& iv, std::string& out) {
  auto part = [&](int64_t n, const char* unit) {
    if (n == 0) return;
    out += std::to_string(n);
    out += ' ';
    out += unit;
    if (n != 1 && n != -1) out += 's';
    out += ' ';
  };
  size_t start = out.size();
  part(iv.months / 12, "year");
  part(iv.months % 12, "month");
  part(iv.days, "day");
  if (iv.micros != 0) {
    if (iv.micros < 0) out += '-';
    uint64_t m = iv.micros < 0 ? 0 - static_cast<uint64_t>(iv.micros)
                               : static_cast<uint64_t>(iv.micros);
    AppendClock(m, 6, out);
  } else if (out.size() == start) {
    out += "00:00:00";
  } else {
    out.pop_back();  // the space after the last part
  }
}

void AppendBlob(std::string_view bytes, std::string& out) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (char ch : bytes) {
    auto b = static_cast<unsigned char>(ch);
    if (b >= 32 && b <= 126 && b != '\'' && b != '\\') {
      out += ch;
    } else {
      out += "\\x";
      out += kHex[b >> 4];
      out += kHex[b & 15];
    }
  }
}

void AppendNestedString(std::string_view s, std::string& out) {
  bool quote = s.empty() || s.front() == ' ' || s.back() == ' ';
  if (!quote && s.size() == 4) {
    std::string lower(s);
    for (char& c : lower) c = static_cast<char>(c | 0x20);
    quote = lower == "null";
  }
  for (char c : s) {
    if (std::strchr("'\",[]{}():=\\\n\t", c) != nullptr && c != '\0') {
      quote = true;
    }
  }
  if (!quote) {
    out += s;
    return;
  }
  out += '\'';
  for (char c : s) {
    if (c == '\'' || c == '\\') out += '\\';
    out += c;
  }
  out += '\'';
}


Int128 HugeAt(duckdb_vector v, idx_t row) {
  const duckdb_hugeint& h = Data<duckdb_hugeint>(v)[row];
  return static_cast<Int128>(
      (static_cast<UInt128>(static_cast<uint64_t>(h.upper)) << 64) | h.lower);
}

// Appends the value at `row` of `v`. REQUIRES: the value is valid (not NULL)
// and Renderable(node).
void AppendValue(duckdb_vector v, const TypeNode& node, idx_t row,
                 bool nested, std::string& out);

void AppendElement(duckdb_vector v, const TypeNode& node, idx_t row,
                   std::string& out) {
  if (!IsValid(v, row)) {
    out += "NULL";
    return;
  }
  AppendValue(v, node, row, /*nested=*/true, out);
}

void AppendValue(duckdb_vector v, const TypeNode& node, idx_t row,
                 bool nested, std::string& out) {
  switch (node.id) {
    case DUCKDB_TYPE_BOOLEAN:
      out += Data<bool>(v)[row] ? "true" : "false";
      return;
    case DUCKDB_TYPE_TINYINT:
      out += std::to_string(Data<int8_t>(v)[row]);
      return;
    case DUCKDB_TYPE_SMALLINT:
      out += std::to_string(Data<int16_t>(v)[row]);
      return;
    case DUCKDB_TYPE_INTEGER:
      out += std::to_string(Data<int32_t>(v)[row]);
      return;
    case DUCKDB_TYPE_BIGINT:
      out += std::to_string(Data<int64_t>(v)[row]);
      return;
    case DUCKDB_TYPE_UTINYINT:
      out += std::to_string(Data<uint8_t>(v)[row]);
      return;
    case DUCKDB_TYPE_USMALLINT:
      out += std::to_string(Data<uint16_t>(v)[row]);
      return;
    case DUCKDB_TYPE_UINTEGER:
      out += std::to_string(Data<uint32_t>(v)[row]);
      return;
    case DUCKDB_TYPE_UBIGINT:
      out += std::to_string(Data<uint64_t>(v)[row]);
      return;
    case DUCKDB_TYPE_FLOAT:
      AppendFloating(Data<float>(v)[row], out);
      return;
    case DUCKDB_TYPE_DOUBLE:
      AppendFloating(Data<double>(v)[row], out);
      return;
    case DUCKDB_TYPE_HUGEINT:
      AppendSigned128(HugeAt(v, row), out);
      return;
    case DUCKDB_TYPE_UHUGEINT: {
      const duckdb_uhugeint& h = Data<duckdb_uhugeint>(v)[row];
      AppendInt128((static_cast<UInt128>(h.upper) << 64) | h.lower, false,
                   out);
      return;
    }
    case DUCKDB_TYPE_DECIMAL: {
      Int128 raw = 0;
      switch (node.internal) {
        case DUCKDB_TYPE_SMALLINT: raw = Data<int16_t>(v)[row]; break;
        case DUCKDB_TYPE_INTEGER: raw = Data<int32_t>(v)[row]; break;
        case DUCKDB_TYPE_BIGINT: raw = Data<int64_t>(v)[row]; break;
        default: raw = HugeAt(v, row); break;
      }
      AppendDecimal(raw, node.scale, out);
      return;
    }
    case DUCKDB_TYPE_DATE: {
      int32_t days = Data<int32_t>(v)[row];
      if (!AppendInfinity(days, INT32_MAX, out)) AppendDate(days, out);
      return;
    }
    case DUCKDB_TYPE_TIME:
      AppendClock(static_cast<uint64_t>(Data<int64_t>(v)[row]), 6, out);
      return;
    case DUCKDB_TYPE_TIME_NS:
      AppendClock(static_cast<uint64_t>(Data<int64_t>(v)[row]), 9, out);
      return;
    case DUCKDB_TYPE_TIME_TZ: {
      duckdb_time_tz_struct t =
          duckdb_from_time_tz(duckdb_time_tz{Data<uint64_t>(v)[row]});
      uint64_t micros =
          ((static_cast<uint64_t>(t.time.hour) * 60 +
            static_cast<uint64_t>(t.time.min)) * 60 +
           static_cast<uint64_t>(t.time.sec)) * 1000000 +
          static_cast<uint64_t>(t.time.micros);
      AppendClock(micros, 6, out);
      int32_t off = t.offset;
      out += off < 0 ? '-' : '+';
      if (off < 0) off = -off;
      AppendPadded(off / 3600, 2, out);
      if (off % 3600 != 0) {
        out += ':';
        AppendPadded(off / 60 % 60, 2, out);
        if (off % 60 != 0) {
          out += ':';
          AppendPadded(off % 60, 2, out);
        }
      }
      return;
    }
    case DUCKDB_TYPE_TIMESTAMP:
    case DUCKDB_TYPE_TIMESTAMP_TZ: {
      int64_t micros = Data<int64_t>(v)[row];
      if (AppendInfinity(micros, INT64_MAX, out)) return;
      AppendTimestampUnits(micros, 6, out);
      if (node.id == DUCKDB_TYPE_TIMESTAMP_TZ) out += "+00";
      return;
    }
    case DUCKDB_TYPE_TIMESTAMP_S:
    case DUCKDB_TYPE_TIMESTAMP_MS:
    case DUCKDB_TYPE_TIMESTAMP_NS: {
      int64_t units = Data<int64_t>(v)[row];
      if (AppendInfinity(units, INT64_MAX, out)) return;
      int digits = node.id == DUCKDB_TYPE_TIMESTAMP_S    ? 0
                   : node.id == DUCKDB_TYPE_TIMESTAMP_MS ? 3
                                                         : 9;
      AppendTimestampUnits(units, digits, out);
      return;
    }
    case DUCKDB_TYPE_INTERVAL:
      AppendInterval(Data<duckdb_interval>(v)[row], out);
      return;
    case DUCKDB_TYPE_VARCHAR:
      if (nested) {
        AppendNestedString(StringAt(v, row), out);
      } else {
        out += StringAt(v, row);
      }
      return;
    case DUCKDB_TYPE_BLOB:
      AppendBlob(StringAt(v, row), out);
      return;
    case DUCKDB_TYPE_BIT: {
      std::string_view bits = StringAt(v, row);
      if (bits.empty()) return;
      int padding = static_cast<unsigned char>(bits[0]);
      for (size_t i = 1; i < bits.size(); ++i) {
        auto byte = static_cast<unsigned char>(bits[i]);
        for (int b = 7; b >= 0; --b) {
          if (i == 1 && 7 - b < padding) continue;
          out += ((byte >> b) & 1) ? '1' : '0';
        }
      }
      return;
    }
    case DUCKDB_TYPE_UUID: {
      const duckdb_hugeint& h = Data<duckdb_hugeint>(v)[row];
      uint64_t upper = static_cast<uint64_t>(h.upper) ^ (uint64_t{1} << 63);
      static constexpr char kHex[] = "0123456789abcdef";
      std::string hex;
      for (int i = 15; i >= 0; --i) hex += kHex[(upper >> (i * 4)) & 15];
      for (int i = 15; i >= 0; --i) hex += kHex[(h.lower >> (i * 4)) & 15];
      out += hex.substr(0, 8) + "-" + hex.substr(8, 4) + "-" +
             hex.substr(12, 4) + "-" + hex.substr(16, 4) + "-" +
             hex.substr(20);
      return;
    }
    case DUCKDB_TYPE_ENUM: {
      uint64_t idx = 0;
      switch (node.internal) {
        case DUCKDB_TYPE_UTINYINT: idx = Data<uint8_t>(v)[row]; break;
        case DUCKDB_TYPE_USMALLINT: idx = Data<uint16_t>(v)[row]; break;
        default: idx = Data<uint32_t>(v)[row]; break;
      }
      std::string_view s = idx < node.enum_values.size()
                               ? std::string_view(node.enum_values[idx])
                               : std::string_view();
      if (nested) {
        AppendNestedString(s, out);
      } else {
        out += s;
      }
      return;
    }
    case DUCKDB_TYPE_LIST:
    case DUCKDB_TYPE_MAP: {
      const duckdb_list_entry& e = Data<duckdb_list_entry>(v)[row];
      duckdb_vector child = duckdb_list_vector_get_child(v);
      bool is_map = node.id == DUCKDB_TYPE_MAP;
      out += is_map ? '{' : '[';
      for (uint64_t i = 0; i < e.length; ++i) {
        if (i > 0) out += ", ";
        if (is_map) {
          duckdb_vector keys = duckdb_struct_vector_get_child(child, 0);
          duckdb_vector values = duckdb_struct_vector_get_child(child, 1);
          AppendElement(keys, node.children[0], e.offset + i, out);
          out += '=';
          AppendElement(values, node.children[1], e.offset + i, out);
        } else {
          AppendElement(child, node.children[0], e.offset + i, out);
        }
      }
      out += is_map ? '}' : ']';
      return;
    }
    case DUCKDB_TYPE_ARRAY: {
      duckdb_vector child = duckdb_array_vector_get_child(v);
      out += '[';
      for (idx_t i = 0; i < node.array_size; ++i) {
        if (i > 0) out += ", ";
        AppendElement(child, node.children[0], row * node.array_size + i,
                      out);
      }
      out += ']';
      return;
    }
    case DUCKDB_TYPE_STRUCT: {
      out += '{';
      for (size_t i = 0; i < node.children.size(); ++i) {
        if (i > 0) out += ", ";
        out += QuoteLiteral(node.child_names[i]);
        out += ": ";
        AppendElement(duckdb_struct_vector_get_child(v, i), node.children[i],
                      row, out);
      }
      out += '}';
      return;
    }
    case DUCKDB_TYPE_UNION: {
      duckdb_vector tags = duckdb_struct_vector_get_child(v, 0);
      uint8_t tag = Data<uint8_t>(tags)[row];
      if (tag < node.children.size()) {
        AppendElement(duckdb_struct_vector_get_child(v, idx_t{tag} + 1),
                      node.children[tag], row, out);
      }
      return;
    }
    case DUCKDB_TYPE_SQLNULL:
    default:
      out += "NULL";
      return;
  }
}

}  // namespace

// ---- QueryResult ------------------------------------------------------------

int QueryResult::ColumnIndex(std::string_view name) const {
  for (size_t i = 0; i < column_names.size(); ++i) {
    if (column_names[i] == name) return static_cast<int>(i);
  }
  return -1;
}

// ---- Connection -------------------------------------------------------------

namespace {

// The database files open for writing in this process, by absolute path. A
// second Open of such a file shares the first's database: DuckDB's file
// lock keeps other processes out but not this one, and two instances of one
// file in one process would both write it. A database closes (under the
// mutex, so that no Open of its file starts meanwhile) when its last
// connection does.
struct WritableRegistry {
  std::mutex mu;
  std::condition_variable closed;
  std::map<std::string, std::weak_ptr<void>> open;
};
// Never destroyed: databases may close during static destruction.
WritableRegistry& Writable() {
  static auto* registry = new WritableRegistry;
  return *registry;
}

}  // namespace

struct Connection::Database {
  duckdb_database handle = nullptr;
  std::string shared_path;  // its key in WritableDatabases(), when there
  ~Database() {
    if (handle == nullptr) return;
    if (shared_path.empty()) {
      duckdb_close(&handle);
      return;
    }
    WritableRegistry& w = Writable();
    std::lock_guard lock(w.mu);
    duckdb_close(&handle);
    w.open.erase(shared_path);
    w.closed.notify_all();
  }
};

Connection::Connection(std::shared_ptr<Database> db, duckdb_connection conn,
                       std::string path)
    : db_(std::move(db)), conn_(conn), path_(std::move(path)) {}

Connection::~Connection() {
  if (conn_ != nullptr) duckdb_disconnect(&conn_);
}

Result<std::unique_ptr<Connection>> Connection::Open(const std::string& path,
                                                     const OpenOptions& options) {
  const bool in_memory = path.empty() || path == ":memory:";
  std::string what = in_memory ? std::string("in-memory DuckDB database")
                               : "DuckDB database " + path;
  if (in_memory && options.read_only) {
    return Status::InvalidArgument(what + ": cannot be opened read-only");
  }
  if (!in_memory && !options.read_only) {
    std::filesystem::path parent = std::filesystem::path(path).parent_path();
    if (!parent.empty()) {
      std::error_code ec;
      std::filesystem::create_directories(parent, ec);
      if (ec) {
        return Status::IOError(what + ": cannot create directory " +
                               parent.string() + ": " + ec.message());
      }
    }
  }
  std::unique_lock<std::mutex> shared_lock;
  std::string shared_path;
  if (!in_memory && !options.read_only) {
    std::error_code ec;
    shared_path = std::filesystem::weakly_canonical(std::filesystem::absolute(path), ec).string();
    if (ec) shared_path = path;
    WritableRegistry& w = Writable();
    shared_lock = std::unique_lock(w.mu);
    while (true) {
      auto it = w.open.find(shared_path);
      if (it == w.open.end()) break;
      if (auto held = std::static_pointer_cast<Database>(it->second.lock())) {
        shared_lock.unlock();
        return Connect(std::move(held), path);
      }
      w.closed.wait(shared_lock);  // its last connection is closing it
    }
  }
  auto db = std::make_shared<Database>();
  // Larder never downloads DuckDB extensions at run time: what it needs
  // (parquet, json, ICU) is built in, and production hosts may be offline.
  duckdb_config config = nullptr;
  if (duckdb_create_config(&config) == DuckDBError) {
    return Status::Internal(what + ": cannot create a DuckDB config");
  }
  duckdb_set_config(config, "autoinstall_known_extensions", "false");
  if (options.read_only) duckdb_set_config(config, "access_mode", "READ_ONLY");
  char* error = nullptr;
  duckdb_state opened = duckdb_open_ext(in_memory ? nullptr : path.c_str(),
                                        &db->handle, config, &error);
  duckdb_destroy_config(&config);
  if (opened == DuckDBError) {
    std::string text = error != nullptr ? error : "cannot open";
    if (error != nullptr) duckdb_free(error);
    db->handle = nullptr;
    std::string msg = Prefixed(what, text);
    if (text.find("Could not set lock") != std::string::npos ||
        text.find("Conflicting lock") != std::string::npos) {
      return Status::Busy(std::move(msg));
    }
    return Status::IOError(std::move(msg));
  }
  if (shared_lock.owns_lock()) {
    db->shared_path = shared_path;
    Writable().open[shared_path] = db;
    shared_lock.unlock();
  }
  return Connect(std::move(db), in_memory ? std::string() : path);
}

Result<std::unique_ptr<Connection>> Connection::Connect(
    std::shared_ptr<Database> db, std::string path) {
  duckdb_connection conn = nullptr;
  if (duckdb_connect(db->handle, &conn) == DuckDBError) {
    return Status::IOError(
        "cannot connect to DuckDB database " +
        (path.empty() ? std::string("(in-memory)") : path));
  }
  std::unique_ptr<Connection> c(
      new Connection(std::move(db), conn, std::move(path)));
  // TIMESTAMP WITH TIME ZONE renders and casts in the session's zone; UTC
  // keeps results independent of the machine. Needs ICU, which this build
  // has; without it timestamps with zone are UTC anyway.
  ResultGuard r;
  c->time_zone_is_utc_ =
      duckdb_query(conn, "SET TimeZone = 'UTC'", r.get()) == DuckDBSuccess;
  return c;
}

Result<std::unique_ptr<Connection>> Connection::NewConnection() const {
  return Connect(db_, path_);
}

Status Connection::Execute(std::string_view sql, std::string_view what) {
  ResultGuard r;
  return RunQuery(conn_, sql, what, r);
}

Result<QueryResult> Connection::Query(std::string_view sql,
                                      std::string_view what) {
  ResultGuard r;
  LARDER_RETURN_IF_ERROR(RunQuery(conn_, sql, what, r));
  QueryResult out;
  idx_t ncols = duckdb_column_count(r.get());
  std::vector<TypeNode> types;
  types.reserve(ncols);
  for (idx_t c = 0; c < ncols; ++c) {
    const char* name = duckdb_column_name(r.get(), c);
    out.column_names.emplace_back(name != nullptr ? name : "");
    duckdb_logical_type t = duckdb_column_logical_type(r.get(), c);
    types.push_back(BuildTypeNode(t));
    duckdb_destroy_logical_type(&t);
    out.column_types.push_back(types.back().name);
    if (!Renderable(types.back())) {
      return Status::InvalidArgument(Prefixed(
          what, "column \"" + out.column_names.back() + "\" has type " +
                    types.back().name +
                    ", which Larder cannot read as text; CAST it to VARCHAR"));
    }
  }
  while (true) {
    duckdb_data_chunk chunk = duckdb_fetch_chunk(*r.get());
    if (chunk == nullptr) break;
    idx_t n = duckdb_data_chunk_get_size(chunk);
    size_t base = out.rows.size();
    out.rows.resize(base + n);
    for (idx_t i = 0; i < n; ++i) out.rows[base + i].resize(ncols);
    for (idx_t c = 0; c < ncols; ++c) {
      duckdb_vector v = duckdb_data_chunk_get_vector(chunk, c);
      for (idx_t i = 0; i < n; ++i) {
        if (!IsValid(v, i)) continue;
        std::string text;
        AppendValue(v, types[c], i, /*nested=*/false, text);
        out.rows[base + i][c] = std::move(text);
      }
    }
    duckdb_destroy_data_chunk(&chunk);
  }
  return out;
}

Result<std::optional<std::string>> Connection::QueryScalar(
    std::string_view sql, std::string_view what) {
  LARDER_ASSIGN_OR_RETURN(QueryResult result, Query(sql, what));
  if (result.rows.size() != 1 || result.column_names.empty()) {
    return Status::InvalidArgument(
        Prefixed(what, "expected one row with at least one column, got " +
                           std::to_string(result.rows.size()) + " rows"));
  }
  return std::move(result.rows[0][0]);
}

namespace {

std::string_view StatementTypeName(duckdb_statement_type type) {
  switch (type) {
    case DUCKDB_STATEMENT_TYPE_SELECT: return "SELECT";
    case DUCKDB_STATEMENT_TYPE_INSERT: return "INSERT";
    case DUCKDB_STATEMENT_TYPE_UPDATE: return "UPDATE";
    case DUCKDB_STATEMENT_TYPE_EXPLAIN: return "EXPLAIN";
    case DUCKDB_STATEMENT_TYPE_DELETE: return "DELETE";
    case DUCKDB_STATEMENT_TYPE_PREPARE: return "PREPARE";
    case DUCKDB_STATEMENT_TYPE_CREATE: return "CREATE";
    case DUCKDB_STATEMENT_TYPE_EXECUTE: return "EXECUTE";
    case DUCKDB_STATEMENT_TYPE_ALTER: return "ALTER";
    case DUCKDB_STATEMENT_TYPE_TRANSACTION: return "transaction";
    case DUCKDB_STATEMENT_TYPE_COPY: return "COPY";
    case DUCKDB_STATEMENT_TYPE_ANALYZE: return "ANALYZE";
    case DUCKDB_STATEMENT_TYPE_VARIABLE_SET: return "SET VARIABLE";
    case DUCKDB_STATEMENT_TYPE_CREATE_FUNC: return "CREATE FUNCTION";
    case DUCKDB_STATEMENT_TYPE_DROP: return "DROP";
    case DUCKDB_STATEMENT_TYPE_EXPORT: return "EXPORT";
    case DUCKDB_STATEMENT_TYPE_PRAGMA: return "PRAGMA";
    case DUCKDB_STATEMENT_TYPE_VACUUM: return "VACUUM";
    case DUCKDB_STATEMENT_TYPE_CALL: return "CALL";
    case DUCKDB_STATEMENT_TYPE_SET: return "SET";
    case DUCKDB_STATEMENT_TYPE_LOAD: return "LOAD";
    case DUCKDB_STATEMENT_TYPE_ATTACH: return "ATTACH";
    case DUCKDB_STATEMENT_TYPE_DETACH: return "DETACH";
    default: return "non-SELECT";
  }
}

// Owns a duckdb_extracted_statements.
struct ExtractedGuard {
  duckdb_extracted_statements handle = nullptr;
  ~ExtractedGuard() {
    if (handle != nullptr) duckdb_destroy_extracted(&handle);
  }
};

}  // namespace

Result<std::unique_ptr<PreparedStatement>> Connection::PrepareOne(
    std::string_view sql, std::string_view what, StatementKind kind,
    bool* wrong_shape) {
  if (wrong_shape != nullptr) *wrong_shape = false;
  auto shape_error = [&](const std::string& why) {
    if (wrong_shape != nullptr) *wrong_shape = true;
    return Status::InvalidArgument(Prefixed(what, why));
  };
  const duckdb_statement_type wanted = kind == StatementKind::kSelect
                                           ? DUCKDB_STATEMENT_TYPE_SELECT
                                           : DUCKDB_STATEMENT_TYPE_CREATE;
  const std::string one = "one " + std::string(StatementTypeName(wanted)) +
                          " statement";
  std::string text(sql);
  ExtractedGuard extracted;
  idx_t count = duckdb_extract_statements(conn_, text.c_str(), &extracted.handle);
  if (count == 0) {
    const char* err = extracted.handle != nullptr
                          ? duckdb_extract_statements_error(extracted.handle)
                          : nullptr;
    if (err != nullptr && *err != '\0') {
      return Status::InvalidArgument(Prefixed(what, err));
    }
    return shape_error("holds no SQL statement; give " + one);
  }
  if (count > 1) {
    return shape_error("holds " + std::to_string(count) +
                       " statements; give only " + one +
                       " (a ';' ends a statement)");
  }
  duckdb_prepared_statement prepared = nullptr;
  if (duckdb_prepare_extracted_statement(conn_, extracted.handle, 0,
                                         &prepared) == DuckDBError) {
    const char* err = prepared != nullptr ? duckdb_prepare_error(prepared) : nullptr;
    Status st = Status::InvalidArgument(
        Prefixed(what, err != nullptr ? err : "cannot prepare the statement"));
    duckdb_destroy_prepare(&prepared);
    return st;
  }
  std::unique_ptr<PreparedStatement> out(
      new PreparedStatement(prepared, std::string(what)));
  duckdb_statement_type type = duckdb_prepared_statement_type(prepared);
  if (type != wanted) {
    return shape_error("is a " + std::string(StatementTypeName(type)) +
                       " statement; give " + one);
  }
  return out;
}

PreparedStatement::PreparedStatement(duckdb_prepared_statement prepared,
                                     std::string what)
    : prepared_(prepared), what_(std::move(what)) {}

PreparedStatement::~PreparedStatement() {
  if (prepared_ != nullptr) duckdb_destroy_prepare(&prepared_);
}

Status PreparedStatement::Execute() {
  ResultGuard r;
  if (duckdb_execute_prepared(prepared_, r.get()) == DuckDBError) {
    return ErrorStatus(duckdb_result_error_type(r.get()), what_,
                       duckdb_result_error(r.get()));
  }
  return Status::OK();
}

Result<std::unique_ptr<Appender>> Connection::CreateAppender(
    std::string_view table, std::string_view schema) {
  std::string table_name(table);
  std::string schema_name(schema);
  std::string what = "table " + (schema_name.empty() ? table_name
                                                     : schema_name + "." +
                                                           table_name);
  duckdb_appender appender = nullptr;
  if (duckdb_appender_create_ext(
          conn_, nullptr, schema_name.empty() ? nullptr : schema_name.c_str(),
          table_name.c_str(), &appender) == DuckDBError) {
    Status st = Status::InvalidArgument(what + ": cannot create appender");
    if (appender != nullptr) {
      duckdb_error_data err = duckdb_appender_error_data(appender);
      if (err != nullptr && duckdb_error_data_has_error(err)) {
        st = ErrorStatus(duckdb_error_data_error_type(err), what,
                         duckdb_error_data_message(err));
      }
      if (err != nullptr) duckdb_destroy_error_data(&err);
      duckdb_appender_destroy(&appender);
    }
    return st;
  }
  return std::unique_ptr<Appender>(new Appender(appender, std::move(what)));
}

void Connection::Interrupt() { duckdb_interrupt(conn_); }

// ---- Appender ---------------------------------------------------------------

Appender::Appender(duckdb_appender appender, std::string what)
    : appender_(appender), what_(std::move(what)) {}

Appender::~Appender() {
  if (appender_ != nullptr) duckdb_appender_destroy(&appender_);
}

Status Appender::AppenderError(std::string_view action) {
  duckdb_error_data err = duckdb_appender_error_data(appender_);
  Status st;
  if (err != nullptr && duckdb_error_data_has_error(err)) {
    st = ErrorStatus(duckdb_error_data_error_type(err), what_,
                     duckdb_error_data_message(err));
  } else {
    st = Status::Internal(what_ + ": appender " + std::string(action) +
                          " failed");
  }
  if (err != nullptr) duckdb_destroy_error_data(&err);
  return st;
}

void Appender::Check(duckdb_state state) {
  if (state == DuckDBError && error_.ok()) error_ = AppenderError("append");
}

void Appender::AppendBool(bool v) {
  if (error_.ok() && !closed_) Check(duckdb_append_bool(appender_, v));
}
void Appender::AppendInt32(int32_t v) {
  if (error_.ok() && !closed_) Check(duckdb_append_int32(appender_, v));
}
void Appender::AppendInt64(int64_t v) {
  if (error_.ok() && !closed_) Check(duckdb_append_int64(appender_, v));
}
void Appender::AppendDouble(double v) {
  if (error_.ok() && !closed_) Check(duckdb_append_double(appender_, v));
}
void Appender::AppendVarchar(std::string_view v) {
  if (error_.ok() && !closed_) {
    Check(duckdb_append_varchar_length(appender_, v.data(), v.size()));
  }
}
void Appender::AppendTimestamp(TimestampMicros v) {
  if (error_.ok() && !closed_) {
    Check(duckdb_append_timestamp(appender_, duckdb_timestamp{v}));
  }
}
void Appender::AppendTimestampTz(TimestampMicros v) {
  if (!error_.ok() || closed_) return;
  duckdb_value value = duckdb_create_timestamp_tz(duckdb_timestamp{v});
  Check(duckdb_append_value(appender_, value));
  duckdb_destroy_value(&value);
}
void Appender::AppendNull() {
  if (error_.ok() && !closed_) Check(duckdb_append_null(appender_));
}

Status Appender::EndRow() {
  if (closed_) return Status::FailedPrecondition(what_ + ": appender closed");
  if (!error_.ok()) return error_;
  if (duckdb_appender_end_row(appender_) == DuckDBError) {
    error_ = AppenderError("end row");
  }
  return error_;
}

Status Appender::Flush() {
  if (closed_) return Status::FailedPrecondition(what_ + ": appender closed");
  if (!error_.ok()) return error_;
  if (duckdb_appender_flush(appender_) == DuckDBError) {
    error_ = AppenderError("flush");
  }
  return error_;
}

Status Appender::Close() {
  if (closed_) return error_;
  closed_ = true;
  if (duckdb_appender_close(appender_) == DuckDBError && error_.ok()) {
    error_ = AppenderError("close");
  }
  return error_;
}

// ---- Helpers ----------------------------------------------------------------

std::string QuoteLiteral(std::string_view value) {
  std::string out;
  out.reserve(value.size() + 2);
  out += '\'';
  for (char c : value) {
    if (c == '\0') continue;
    if (c == '\'') out += '\'';
    out += c;
  }
  out += '\'';
  return out;
}

std::string QuoteIdentifier(std::string_view name) {
  std::string out;
  out.reserve(name.size() + 2);
  out += '"';
  for (char c : name) {
    if (c == '\0') continue;
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
  return out;
}

std::string FormatTimestampMicros(TimestampMicros micros) {
  std::string out;
  AppendTimestampUnits(micros, 6, out);
  return out;
}

}  // namespace larder::duckdb
