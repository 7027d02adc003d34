// JSON values as the cells of a row: a push's "df" (the feature server) and
// a stream record's fields (larder stream) read them the same way.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "larder/status.h"
#include "larder/value.h"

namespace larder {

// An integer j as an Int64; nullopt above the Int64 range.
std::optional<int64_t> JsonInt64(const nlohmann::json& j);

// A JSON array as an array Value: all integers -> Array(Int64), integers and
// fractions -> Array(Float64), strings -> Array(String), booleans ->
// Array(Bool); [] -> an empty array (which fits every array dtype). Errors
// are InvalidArgument "<where>: ..." (or "<where>[i]: ..." for an element).
Result<Value> JsonArrayCell(const nlohmann::json& j, const std::string& where);

// null, a boolean, an integer (Int64), a fraction (Float64), a string, or an
// array as JsonArrayCell; anything else is InvalidArgument "<where>: ...".
Result<Value> JsonCell(const nlohmann::json& j, const std::string& where);

}  // namespace larder
