// The tools' flag parser (base/flags.h) and the ftps tool's command line on
// it (tools/ftps_flags.h).
#include "base/flags.h"

#include <openssl/ssl.h>

#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tools/ftps_flags.h"

namespace tlsession {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// A mutable argv, as main() gets it; argv[0] is "tool".
class Argv {
 public:
  explicit Argv(std::vector<std::string> args) : args_(std::move(args)) {
    args_.insert(args_.begin(), "tool");
    for (std::string& a : args_) ptrs_.push_back(&a[0]);
  }
  int argc() const { return static_cast<int>(ptrs_.size()); }
  char** argv() { return ptrs_.data(); }
  // argv[i] as it is now (a secret flag overwrites its value).
  std::string at(int i) const { return ptrs_[i]; }

 private:
  std::vector<std::string> args_;
  std::vector<char*> ptrs_;
};

struct Values {
  std::string name;
  int port = 0;
  bool verbose = false;
  uint16_t version = 0;
  std::string password;
};

std::vector<CliFlag> Table(Values* v) {
  CliFlag password{"--password", "the password", SetString(&v->password)};
  password.secret = true;
  CliFlag version{"--version", "1.2 or 1.3", SetTlsVersion(&v->version)};
  version.bad_value = "--version takes 1.2 or 1.3";
  return {{"--name", "a name", SetString(&v->name)},
          {"--port", "a port", SetIntInRange(&v->port, 1, 65535)},
          CliSwitch("--verbose", {"-v"}, "say more", &v->verbose),
          version,
          password};
}

absl::Status Parse(std::vector<std::string> args, Values* v,
                   std::vector<std::string>* operands = nullptr) {
  Argv a(std::move(args));
  CliSyntax syntax;
  syntax.operands = operands;
  return ParseCli(a.argc(), a.argv(), Table(v), syntax);
}

TEST(FlagsTest, ValuesSeparateOrInlineSwitchesAndAliases) {
  Values v;
  ASSERT_TRUE(
      Parse({"--name", "a=b", "--port=443", "-v", "--version", "1.2"}, &v)
          .ok());
  EXPECT_EQ(v.name, "a=b");
  EXPECT_EQ(v.port, 443);
  EXPECT_TRUE(v.verbose);
  EXPECT_EQ(v.version, TLS1_2_VERSION);
}

TEST(FlagsTest, ErrorsNameTheFlag) {
  Values v;
  EXPECT_EQ(Parse({"--nope"}, &v).message(), "unknown flag --nope");
  EXPECT_EQ(Parse({"--name"}, &v).message(), "--name needs a value");
  EXPECT_EQ(Parse({"--verbose=yes"}, &v).message(), "--verbose takes no value");
  EXPECT_EQ(Parse({"--port", "0"}, &v).message(),
            "bad value for --port (a port)");
  EXPECT_EQ(Parse({"--version", "1.1"}, &v).message(),
            "--version takes 1.2 or 1.3");
  EXPECT_EQ(Parse({"operand"}, &v).message(), "unknown flag operand");
  EXPECT_TRUE(absl::IsCancelled(Parse({"--port", "1", "-h"}, &v)));
}

TEST(FlagsTest, OperandsAmongFlagsAndAfterDoubleDash) {
  Values v;
  std::vector<std::string> operands;
  ASSERT_TRUE(Parse({"get", "-", "--port", "21", "url", "--", "--name", "-v"},
                    &v, &operands)
                  .ok());
  EXPECT_THAT(operands, ElementsAre("get", "-", "url", "--name", "-v"));
  EXPECT_EQ(v.port, 21);
  EXPECT_FALSE(v.verbose);
}

TEST(FlagsTest, SecretValuesAreMaskedInArgv) {
  Values v;
  Argv a({"--password", "hunter2", "--password=swordfish"});
  ASSERT_TRUE(ParseCli(a.argc(), a.argv(), Table(&v)).ok());
  EXPECT_EQ(v.password, "swordfish");
  EXPECT_EQ(a.at(2), "*******");
  EXPECT_EQ(a.at(3), "--password=*********");
}

// A URL-bearing flag keeps its URL readable in argv but not its password;
// operands can ask for the same.
TEST(FlagsTest, UrlPasswordsAreMaskedInArgv) {
  std::string store;
  CliFlag flag{"--store", "a URL", SetString(&store)};
  flag.url_secret = true;
  std::vector<std::string> operands;
  CliSyntax syntax;
  syntax.operands = &operands;
  syntax.mask_operand_url_passwords = true;
  Argv a({"--store", "rediss://:hunter2@h:1", "--store=redis://u:pw@h",
          "ftp://me:secret@host/f", "--", "ftp://pw-only@h/"});
  ASSERT_TRUE(ParseCli(a.argc(), a.argv(), {flag}, syntax).ok());
  EXPECT_EQ(store, "redis://u:pw@h");
  EXPECT_THAT(operands,
              ElementsAre("ftp://me:secret@host/f", "ftp://pw-only@h/"));
  EXPECT_EQ(a.at(2), "rediss://:*******@h:1");
  EXPECT_EQ(a.at(3), "--store=redis://u:**@h");
  EXPECT_EQ(a.at(4), "ftp://me:******@host/f");
  EXPECT_EQ(a.at(6), "ftp://*******@h/");
}

TEST(FlagsTest, UsageListsEveryFlagOnce) {
  Values v;
  const std::string usage = CliUsage("tool [FLAGS]", Table(&v));
  EXPECT_THAT(usage, HasSubstr("usage: tool [FLAGS]\n"));
  EXPECT_THAT(usage, HasSubstr("  --port V               a port\n"));
  EXPECT_THAT(usage, HasSubstr("  -v, --verbose          say more\n"));
  EXPECT_THAT(usage, HasSubstr("  -h, --help             this text\n"));
}

TEST(FtpsFlagsTest, CommandLineWithFlagsAmongOperands) {
  ftp::FtpsOptions o;
  Argv a({"get", "--output-dir", "out", "--parallel=3", "-k", "u1", "u2",
          "--password", "pw", "--tls-max", "1.2"});
  EXPECT_EQ(ftp::ParseFtpsCommandLine(a.argc(), a.argv(), &o), std::nullopt);
  EXPECT_THAT(o.args, ElementsAre("get", "u1", "u2"));
  EXPECT_EQ(o.output_dir, "out");
  EXPECT_EQ(o.parallel, 3);
  EXPECT_TRUE(o.insecure);
  EXPECT_EQ(o.password, "pw");
  EXPECT_EQ(a.at(9), "**");
  EXPECT_EQ(o.tls_max, TLS1_2_VERSION);
}

// ftps masks the passwords of its URLs in argv: --session-store's and the
// operands' (ftp://USER:PASS@HOST/).
TEST(FtpsFlagsTest, UrlPasswordsAreMaskedInArgv) {
  ftp::FtpsOptions o;
  Argv a({"get", "ftp://me:secret@h/f", "--session-store",
          "redis://:hunter2@h:1"});
  EXPECT_EQ(ftp::ParseFtpsCommandLine(a.argc(), a.argv(), &o), std::nullopt);
  EXPECT_THAT(o.args, ElementsAre("get", "ftp://me:secret@h/f"));
  EXPECT_EQ(o.session_store, "redis://:hunter2@h:1");
  EXPECT_EQ(a.at(2), "ftp://me:******@h/f");
  EXPECT_EQ(a.at(4), "redis://:*******@h:1");
}

TEST(FtpsFlagsTest, UsageErrorsExit2AndTheUsageNamesEveryOption) {
  ftp::FtpsOptions o;
  Argv bad({"--tls-min", "1.3", "--tls-max", "1.2", "ls", "u"});
  EXPECT_EQ(ftp::ParseFtpsCommandLine(bad.argc(), bad.argv(), &o), 2);
  ftp::FtpsOptions o2;
  Argv unknown({"--frobnicate"});
  EXPECT_EQ(ftp::ParseFtpsCommandLine(unknown.argc(), unknown.argv(), &o2), 2);
  const std::string usage = ftp::FtpsUsage();
  ftp::FtpsOptions o3;
  for (const CliFlag& f : ftp::FtpsFlags(&o3)) {
    EXPECT_TRUE(absl::StrContains(usage, f.name)) << f.name;
  }
  EXPECT_THAT(usage, HasSubstr("exit codes:"));
}

}  // namespace
}  // namespace tlsession
