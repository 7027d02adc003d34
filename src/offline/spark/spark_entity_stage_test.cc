#include "offline/spark/spark_entity_stage.h"

#include <gtest/gtest.h>

#include <filesystem>

namespace larder::offline::spark {
namespace {

TEST(LoopbackEndpoint, OnlyThisMachinesAddressesAreLoopback) {
  EXPECT_TRUE(IsLoopbackEndpoint("127.0.0.1:15002"));
  EXPECT_TRUE(IsLoopbackEndpoint("127.8.9.1:1"));
  EXPECT_TRUE(IsLoopbackEndpoint("localhost:15002"));
  EXPECT_TRUE(IsLoopbackEndpoint("[::1]:15002"));
  EXPECT_FALSE(IsLoopbackEndpoint("10.0.0.7:15002"));
  EXPECT_FALSE(IsLoopbackEndpoint("spark.internal:15002"));
  EXPECT_FALSE(IsLoopbackEndpoint("127.0.0.1.evil.example:15002"));
  EXPECT_FALSE(IsLoopbackEndpoint("localhost.example:15002"));
  EXPECT_FALSE(IsLoopbackEndpoint("[::2]:15002"));
  EXPECT_FALSE(IsLoopbackEndpoint("[::1"));
}

TEST(LoopbackEndpoint, RowsAreNotStagedForAServerElsewhere) {
  HistoricalFeaturesRequest request;
  request.entity_path = "entities.csv";
  auto staged = StageEntityRows(request, "spark.internal:15002", "entity file entities.csv");
  ASSERT_FALSE(staged.ok());
  EXPECT_NE(staged.status().message().find("cannot read rows held on this machine"),
            std::string::npos);
}

}  // namespace
}  // namespace larder::offline::spark
