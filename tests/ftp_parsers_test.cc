// Tests of the FTP parsers in ftp_adapter/: replies, PASV/EPSV/PORT/EPRT,
// MLSD facts and times, FTP URLs and .netrc files, and the escaping of what
// servers send before it is printed (printable.h), with hostile inputs
// (empty, huge numbers, missing fields, non-ASCII bytes, embedded NUL). No
// sockets.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "ftp_adapter/mlsd.h"
#include "ftp_adapter/netrc.h"
#include "ftp_adapter/passive.h"
#include "ftp_adapter/printable.h"
#include "ftp_adapter/reply.h"
#include "ftp_adapter/url.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tls/socket.h"

namespace tlsession::ftp {
namespace {

using ::testing::ElementsAre;
using ::testing::EndsWith;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::Pair;
using ::testing::SizeIs;

// A std::string with embedded NULs from a literal.
template <size_t N>
std::string Bytes(const char (&literal)[N]) {
  return std::string(literal, N - 1);
}

std::string Msg(const absl::Status& status) {
  return std::string(status.message());
}

absl::Time Utc(int64_t y, int m, int d, int hh, int mm, int ss) {
  return absl::FromCivil(absl::CivilSecond(y, m, d, hh, mm, ss),
                         absl::UTCTimeZone());
}

// ------------------------------------------------------------ Printable ---

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
  EXPECT_EQ(ftp::Printable("a\xc2\x9b" "1m\xc2\x85"),
            "a\\xc2\\x9b1m\\xc2\\x85");
  EXPECT_EQ(ftp::Printable("\x9b" "31m"), "\\x9b31m");
}

TEST(PrintableTest, EscapesInvalidUtf8ByteByByte) {
  EXPECT_EQ(ftp::Printable("\xff\xfe"), "\\xff\\xfe");
  EXPECT_EQ(ftp::Printable("\xc3"), "\\xc3");              // Cut short.
  EXPECT_EQ(ftp::Printable("\xc3(x"), "\\xc3(x");          // Bad follower.
  EXPECT_EQ(ftp::Printable("\xc0\xaf"), "\\xc0\\xaf");     // Overlong '/'.
  EXPECT_EQ(ftp::Printable("\xe0\x80\xaf"), "\\xe0\\x80\\xaf");
  EXPECT_EQ(ftp::Printable("\xed\xa0\x80"), "\\xed\\xa0\\x80");  // Surrogate.
  EXPECT_EQ(ftp::Printable("\xf4\x90\x80\x80"),          // Above U+10FFFF.
            "\\xf4\\x90\\x80\\x80");
}

TEST(PrintableTest, CutsBetweenUnitsWithinTheLimit) {
  EXPECT_EQ(ftp::Printable("abcdef", 6), "abcdef");
  EXPECT_EQ(ftp::Printable("abcdefg", 6), "abc...");
  // Never inside an escape or a character.
  EXPECT_EQ(ftp::Printable("ab\x01\x01", 8), "ab...");
  EXPECT_EQ(ftp::Printable("ab\xe2\x82\xac\xe2\x82\xac", 8),
            "ab\xe2\x82\xac\xe2\x82\xac");
  EXPECT_EQ(ftp::Printable("ab\xe2\x82\xac\xe2\x82\xacx", 8), "ab\xe2\x82\xac...");
}

TEST(PrintableTest, QuoteExcerptIsAsciiAndShort) {
  EXPECT_EQ(ftp::QuoteExcerpt(Bytes("a\0\xc3\xa9")), "'a\\x00\\xc3\\xa9'");
  EXPECT_EQ(ftp::QuoteExcerpt(std::string(100, 'q')),
            "'" + std::string(80, 'q') + "'...");
}

// ---------------------------------------------------------------- Reply ---

// Feeds |lines| to a fresh parser; all but the last must ask for more.
absl::StatusOr<Reply> ParseAll(const std::vector<std::string>& lines,
                               size_t max_lines = 10000) {
  ReplyParser parser(max_lines);
  for (size_t i = 0; i < lines.size(); ++i) {
    absl::StatusOr<std::optional<Reply>> r = parser.AddLine(lines[i]);
    if (!r.ok()) return r.status();
    if (r->has_value()) {
      if (i + 1 != lines.size()) {
        return absl::InternalError(absl::StrCat("complete after line ", i));
      }
      return **r;
    }
  }
  return absl::InternalError("incomplete");
}

TEST(ReplyParserTest, SingleLineReply) {
  ReplyParser parser;
  absl::StatusOr<std::optional<Reply>> r = parser.AddLine("220 Service ready");
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_TRUE(r->has_value());
  EXPECT_EQ((*r)->code, 220);
  EXPECT_THAT((*r)->lines, ElementsAre("220 Service ready"));
  EXPECT_EQ((*r)->text(), "220 Service ready");
}

TEST(ReplyParserTest, BareCodeIsACompleteSingleLineReply) {
  absl::StatusOr<Reply> r = ParseAll({"200"});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->code, 200);
  EXPECT_THAT(r->lines, ElementsAre("200"));
}

TEST(ReplyParserTest, CodeThenSpaceWithNoText) {
  absl::StatusOr<Reply> r = ParseAll({"530 "});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->code, 530);
  EXPECT_THAT(r->lines, ElementsAre("530 "));
}

TEST(ReplyParserTest, MultiLineReplyEndsAtSameCodeAndSpace) {
  ReplyParser parser;
  const std::vector<std::string> lines = {
      "211-Features:",    " MLST type*;size*;",      "211-still going",
      "150 another code", "2110 not the end either", "",
      "211 End"};
  for (size_t i = 0; i + 1 < lines.size(); ++i) {
    absl::StatusOr<std::optional<Reply>> r = parser.AddLine(lines[i]);
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_FALSE(r->has_value()) << "line " << i;
  }
  absl::StatusOr<std::optional<Reply>> r = parser.AddLine(lines.back());
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_TRUE(r->has_value());
  EXPECT_EQ((*r)->code, 211);
  EXPECT_EQ((*r)->lines, lines);
  EXPECT_EQ((*r)->text(),
            "211-Features:\n MLST type*;size*;\n211-still going\n150 another "
            "code\n2110 not the end either\n\n211 End");
}

TEST(ReplyParserTest, BareCodeEndsAMultiLineReply) {
  absl::StatusOr<Reply> r = ParseAll({"226-Transfer done", "stats", "226"});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->code, 226);
  EXPECT_THAT(r->lines, SizeIs(3));
}

TEST(ReplyParserTest, OtherCodesDoNotEndAMultiLineReply) {
  ReplyParser parser;
  ASSERT_TRUE(parser.AddLine("230-Welcome").ok());
  for (const char* line :
       {"220 hello", "231 close", "230-more", "230x", "23"}) {
    absl::StatusOr<std::optional<Reply>> r = parser.AddLine(line);
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_FALSE(r->has_value()) << line;
  }
  absl::StatusOr<std::optional<Reply>> r = parser.AddLine("230 Done");
  ASSERT_TRUE(r.ok());
  ASSERT_TRUE(r->has_value());
  EXPECT_THAT((*r)->lines, SizeIs(7));
}

TEST(ReplyParserTest, MiddleLinesKeepNonAsciiAndNulBytes) {
  const std::string odd = Bytes("\xff\xfe\0\x01 text");
  absl::StatusOr<Reply> r = ParseAll({"250-a", odd, "250 b"});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->lines[1], odd);
  EXPECT_EQ(r->text(), absl::StrCat("250-a\n", odd, "\n250 b"));
}

TEST(ReplyParserTest, MalformedFirstLinesAreErrors) {
  const std::vector<std::string> bad = {"",
                                        "2",
                                        "22",
                                        "22 x",
                                        "600 too high",
                                        "099 x",
                                        "000 zero",
                                        "2x0 bad",
                                        "220x",
                                        "220\tTab",
                                        "2200",
                                        " 220 space",
                                        "abc",
                                        "\xff\xfe\xfd",
                                        Bytes("22\0 x"),
                                        Bytes("220\0"),
                                        "-220 x",
                                        "+20 x",
                                        "\xd9\xa2\xd9\xa2\xd9\xa2 x"};
  for (const std::string& line : bad) {
    ReplyParser parser;
    absl::StatusOr<std::optional<Reply>> r = parser.AddLine(line);
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument)
        << "line '" << line << "'";
    EXPECT_THAT(Msg(r.status()), HasSubstr("three-digit code"));
  }
}

TEST(ReplyParserTest, ErrorQuotesTheLineEscapedAndTruncated) {
  ReplyParser parser;
  absl::StatusOr<std::optional<Reply>> r = parser.AddLine("hello world");
  EXPECT_THAT(Msg(r.status()), HasSubstr("'hello world'"));

  r = parser.AddLine(Bytes("99\0x"));
  EXPECT_THAT(Msg(r.status()), HasSubstr("'99\\x00x'"));

  const std::string huge(100000, 'x');
  r = parser.AddLine(huge);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(Msg(r.status()),
              HasSubstr(absl::StrCat("'", std::string(80, 'x'), "'...")));
  EXPECT_LT(Msg(r.status()).size(), 200u);
}

TEST(ReplyParserTest, ResetsAfterAnErrorAndAfterAReply) {
  ReplyParser parser;
  EXPECT_FALSE(parser.AddLine("garbage").ok());
  absl::StatusOr<std::optional<Reply>> r = parser.AddLine("331 Password?");
  ASSERT_TRUE(r.ok());
  ASSERT_TRUE(r->has_value());
  EXPECT_EQ((*r)->code, 331);
  // A new reply starts: "garbage" is a first line again, so an error.
  EXPECT_FALSE(parser.AddLine("garbage").ok());
  r = parser.AddLine("150-Opening");
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->has_value());
  r = parser.AddLine("150 ok");
  ASSERT_TRUE(r.ok());
  ASSERT_TRUE(r->has_value());
  EXPECT_THAT((*r)->lines, ElementsAre("150-Opening", "150 ok"));
}

TEST(ReplyParserTest, TooManyLinesIsAnErrorThenTheParserResets) {
  ReplyParser parser(3);
  ASSERT_TRUE(parser.AddLine("211-a").ok());
  ASSERT_TRUE(parser.AddLine("b").ok());
  ASSERT_TRUE(parser.AddLine("c").ok());
  absl::StatusOr<std::optional<Reply>> r = parser.AddLine("211 d");
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Msg(r.status()), HasSubstr("more than 3 lines"));
  EXPECT_THAT(Msg(r.status()), HasSubstr("'211-a'"));
  r = parser.AddLine("200 ok");
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_TRUE(r->has_value());
  EXPECT_EQ((*r)->code, 200);
}

TEST(ReplyParserTest, ExactlyMaxLinesIsAccepted) {
  EXPECT_TRUE(ParseAll({"211-a", "b", "211 c"}, 3).ok());
  EXPECT_TRUE(ParseAll({"200 one"}, 1).ok());
  EXPECT_FALSE(ParseAll({"211-a", "211 b"}, 1).ok());
}

TEST(ReplyParserTest, ZeroMaxLinesRejectsEveryReply) {
  ReplyParser parser(0);
  absl::StatusOr<std::optional<Reply>> r = parser.AddLine("200 ok");
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(ReplyParserTest, DefaultBoundIsTenThousandLines) {
  std::vector<std::string> lines = {"250-start"};
  lines.insert(lines.end(), 9998, "middle");
  lines.push_back("250 end");
  absl::StatusOr<Reply> r = ParseAll(lines);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_THAT(r->lines, SizeIs(10000));

  lines.insert(lines.begin() + 1, "one more");
  r = ParseAll(lines);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Msg(r.status()), HasSubstr("more than 10000 lines"));
}

TEST(ReplyTest, ClassesFollowTheFirstDigit) {
  struct Case {
    int code;
    bool pre, done, more, transient, permanent;
  };
  for (const Case& c : {Case{150, true, false, false, false, false},
                        Case{226, false, true, false, false, false},
                        Case{331, false, false, true, false, false},
                        Case{421, false, false, false, true, false},
                        Case{530, false, false, false, false, true},
                        Case{0, false, false, false, false, false}}) {
    Reply reply;
    reply.code = c.code;
    EXPECT_EQ(reply.is_preliminary(), c.pre) << c.code;
    EXPECT_EQ(reply.is_completion(), c.done) << c.code;
    EXPECT_EQ(reply.is_intermediate(), c.more) << c.code;
    EXPECT_EQ(reply.is_transient_failure(), c.transient) << c.code;
    EXPECT_EQ(reply.is_permanent_failure(), c.permanent) << c.code;
  }
}

TEST(ReplyTest, ToStringJoinsWithBars) {
  Reply reply;
  reply.code = 211;
  reply.lines = {"211-Features:", " UTF8", "211 End"};
  EXPECT_EQ(reply.ToString(), "211-Features: |  UTF8 | 211 End");
  EXPECT_EQ(Reply().ToString(), "");
}

TEST(ReplyTest, ToStringEscapesControlCharacters) {
  Reply reply;
  reply.lines = {Bytes("550 a\rb\0c\x7f\x1b[31m"), "550 r\xc3\xa9sum\xc3\xa9"};
  EXPECT_EQ(reply.ToString(),
            "550 a\\x0db\\x00c\\x7f\\x1b[31m | 550 r\xc3\xa9sum\xc3\xa9");
}

TEST(ReplyTest, ToStringIsAtMost512Chars) {
  Reply reply;
  reply.lines.assign(1000, std::string(100, 'y'));
  const std::string s = reply.ToString();
  EXPECT_EQ(s.size(), 512u);
  EXPECT_THAT(s, EndsWith("..."));
  EXPECT_EQ(s.substr(0, 103), std::string(100, 'y') + " | ");

  // Escapes are not cut in half.
  reply.lines = {std::string(600, '\x01')};
  const std::string e = reply.ToString();
  EXPECT_LE(e.size(), 512u);
  EXPECT_THAT(e, EndsWith("\\x01..."));

  // Exactly 512 fits without "...".
  reply.lines = {std::string(512, 'z')};
  EXPECT_EQ(reply.ToString(), std::string(512, 'z'));
  reply.lines = {std::string(513, 'z')};
  EXPECT_EQ(reply.ToString(), std::string(509, 'z') + "...");
}

// -------------------------------------------------------------- Passive ---

TEST(ParsePasvReplyTest, ParenthesizedAddress) {
  absl::StatusOr<Endpoint> e =
      ParsePasvReply("227 Entering Passive Mode (127,0,0,1,156,64).");
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(e->address, "127.0.0.1");
  EXPECT_EQ(e->port, 156 * 256 + 64);
}

TEST(ParsePasvReplyTest, WithoutParentheses) {
  absl::StatusOr<Endpoint> e =
      ParsePasvReply("227 Entering Passive Mode 192,168,1,2,4,1");
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(e->address, "192.168.1.2");
  EXPECT_EQ(e->port, 1025);

  e = ParsePasvReply("227 =10,0,0,5,255,255");
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(e->address, "10.0.0.5");
  EXPECT_EQ(e->port, 65535);
}

TEST(ParsePasvReplyTest, LoneNumbersBeforeTheAddressAreSkipped) {
  absl::StatusOr<Endpoint> e =
      ParsePasvReply("227 Mode v2 1.5 \xc3\xa9 (10,1,2,3,0,80)");
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(e->address, "10.1.2.3");
  EXPECT_EQ(e->port, 80);
}

TEST(ParsePasvReplyTest, LeadingZerosAreAccepted) {
  absl::StatusOr<Endpoint> e = ParsePasvReply("227 (010,000,0,01,0,021)");
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(e->address, "10.0.0.1");
  EXPECT_EQ(e->port, 21);
}

TEST(ParsePasvReplyTest, BadReplies) {
  struct Case {
    std::string text;
    std::string why;
  };
  const std::vector<Case> cases = {
      {"", "no address"},
      {"227 Entering Passive Mode", "no address"},
      {"227 Entering Passive Mode ()", "no address"},
      {"227 (127,0,0,1,156)", "has 5 comma"},
      {"227 (127,0,0,1,156,64,7)", "has 7 comma"},
      {"227 (127,0,0,256,1,1)", "number 4 "},
      {"227 (127,0,0,1,1,999)", "number 6 "},
      {absl::StrCat("227 (127,0,0,1,1,", std::string(300, '9'), ")"),
       "number 6 "},
      {absl::StrCat("227 (", std::string(300, '0'), "1,0,0,1,1,1,1)"),
       "has 7 comma"},
      {"227 (127,0,0,1,0,0)", "port 0"},
      {"227 (-1,0,0,1,1,1)", "negative"},
      {"227 (127, 0, 0, 1, 156, 64)", "no address"},
      {"227 (127.0.0.1.156.64)", "no address"},
      {Bytes("227 (127,0,0\0,1,156,64)"), "has 3 comma"},
      {"227 (\xff,\xfe,1,2,3,4)", "has 4 comma"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<Endpoint> e = ParsePasvReply(c.text);
    EXPECT_EQ(e.status().code(), absl::StatusCode::kInvalidArgument) << c.text;
    EXPECT_THAT(Msg(e.status()), HasSubstr(c.why)) << c.text;
    EXPECT_THAT(Msg(e.status()), HasSubstr("PASV reply '")) << c.text;
  }
}

TEST(ParsePasvReplyTest, ErrorQuotesTheTextTruncated) {
  const std::string text = absl::StrCat("227 ", std::string(1000, 'a'));
  absl::StatusOr<Endpoint> e = ParsePasvReply(text);
  ASSERT_FALSE(e.ok());
  EXPECT_THAT(Msg(e.status()),
              HasSubstr(absl::StrCat("'227 ", std::string(76, 'a'), "'...")));
  EXPECT_LT(Msg(e.status()).size(), 200u);
}

TEST(ParseEpsvReplyTest, ExtendedPassiveMode) {
  absl::StatusOr<uint16_t> port =
      ParseEpsvReply("229 Entering Extended Passive Mode (|||6446|)");
  ASSERT_TRUE(port.ok()) << port.status();
  EXPECT_EQ(*port, 6446);
}

TEST(ParseEpsvReplyTest, AnyPrintableNonDigitDelimiter) {
  for (char d : {'!', '#', '~', '(', ')', 'a', 'Z', '|'}) {
    const std::string text =
        absl::StrCat("229 ok (", std::string(3, d), "65535", std::string(1, d),
                     ") trailing");
    absl::StatusOr<uint16_t> port = ParseEpsvReply(text);
    ASSERT_TRUE(port.ok()) << text << ": " << port.status();
    EXPECT_EQ(*port, 65535);
  }
  absl::StatusOr<uint16_t> port = ParseEpsvReply("229 (|||00021|)");
  ASSERT_TRUE(port.ok());
  EXPECT_EQ(*port, 21);
}

TEST(ParseEpsvReplyTest, BadReplies) {
  struct Case {
    std::string text;
    std::string why;
  };
  const std::vector<Case> cases = {
      {"", "no '('"},
      {"229 Entering Extended Passive Mode |||6446|", "no '('"},
      {"229 (", "ends after '('"},
      {"229 (|||65536|)", "not in 1..65535"},
      {"229 (|||0|)", "not in 1..65535"},
      {absl::StrCat("229 (|||", std::string(300, '9'), "|)"),
       "not in 1..65535"},
      {"229 (||||)", "does not read '(|||port|)'"},
      {"229 (|||  |)", "does not read"},
      {"229 (|1|2|21|)", "address fields must be empty"},
      {"229 (||2|21|)", "address fields must be empty"},
      {"229 (|||+21|)", "does not read"},
      {"229 (|||-1|)", "does not read"},
      {"229 (|||21|", "does not read"},
      {"229 (|||21)", "does not read"},
      {"229 (|||21!)", "does not read"},
      {"229 (||", "address fields must be empty"},
      {"229 (1111)", "delimiter '1'"},
      {"229 ( 21 )", "delimiter ' '"},
      {"229 (\t\t\t21\t)", "delimiter '\\t'"},
      {"229 (\x7f\x7f\x7f"
       "21\x7f)",
       "delimiter '\\x7f'"},
      {"229 (\xff\xff\xff"
       "21\xff)",
       "delimiter '\\xff'"},
      {Bytes("229 (\0\0\0"
             "21\0)"),
       "delimiter '\\x00'"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<uint16_t> port = ParseEpsvReply(c.text);
    EXPECT_EQ(port.status().code(), absl::StatusCode::kInvalidArgument)
        << c.text;
    EXPECT_THAT(Msg(port.status()), HasSubstr(c.why)) << c.text;
    EXPECT_THAT(Msg(port.status()), HasSubstr("EPSV reply '")) << c.text;
  }
}

TEST(FormatPortArgumentTest, Ipv4) {
  absl::StatusOr<std::string> arg = FormatPortArgument({"127.0.0.1", 40000});
  ASSERT_TRUE(arg.ok()) << arg.status();
  EXPECT_EQ(*arg, "127,0,0,1,156,64");

  arg = FormatPortArgument({"255.255.255.255", 65535});
  ASSERT_TRUE(arg.ok());
  EXPECT_EQ(*arg, "255,255,255,255,255,255");

  arg = FormatPortArgument({"10.0.0.1", 1});
  ASSERT_TRUE(arg.ok());
  EXPECT_EQ(*arg, "10,0,0,1,0,1");
}

TEST(FormatPortArgumentTest, Ipv4MappedIpv6CountsAsIpv4) {
  absl::StatusOr<std::string> arg = FormatPortArgument({"::ffff:10.1.2.3", 21});
  ASSERT_TRUE(arg.ok()) << arg.status();
  EXPECT_EQ(*arg, "10,1,2,3,0,21");
}

TEST(FormatPortArgumentTest, Errors) {
  struct Case {
    Endpoint local;
    std::string why;
  };
  const std::vector<Case> cases = {
      {{"::1", 21}, "only IPv4"},
      {{"2001:db8::1", 21}, "use EPRT"},
      {{"example.com", 21}, "not an IPv4 or IPv6 literal"},
      {{"", 21}, "not an IPv4 or IPv6 literal"},
      {{"1.2.3.256", 21}, "not an IPv4 or IPv6 literal"},
      {{"1.2.3", 21}, "not an IPv4 or IPv6 literal"},
      {{" 1.2.3.4", 21}, "not an IPv4 or IPv6 literal"},
      {{Bytes("1.2.3.4\0junk"), 21}, "'1.2.3.4\\x00junk'"},
      {{"1.2.3.4", 0}, "port 0"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<std::string> arg = FormatPortArgument(c.local);
    EXPECT_EQ(arg.status().code(), absl::StatusCode::kInvalidArgument)
        << c.local.address;
    EXPECT_THAT(Msg(arg.status()), HasSubstr(c.why)) << c.local.address;
  }
}

TEST(FormatEprtArgumentTest, Ipv4AndIpv6) {
  absl::StatusOr<std::string> arg = FormatEprtArgument({"127.0.0.1", 21});
  ASSERT_TRUE(arg.ok()) << arg.status();
  EXPECT_EQ(*arg, "|1|127.0.0.1|21|");

  arg = FormatEprtArgument({"::1", 2121});
  ASSERT_TRUE(arg.ok()) << arg.status();
  EXPECT_EQ(*arg, "|2|::1|2121|");

  arg = FormatEprtArgument({"2001:DB8:0:0:0:0:0:1", 65535});
  ASSERT_TRUE(arg.ok()) << arg.status();
  EXPECT_EQ(*arg, "|2|2001:db8::1|65535|");

  arg = FormatEprtArgument({"::ffff:10.1.2.3", 5});
  ASSERT_TRUE(arg.ok()) << arg.status();
  EXPECT_EQ(*arg, "|1|10.1.2.3|5|");
}

TEST(FormatEprtArgumentTest, Errors) {
  struct Case {
    Endpoint local;
    std::string why;
  };
  const std::vector<Case> cases = {
      {{"::1", 0}, "port 0"},
      {{"[::1]", 21}, "'[::1]' is not an IPv4 or IPv6 literal"},
      {{"fe80::1%eth0", 21}, "not an IPv4 or IPv6 literal"},
      {{"localhost", 21}, "not an IPv4 or IPv6 literal"},
      {{"\xff\xfe", 21}, "'\\xff\\xfe'"},
      {{Bytes("::1\0"), 21}, "not an IPv4 or IPv6 literal"},
      {{std::string(1000, '1'), 21}, "'1111"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<std::string> arg = FormatEprtArgument(c.local);
    EXPECT_EQ(arg.status().code(), absl::StatusCode::kInvalidArgument)
        << c.local.address;
    EXPECT_THAT(Msg(arg.status()), HasSubstr(c.why)) << c.local.address;
    EXPECT_LT(Msg(arg.status()).size(), 200u);
  }
}

// ----------------------------------------------------------------- MLSD ---

TEST(ParseMlsdLineTest, TypicalFile) {
  absl::StatusOr<MlsdEntry> e = ParseMlsdLine(
      "type=file;size=1024;modify=20230102030405;perm=adfrw; report.txt");
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(e->name, "report.txt");
  EXPECT_EQ(e->type, "file");
  EXPECT_EQ(e->size, 1024u);
  EXPECT_EQ(e->modify, Utc(2023, 1, 2, 3, 4, 5));
  EXPECT_THAT(e->facts, ElementsAre(Pair("modify", "20230102030405"),
                                    Pair("perm", "adfrw"), Pair("size", "1024"),
                                    Pair("type", "file")));
}

TEST(ParseMlsdLineTest, NameMayHoldSpacesAndSemicolons) {
  absl::StatusOr<MlsdEntry> e = ParseMlsdLine("type=file; my file;v2=x; .txt");
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(e->name, "my file;v2=x; .txt");
  EXPECT_THAT(e->facts, SizeIs(1));
}

TEST(ParseMlsdLineTest, ExactlyOneSpaceSeparatesTheName) {
  absl::StatusOr<MlsdEntry> e = ParseMlsdLine("type=file;   three spaces ");
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(e->name, "  three spaces ");
}

TEST(ParseMlsdLineTest, FactNamesAndTypeAreLowerCased) {
  absl::StatusOr<MlsdEntry> e = ParseMlsdLine(
      "Type=DIR;SIZE=0;UNIX.mode=0755;Modify=19700101000000; Docs");
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(e->name, "Docs");
  EXPECT_EQ(e->type, "dir");
  EXPECT_EQ(e->size, 0u);
  EXPECT_EQ(e->modify, absl::UnixEpoch());
  EXPECT_THAT(e->facts,
              ElementsAre(Pair("modify", "19700101000000"), Pair("size", "0"),
                          Pair("type", "DIR"), Pair("unix.mode", "0755")));
}

TEST(ParseMlsdLineTest, SymlinkTypeKeepsItsEqualsSign) {
  absl::StatusOr<MlsdEntry> e =
      ParseMlsdLine("type=OS.unix=symlink;unique=803U1; link");
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(e->type, "os.unix=symlink");
  EXPECT_EQ(e->facts.at("type"), "OS.unix=symlink");
}

TEST(ParseMlsdLineTest, SizdWhenSizeIsAbsentAndSizeWins) {
  absl::StatusOr<MlsdEntry> e = ParseMlsdLine("type=dir;sizd=4096; d");
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(e->size, 4096u);

  e = ParseMlsdLine("sizd=1;size=2; f");
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(e->size, 2u);

  e = ParseMlsdLine("type=cdir; .");
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(e->size, std::nullopt);
  EXPECT_EQ(e->modify, std::nullopt);
  EXPECT_EQ(e->type, "cdir");
}

TEST(ParseMlsdLineTest, LargestSizeFits) {
  absl::StatusOr<MlsdEntry> e = ParseMlsdLine("size=18446744073709551615; big");
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(e->size, UINT64_MAX);
}

TEST(ParseMlsdLineTest, NoFactsAndEmptyValues) {
  absl::StatusOr<MlsdEntry> e = ParseMlsdLine(" bare name");
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(e->name, "bare name");
  EXPECT_EQ(e->type, "");
  EXPECT_THAT(e->facts, IsEmpty());

  e = ParseMlsdLine("lang=;type=file; f");
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(e->facts.at("lang"), "");
}

TEST(ParseMlsdLineTest, ValuesMayHoldSpacesAndOddBytes) {
  absl::StatusOr<MlsdEntry> e =
      ParseMlsdLine(Bytes("unix.owner=John Doe;x.bin=a\0\xff;type=file; f"));
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(e->facts.at("unix.owner"), "John Doe");
  EXPECT_EQ(e->facts.at("x.bin"), Bytes("a\0\xff"));
  EXPECT_EQ(e->name, "f");
}

TEST(ParseMlsdLineTest, NonAsciiNamesAreKept) {
  absl::StatusOr<MlsdEntry> e =
      ParseMlsdLine("type=file; r\xc3\xa9sum\xc3\xa9\xff.txt");
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(e->name, "r\xc3\xa9sum\xc3\xa9\xff.txt");
}

TEST(ParseMlsdLineTest, ModifyWithFraction) {
  absl::StatusOr<MlsdEntry> e = ParseMlsdLine("modify=20230102030405.123; f");
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(e->modify, Utc(2023, 1, 2, 3, 4, 5) + absl::Milliseconds(123));
}

TEST(ParseMlsdLineTest, ManyFacts) {
  std::string line;
  for (int i = 0; i < 10000; ++i) absl::StrAppend(&line, "f", i, "=", i, ";");
  line += " name";
  absl::StatusOr<MlsdEntry> e = ParseMlsdLine(line);
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_THAT(e->facts, SizeIs(10000));
  EXPECT_EQ(e->facts.at("f9999"), "9999");
}

TEST(ParseMlsdLineTest, Errors) {
  struct Case {
    std::string line;
    std::string why;
  };
  const std::vector<Case> cases = {
      {"", "no space and name"},
      {"type=file;", "no space and name"},
      {"type=file; ", "name is empty"},
      {" ", "name is empty"},
      {"type=file;size=1 name", "space before the name missing"},
      {"type=file", "space before the name missing"},
      {"name.txt", "space before the name missing"},
      {"type=file;name", "space before the name missing"},
      {"type=file;a;b; c", "malformed fact 'a'"},
      {"=x; f", "malformed fact '=x'"},
      {"ty pe=x; f", "malformed fact 'ty pe=x'"},
      {"t\xc3\xa9=1; f", "malformed fact 't\\xc3\\xa9=1'"},
      {Bytes("t\0=1; f"), "malformed fact 't\\x00=1'"},
      {"type=file;type=dir; f", "fact 'type' appears twice"},
      {"Type=file;TYPE=dir; f", "fact 'type' appears twice"},
      {"size=abc; f", "size 'abc' is not a decimal number"},
      {"size=; f", "size '' is not"},
      {"size=-1; f", "size '-1' is not"},
      {"size=+1; f", "size '+1' is not"},
      {"size= 1; f", "size ' 1' is not"},
      {"size=1.5; f", "size '1.5' is not"},
      {"size=18446744073709551616; f", "below 2^64"},
      {absl::StrCat("size=", std::string(300, '9'), "; f"), "below 2^64"},
      {"sizd=x; f", "sizd 'x' is not"},
      {"modify=2023; f", "FTP time '2023' is too short"},
      {"modify=20231332000000; f", "month"},
      {"modify=; f", "FTP time '' is too short"},
      {Bytes("type=file; a\0b"), "NUL, CR or LF"},
      {"type=file; a\rb", "NUL, CR or LF"},
      {"type=file; a\nDELE x", "NUL, CR or LF"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<MlsdEntry> e = ParseMlsdLine(c.line);
    EXPECT_EQ(e.status().code(), absl::StatusCode::kInvalidArgument) << c.line;
    EXPECT_THAT(Msg(e.status()), HasSubstr(c.why)) << c.line;
    EXPECT_THAT(Msg(e.status()), HasSubstr("MLSD line '")) << c.line;
  }
}

TEST(ParseMlsdLineTest, ErrorQuotesTheLineTruncated) {
  const std::string line(5000, 'q');
  absl::StatusOr<MlsdEntry> e = ParseMlsdLine(line);
  ASSERT_FALSE(e.ok());
  EXPECT_THAT(Msg(e.status()),
              HasSubstr(absl::StrCat("'", std::string(80, 'q'), "'...")));
  EXPECT_LT(Msg(e.status()).size(), 400u);
}

TEST(ParseFtpTimeTest, ValidTimes) {
  struct Case {
    std::string text;
    absl::Time want;
  };
  const std::vector<Case> cases = {
      {"20230102030405", Utc(2023, 1, 2, 3, 4, 5)},
      {"19700101000000", absl::UnixEpoch()},
      {"20240229235959", Utc(2024, 2, 29, 23, 59, 59)},
      {"20000229000000", Utc(2000, 2, 29, 0, 0, 0)},
      {"99991231235959", Utc(9999, 12, 31, 23, 59, 59)},
      {"00000101000000", Utc(0, 1, 1, 0, 0, 0)},
      {"20161231235960", Utc(2017, 1, 1, 0, 0, 0)},
      {"20230102030405.5", Utc(2023, 1, 2, 3, 4, 5) + absl::Milliseconds(500)},
      {"20230102030405.000001",
       Utc(2023, 1, 2, 3, 4, 5) + absl::Microseconds(1)},
      {"20230102030405.123456789999",
       Utc(2023, 1, 2, 3, 4, 5) + absl::Nanoseconds(123456789)},
      {absl::StrCat("20230102030405.", std::string(300, '9')),
       Utc(2023, 1, 2, 3, 4, 5) + absl::Nanoseconds(999999999)},
  };
  for (const Case& c : cases) {
    absl::StatusOr<absl::Time> t = ParseFtpTime(c.text);
    ASSERT_TRUE(t.ok()) << c.text << ": " << t.status();
    EXPECT_EQ(*t, c.want) << c.text;
  }
}

TEST(ParseFtpTimeTest, InvalidTimes) {
  struct Case {
    std::string text;
    std::string why;
  };
  const std::vector<Case> cases = {
      {"", "too short"},
      {"2023010203040", "too short"},
      {"202301020304051", "after its 14 digits"},
      {"20230102030405 ", "after its 14 digits"},
      {"20230102030405Z", "after its 14 digits"},
      {"20230102030405.", "no digits after '.'"},
      {"20230102030405.x", "non-digit in its fraction"},
      {"20230102030405.1.2", "non-digit in its fraction"},
      {"20230102030405.-1", "non-digit in its fraction"},
      {"2023010203040a", "non-digit in its first 14"},
      {" 20230102030405", "non-digit in its first 14"},
      {"-2023010203040", "non-digit in its first 14"},
      {"+2023010203040", "non-digit in its first 14"},
      {"\xef\xbc\x92\xef\xbc\x90\xef\xbc\x92\xef\xbc\x93\xef\xbc\x90",
       "non-digit in its first 14"},
      {Bytes("2023010203040\0"), "non-digit in its first 14"},
      {Bytes("20230102030405\0"), "after its 14 digits"},
      {"20230002030405", "month not in 01..12"},
      {"20231302030405", "month not in 01..12"},
      {"20230100030405", "day that its month does not have"},
      {"20230229000000", "day that its month does not have"},
      {"21000229000000", "day that its month does not have"},
      {"20230431000000", "day that its month does not have"},
      {"20230132000000", "day that its month does not have"},
      {"20230199000000", "day that its month does not have"},
      {"20230102240000", "hour not in 00..23"},
      {"20230102236000", "minute not in 00..59"},
      {"20230102235961", "second not in 00..60"},
      {"20230102999999", "hour not in 00..23"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<absl::Time> t = ParseFtpTime(c.text);
    EXPECT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument) << c.text;
    EXPECT_THAT(Msg(t.status()), HasSubstr(c.why)) << c.text;
    EXPECT_THAT(Msg(t.status()), HasSubstr("FTP time '")) << c.text;
  }
}

// ------------------------------------------------------------------ URL ---

TEST(ParseFtpUrlTest, PlainFtpDefaults) {
  absl::StatusOr<FtpUrl> u = ParseFtpUrl("ftp://example.com");
  ASSERT_TRUE(u.ok()) << u.status();
  EXPECT_FALSE(u->implicit_tls);
  EXPECT_EQ(u->user, "");
  EXPECT_EQ(u->password, std::nullopt);
  EXPECT_EQ(u->host, "example.com");
  EXPECT_EQ(u->port, 21);
  EXPECT_EQ(u->path, "");
}

TEST(ParseFtpUrlTest, FtpsIsImplicitTlsOnPort990) {
  absl::StatusOr<FtpUrl> u = ParseFtpUrl("ftps://example.com/");
  ASSERT_TRUE(u.ok()) << u.status();
  EXPECT_TRUE(u->implicit_tls);
  EXPECT_EQ(u->port, 990);
  EXPECT_EQ(u->path, "");
}

TEST(ParseFtpUrlTest, SchemeIsCaseInsensitiveAndPortExplicit) {
  absl::StatusOr<FtpUrl> u = ParseFtpUrl("FTP://Example.COM:2121/dir/file.txt");
  ASSERT_TRUE(u.ok()) << u.status();
  EXPECT_FALSE(u->implicit_tls);
  EXPECT_EQ(u->host, "Example.COM");
  EXPECT_EQ(u->port, 2121);
  EXPECT_EQ(u->path, "dir/file.txt");

  u = ParseFtpUrl("FtPs://h:65535");
  ASSERT_TRUE(u.ok()) << u.status();
  EXPECT_TRUE(u->implicit_tls);
  EXPECT_EQ(u->port, 65535);

  u = ParseFtpUrl("ftps://h:00021");
  ASSERT_TRUE(u.ok()) << u.status();
  EXPECT_EQ(u->port, 21);
}

TEST(ParseFtpUrlTest, CredentialsArePercentDecoded) {
  absl::StatusOr<FtpUrl> u =
      ParseFtpUrl("ftp://us%3Aer:pa%40ss%2F%3a@host/a%20b%2Fc");
  ASSERT_TRUE(u.ok()) << u.status();
  EXPECT_EQ(u->user, "us:er");
  EXPECT_EQ(u->password, "pa@ss/:");
  EXPECT_EQ(u->path, "a b/c");
}

TEST(ParseFtpUrlTest, PasswordPresenceIsKept) {
  absl::StatusOr<FtpUrl> u = ParseFtpUrl("ftp://user:@host/");
  ASSERT_TRUE(u.ok()) << u.status();
  EXPECT_EQ(u->user, "user");
  EXPECT_EQ(u->password, "");

  u = ParseFtpUrl("ftp://user@host");
  ASSERT_TRUE(u.ok()) << u.status();
  EXPECT_EQ(u->user, "user");
  EXPECT_EQ(u->password, std::nullopt);

  u = ParseFtpUrl("ftp://:pw@host");
  ASSERT_TRUE(u.ok()) << u.status();
  EXPECT_EQ(u->user, "");
  EXPECT_EQ(u->password, "pw");

  u = ParseFtpUrl("ftp://@host");
  ASSERT_TRUE(u.ok()) << u.status();
  EXPECT_EQ(u->user, "");
  EXPECT_EQ(u->password, std::nullopt);
}

TEST(ParseFtpUrlTest, UserinfoEndsAtTheLastAt) {
  absl::StatusOr<FtpUrl> u =
      ParseFtpUrl("ftp://me@example.org:p@ss:w@host:2121/x@y");
  ASSERT_TRUE(u.ok()) << u.status();
  EXPECT_EQ(u->user, "me@example.org");
  EXPECT_EQ(u->password, "p@ss:w");
  EXPECT_EQ(u->host, "host");
  EXPECT_EQ(u->port, 2121);
  EXPECT_EQ(u->path, "x@y");
}

TEST(ParseFtpUrlTest, Ipv6Literals) {
  absl::StatusOr<FtpUrl> u = ParseFtpUrl("ftp://[::1]:2121/x");
  ASSERT_TRUE(u.ok()) << u.status();
  EXPECT_EQ(u->host, "::1");
  EXPECT_EQ(u->port, 2121);
  EXPECT_EQ(u->path, "x");

  u = ParseFtpUrl("ftps://u:p@[2001:DB8::192.0.2.1]");
  ASSERT_TRUE(u.ok()) << u.status();
  EXPECT_EQ(u->host, "2001:DB8::192.0.2.1");
  EXPECT_EQ(u->port, 990);
}

TEST(ParseFtpUrlTest, EmptyPortMeansTheDefault) {
  absl::StatusOr<FtpUrl> u = ParseFtpUrl("ftp://host:/x");
  ASSERT_TRUE(u.ok()) << u.status();
  EXPECT_EQ(u->port, 21);
  u = ParseFtpUrl("ftps://[::1]:");
  ASSERT_TRUE(u.ok()) << u.status();
  EXPECT_EQ(u->port, 990);
}

TEST(ParseFtpUrlTest, OnlyTheFirstSlashIsDropped) {
  absl::StatusOr<FtpUrl> u = ParseFtpUrl("ftp://host//abs/path/");
  ASSERT_TRUE(u.ok()) << u.status();
  EXPECT_EQ(u->path, "/abs/path/");
  u = ParseFtpUrl("ftp://host/%2Fetc");
  ASSERT_TRUE(u.ok()) << u.status();
  EXPECT_EQ(u->path, "/etc");
}

TEST(ParseFtpUrlTest, NonAsciiPathBytesAreKept) {
  absl::StatusOr<FtpUrl> u =
      ParseFtpUrl("ftp://host/r\xc3\xa9sum\xc3\xa9/%C3%A9%ff ok");
  ASSERT_TRUE(u.ok()) << u.status();
  EXPECT_EQ(u->path, "r\xc3\xa9sum\xc3\xa9/\xc3\xa9\xff ok");
}

TEST(ParseFtpUrlTest, Errors) {
  struct Case {
    std::string url;
    std::string why;
  };
  const std::vector<Case> cases = {
      {"", "no \"://\""},
      {"example.com", "no \"://\""},
      {"ftp:/host", "no \"://\""},
      {"http://host/", "unknown scheme 'http'"},
      {"sftp://host/", "unknown scheme 'sftp'"},
      {"://host/", "unknown scheme ''"},
      {" ftp://host/", "unknown scheme ' ftp'"},
      {"ftp\xc3\xa9://host/", "unknown scheme 'ftp\\xc3\\xa9'"},
      {"ftp://", "empty host"},
      {"ftp:///path", "empty host"},
      {"ftp://user@/x", "empty host"},
      {"ftp://:21/", "empty host"},
      {"ftp://[]/", "empty host"},
      {"ftp://host:0", "port '0' is not in 1..65535"},
      {"ftp://host:65536", "port '65536' is not in 1..65535"},
      {"ftp://host:99999999999999999999", "is not in 1..65535"},
      {absl::StrCat("ftp://host:", std::string(300, '9'), "/"),
       "is not in 1..65535"},
      {absl::StrCat("ftp://host:", std::string(300, '0'), "/"),
       "is not in 1..65535"},
      {"ftp://host:21a", "port is not a decimal number"},
      {"ftp://host:-1", "port is not a decimal number"},
      {"ftp://host:+21", "port is not a decimal number"},
      {"ftp://host: 21", "port is not a decimal number"},
      {"ftp://host:\xd9\xa2\xd9\xa1", "port is not a decimal number"},
      {"ftp://host/a%2", "bad percent escape '%2' in the path"},
      {"ftp://host/a%zz", "bad percent escape '%zz' in the path"},
      {"ftp://host/%", "bad percent escape '%' in the path"},
      {"ftp://host/%g0", "bad percent escape '%g0' in the path"},
      {"ftp://us%er@host/", "bad percent escape '%er' in the user"},
      {"ftp://host/a%0D%0ADELE%20x", "path of FTP URL"},
      {"ftp://host/a%00b", "contains NUL, CR or LF"},
      {"ftp://host/a\r\nDELE x", "contains NUL, CR or LF"},
      {Bytes("ftp://host/a\0b"), "contains NUL, CR or LF"},
      {"ftp://us%0Aer@host/", "the user of FTP URL"},
      {"ftp://[::1", "unclosed '['"},
      {"ftp://[::1/x]", "unclosed '['"},
      {"ftp://[::1]x", "unexpected 'x' after ']'"},
      {"ftp://[not-ipv6]/", "'not-ipv6' in brackets is not an IPv6 address"},
      {"ftp://[1.2.3.4]/", "in brackets is not an IPv6 address"},
      {"ftp://[fe80::1%25eth0]/", "in brackets is not an IPv6 address"},
      {Bytes("ftp://[::1\0]/"), "in brackets is not an IPv6 address"},
      {"ftp://::1/", "must be enclosed in '[' and ']'"},
      {"ftp://host:21:22/", "must be enclosed in '[' and ']'"},
      {"ftp://host/a?b", "query or fragment"},
      {"ftp://host/a#b", "query or fragment"},
      {"ftp://host?x", "query or fragment"},
      {"ftp://ho st/", "host 'ho st' may hold only"},
      {"ftp://h\xc3\xa9st/", "host 'h\\xc3\\xa9st' may hold only"},
      {"ftp://ho%41st/", "host 'ho%41st' may hold only"},
      {Bytes("ftp://ho\0st/"), "host 'ho\\x00st' may hold only"},
      {"ftp://host\r\n/", "may hold only"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<FtpUrl> u = ParseFtpUrl(c.url);
    EXPECT_EQ(u.status().code(), absl::StatusCode::kInvalidArgument) << c.url;
    EXPECT_THAT(Msg(u.status()), HasSubstr(c.why)) << c.url;
    EXPECT_LT(Msg(u.status()).size(), 400u) << c.url;
  }
}

TEST(ParseFtpUrlTest, ErrorsQuoteTheUrlTruncated) {
  const std::string url = absl::StrCat("gopher://", std::string(10000, 'h'));
  absl::StatusOr<FtpUrl> u = ParseFtpUrl(url);
  ASSERT_FALSE(u.ok());
  EXPECT_THAT(
      Msg(u.status()),
      HasSubstr(absl::StrCat("'gopher://", std::string(71, 'h'), "'...")));
  EXPECT_LT(Msg(u.status()).size(), 300u);
}

TEST(ParseFtpUrlTest, ErrorsNeverShowThePassword) {
  const std::vector<std::string> urls = {
      "ftp://user:hunter2@host:0/",  "ftp://user:hunter2@host/%zz",
      "ftp://user:hunter2@[::1/",    "ftp://user:hunter2@/",
      "ftp://user:hun%zzter2@host/", "ftp://user:hun%0Dter2@host/",
      "ftp://user:hun/ter2@host/",   "ftp://user:hun?ter2@host/",
      "ftp://user:hun#ter2@host/",
  };
  for (const std::string& url : urls) {
    absl::StatusOr<FtpUrl> u = ParseFtpUrl(url);
    ASSERT_FALSE(u.ok()) << url;
    EXPECT_THAT(Msg(u.status()), Not(HasSubstr("hun"))) << Msg(u.status());
    EXPECT_THAT(Msg(u.status()), Not(HasSubstr("ter2"))) << Msg(u.status());
    EXPECT_THAT(Msg(u.status()), HasSubstr("user:***@")) << Msg(u.status());
  }
  // A bad escape in the password is not quoted: it would show part of it.
  absl::StatusOr<FtpUrl> u = ParseFtpUrl("ftp://user:x%tz@host/");
  EXPECT_THAT(Msg(u.status()), HasSubstr("bad percent escape in the password"));
  EXPECT_THAT(Msg(u.status()), Not(HasSubstr("%tz")));
}

// Found by url_fuzzer: a URL whose "://" is missing, or comes after the
// password, quoted the password in its error.
TEST(FtpUrlTest, MalformedSchemeErrorsHideThePassword) {
  for (const std::string url :
       {"ftp:/user:hunter2@host/x", "ftp//u:hunter2@h/a://b"}) {
    absl::StatusOr<FtpUrl> u = ParseFtpUrl(url);
    ASSERT_FALSE(u.ok()) << url;
    EXPECT_THAT(Msg(u.status()), Not(HasSubstr("hunter2"))) << Msg(u.status());
  }
}

TEST(FtpUrlTest, ToStringHidesThePassword) {
  absl::StatusOr<FtpUrl> u =
      ParseFtpUrl("ftp://user:secret@host:2121/dir/a%20b");
  ASSERT_TRUE(u.ok()) << u.status();
  EXPECT_EQ(u->ToString(), "ftp://user:***@host:2121/dir/a%20b");
}

TEST(FtpUrlTest, ToStringOmitsDefaultPortsAndBracketsIpv6) {
  absl::StatusOr<FtpUrl> u = ParseFtpUrl("ftps://host:990");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->ToString(), "ftps://host");

  u = ParseFtpUrl("ftp://[::1]:21/x");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->ToString(), "ftp://[::1]/x");

  u = ParseFtpUrl("ftps://[::1]:21/x");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->ToString(), "ftps://[::1]:21/x");

  u = ParseFtpUrl("ftp://:@h");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->ToString(), "ftp://:***@h");

  u = ParseFtpUrl("ftp://@h");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->ToString(), "ftp://h");
}

TEST(FtpUrlTest, ToStringEncodesAndRoundTrips) {
  absl::StatusOr<FtpUrl> u =
      ParseFtpUrl("ftp://me%40x.org:pw@host/%2Fa b/%C3%A9%25%3F%23;type=i~");
  ASSERT_TRUE(u.ok()) << u.status();
  EXPECT_EQ(u->path, "/a b/\xc3\xa9%?#;type=i~");
  const std::string s = u->ToString();
  EXPECT_EQ(s, "ftp://me%40x.org:***@host//a%20b/%C3%A9%25%3F%23%3Btype%3Di~");
  absl::StatusOr<FtpUrl> back = ParseFtpUrl(s);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->user, u->user);
  EXPECT_EQ(back->password, "***");
  EXPECT_EQ(back->host, u->host);
  EXPECT_EQ(back->port, u->port);
  EXPECT_EQ(back->path, u->path);
}

// ---------------------------------------------------------------- netrc ---

// Looks up and expects a match.
NetrcEntry MustFind(absl::string_view contents, absl::string_view host,
                    absl::string_view login = "") {
  absl::StatusOr<std::optional<NetrcEntry>> e =
      LookupNetrc(contents, host, login);
  EXPECT_TRUE(e.ok()) << e.status();
  if (!e.ok()) return {"<error>", "<error>"};
  EXPECT_TRUE(e->has_value()) << "no entry for " << host;
  return e->value_or(NetrcEntry{"<none>", "<none>"});
}

// Looks up and expects no match.
void ExpectNone(absl::string_view contents, absl::string_view host,
                absl::string_view login = "") {
  absl::StatusOr<std::optional<NetrcEntry>> e =
      LookupNetrc(contents, host, login);
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_FALSE(e->has_value()) << "found login " << (*e)->login;
}

// Looks up and expects a malformed-file error containing |why|.
void ExpectError(absl::string_view contents, absl::string_view why) {
  absl::StatusOr<std::optional<NetrcEntry>> e = LookupNetrc(contents, "h");
  EXPECT_EQ(e.status().code(), absl::StatusCode::kInvalidArgument)
      << "contents: " << contents;
  EXPECT_THAT(Msg(e.status()), HasSubstr(why)) << "contents: " << contents;
  EXPECT_THAT(Msg(e.status()), HasSubstr("malformed .netrc: line "));
}

constexpr absl::string_view kTwoMachines =
    "machine a.example login alice password s3cret\n"
    "machine b.example\n\tlogin bob\n\tpassword pw2\n";

TEST(LookupNetrcTest, FindsTheMachine) {
  NetrcEntry e = MustFind(kTwoMachines, "b.example");
  EXPECT_EQ(e.login, "bob");
  EXPECT_EQ(e.password, "pw2");
  e = MustFind(kTwoMachines, "a.example");
  EXPECT_EQ(e.login, "alice");
  EXPECT_EQ(e.password, "s3cret");
}

TEST(LookupNetrcTest, HostsMatchIgnoringCaseButOtherwiseExactly) {
  EXPECT_EQ(MustFind(kTwoMachines, "A.EXAMPLE").login, "alice");
  ExpectNone(kTwoMachines, "a.example.");
  ExpectNone(kTwoMachines, "example");
  ExpectNone(kTwoMachines, "");
}

TEST(LookupNetrcTest, NothingMatches) {
  ExpectNone(kTwoMachines, "c.example");
  ExpectNone("", "h");
  ExpectNone(" \t\r\n\f\v ", "h");
}

TEST(LookupNetrcTest, FirstMatchingMachineWins) {
  NetrcEntry e = MustFind(
      "machine h login first password 1\nmachine h login second password 2",
      "h");
  EXPECT_EQ(e.login, "first");
  EXPECT_EQ(e.password, "1");
}

TEST(LookupNetrcTest, DefaultOnlyWhenNoMachineMatches) {
  constexpr absl::string_view kFile =
      "default login anonymous password guest@\n"
      "machine a login x password y\n";
  NetrcEntry e = MustFind(kFile, "zzz");
  EXPECT_EQ(e.login, "anonymous");
  EXPECT_EQ(e.password, "guest@");
  e = MustFind(kFile, "a");
  EXPECT_EQ(e.login, "x");
  EXPECT_EQ(e.password, "y");
}

TEST(LookupNetrcTest, LoginFilter) {
  constexpr absl::string_view kFile =
      "machine h login alice password 1\n"
      "machine h login bob password 2\n"
      "default login anon password 3\n";
  EXPECT_EQ(MustFind(kFile, "h", "bob").password, "2");
  EXPECT_EQ(MustFind(kFile, "h", "alice").password, "1");
  EXPECT_EQ(MustFind(kFile, "h").password, "1");
  ExpectNone(kFile, "h", "carol");
  ExpectNone(kFile, "other", "carol");
  EXPECT_EQ(MustFind(kFile, "other", "anon").password, "3");
}

TEST(LookupNetrcTest, EntryWithoutLoginMatchesAnyLogin) {
  constexpr absl::string_view kFile =
      "machine h login alice password 1\n"
      "machine h password 2\n"
      "machine g login \"\" password 3\n";
  NetrcEntry e = MustFind(kFile, "h", "carol");
  EXPECT_EQ(e.login, "");
  EXPECT_EQ(e.password, "2");
  EXPECT_EQ(MustFind(kFile, "g", "dave").password, "3");
  EXPECT_EQ(MustFind("default password p", "x", "eve").password, "p");
}

TEST(LookupNetrcTest, MissingFieldsAreEmpty) {
  NetrcEntry e = MustFind("machine h", "h");
  EXPECT_EQ(e.login, "");
  EXPECT_EQ(e.password, "");
  e = MustFind("machine h login u", "h");
  EXPECT_EQ(e.login, "u");
  EXPECT_EQ(e.password, "");
}

TEST(LookupNetrcTest, AccountIsIgnored) {
  NetrcEntry e = MustFind("machine h login u account acct password p", "h");
  EXPECT_EQ(e.login, "u");
  EXPECT_EQ(e.password, "p");
}

TEST(LookupNetrcTest, KeywordsIgnoreCase) {
  NetrcEntry e = MustFind("MACHINE h Login u PASSWORD p", "h");
  EXPECT_EQ(e.login, "u");
  EXPECT_EQ(e.password, "p");
}

TEST(LookupNetrcTest, ValuesMayBeKeywords) {
  NetrcEntry e = MustFind("machine h login machine password default", "h");
  EXPECT_EQ(e.login, "machine");
  EXPECT_EQ(e.password, "default");
}

TEST(LookupNetrcTest, MacdefBodyIsSkipped) {
  constexpr absl::string_view kFile =
      "machine h login u password p\n"
      "macdef init\n"
      "machine evil login e password e\n"
      "cd /pub\n"
      "\n"
      "machine h2 login v password q\n";
  ExpectNone(kFile, "evil");
  NetrcEntry e = MustFind(kFile, "h2");
  EXPECT_EQ(e.login, "v");
  EXPECT_EQ(e.password, "q");
  EXPECT_EQ(MustFind(kFile, "h").password, "p");
}

TEST(LookupNetrcTest, MacdefWithCrlfLinesAndAtEndOfFile) {
  NetrcEntry e = MustFind(
      "macdef x\r\nmachine evil\r\n\r\nmachine h login u password p\r\n", "h");
  EXPECT_EQ(e.login, "u");
  EXPECT_EQ(e.password, "p");
  ExpectNone("macdef x\r\nmachine evil\r\n\r\nmachine h", "evil");

  ExpectNone("machine h login u\nmacdef init\nmachine evil login e", "evil");
  ExpectNone("macdef init", "init");
  // A whitespace-only line does not end the body.
  ExpectNone("macdef m\n \nmachine evil\n\n", "evil");
}

TEST(LookupNetrcTest, QuotedTokensAndEscapes) {
  NetrcEntry e = MustFind(
      "machine \"h\" login \"my user\" password \"p a\\\"ss\\\\word\"", "h");
  EXPECT_EQ(e.login, "my user");
  EXPECT_EQ(e.password, "p a\"ss\\word");

  e = MustFind("machine h login u password pa\\ ss\\\"", "h");
  EXPECT_EQ(e.password, "pa ss\"");

  e = MustFind("machine h password \"\"", "h");
  EXPECT_EQ(e.password, "");

  // A quote inside an unquoted token is literal; a closing quote ends the
  // token.
  e = MustFind("machine h login a\"b password \"x\"", "h");
  EXPECT_EQ(e.login, "a\"b");
  EXPECT_EQ(e.password, "x");
}

TEST(LookupNetrcTest, QuotedTokenAfterClosingQuoteStartsANewToken) {
  ExpectError("machine h password \"x\"y", "unexpected token");
}

TEST(LookupNetrcTest, AnyWhitespaceSeparates) {
  NetrcEntry e = MustFind("machine\th\r\nlogin\fu\vpassword   p\n\n\n", "h");
  EXPECT_EQ(e.login, "u");
  EXPECT_EQ(e.password, "p");
}

TEST(LookupNetrcTest, CommentsWhereKeywordsBelong) {
  constexpr absl::string_view kFile =
      "# machine evil login e\n"
      "machine h login u password #notacomment # trailing comment machine x\n"
      "#machine y\n";
  ExpectNone(kFile, "evil");
  ExpectNone(kFile, "x");
  ExpectNone(kFile, "y");
  EXPECT_EQ(MustFind(kFile, "h").password, "#notacomment");
}

TEST(LookupNetrcTest, NonAsciiBytesAreKept) {
  NetrcEntry e =
      MustFind("machine h\xc3\xa9 login \xff password \xfe\x01", "h\xc3\xa9");
  EXPECT_EQ(e.login, "\xff");
  EXPECT_EQ(e.password, "\xfe\x01");
}

TEST(LookupNetrcTest, ManyEntries) {
  std::string file;
  for (int i = 0; i < 20000; ++i) {
    absl::StrAppend(&file, "machine h", i, " login u", i, " password p", i,
                    "\n");
  }
  NetrcEntry e = MustFind(file, "h19999");
  EXPECT_EQ(e.login, "u19999");
  EXPECT_EQ(e.password, "p19999");
}

TEST(LookupNetrcTest, MalformedFiles) {
  ExpectError("machine", "line 1 has 'machine' at the end of the file");
  ExpectError("machine h login", "has 'login' at the end of the file");
  ExpectError("machine h login u\npassword",
              "line 2 has 'password' at the end");
  ExpectError("machine h account", "has 'account' at the end");
  ExpectError("macdef", "has 'macdef' at the end");
  ExpectError("\n\nmachine h\nlogin u\nbogus",
              "line 5 has an unexpected token");
  ExpectError("login u password p", "line 1 has 'login' before any machine");
  ExpectError("password p", "'password' before any machine");
  ExpectError("macdef m\n\nlogin u", "'login' before any machine");
  ExpectError("machine h password \"abc",
              "line 1 has a '\"' that is never closed");
  ExpectError("machine h password \"abc\ndef\nghi", "line 1 has a '\"'");
  ExpectError("machine h password abc\\", "ends in a backslash");
  ExpectError("machine h password \"abc\\", "ends in a backslash");
  ExpectError("machine h password \"a\\\nb\"",
              "has a password containing NUL, CR or LF");
  ExpectError("machine h login \"a\rb\"",
              "has a login containing NUL, CR or LF");
  ExpectError(Bytes("machine h password a\0b"), "password containing NUL");
  ExpectError(Bytes("\0"), "unexpected token");
  ExpectError("\xff\xfe", "unexpected token");
  ExpectError("\"machine\"", "has 'machine' at the end");
  // Only an unquoted '#' starts a comment.
  ExpectError("\"#\" machine h", "line 1 has an unexpected token");
}

TEST(LookupNetrcTest, ErrorsAnywhereFailTheLookup) {
  absl::StatusOr<std::optional<NetrcEntry>> e =
      LookupNetrc("machine h login u password p\nmachine", "h");
  EXPECT_EQ(e.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Msg(e.status()), HasSubstr("line 2"));
}

TEST(LookupNetrcTest, ErrorsNeverQuoteTheFile) {
  for (absl::string_view file :
       {"machine h login bob hunter2", "machine h login bob password hun ter2",
        "machine h password \"hunter2"}) {
    absl::StatusOr<std::optional<NetrcEntry>> e = LookupNetrc(file, "h");
    ASSERT_FALSE(e.ok()) << file;
    EXPECT_THAT(Msg(e.status()), Not(HasSubstr("hun"))) << Msg(e.status());
    EXPECT_THAT(Msg(e.status()), Not(HasSubstr("ter2"))) << Msg(e.status());
  }
}

}  // namespace
}  // namespace tlsession::ftp
