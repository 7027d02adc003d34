#include "common/progress.h"

#include <gtest/gtest.h>

#include <sstream>

namespace larder {
namespace {

size_t Count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

TEST(ProgressReporter, LogModePrintsOneLinePerFinishedStage) {
  std::ostringstream out;
  ProgressReporter progress(out, /*interactive=*/false);
  progress.Update("views", 5, 10);
  EXPECT_EQ(out.str(), "");
  progress.Update("views", 10, 10);
  progress.Update("views", 10, 10);  // reported again by another worker: ignored
  progress.Update("books", 3, 3);
  EXPECT_EQ(Count(out.str(), "views: 10 done"), 1u);
  EXPECT_EQ(Count(out.str(), "books: 3 done"), 1u);
}

TEST(ProgressReporter, TerminalModeEndsAFinishedStageOnce) {
  std::ostringstream out;
  ProgressReporter progress(out, /*interactive=*/true);
  progress.Update("[1/2] users", 1, 4);
  progress.Update("[1/2] users", 4, 4);
  progress.Update("[1/2] users", 4, 4);
  progress.Update("[2/2] books", 2, 2);
  EXPECT_EQ(Count(out.str(), "\n"), 2u);
  EXPECT_NE(out.str().find("[1/2] users"), std::string::npos);
  EXPECT_NE(out.str().find("100%  4/4"), std::string::npos);
}

}  // namespace
}  // namespace larder
