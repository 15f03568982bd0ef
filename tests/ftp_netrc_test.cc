// Tests of ftp_adapter/netrc.h: credentials looked up in .netrc contents
// (machines, default, macdef, quoting, comments), with malformed files whose
// errors never quote the file. No sockets.
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "ftp_adapter/netrc.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/ftp_test_util.h"

namespace tlsession::ftp {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::tlsession::testing::Bytes;
using ::tlsession::testing::Msg;

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
