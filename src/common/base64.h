// Standard base64 (RFC 4648, with '=' padding), as AWS's JSON protocols use
// for binary values. Thread-safe: pure functions.
#pragma once

#include <string>
#include <string_view>

namespace larder {

std::string Base64Encode(std::string_view bytes);

// Decodes `text` into `*out` (cleared first). False, with `*out`
// unspecified, when `text` is not padded base64 of the standard alphabet
// (a length that is not a multiple of 4, another character, or '=' that is
// not trailing padding).
[[nodiscard]] bool Base64Decode(std::string_view text, std::string* out);

}  // namespace larder
