// Tests of ftp_adapter/reply.h: single- and multi-line replies (RFC 959
// section 4.2), their classes and their text for messages, with hostile
// inputs (malformed codes, non-ASCII and NUL bytes, too many lines). No
// sockets.
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "ftp_adapter/reply.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/ftp_test_util.h"

namespace tlsession::ftp {
namespace {

using ::testing::ElementsAre;
using ::testing::EndsWith;
using ::testing::HasSubstr;
using ::testing::SizeIs;
using ::tlsession::testing::Bytes;
using ::tlsession::testing::Msg;

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

}  // namespace
}  // namespace tlsession::ftp
