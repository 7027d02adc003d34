#include "aggregation/hll.h"

#include <algorithm>
#include <cmath>

namespace larder::aggregation {
namespace {

constexpr uint8_t kSparseForm = 0x00;
constexpr uint8_t kDenseForm = 0x01;
constexpr size_t kPackedBytes = Hll::kRegisters * 6 / 8;  // 3,072

constexpr uint32_t Entry(size_t index, uint8_t rank) {
  return static_cast<uint32_t>(index) << 8 | rank;
}
constexpr size_t EntryIndex(uint32_t e) { return e >> 8; }
constexpr uint8_t EntryRank(uint32_t e) { return static_cast<uint8_t>(e & 0xff); }

size_t VarintSize(uint64_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}

Status Malformed(const char* why) {
  return Status::Corruption(std::string("hyperloglog sketch: ") + why);
}

}  // namespace

void Hll::Add(uint64_t hash) {
  const size_t index = hash >> (64 - kPrecision);
  const uint64_t rest = hash << kPrecision;
  const uint8_t rank =
      rest == 0 ? static_cast<uint8_t>(kMaxRank) : static_cast<uint8_t>(__builtin_clzll(rest) + 1);
  if (!dense_.empty()) {
    dense_[index] = std::max(dense_[index], rank);
    return;
  }
  auto it = std::lower_bound(sparse_.begin(), sparse_.end(), Entry(index, 0));
  if (it != sparse_.end() && EntryIndex(*it) == index) {
    if (EntryRank(*it) < rank) *it = Entry(index, rank);
    return;
  }
  sparse_.insert(it, Entry(index, rank));
  if (sparse_.size() > kSparseLimit) ToDense();
}

void Hll::ToDense() {
  dense_.assign(kRegisters, 0);
  for (uint32_t e : sparse_) dense_[EntryIndex(e)] = EntryRank(e);
  sparse_.clear();
  sparse_.shrink_to_fit();
}

uint8_t Hll::RankAt(size_t index) const {
  if (!dense_.empty()) return dense_[index];
  auto it = std::lower_bound(sparse_.begin(), sparse_.end(), Entry(index, 0));
  return it != sparse_.end() && EntryIndex(*it) == index ? EntryRank(*it) : 0;
}

void Hll::Merge(const Hll& other) {
  if (!other.dense_.empty()) {
    if (dense_.empty()) ToDense();
    // Distinct buffers: the compiler may compare 16 or 32 registers at once.
    uint8_t* __restrict into = dense_.data();
    const uint8_t* __restrict from = other.dense_.data();
    for (size_t i = 0; i < kRegisters; ++i) into[i] = into[i] < from[i] ? from[i] : into[i];
    return;
  }
  if (other.sparse_.empty()) return;
  if (!dense_.empty()) {
    for (uint32_t e : other.sparse_) {
      dense_[EntryIndex(e)] = std::max(dense_[EntryIndex(e)], EntryRank(e));
    }
    return;
  }
  if (other.sparse_.size() <= 4) {  // a few: insert them in place
    for (uint32_t e : other.sparse_) {
      auto it = std::lower_bound(sparse_.begin(), sparse_.end(), Entry(EntryIndex(e), 0));
      if (it != sparse_.end() && EntryIndex(*it) == EntryIndex(e)) {
        *it = std::max(*it, e);
      } else {
        sparse_.insert(it, e);
      }
    }
    if (sparse_.size() > kSparseLimit) ToDense();
    return;
  }
  // Both sparse: merge the sorted lists, keeping the greater rank.
  std::vector<uint32_t> merged;
  merged.reserve(sparse_.size() + other.sparse_.size());
  auto a = sparse_.begin();
  auto b = other.sparse_.begin();
  while (a != sparse_.end() || b != other.sparse_.end()) {
    if (b == other.sparse_.end() || (a != sparse_.end() && EntryIndex(*a) < EntryIndex(*b))) {
      merged.push_back(*a++);
    } else if (a == sparse_.end() || EntryIndex(*b) < EntryIndex(*a)) {
      merged.push_back(*b++);
    } else {
      merged.push_back(std::max(*a++, *b++));  // same register: the greater rank
    }
  }
  sparse_ = std::move(merged);
  if (sparse_.size() > kSparseLimit) ToDense();
}

int64_t Hll::Estimate() const {
  if (empty()) return 0;
  const double m = static_cast<double>(kRegisters);
  // How many registers hold each rank; then the sum of 2^-rank over the
  // registers, from the largest rank down (the same order whatever the
  // representation, so the same registers always give the same estimate).
  uint32_t counts[kMaxRank + 1] = {};
  if (!dense_.empty()) {
    // Four histograms, so that neighbouring registers of equal rank do not
    // wait on each other's increment.
    uint32_t partial[4][64] = {};
    for (size_t i = 0; i < kRegisters; i += 4) {
      ++partial[0][dense_[i]];
      ++partial[1][dense_[i + 1]];
      ++partial[2][dense_[i + 2]];
      ++partial[3][dense_[i + 3]];
    }
    for (int r = 0; r <= kMaxRank; ++r) {
      counts[r] = partial[0][r] + partial[1][r] + partial[2][r] + partial[3][r];
    }
  } else {
    counts[0] = static_cast<uint32_t>(kRegisters - sparse_.size());
    for (uint32_t e : sparse_) ++counts[EntryRank(e)];
  }
  double sum = 0;
  for (int r = kMaxRank; r >= 0; --r) {
    if (counts[r] != 0) sum += std::ldexp(static_cast<double>(counts[r]), -r);
  }
  const size_t zeros = counts[0];
  const double alpha = 0.7213 / (1.0 + 1.079 / m);
  double estimate = alpha * m * m / sum;
  if (estimate <= 2.5 * m && zeros > 0) {
    estimate = m * std::log(m / static_cast<double>(zeros));  // linear counting
  }
  return static_cast<int64_t>(std::llround(estimate));
}

void Hll::EncodeTo(std::string* out) const {
  // The set registers, in order, whatever the representation.
  std::vector<uint32_t> entries;
  if (dense_.empty()) {
    entries = sparse_;
  } else {
    for (size_t i = 0; i < kRegisters; ++i) {
      if (dense_[i] != 0) entries.push_back(Entry(i, dense_[i]));
    }
  }
  size_t sparse_size = 1 + VarintSize(entries.size());
  size_t previous = 0;
  for (uint32_t e : entries) {
    sparse_size += VarintSize(EntryIndex(e) - previous) + 1;
    previous = EntryIndex(e);
  }
  if (sparse_size <= 1 + kPackedBytes) {
    out->push_back(static_cast<char>(kSparseForm));
    online::PutVarint(entries.size(), out);
    previous = 0;
    for (uint32_t e : entries) {
      online::PutVarint(EntryIndex(e) - previous, out);
      out->push_back(static_cast<char>(EntryRank(e)));
      previous = EntryIndex(e);
    }
    return;
  }
  out->push_back(static_cast<char>(kDenseForm));
  // Four 6-bit ranks per three bytes, little-endian.
  for (size_t i = 0; i < kRegisters; i += 4) {
    const uint32_t bits = uint32_t{RankAt(i)} | uint32_t{RankAt(i + 1)} << 6 |
                          uint32_t{RankAt(i + 2)} << 12 | uint32_t{RankAt(i + 3)} << 18;
    out->push_back(static_cast<char>(bits & 0xff));
    out->push_back(static_cast<char>((bits >> 8) & 0xff));
    out->push_back(static_cast<char>((bits >> 16) & 0xff));
  }
}

Status Hll::DecodeFrom(online::ByteReader* reader) {
  sparse_.clear();
  dense_.clear();
  uint8_t form;
  if (!reader->ReadByte(&form)) return Malformed("truncated");
  if (form == kDenseForm) {
    std::string_view packed;
    if (!reader->ReadBytes(kPackedBytes, &packed)) return Malformed("truncated");
    std::vector<uint8_t> ranks(kRegisters, 0);
    for (size_t i = 0; i < kRegisters; i += 4) {
      const size_t at = i / 4 * 3;
      const uint32_t bits = uint32_t{static_cast<uint8_t>(packed[at])} |
                            uint32_t{static_cast<uint8_t>(packed[at + 1])} << 8 |
                            uint32_t{static_cast<uint8_t>(packed[at + 2])} << 16;
      for (size_t k = 0; k < 4; ++k) {
        const uint8_t rank = static_cast<uint8_t>((bits >> (6 * k)) & 0x3f);
        if (rank > kMaxRank) return Malformed("rank out of range");
        ranks[i + k] = rank;
      }
    }
    dense_ = std::move(ranks);
    return Status::OK();
  }
  if (form != kSparseForm) return Malformed("unknown form");
  uint64_t n;
  // Every entry takes at least two bytes.
  if (!reader->ReadVarint(&n) || n > kRegisters || n > reader->remaining() / 2) {
    return Malformed("bad register count");
  }
  std::vector<uint32_t> entries;
  entries.reserve(n);
  uint64_t index = 0;
  for (uint64_t k = 0; k < n; ++k) {
    uint64_t delta;
    uint8_t rank;
    if (!reader->ReadVarint(&delta) || !reader->ReadByte(&rank)) return Malformed("truncated");
    if (k > 0 && delta == 0) return Malformed("registers out of order");
    if (delta >= kRegisters || index + delta >= kRegisters) {
      return Malformed("register out of range");
    }
    index += delta;
    if (rank == 0 || rank > kMaxRank) return Malformed("rank out of range");
    entries.push_back(Entry(index, rank));
  }
  sparse_ = std::move(entries);
  if (sparse_.size() > kSparseLimit) ToDense();
  return Status::OK();
}

Result<Hll> Hll::Decode(std::string_view data) {
  online::ByteReader reader(data);
  Hll hll;
  LARDER_RETURN_IF_ERROR(hll.DecodeFrom(&reader));
  if (reader.remaining() != 0) return Malformed("trailing bytes");
  return hll;
}

bool operator==(const Hll& a, const Hll& b) {
  for (size_t i = 0; i < Hll::kRegisters; ++i) {
    if (a.RankAt(i) != b.RankAt(i)) return false;
  }
  return true;
}

}  // namespace larder::aggregation
