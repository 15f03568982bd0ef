// Tests of ftp_adapter/printable.h: the escaping of what servers send before
// it is printed or quoted in an error (control characters and invalid UTF-8
// as \xNN, cuts within the limit between units). No sockets.
#include <string>

#include "absl/status/status.h"
#include "ftp_adapter/printable.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/ftp_test_util.h"

namespace tlsession::ftp {
namespace {

using ::tlsession::testing::Bytes;

TEST(PrintableTest, KeepsPlainTextAndValidUtf8) {
  EXPECT_EQ(ftp::Printable(""), "");
  EXPECT_EQ(ftp::Printable("226 ok: \"a b\" \\ ~"), "226 ok: \"a b\" \\ ~");
  // é, €, 𝄞 (two, three and four bytes).
  const std::string utf8 = "r\xc3\xa9sum\xc3\xa9 \xe2\x82\xac \xf0\x9d\x84\x9e";
  EXPECT_EQ(ftp::Printable(utf8), utf8);
}

TEST(PrintableTest, EscapesEveryControlCharacter) {
  // An OSC that retitles a terminal, CSI, CR, LF, TAB, NUL, DEL.
  EXPECT_EQ(ftp::Printable(Bytes("\x1b]0;pwned\x07\x1b[2J\r\n\t\0\x7f")),
            "\\x1b]0;pwned\\x07\\x1b[2J\\x0d\\x0a\\x09\\x00\\x7f");
  // C1 controls, as UTF-8 (U+009B is CSI) and as raw bytes.
  EXPECT_EQ(ftp::Printable("a\xc2\x9b"
                           "1m\xc2\x85"),
            "a\\xc2\\x9b1m\\xc2\\x85");
  EXPECT_EQ(ftp::Printable("\x9b"
                           "31m"),
            "\\x9b31m");
}

TEST(PrintableTest, EscapesInvalidUtf8ByteByByte) {
  EXPECT_EQ(ftp::Printable("\xff\xfe"), "\\xff\\xfe");
  EXPECT_EQ(ftp::Printable("\xc3"), "\\xc3");           // Cut short.
  EXPECT_EQ(ftp::Printable("\xc3(x"), "\\xc3(x");       // Bad follower.
  EXPECT_EQ(ftp::Printable("\xc0\xaf"), "\\xc0\\xaf");  // Overlong '/'.
  EXPECT_EQ(ftp::Printable("\xe0\x80\xaf"), "\\xe0\\x80\\xaf");
  EXPECT_EQ(ftp::Printable("\xed\xa0\x80"), "\\xed\\xa0\\x80");  // Surrogate.
  EXPECT_EQ(ftp::Printable("\xf4\x90\x80\x80"),  // Above U+10FFFF.
            "\\xf4\\x90\\x80\\x80");
}

TEST(PrintableTest, CutsBetweenUnitsWithinTheLimit) {
  EXPECT_EQ(ftp::Printable("abcdef", 6), "abcdef");
  EXPECT_EQ(ftp::Printable("abcdefg", 6), "abc...");
  // Never inside an escape or a character.
  EXPECT_EQ(ftp::Printable("ab\x01\x01", 8), "ab...");
  EXPECT_EQ(ftp::Printable("ab\xe2\x82\xac\xe2\x82\xac", 8),
            "ab\xe2\x82\xac\xe2\x82\xac");
  EXPECT_EQ(ftp::Printable("ab\xe2\x82\xac\xe2\x82\xacx", 8),
            "ab\xe2\x82\xac...");
}

TEST(PrintableTest, QuoteExcerptIsAsciiAndShort) {
  EXPECT_EQ(ftp::QuoteExcerpt(Bytes("a\0\xc3\xa9")), "'a\\x00\\xc3\\xa9'");
  EXPECT_EQ(ftp::QuoteExcerpt(std::string(100, 'q')),
            "'" + std::string(80, 'q') + "'...");
}

}  // namespace
}  // namespace tlsession::ftp
