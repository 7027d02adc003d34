#include "aggregation/hll.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <string>

#include "aggregation/event.h"

namespace larder::aggregation {
namespace {

// The hash whose register is `index` and whose rank is `rank`.
uint64_t HashAt(uint64_t index, int rank) {
  const uint64_t rest = rank == Hll::kMaxRank ? 0 : uint64_t{1} << (64 - Hll::kPrecision - rank);
  return index << (64 - Hll::kPrecision) | rest;
}

std::string Encoded(const Hll& h) {
  std::string out;
  h.EncodeTo(&out);
  return out;
}

TEST(Hll, EmptyEstimatesZero) {
  Hll h;
  EXPECT_TRUE(h.empty());
  EXPECT_EQ(h.Estimate(), 0);
  EXPECT_EQ(Encoded(h), std::string("\x00\x00", 2));
  Result<Hll> back = Hll::Decode(Encoded(h));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->Estimate(), 0);
}

TEST(Hll, RegisterAndRankComeFromTheHashBits) {
  Hll h;
  h.Add(HashAt(7, 3));
  h.Add(HashAt(7, 1));  // a smaller rank leaves the register alone
  h.Add(HashAt(4095, Hll::kMaxRank));
  const std::string bytes = Encoded(h);
  // Sparse: 2 entries; register 7 rank 3; register 4095 (delta 4088) rank 53.
  EXPECT_EQ(bytes, std::string("\x00\x02\x07\x03\xf8\x1f\x35", 7));
}

TEST(Hll, SmallCountsAreExact) {
  // Linear counting of a few well-spread hashes rounds to the exact count.
  for (int n : {1, 2, 5, 20, 100}) {
    Hll h;
    for (int i = 0; i < n; ++i) h.Add(DistinctHash(Value::Int64(i)));
    EXPECT_EQ(h.Estimate(), n);
  }
}

TEST(Hll, AddingTwiceChangesNothing) {
  Hll a, b;
  for (int i = 0; i < 1000; ++i) {
    a.Add(DistinctHash(Value::Int64(i)));
    b.Add(DistinctHash(Value::Int64(i)));
    b.Add(DistinctHash(Value::Int64(i)));
  }
  EXPECT_EQ(a, b);
  EXPECT_EQ(Encoded(a), Encoded(b));
}

TEST(Hll, MergeEqualsAddingEverythingInAnyOrder) {
  std::mt19937_64 rng(14);
  for (int size : {10, 300, 5000, 40000}) {
    Hll whole, left, right, reversed;
    std::vector<uint64_t> hashes;
    for (int i = 0; i < size; ++i) hashes.push_back(rng());
    for (size_t i = 0; i < hashes.size(); ++i) {
      whole.Add(hashes[i]);
      (i % 3 == 0 ? left : right).Add(hashes[i]);
      reversed.Add(hashes[hashes.size() - 1 - i]);
    }
    Hll merged = left;
    merged.Merge(right);
    Hll merged_other_way = right;
    merged_other_way.Merge(left);
    EXPECT_EQ(merged, whole) << size;
    EXPECT_EQ(merged_other_way, whole) << size;
    EXPECT_EQ(reversed, whole) << size;
    EXPECT_EQ(Encoded(merged), Encoded(whole)) << size;
    EXPECT_EQ(merged.Estimate(), whole.Estimate()) << size;
  }
}

TEST(Hll, EncodingRoundTripsInBothForms) {
  std::mt19937_64 rng(7);
  for (int size : {0, 1, 200, 257, 800, 5000, 100000}) {
    Hll h;
    for (int i = 0; i < size; ++i) h.Add(rng());
    const std::string bytes = Encoded(h);
    EXPECT_EQ(static_cast<uint8_t>(bytes[0]), size >= 5000 ? 1 : 0) << size;
    if (size >= 5000) EXPECT_EQ(bytes.size(), 1u + 3072u);
    Result<Hll> back = Hll::Decode(bytes);
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    EXPECT_EQ(*back, h) << size;
    EXPECT_EQ(back->Estimate(), h.Estimate()) << size;
    EXPECT_EQ(Encoded(*back), bytes) << size;
  }
}

TEST(Hll, DecodingRefusesMalformedInput) {
  auto refused = [](const std::string& bytes) { return !Hll::Decode(bytes).ok(); };
  EXPECT_TRUE(refused(""));
  EXPECT_TRUE(refused(std::string("\x02", 1)));                       // unknown form
  EXPECT_TRUE(refused(std::string("\x00\x01\x07", 3)));               // truncated
  EXPECT_TRUE(refused(std::string("\x00\x01\x07\x00", 4)));           // rank 0
  EXPECT_TRUE(refused(std::string("\x00\x01\x07\x36", 4)));           // rank 54
  EXPECT_TRUE(refused(std::string("\x00\x02\x07\x01\x00\x01", 6)));   // repeated register
  EXPECT_TRUE(refused(std::string("\x00\x01\x80\x20\x01", 5)));       // register 4096
  EXPECT_TRUE(refused(std::string("\x00\x01\x07\x01\x00", 5)));       // trailing byte
  EXPECT_TRUE(refused(std::string("\x00\xff\xff\x03", 4)));           // count beyond the data
  EXPECT_TRUE(refused(std::string("\x01") + std::string(3071, '\0')));  // short dense
  std::string dense = std::string("\x01") + std::string(3072, '\0');
  EXPECT_FALSE(refused(dense));
  dense[1] = '\x3f';  // register 0 rank 63
  EXPECT_TRUE(refused(dense));
  // A failed decode leaves an empty sketch.
  Hll h;
  h.Add(1);
  online::ByteReader reader(std::string_view("\x00\x01\x07\x00", 4));
  EXPECT_FALSE(h.DecodeFrom(&reader).ok());
  EXPECT_TRUE(h.empty());
}

TEST(Hll, StaysWithinThreeStandardErrorsOnAMillionDistinctValues) {
  Hll h;
  constexpr int64_t kN = 1'000'000;
  for (int64_t i = 0; i < kN; ++i) h.Add(DistinctHash(Value::Int64(i)));
  const double error = std::fabs(static_cast<double>(h.Estimate()) - kN) / kN;
  EXPECT_LT(error, 3 * Hll::kRelativeStandardError) << h.Estimate();
  // Strings as well: another family of encoded values.
  Hll s;
  for (int64_t i = 0; i < kN; ++i) s.Add(DistinctHash(Value::String("isbn-" + std::to_string(i))));
  const double string_error = std::fabs(static_cast<double>(s.Estimate()) - kN) / kN;
  EXPECT_LT(string_error, 3 * Hll::kRelativeStandardError) << s.Estimate();
}

TEST(Hll, StaysWithinThreeStandardErrorsAcrossTheLinearCountingSwitch) {
  // 2.5 * 4096 = 10,240 is where linear counting stops.
  for (int64_t n : {3000, 10000, 11000, 30000}) {
    Hll h;
    for (int64_t i = 0; i < n; ++i) h.Add(DistinctHash(Value::Int64(i * 7919 + n)));
    const double error = std::fabs(static_cast<double>(h.Estimate()) - n) / n;
    EXPECT_LT(error, 3 * Hll::kRelativeStandardError) << n << ": " << h.Estimate();
  }
}

}  // namespace
}  // namespace larder::aggregation
