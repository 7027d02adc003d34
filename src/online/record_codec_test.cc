#include "online/record_codec.h"

#include <gtest/gtest.h>

#include <limits>
#include <random>
#include <string>
#include <vector>

namespace larder::online {
namespace {

std::string Hex(std::string_view b) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : b) {
    out += kHex[c >> 4];
    out += kHex[c & 0xf];
  }
  return out;
}

OnlineView SmallView() {
  return OnlineView("v", {{"a", {ScalarType::kInt64, false}}, {"b", {ScalarType::kString, false}}});
}

OnlineView WideView() {
  std::vector<OnlineFeature> f;
  for (int s = 0; s <= static_cast<int>(ScalarType::kUnixTimestamp); ++s) {
    f.push_back({"s" + std::to_string(s), {static_cast<ScalarType>(s), false}});
    f.push_back({"a" + std::to_string(s), {static_cast<ScalarType>(s), true}});
  }
  return OnlineView("wide", std::move(f));
}

OnlineRecord WideRecord() {
  OnlineRecord r;
  r.event_timestamp = 1700000000000000;
  r.created_timestamp = 1700000000000001;
  r.values = {Value::Int32(1),          Value::Int32Array({1, 2}),
              Value::Int64(-2),         Value::Int64Array({}),
              Value::Float32(0.5f),     Value::Float32Array({1.5f}),
              Value::Float64(2.5),      Value::Null(),
              Value::String("s"),       Value::StringArray({"x", ""}),
              Value::Bytes("\x01"),     Value::BytesArray({"yy"}),
              Value::Bool(true),        Value::BoolArray({false}),
              Value::UnixTimestamp(-9), Value::UnixTimestampArray({3})};
  return r;
}

TEST(RecordCodec, SchemaFingerprintGolden) {
  // FNV-1a 64 of "a\0Int64\0b\0String\0".
  EXPECT_EQ(SmallView().fingerprint(), 0x2c3141321f2f41b6ull);
  EXPECT_EQ(OnlineView("x", {}).fingerprint(), 0xcbf29ce484222325ull);
  // Names, dtypes and order all matter; the view name does not.
  EXPECT_NE(OnlineView("v", {{"b", {ScalarType::kString, false}},
                             {"a", {ScalarType::kInt64, false}}})
                .fingerprint(),
            SmallView().fingerprint());
  EXPECT_NE(OnlineView("v", {{"a", {ScalarType::kInt64, true}},
                             {"b", {ScalarType::kString, false}}})
                .fingerprint(),
            SmallView().fingerprint());
  EXPECT_EQ(OnlineView("other", SmallView().features()).fingerprint(), SmallView().fingerprint());
}

// A stable format: stored data depends on these bytes.
TEST(RecordCodec, GoldenBytes) {
  OnlineRecord r;
  r.event_timestamp = 1;
  r.created_timestamp = 0;
  r.values = {Value::Int64(5), Value::Null()};
  std::string out;
  ASSERT_TRUE(EncodeRecord(SmallView(), r, &out).ok());
  EXPECT_EQ(Hex(out),
            "02"                  // format version
            "8000000000000001"    // event_timestamp 1, order-encoded
            "8000000000000000"    // created_timestamp 0
            "7a2f27ff658706e0"    // tie key: FNV-1a 64 of the value section below
            "b6412f1f3241312c"    // schema fingerprint, little-endian
            "02"                  // two values
            "020500000000000000"  // Int64 5
            "00");                // null
  r.event_timestamp = -1;
  out.clear();
  ASSERT_TRUE(EncodeRecord(SmallView(), r, &out).ok());
  EXPECT_EQ(Hex(out.substr(1, 8)), "7fffffffffffffff");
}

TEST(RecordCodec, TieKeyGolden) {
  EXPECT_EQ(RecordTieKey(""), 0xcbf29ce484222325ull);
  EXPECT_EQ(RecordTieKey(std::string(1, '\0')), 0xaf63bd4c8601b7dfull);
}

// Bytes 1..24 compare as the total order of rows (event, created, tie key),
// and IsNewer is that order.
TEST(RecordCodec, HeaderBytesOrderLikeTheTotalOrder) {
  const int64_t ts[] = {std::numeric_limits<int64_t>::min(), -1000, -1, 0, 1, 255, 256,
                        1700000000000000, std::numeric_limits<int64_t>::max()};
  const std::vector<Value> values[] = {{Value(), Value()},
                                       {Value::Int64(1), Value()},
                                       {Value::Int64(1), Value::String("x")}};
  for (int64_t e1 : ts) {
    for (int64_t c1 : {int64_t{-1}, int64_t{0}, int64_t{7}}) {
      for (int64_t e2 : ts) {
        for (int64_t c2 : {int64_t{-1}, int64_t{0}, int64_t{7}}) {
          for (const auto& v1 : values) {
            for (const auto& v2 : values) {
              OnlineRecord a{{}, e1, c1, v1};
              OnlineRecord b{{}, e2, c2, v2};
              std::string ea, eb;
              RecordHeader ha, hb;
              ASSERT_TRUE(EncodeRecord(SmallView(), a, &ea, &ha).ok());
              ASSERT_TRUE(EncodeRecord(SmallView(), b, &eb, &hb).ok());
              EXPECT_EQ(ea.substr(1, 24) > eb.substr(1, 24), IsNewer(ha, hb));
              EXPECT_EQ(ha.tie_key, RecordTieKey(std::string_view(ea).substr(kRecordHeaderSize)));
              auto decoded = DecodeRecordHeader(ea);
              ASSERT_TRUE(decoded.ok());
              EXPECT_EQ(decoded->tie_key, ha.tie_key);
              EXPECT_TRUE(decoded->has_tie_key);
              // Equal triples are equal records here: neither is newer.
              EXPECT_EQ(IsNewer(ha, hb) || IsNewer(hb, ha), ea != eb);
            }
          }
        }
      }
    }
  }
}

// A record of format version 1 (no tie key) is still read, and loses to a
// record with equal timestamps, never to an older one.
TEST(RecordCodec, ReadsVersionOneRecords) {
  OnlineRecord r{{}, 10, 3, {Value::Int64(5), Value::String("x")}};
  std::string v2;
  RecordHeader h2;
  ASSERT_TRUE(EncodeRecord(SmallView(), r, &v2, &h2).ok());
  std::string v1 = v2;
  v1[0] = 1;
  v1.erase(17, 8);  // drop the tie key
  OnlineReadResult got;
  ASSERT_TRUE(DecodeRecord(SmallView(), v1, &got).ok());
  EXPECT_EQ(got.state, OnlineRecordState::kFound);
  EXPECT_EQ(got.event_timestamp, 10);
  EXPECT_EQ(got.created_timestamp, 3);
  EXPECT_EQ(got.values, r.values);
  auto h1 = DecodeRecordHeader(v1);
  ASSERT_TRUE(h1.ok());
  EXPECT_FALSE(h1->has_tie_key);
  EXPECT_EQ(h1->schema_fingerprint, SmallView().fingerprint());
  EXPECT_TRUE(IsNewer(h2, *h1));
  EXPECT_FALSE(IsNewer(*h1, h2));
  RecordHeader older = h2;
  older.created_timestamp = 2;
  EXPECT_FALSE(IsNewer(older, *h1));
}

TEST(RecordCodec, RoundTripsEveryDtype) {
  OnlineView view = WideView();
  OnlineRecord rec = WideRecord();
  std::string bytes;
  ASSERT_TRUE(EncodeRecord(view, rec, &bytes).ok());
  auto header = DecodeRecordHeader(bytes);
  ASSERT_TRUE(header.ok());
  EXPECT_EQ(header->event_timestamp, rec.event_timestamp);
  EXPECT_EQ(header->created_timestamp, rec.created_timestamp);
  EXPECT_EQ(header->schema_fingerprint, view.fingerprint());
  OnlineReadResult got;
  Status s = DecodeRecord(view, bytes, &got);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(got.state, OnlineRecordState::kFound);
  EXPECT_EQ(got.event_timestamp, rec.event_timestamp);
  EXPECT_EQ(got.created_timestamp, rec.created_timestamp);
  EXPECT_EQ(got.values, rec.values);
}

TEST(RecordCodec, DetectsSchemaChange) {
  OnlineRecord r{{}, 1, 0, {Value::Int64(5), Value::String("x")}};
  std::string bytes;
  ASSERT_TRUE(EncodeRecord(SmallView(), r, &bytes).ok());
  OnlineView changed("v", {{"a", {ScalarType::kInt64, false}},
                           {"b", {ScalarType::kString, false}},
                           {"c", {ScalarType::kBool, false}}});
  OnlineReadResult got;
  ASSERT_TRUE(DecodeRecord(changed, bytes, &got).ok());
  EXPECT_EQ(got.state, OnlineRecordState::kSchemaMismatch);
  EXPECT_TRUE(got.values.empty());
}

TEST(RecordCodec, RefusesRecordsThatDoNotFitTheView) {
  std::string out;
  Status s = EncodeRecord(SmallView(), {{}, 1, 0, {Value::Int64(5)}}, &out);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  s = EncodeRecord(SmallView(), {{}, 1, 0, {Value::Int32(5), Value::Null()}}, &out);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("`a` is Int64 but the value is Int32"), std::string::npos)
      << s.message();
  EXPECT_TRUE(out.empty());
}

TEST(RecordCodec, TruncationIsCorruption) {
  std::string bytes;
  ASSERT_TRUE(EncodeRecord(WideView(), WideRecord(), &bytes).ok());
  for (size_t len = 0; len < bytes.size(); ++len) {
    OnlineReadResult got;
    Status s = DecodeRecord(WideView(), bytes.substr(0, len), &got);
    // A cut inside the fingerprint can at worst look like another schema.
    if (s.ok()) {
      EXPECT_NE(got.state, OnlineRecordState::kFound) << len;
    } else {
      EXPECT_EQ(s.code(), StatusCode::kCorruption) << len;
    }
  }
  OnlineReadResult got;
  EXPECT_EQ(DecodeRecord(WideView(), bytes + "x", &got).code(), StatusCode::kCorruption);
  std::string v3 = bytes;
  v3[0] = 3;
  EXPECT_EQ(DecodeRecord(WideView(), v3, &got).code(), StatusCode::kCorruption);
}

// Mutation test: random byte flips, insertions and deletions never crash the
// decoder; they give Corruption, another schema, or a well-typed record.
TEST(RecordCodec, MutatedInputNeverCrashes) {
  OnlineView view = WideView();
  std::string bytes;
  ASSERT_TRUE(EncodeRecord(view, WideRecord(), &bytes).ok());
  std::mt19937 rng(20261127);
  int corrupt = 0, found = 0;
  for (int iter = 0; iter < 20000; ++iter) {
    std::string m = bytes;
    int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits; ++e) {
      size_t pos = rng() % (m.size() + 1);
      switch (rng() % 4) {
        case 0:
          if (pos < m.size()) m[pos] = static_cast<char>(rng());
          break;
        case 1:
          if (pos < m.size()) m[pos] = static_cast<char>(m[pos] ^ (1 << (rng() % 8)));
          break;
        case 2:
          m.insert(pos, 1, static_cast<char>(rng()));
          break;
        default:
          if (pos < m.size()) m.erase(pos, 1);
          break;
      }
    }
    OnlineReadResult got;
    Status s = DecodeRecord(view, m, &got);
    if (!s.ok()) {
      EXPECT_EQ(s.code(), StatusCode::kCorruption) << s.ToString();
      ++corrupt;
    } else if (got.state == OnlineRecordState::kFound) {
      ++found;
      ASSERT_EQ(got.values.size(), view.features().size());
      for (size_t i = 0; i < got.values.size(); ++i) {
        if (!got.values[i].is_null()) {
          EXPECT_EQ(got.values[i].type(), view.features()[i].dtype);
        }
      }
    }
  }
  EXPECT_GT(corrupt, 1000);
}

}  // namespace
}  // namespace larder::online
