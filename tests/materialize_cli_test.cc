// `larder materialize-incremental` and `larder online` on the
// book-recommendation example, run as a user would.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <sstream>

#include "support/test_util.h"

namespace larder {
namespace {

using ::larder::testing::CommandResult;
using ::larder::testing::RunLarder;
using ::larder::testing::TempDir;
using ::testing::HasSubstr;

size_t Count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t p = text.find(what); p != std::string::npos; p = text.find(what, p + 1)) ++n;
  return n;
}

// The example's history ends here (exclusive).
constexpr const char* kEnd = "2023-01-01T00:00:00Z";

class MaterializeCli : public ::testing::Test {
 protected:
  void SetUp() override {
    repo_ = tmp_.Join("repo");
    ASSERT_EQ(RunLarder("init " + repo_ + " --template book_recs").exit_code, 0);
    c_ = "-c " + repo_ + " ";
    CommandResult gen = RunLarder(c_ + "demo-data --scale 0.01 --end 2023-01-01T00:00:00Z");
    ASSERT_EQ(gen.exit_code, 0) << gen.err;
    CommandResult apply = RunLarder(c_ + "apply");
    ASSERT_EQ(apply.exit_code, 0) << apply.err;
  }

  std::string Online() {
    CommandResult r = RunLarder(c_ + "online --feature-service model_v4 --entity user_id=1 "
                                     "--entity isbn=0000000000 --now " + kEnd);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r.out;
  }

  TempDir tmp_;
  std::string repo_;
  std::string c_;
};

TEST_F(MaterializeCli, ModelViewsNeedRunFirst) {
  CommandResult r = RunLarder(c_ + "materialize-incremental " + kEnd);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("run `larder run` first"));
}

TEST_F(MaterializeCli, MaterializesAndServesFeastJson) {
  ASSERT_EQ(RunLarder(c_ + "run").exit_code, 0);
  CommandResult m = RunLarder(c_ + "materialize-incremental " + kEnd);
  ASSERT_EQ(m.exit_code, 0) << m.err;
  EXPECT_THAT(m.out, HasSubstr("book_features: "));
  EXPECT_THAT(m.out, HasSubstr("written"));
  std::string json = Online();
  EXPECT_THAT(json, HasSubstr("{\"metadata\":{\"feature_names\":[\"isbn\",\"user_id\",\"language\""));
  // Join keys and the book's language, category at least.
  EXPECT_GE(Count(json, "\"PRESENT\""), 4u);
  EXPECT_THAT(json, HasSubstr("1970-01-01T00:00:00Z"));

  // Nothing new since the watermark: the rerun writes nothing.
  CommandResult again = RunLarder(c_ + "materialize-incremental " + kEnd);
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_THAT(again.out, HasSubstr("book_features: 0 rows"));
  // A full rerun of an explicit window skips everything.
  CommandResult full = RunLarder(c_ + "materialize 1900-01-01 " + kEnd + " --views book_features");
  ASSERT_EQ(full.exit_code, 0) << full.err;
  EXPECT_THAT(full.out, HasSubstr(" 0 written"));

  // A missing join key is an error naming it.
  CommandResult bad = RunLarder(c_ + "online --feature-service model_v4 --entity user_id=1");
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_THAT(bad.err, HasSubstr("isbn"));

  // Teardown removes the online data too.
  ASSERT_EQ(RunLarder(c_ + "teardown").exit_code, 0);
  ASSERT_EQ(RunLarder(c_ + "apply").exit_code, 0);
  std::string after = Online();
  EXPECT_THAT(after, HasSubstr("NOT_FOUND"));
  EXPECT_EQ(Count(after, "\"PRESENT\""), 2u);  // the join keys only
}

// Killing materialization at any point and running it again gives the store
// an uninterrupted run gives.
TEST_F(MaterializeCli, ResumesAfterSigkill) {
  ASSERT_EQ(RunLarder(c_ + "run").exit_code, 0);
  std::string copy = tmp_.Join("reference");
  std::filesystem::copy(repo_, copy, std::filesystem::copy_options::recursive);
  CommandResult ref = RunLarder("-c " + copy + " materialize-incremental " + kEnd);
  ASSERT_EQ(ref.exit_code, 0) << ref.err;

  for (const char* delay : {"0.05", "0.1", "0.15", "0.2", "0.3"}) {
    std::string cmd = std::string("timeout -s KILL ") + delay + " " + LARDER_BINARY + " " + c_ +
                      "materialize-incremental " + kEnd + " >/dev/null 2>&1";
    (void)std::system(cmd.c_str());
  }
  CommandResult resumed = RunLarder(c_ + "materialize-incremental " + kEnd);
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;

  // Compare the served values of (user, book) pairs from the ratings.
  std::string pairs = tmp_.Join("pairs.csv");
  CommandResult h = RunLarder(
      c_ + "historical --entity-sql \"SELECT user_id, isbn, rating_timestamp AS event_timestamp "
           "FROM read_parquet('" + repo_ + "/data/raw/ratings.parquet') ORDER BY user_id, isbn "
           "LIMIT 12\" --features book_features:language --output " + pairs);
  ASSERT_EQ(h.exit_code, 0) << h.err;
  std::istringstream lines(::larder::testing::ReadFileText(pairs));
  std::string line;
  std::getline(lines, line);
  int compared = 0;
  while (std::getline(lines, line)) {
    std::string user = line.substr(0, line.find(','));
    std::string rest = line.substr(line.find(',') + 1);
    std::string isbn = rest.substr(0, rest.find(','));
    std::string args = " online --feature-service model_v4 --entity user_id=" + user +
                       " --entity isbn=" + isbn + " --now " + kEnd;
    CommandResult a = RunLarder(c_ + args);
    CommandResult b = RunLarder("-c " + copy + args);
    ASSERT_EQ(a.exit_code, 0) << a.err;
    EXPECT_EQ(a.out, b.out) << user << " " << isbn;
    ++compared;
  }
  EXPECT_EQ(compared, 12);
}

}  // namespace
}  // namespace larder
