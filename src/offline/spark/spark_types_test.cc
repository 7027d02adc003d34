#include "offline/spark/spark_types.h"

#include <gtest/gtest.h>

#include "repo/column_types.h"

namespace larder::offline::spark {
namespace {

TEST(SparkTypes, BothSpellingsOfSparkTypesTranslate) {
  EXPECT_EQ(CanonicalColumnType("long"), "BIGINT");
  EXPECT_EQ(CanonicalColumnType("BIGINT"), "BIGINT");
  EXPECT_EQ(CanonicalColumnType("integer"), "INTEGER");
  EXPECT_EQ(CanonicalColumnType("int"), "INTEGER");
  EXPECT_EQ(CanonicalColumnType("string"), "VARCHAR");
  EXPECT_EQ(CanonicalColumnType("varchar(20)"), "VARCHAR");
  EXPECT_EQ(CanonicalColumnType("decimal(10, 2)"), "DECIMAL(10,2)");
  EXPECT_EQ(CanonicalColumnType("decimal"), "DECIMAL(10,0)");
  EXPECT_EQ(CanonicalColumnType("timestamp"), "TIMESTAMP WITH TIME ZONE");
  EXPECT_EQ(CanonicalColumnType("timestamp_ntz"), "TIMESTAMP");
  EXPECT_EQ(CanonicalColumnType("array<int>"), "INTEGER[]");
  EXPECT_EQ(CanonicalColumnType("binary"), "BLOB");
}

TEST(SparkTypes, UnheldTypesKeepSparksNameAndHoldNoDtype) {
  EXPECT_EQ(CanonicalColumnType("map<string,int>"), "SPARK map<string,int>");
  // A list of lists has DuckDB's spelling, which no dtype holds either.
  EXPECT_EQ(CanonicalColumnType("array<array<int>>"), "INTEGER[][]");
  EXPECT_EQ(repo::DtypeOfColumn("INTEGER[][]"), std::nullopt);
  EXPECT_EQ(CanonicalColumnType("interval day to second"), "SPARK interval day to second");
  EXPECT_EQ(repo::DtypeOfColumn(CanonicalColumnType("map<string,int>")), std::nullopt);
}

TEST(SparkTypes, TranslatedTypesMeetTheOneTable) {
  EXPECT_TRUE(repo::ColumnHolds({ScalarType::kInt64, false}, CanonicalColumnType("long")));
  EXPECT_FALSE(repo::ColumnHolds({ScalarType::kInt32, false}, CanonicalColumnType("long")));
  EXPECT_TRUE(repo::ColumnHolds({ScalarType::kUnixTimestamp, false},
                                CanonicalColumnType("timestamp")));
  EXPECT_TRUE(repo::ColumnHolds({ScalarType::kFloat64, true}, CanonicalColumnType("array<double>")));
}

}  // namespace
}  // namespace larder::offline::spark
