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
                               "\t", "\xff\xfe", "null", "features:", "schema:"};

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

}  // namespace
}  // namespace larder
