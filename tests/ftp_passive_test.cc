// Tests of ftp_adapter/passive.h: PASV and EPSV replies and PORT and EPRT
// arguments (RFC 959, RFC 2428), with hostile inputs (huge numbers, missing
// fields, odd delimiters). No sockets.
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "ftp_adapter/passive.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/ftp_test_util.h"
#include "tls/socket.h"

namespace tlsession::ftp {
namespace {

using ::testing::HasSubstr;
using ::tlsession::testing::Bytes;
using ::tlsession::testing::Msg;

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

}  // namespace
}  // namespace tlsession::ftp
