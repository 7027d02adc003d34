#include "repo/column_types.h"

#include <gtest/gtest.h>

namespace larder::repo {
namespace {

constexpr ValueType kInt32{ScalarType::kInt32, false};
constexpr ValueType kInt64{ScalarType::kInt64, false};
constexpr ValueType kTimestamp{ScalarType::kUnixTimestamp, false};

TEST(ColumnTypes, StorageNeedsAWideEnoughInteger) {
  EXPECT_TRUE(ColumnHolds(kInt32, "INTEGER"));
  EXPECT_FALSE(ColumnHolds(kInt32, "BIGINT"));
  EXPECT_TRUE(ColumnHolds(kInt64, "UINTEGER"));
  EXPECT_FALSE(ColumnHolds(kInt64, "UBIGINT"));
  EXPECT_FALSE(ColumnHolds(kInt64, "HUGEINT"));
  EXPECT_EQ(DtypeOfColumn("HUGEINT"), std::nullopt);
  EXPECT_EQ(DtypeOfColumn("SMALLINT"), kInt32);
}

TEST(ColumnTypes, KeysCompareAcrossIntegerWidths) {
  EXPECT_TRUE(ColumnMatchesKey(kInt32, "BIGINT"));
  EXPECT_TRUE(ColumnMatchesKey(kInt64, "HUGEINT"));
  EXPECT_FALSE(ColumnMatchesKey(kInt64, "VARCHAR"));
  EXPECT_FALSE(ColumnMatchesKey(kInt64, "BIGINT[]"));
}

TEST(ColumnTypes, DatesAndTimestampsAreTimesForBothQuestions) {
  for (const char* type : {"DATE", "TIMESTAMP", "TIMESTAMP WITH TIME ZONE", "TIMESTAMP_NS"}) {
    EXPECT_TRUE(ColumnHolds(kTimestamp, type)) << type;
    EXPECT_TRUE(ColumnMatchesKey(kTimestamp, type)) << type;
    EXPECT_TRUE(IsTimeColumn(type)) << type;
  }
  EXPECT_FALSE(IsTimeColumn("VARCHAR"));
  EXPECT_EQ(DtypeOfColumn("INTEGER[]"), (ValueType{ScalarType::kInt32, true}));
}

}  // namespace
}  // namespace larder::repo
