#include "offline/spark/spark_types.h"

#include <array>
#include <cctype>
#include <utility>

namespace larder::offline::spark {
namespace {

std::string Normalized(std::string_view name) {
  std::string out;
  out.reserve(name.size());
  for (char c : name) {
    if (std::isspace(static_cast<unsigned char>(c))) continue;
    out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  }
  return out;
}

// The name before a parameter list: "decimal" of "decimal(10,2)".
std::string_view Head(std::string_view name) {
  const size_t paren = name.find_first_of("(<");
  return paren == std::string_view::npos ? name : name.substr(0, paren);
}

std::string Translate(const std::string& type) {
  static constexpr std::array<std::pair<std::string_view, std::string_view>, 17> kScalars = {{
      {"byte", "TINYINT"},
      {"tinyint", "TINYINT"},
      {"short", "SMALLINT"},
      {"smallint", "SMALLINT"},
      {"integer", "INTEGER"},
      {"int", "INTEGER"},
      {"long", "BIGINT"},
      {"bigint", "BIGINT"},
      {"float", "FLOAT"},
      {"real", "FLOAT"},
      {"double", "DOUBLE"},
      {"string", "VARCHAR"},
      {"binary", "BLOB"},
      {"boolean", "BOOLEAN"},
      {"date", "DATE"},
      {"timestamp", "TIMESTAMP WITH TIME ZONE"},
      {"timestamp_ntz", "TIMESTAMP"},
  }};
  for (const auto& [spark, canonical] : kScalars) {
    if (type == spark) return std::string(canonical);
  }
  const std::string_view head = Head(type);
  if (head == "varchar" || head == "char") return "VARCHAR";
  if (head == "decimal" || head == "numeric" || head == "dec") {
    if (head.size() == type.size()) return "DECIMAL(10,0)";  // Spark's default
    if (type.back() == ')') return "DECIMAL" + type.substr(head.size());
  }
  if (head == "array" && type.size() > head.size() + 2 && type[head.size()] == '<' &&
      type.back() == '>') {
    const std::string element = Translate(type.substr(head.size() + 1,
                                                      type.size() - head.size() - 2));
    if (!element.starts_with("SPARK ")) return element + "[]";
  }
  return "SPARK " + type;
}

}  // namespace

std::string CanonicalColumnType(std::string_view spark_type) {
  std::string canonical = Translate(Normalized(spark_type));
  if (!canonical.starts_with("SPARK ")) return canonical;
  // Unheld: Spark's own words, as it spelled them.
  const size_t first = spark_type.find_first_not_of(" \t");
  const size_t last = spark_type.find_last_not_of(" \t");
  return "SPARK " + (first == std::string_view::npos
                         ? std::string()
                         : std::string(spark_type.substr(first, last - first + 1)));
}

}  // namespace larder::offline::spark
