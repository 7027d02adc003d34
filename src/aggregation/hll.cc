#include "aggregation/hll.h"

#include <algorithm>
#include <cmath>

namespace larder::aggregation {
namespace {
constexpr uint8_t kSparse = 0;
constexpr uint8_t kDense = 1;
}  // namespace

void Hll::Add(uint64_t hash) {
  if (registers_.empty()) registers_.assign(kRegisters, 0);
  const size_t index = hash >> (64 - kPrecision);
  const uint64_t rest = hash << kPrecision;
  const uint8_t rank =
      rest == 0 ? static_cast<uint8_t>(64 - kPrecision + 1)
                : static_cast<uint8_t>(__builtin_clzll(rest) + 1);
  registers_[index] = std::max(registers_[index], rank);
}

void Hll::Merge(const Hll& other) {
  if (other.registers_.empty()) return;
  if (registers_.empty()) {
    registers_ = other.registers_;
    return;
  }
  for (size_t i = 0; i < kRegisters; ++i) {
    registers_[i] = std::max(registers_[i], other.registers_[i]);
  }
}

int64_t Hll::Estimate() const {
  if (registers_.empty()) return 0;
  const double m = static_cast<double>(kRegisters);
  double sum = 0;
  size_t zeros = 0;
  for (uint8_t r : registers_) {
    sum += std::ldexp(1.0, -r);
    if (r == 0) ++zeros;
  }
  const double alpha = 0.7213 / (1.0 + 1.079 / m);
  double estimate = alpha * m * m / sum;
  if (estimate <= 2.5 * m && zeros > 0) estimate = m * std::log(m / static_cast<double>(zeros));
  return static_cast<int64_t>(std::llround(estimate));
}

void Hll::EncodeTo(std::string* out) const {
  size_t set = 0;
  for (uint8_t r : registers_) set += r != 0;
  if (set * 3 < kRegisters) {
    out->push_back(static_cast<char>(kSparse));
    online::PutVarint(set, out);
    for (size_t i = 0; i < registers_.size(); ++i) {
      if (registers_[i] == 0) continue;
      online::PutVarint(i, out);
      out->push_back(static_cast<char>(registers_[i]));
    }
    return;
  }
  out->push_back(static_cast<char>(kDense));
  out->append(reinterpret_cast<const char*>(registers_.data()), registers_.size());
}

Status Hll::DecodeFrom(online::ByteReader* r) {
  uint8_t form;
  if (!r->ReadByte(&form)) return Status::Corruption("hyperloglog: truncated");
  registers_.clear();
  if (form == kDense) {
    std::string_view bytes;
    if (!r->ReadBytes(kRegisters, &bytes)) return Status::Corruption("hyperloglog: truncated");
    registers_.assign(bytes.begin(), bytes.end());
    return Status::OK();
  }
  uint64_t set;
  if (form != kSparse || !r->ReadVarint(&set) || set > kRegisters) {
    return Status::Corruption("hyperloglog: malformed");
  }
  if (set > 0) registers_.assign(kRegisters, 0);
  for (uint64_t k = 0; k < set; ++k) {
    uint64_t index;
    uint8_t rank;
    if (!r->ReadVarint(&index) || index >= kRegisters || !r->ReadByte(&rank)) {
      return Status::Corruption("hyperloglog: malformed");
    }
    registers_[index] = rank;
  }
  return Status::OK();
}

}  // namespace larder::aggregation
