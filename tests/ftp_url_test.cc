// Tests of ftp_adapter/url.h: ftp:// and ftps:// URLs parsed and printed
// again, with hostile inputs; errors never show the password. No sockets.
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "ftp_adapter/url.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/ftp_test_util.h"

namespace tlsession::ftp {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::tlsession::testing::Bytes;
using ::tlsession::testing::Msg;

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

// A parsed |text|, for the RenameTarget cases.
FtpUrl Parsed(const std::string& text) {
  absl::StatusOr<FtpUrl> u = ParseFtpUrl(text);
  EXPECT_TRUE(u.ok()) << u.status();
  return u.ok() ? *u : FtpUrl();
}

TEST(RenameTargetTest, PathsRelativeAbsoluteAndSameServerUrls) {
  const FtpUrl from = Parsed("ftp://u:pw@h:2121/dir/a");
  EXPECT_EQ(*RenameTarget(from, "b"), "dir/b");
  EXPECT_EQ(*RenameTarget(from, "sub/b"), "dir/sub/b");
  EXPECT_EQ(*RenameTarget(from, "/top/b"), "/top/b");
  EXPECT_EQ(*RenameTarget(from, "ftp://u:other@h:2121/x/b"), "x/b");
  EXPECT_EQ(*RenameTarget(from, "ftp://u@h:2121/b"), "b");
  EXPECT_EQ(*RenameTarget(Parsed("ftp://h/a"), "b"), "b");
}

TEST(RenameTargetTest, OtherServersAndBadTargetsAreRefusedRedacted) {
  const FtpUrl from = Parsed("ftp://u:secret1@h:2121/dir/a");
  for (const char* target :
       {"ftp://v:secret2@h:2121/b", "ftp://u:secret2@g:2121/b",
        "ftp://u:secret2@h:2122/b", "ftps://u:secret2@h:2121/b",
        "ftp://u:secret2@h:2121", "ftp://u:secret2@h:2121/b%0D%0AX", "",
        "b\r\nDELE x"}) {
    absl::StatusOr<std::string> to = RenameTarget(from, target);
    ASSERT_FALSE(to.ok()) << target;
    EXPECT_EQ(to.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(Msg(to.status()), Not(HasSubstr("secret"))) << to.status();
  }
  EXPECT_THAT(Msg(RenameTarget(from, "ftp://v:secret2@h:2121/b").status()),
              HasSubstr("ftp://v:***@h:2121/b"));
}

TEST(SameServerTest, ComparesSchemeHostPortAndUserOnly) {
  EXPECT_TRUE(SameServer(Parsed("ftp://u:a@h/x"), Parsed("ftp://u:b@h/y")));
  EXPECT_FALSE(SameServer(Parsed("ftp://u@h/x"), Parsed("ftp://v@h/x")));
  EXPECT_FALSE(SameServer(Parsed("ftp://u@h/x"), Parsed("ftps://u@h:21/x")));
  EXPECT_FALSE(SameServer(Parsed("ftp://u@h/x"), Parsed("ftp://u@g/x")));
}

}  // namespace
}  // namespace tlsession::ftp
