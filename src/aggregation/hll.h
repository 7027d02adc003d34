// HyperLogLog with 2^12 registers over 64-bit hashes: the sketch behind
// approx_count_distinct, shared by the online tiles and the batch SQL
// (larder_hll_count, offline/duckdb/hll_function.h), so both estimate the
// same number from the same values.
//
// A hash's top 12 bits pick the register; its rank is the number of leading
// zeros of the remaining 52 bits plus one (53 when they are all zero), and a
// register keeps the greatest rank it saw. The estimate is the standard one
// (Flajolet et al. 2007) with linear counting below 2.5 * 4096, rounded to
// the nearest integer. Its relative standard error is 1.04 / sqrt(4096) =
// 1.63%. Adding and merging are commutative and idempotent, so any order of
// the same hashes gives the same registers and the same estimate.
//
// Feed it well-mixed hashes: aggregation::DistinctHash of the values.
//
// While few registers are set, a sketch holds them as a sorted list of
// (register, rank), so that the many small sketches of tiles and of DuckDB's
// window segment trees stay small; it switches to 4,096 bytes once the list
// would be larger than a quarter of that. The representation never changes
// the estimate or the encoding.
//
// Not thread-safe; copyable and movable.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "larder/status.h"
#include "online/value_codec.h"

namespace larder::aggregation {

class Hll {
 public:
  static constexpr int kPrecision = 12;
  static constexpr size_t kRegisters = size_t{1} << kPrecision;
  static constexpr int kMaxRank = 64 - kPrecision + 1;  // 53
  // 1.04 / sqrt(kRegisters).
  static constexpr double kRelativeStandardError = 0.01625;

  // Adds one hash.
  void Add(uint64_t hash);
  // Adds every hash that `other` holds (register-wise maximum).
  void Merge(const Hll& other);
  // The estimated number of distinct hashes added; 0 when none was.
  int64_t Estimate() const;
  // True when nothing was added.
  bool empty() const { return sparse_.empty() && dense_.empty(); }

  // Appends the sketch's encoding, canonical (one encoding per register
  // state), whichever is smaller of:
  //   0x00, varint n, then n times: varint register delta (the first
  //         register itself, then the difference to the previous one, > 0)
  //         and one rank byte (1..53);
  //   0x01, the 4,096 ranks packed 6 bits each, little-endian (3,072 bytes).
  // An empty sketch is 0x00 0x00.
  void EncodeTo(std::string* out) const;
  // Replaces the sketch with one encoding read from `reader`. Corruption for
  // a truncated or malformed encoding (an unknown form, a register out of
  // range or out of order, a rank outside 1..53); the sketch is then empty.
  Status DecodeFrom(online::ByteReader* reader);
  // As DecodeFrom over exactly `data`: trailing bytes are Corruption too.
  static Result<Hll> Decode(std::string_view data);

  friend bool operator==(const Hll& a, const Hll& b);

 private:
  // Sparse entries: register << 8 | rank, sorted by register.
  static constexpr size_t kSparseLimit = kRegisters / 16;

  void ToDense();
  uint8_t RankAt(size_t index) const;

  std::vector<uint32_t> sparse_;  // used while dense_ is empty
  std::vector<uint8_t> dense_;    // kRegisters ranks, or empty
};

}  // namespace larder::aggregation
