// One stream record in JSON, as a row of named values.
//
// A record is one JSON object whose members are the row's fields: null, a
// number, a string, a boolean, or an array of numbers, strings or booleans
// (the cells of a push's "df", larder/push.h). Fields are renamed by the
// source's field_mapping (record field -> column). Anything else (invalid
// JSON, another top-level value, a nested object, a repeated field, an
// integer outside Int64, a record over the size limit) is an error whose
// message becomes the record's dead letter reason.
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <string_view>

#include "larder/status.h"
#include "larder/value.h"

namespace larder::stream {

// Kinesis's own limit on a record's data.
inline constexpr size_t kMaxRecordBytes = 1 << 20;

// Field (after field_mapping) -> value. InvalidArgument naming the field
// otherwise.
Result<std::map<std::string, Value>> DecodeJsonRecord(
    std::string_view data, const std::map<std::string, std::string>& field_mapping,
    size_t max_bytes = kMaxRecordBytes);

}  // namespace larder::stream
