#include "common/base64.h"

#include <gtest/gtest.h>

#include <string>

namespace larder {
namespace {

TEST(Base64, RoundTripsEveryLengthModuloThree) {
  const std::string bytes("\x00\xff\x10 a\x80z", 7);
  for (size_t n = 0; n <= bytes.size(); ++n) {
    std::string decoded;
    ASSERT_TRUE(Base64Decode(Base64Encode(bytes.substr(0, n)), &decoded)) << n;
    EXPECT_EQ(decoded, bytes.substr(0, n));
  }
  EXPECT_EQ(Base64Encode("Man"), "TWFu");
  EXPECT_EQ(Base64Encode("Ma"), "TWE=");
  EXPECT_EQ(Base64Encode("M"), "TQ==");
}

TEST(Base64, RefusesMalformedText) {
  std::string out;
  EXPECT_FALSE(Base64Decode("TWF", &out));    // not a multiple of 4
  EXPECT_FALSE(Base64Decode("TW!u", &out));   // not in the alphabet
  EXPECT_FALSE(Base64Decode("T=Fu", &out));   // padding inside
  EXPECT_FALSE(Base64Decode("TQ==TQ==", &out));
  EXPECT_TRUE(Base64Decode("", &out));
  EXPECT_EQ(out, "");
}

}  // namespace
}  // namespace larder
