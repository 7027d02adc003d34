// Value's debug rendering. (Value itself is header-only.)
#include "larder/value.h"

#include <ostream>
#include <sstream>

namespace larder {
namespace {

void AppendQuoted(std::ostringstream& os, const std::string& s) {
  os << '"';
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      os << '\\' << c;
    } else if (c >= 0x20 && c < 0x7f) {
      os << c;
    } else {
      static constexpr char kHex[] = "0123456789abcdef";
      os << "\\x" << kHex[c >> 4] << kHex[c & 0xf];
    }
  }
  os << '"';
}

template <typename T>
void AppendElement(std::ostringstream& os, const T& v) {
  if constexpr (std::is_same_v<T, std::string>) {
    AppendQuoted(os, v);
  } else if constexpr (std::is_same_v<T, bool>) {
    os << (v ? "true" : "false");
  } else {
    os << v;
  }
}

}  // namespace

std::string Value::DebugString() const {
  if (is_null()) return "null";
  std::ostringstream os;
  os.precision(17);
  os << ValueTypeName(type_) << (type_.is_array ? "" : "(");
  std::visit(
      [&os](const auto& v) {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, std::monostate>) {
        } else if constexpr (std::is_same_v<T, std::vector<bool>>) {
          os << '[';
          for (size_t i = 0; i < v.size(); ++i) os << (i ? ", " : "") << (v[i] ? "true" : "false");
          os << ']';
        } else if constexpr (requires { v.begin(); } && !std::is_same_v<T, std::string>) {
          os << '[';
          for (size_t i = 0; i < v.size(); ++i) {
            if (i) os << ", ";
            AppendElement(os, v[i]);
          }
          os << ']';
        } else {
          AppendElement(os, v);
        }
      },
      data_);
  if (!type_.is_array) os << ')';
  return os.str();
}

std::ostream& operator<<(std::ostream& os, const Value& value) {
  return os << value.DebugString();
}

}  // namespace larder
