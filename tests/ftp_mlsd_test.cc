// Tests of ftp_adapter/mlsd.h: MLSD/MLST fact lines and FTP timestamps
// (RFC 3659), with hostile inputs (missing separators, huge sizes,
// impossible dates, odd bytes). No sockets.
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "ftp_adapter/mlsd.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/ftp_test_util.h"

namespace tlsession::ftp {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Pair;
using ::testing::SizeIs;
using ::tlsession::testing::Bytes;
using ::tlsession::testing::Msg;

// The UTC time y-m-d hh:mm:ss.
absl::Time Utc(int64_t y, int m, int d, int hh, int mm, int ss) {
  return absl::FromCivil(absl::CivilSecond(y, m, d, hh, mm, ss),
                         absl::UTCTimeZone());
}

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

}  // namespace
}  // namespace tlsession::ftp
