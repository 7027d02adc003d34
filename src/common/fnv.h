// FNV-1a, 64 bits: a fast, stable hash of bytes for fingerprints and shard
// assignment (not for anything an adversary chooses to collide).
#pragma once

#include <cstdint>
#include <string_view>

namespace larder {

inline constexpr uint64_t kFnvOffsetBasis = 0xcbf29ce484222325ull;
inline constexpr uint64_t kFnvPrime = 0x100000001b3ull;

// Continues the hash `h` with `bytes`.
inline uint64_t Fnv1a64(std::string_view bytes, uint64_t h = kFnvOffsetBasis) {
  for (unsigned char c : bytes) {
    h ^= c;
    h *= kFnvPrime;
  }
  return h;
}

}  // namespace larder
