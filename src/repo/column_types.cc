#include "repo/column_types.h"

#include <algorithm>
#include <array>

namespace larder::repo {
namespace {

template <typename Names>
bool AnyOf(std::string_view type, const Names& names) {
  return std::find(names.begin(), names.end(), type) != names.end();
}

// Integers that Int32 holds, and those that only Int64 holds.
constexpr std::array<std::string_view, 5> kSmallInts = {"TINYINT", "SMALLINT", "INTEGER",
                                                        "UTINYINT", "USMALLINT"};
constexpr std::array<std::string_view, 2> kBigInts = {"BIGINT", "UINTEGER"};
// Integers too wide for Int64: they compare with keys, and hold no dtype.
constexpr std::array<std::string_view, 3> kWideInts = {"HUGEINT", "UBIGINT", "UHUGEINT"};

bool IsInteger(std::string_view type) {
  return AnyOf(type, kSmallInts) || AnyOf(type, kBigInts) || AnyOf(type, kWideInts);
}

// ColumnHolds or ColumnMatchesKey, by `any_integer_width`.
bool Matches(const ValueType& dtype, std::string_view column_type, bool any_integer_width) {
  if (dtype.is_array) {
    if (!column_type.ends_with("[]")) return false;
    ValueType inner = dtype;
    inner.is_array = false;
    return Matches(inner, column_type.substr(0, column_type.size() - 2), any_integer_width);
  }
  if (column_type.ends_with("[]")) return false;
  switch (dtype.scalar) {
    case ScalarType::kInt32:
      return any_integer_width ? IsInteger(column_type) : AnyOf(column_type, kSmallInts);
    case ScalarType::kInt64:
      return any_integer_width ? IsInteger(column_type)
                               : AnyOf(column_type, kSmallInts) || AnyOf(column_type, kBigInts);
    case ScalarType::kFloat32:
    case ScalarType::kFloat64:
      return (column_type == "FLOAT" || column_type == "DOUBLE") || column_type.starts_with("DECIMAL") ||
             (any_integer_width ? IsInteger(column_type)
                                : AnyOf(column_type, kSmallInts) || AnyOf(column_type, kBigInts));
    case ScalarType::kString:
      return column_type == "VARCHAR";
    case ScalarType::kBytes:
      return column_type == "BLOB";
    case ScalarType::kBool:
      return column_type == "BOOLEAN";
    case ScalarType::kUnixTimestamp:
      return IsTimeColumn(column_type);
  }
  return false;
}

}  // namespace

bool ColumnHolds(const ValueType& dtype, std::string_view column_type) {
  return Matches(dtype, column_type, /*any_integer_width=*/false);
}

bool ColumnMatchesKey(const ValueType& dtype, std::string_view column_type) {
  return Matches(dtype, column_type, /*any_integer_width=*/true);
}

std::optional<ValueType> DtypeOfColumn(std::string_view column_type) {
  if (column_type.ends_with("[]")) {
    std::optional<ValueType> inner = DtypeOfColumn(column_type.substr(0, column_type.size() - 2));
    if (!inner || inner->is_array) return std::nullopt;
    return ValueType{inner->scalar, true};
  }
  if (column_type == "FLOAT") return ValueType{ScalarType::kFloat32, false};
  // The first that fits: integer columns fit Float64 too, but read as Ints.
  for (ScalarType scalar : {ScalarType::kInt32, ScalarType::kInt64, ScalarType::kFloat64,
                            ScalarType::kString, ScalarType::kBytes, ScalarType::kBool,
                            ScalarType::kUnixTimestamp}) {
    if (ColumnHolds({scalar, false}, column_type)) return ValueType{scalar, false};
  }
  return std::nullopt;
}

bool IsTimeColumn(std::string_view column_type) {
  return column_type.starts_with("TIMESTAMP") || column_type == "DATE";
}

}  // namespace larder::repo
