// The byte classes and the vectorised control-byte finder the head scanner
// relies on: every byte value at every position across the 16/8/1-byte paths.
#include <gtest/gtest.h>

#include <string>

#include "gateway/http1/chars.h"
#include "gateway/http1/parser.h"

namespace edge::http1 {
namespace {

bool isControl(int c) {
  return c < 0x20 || c == 0x7f;
}

TEST(Chars, FindControlEveryByteEveryPosition) {
  for (size_t len : {1, 7, 8, 9, 15, 16, 17, 23, 24, 31, 32, 40}) {
    for (size_t pos = 0; pos < len; ++pos) {
      for (int c = 0; c < 256; ++c) {
        std::string s(len, 'a');
        s[pos] = static_cast<char>(c);
        const char* found = chars::findControl(s.data(), s.data() + s.size());
        const size_t want = isControl(c) ? pos : len;
        ASSERT_EQ(static_cast<size_t>(found - s.data()), want)
            << "len " << len << " pos " << pos << " byte " << c;
      }
    }
  }
}

TEST(Chars, FindControlReturnsTheFirst) {
  std::string s(64, 'x');
  s[40] = '\n';
  s[21] = '\r';
  s[50] = '\0';
  EXPECT_EQ(chars::findControl(s.data(), s.data() + s.size()) - s.data(), 21);
  EXPECT_EQ(chars::findControl(s.data() + 22, s.data() + s.size()) - s.data(), 40);
  EXPECT_EQ(chars::findControl(s.data(), s.data()), s.data());
}

TEST(Chars, TokenTableMatchesRfc9110) {
  const std::string tchar =
      "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
  for (int c = 0; c < 256; ++c) {
    EXPECT_EQ(isTokenChar(static_cast<unsigned char>(c)),
              tchar.find(static_cast<char>(c)) != std::string::npos)
        << c;
  }
}

TEST(Chars, Iequals) {
  EXPECT_TRUE(iequals("Content-Length", "content-length"));
  EXPECT_TRUE(iequals("", ""));
  EXPECT_FALSE(iequals("content-length", "content-lengt"));
  EXPECT_FALSE(iequals("content_length", "content-length"));
  // Bytes that differ only in bit 0x20 but are not letters are not equal.
  EXPECT_FALSE(iequals("\r", "-"));
  EXPECT_FALSE(iequals("@", "`"));
  EXPECT_FALSE(iequals("[", "{"));
  EXPECT_FALSE(iequals("\xc1", "\xe1"));
}

}  // namespace
}  // namespace edge::http1
