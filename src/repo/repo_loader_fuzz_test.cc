// Mutation testing of the repo loader: definition files are untrusted input,
// so any bytes must give a repo or a Status, never a crash or a hang.
#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include "larder/repo.h"
#include "support/test_util.h"

namespace larder {
namespace {

namespace fs = std::filesystem;

// A small deterministic generator (splitmix64) so failures reproduce.
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t Next() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }
  size_t Below(size_t n) { return n == 0 ? 0 : static_cast<size_t>(Next() % n); }

 private:
  uint64_t state_;
};

// Tokens that steer mutations towards YAML structure rather than noise.
const char* const kTokens[] = {":", "- ", "[", "]", "{", "}", "\n", "  ", "'", "\"", "&a", "*a",
                               "!!binary", "ttl: ", "-1d", "Array(", "name: ", "~", "? ", "|",
                               "\t", "\xff\xfe", "null", "features:", "schema:",
                               "aggregations:", "time_window: ", "lifetime", "last_n(",
                               "999999)", "function: ", "dtype: "};

std::string Mutate(std::string text, Rng& rng) {
  int edits = 1 + static_cast<int>(rng.Below(4));
  for (int i = 0; i < edits; ++i) {
    size_t pos = rng.Below(text.size() + 1);
    switch (rng.Below(4)) {
      case 0:  // delete a span
        text.erase(pos, rng.Below(16));
        break;
      case 1:  // insert a token
        text.insert(pos, kTokens[rng.Below(std::size(kTokens))]);
        break;
      case 2:  // flip a byte
        if (!text.empty()) text[rng.Below(text.size())] = static_cast<char>(rng.Below(256));
        break;
      case 3:  // truncate
        text.resize(pos);
        break;
    }
  }
  return text;
}

TEST(RepoLoaderFuzz, MutatedExampleFilesNeverCrash) {
  fs::path example = fs::path(::larder::testing::SourceDir()) / "examples/book_recs";
  std::vector<std::pair<std::string, std::string>> files;
  for (const auto& entry : fs::recursive_directory_iterator(example)) {
    std::string rel = fs::relative(entry.path(), example).generic_string();
    if (rel.starts_with("data/") || rel.starts_with("generator/")) continue;
    if (entry.is_regular_file() &&
        (entry.path().extension() == ".yaml" || entry.path().extension() == ".sql")) {
      files.emplace_back(rel, ::larder::testing::ReadFileText(entry.path().string()));
    }
  }
  ASSERT_GE(files.size(), 5u);

  ::larder::testing::TempDir dir;
  for (const auto& [rel, text] : files) dir.Write(rel, text);
  Rng rng(20261127);
  int refused = 0;
  constexpr int kRounds = 600;
  for (int round = 0; round < kRounds; ++round) {
    size_t pick = rng.Below(files.size());
    const auto& [rel, text] = files[pick];
    dir.Write(rel, Mutate(text, rng));
    Result<FeatureRepo> repo = LoadFeatureRepo(dir.path());
    if (!repo.ok()) {
      ++refused;
      // Refusals are user errors with a message, not internal failures.
      EXPECT_NE(repo.status().code(), StatusCode::kInternal) << repo.status().ToString();
      EXPECT_FALSE(repo.status().message().empty());
    }
    dir.Write(rel, text);  // restore before the next round
  }
  // Most mutations must be caught; a mutation of a comment or description
  // may still give a valid repo.
  EXPECT_GT(refused, kRounds / 3);
}

// Aggregation views, checked against fake file columns so that the checks
// against the source run too.
TEST(RepoLoaderFuzz, MutatedAggregationViewsNeverCrash) {
  const std::string views =
      "feature_views:\n"
      "  - name: v\n"
      "    entities: [user]\n"
      "    source: ratings_push\n"
      "    aggregation_interval: 10m\n"
      "    aggregations:\n"
      "      - {column: rating, function: mean, time_window: 1d}\n"
      "      - {column: isbn, function: last_n(5), time_window: lifetime, name: books}\n"
      "      - column: rating\n"
      "        function: approx_count_distinct\n"
      "        time_window: 7d\n"
      "        dtype: Int64\n"
      "    schema: [{name: score, dtype: Float64}]\n";
  ::larder::testing::TempDir dir;
  dir.Write("feature_store.yaml", "project: p\n");
  dir.Write("defs.yaml",
            "entities: [{name: user, join_keys: [user_id], value_type: Int64}]\n"
            "data_sources:\n"
            "  - {name: ratings, type: file, path: r.parquet, timestamp_field: ts}\n"
            "  - {name: ratings_push, type: push, batch_source: ratings}\n");
  LoadOptions options;
  options.schema_resolver = [](const DataSource&, const std::string&)
      -> Result<std::vector<ColumnInfo>> {
    return std::vector<ColumnInfo>{{"user_id", "BIGINT"}, {"isbn", "VARCHAR"},
                                   {"rating", "INTEGER"}, {"score", "DOUBLE"},
                                   {"ts", "TIMESTAMP"}};
  };
  dir.Write("views.yaml", views);
  ASSERT_TRUE(LoadFeatureRepo(dir.path(), options).ok());
  Rng rng(20261207);
  int refused = 0;
  constexpr int kRounds = 400;
  for (int round = 0; round < kRounds; ++round) {
    dir.Write("views.yaml", Mutate(views, rng));
    Result<FeatureRepo> repo = LoadFeatureRepo(dir.path(), options);
    if (repo.ok()) {
      for (const auto& v : repo->feature_views) {
        for (const auto& a : v.aggregations) EXPECT_FALSE(a.name.empty());
      }
      continue;
    }
    ++refused;
    EXPECT_NE(repo.status().code(), StatusCode::kInternal) << repo.status().ToString();
    EXPECT_FALSE(repo.status().message().empty());
  }
  EXPECT_GT(refused, kRounds / 3);
}

}  // namespace
}  // namespace larder
