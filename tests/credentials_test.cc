// Where the ftps tool takes user and password from (ftp_adapter/
// credentials.h): the order of the sources, the rule that a password goes
// only to the user it belongs to, and the checks on files that hold
// passwords. Real files; the terminal prompt is a function here (the tool
// test runs it on a real pseudo-terminal).
#include "ftp_adapter/credentials.h"

#include <sys/stat.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "ftp_adapter/error_category.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testbed/certs.h"

namespace tlsession::testing {
namespace {

using ftp::CredentialSources;
using ftp::FtpUrl;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

std::string Msg(const absl::Status& s) { return std::string(s.message()); }

FtpUrl Url(absl::string_view text) {
  absl::StatusOr<FtpUrl> url = ftp::ParseFtpUrl(text);
  EXPECT_TRUE(url.ok()) << url.status();
  return url.ok() ? *url : FtpUrl();
}

class CredentialsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir();
    sources_.warn = [this](absl::string_view w) { warnings_.emplace_back(w); };
    sources_.prompt = [this](const std::string& prompt)
        -> absl::StatusOr<std::optional<std::string>> {
      prompts_.push_back(prompt);
      return typed_;
    };
  }

  // "user:password" resolved for |url|, or the error's message.
  std::string Resolve(absl::string_view url) {
    absl::StatusOr<ftp::Credentials> c =
        ftp::ResolveCredentials(Url(url), sources_);
    if (!c.ok()) {
      EXPECT_EQ(ftp::CategoryOf(c.status()), ftp::ErrorCategory::kUsage);
      return absl::StrCat("error: ", c.status().message());
    }
    return absl::StrCat(c->user, ":", c->password);
  }

  std::string WriteSecret(const std::string& name, const std::string& text,
                          mode_t mode) {
    const std::string path = absl::StrCat(dir_, "/", name);
    WriteFileOrDie(path, text);
    EXPECT_EQ(chmod(path.c_str(), mode), 0);
    return path;
  }

  std::string dir_;
  CredentialSources sources_;
  std::vector<std::string> warnings_;
  std::vector<std::string> prompts_;
  std::optional<std::string> typed_;
};

TEST_F(CredentialsTest, TheUrlsPasswordThenTheEnvironmentThenNetrc) {
  sources_.environment_password = "from-env";
  sources_.netrc_path =
      WriteSecret("netrc", "machine h login bob password from-netrc\n", 0600);
  EXPECT_EQ(Resolve("ftp://alice:from-url@h/"), "alice:from-url");
  EXPECT_EQ(Resolve("ftp://alice@h/"), "alice:from-env");
  sources_.environment_password.reset();
  EXPECT_EQ(Resolve("ftp://bob@h/"), "bob:from-netrc");
  EXPECT_EQ(Resolve("ftp://h/"), "bob:from-netrc");  // Its login too.
  EXPECT_TRUE(prompts_.empty());
}

TEST_F(CredentialsTest, TheEnvironmentPasswordNeverGoesToAnAnonymousLogin) {
  sources_.environment_password = "secret";
  EXPECT_EQ(Resolve("ftp://h/"), "anonymous:anonymous@");
  EXPECT_EQ(Resolve("ftp://anonymous@h/"), "anonymous:anonymous@");
  EXPECT_EQ(Resolve("ftp://ftp@h/"), "anonymous:anonymous@");
  EXPECT_EQ(Resolve("ftp://alice@h/"), "alice:secret");
}

TEST_F(CredentialsTest, AnExplicitPasswordWinsAndNeedsAUser) {
  sources_.password = "explicit";
  sources_.environment_password = "from-env";
  EXPECT_EQ(Resolve("ftp://alice:from-url@h/"), "alice:explicit");
  const std::string no_user = Resolve("ftp://h/");
  EXPECT_THAT(no_user, HasSubstr("names no user"));
  EXPECT_THAT(no_user, Not(HasSubstr("explicit")));
  sources_.password.reset();
  sources_.password_file =
      WriteSecret("pw", "from-file\r\nsecond line\n", 0600);
  EXPECT_EQ(Resolve("ftp://alice@h/"), "alice:from-file");
  EXPECT_THAT(Resolve("ftp://h/"), HasSubstr("--password-file"));
}

TEST_F(CredentialsTest, APromptOnlyForANamedUserWithoutAPassword) {
  typed_ = "typed";
  EXPECT_EQ(Resolve("ftp://alice@h:2121/"), "alice:typed");
  EXPECT_EQ(Resolve("ftp://h/"), "anonymous:anonymous@");
  EXPECT_EQ(Resolve("ftp://bob:pw@h/"), "bob:pw");
  EXPECT_THAT(prompts_, ElementsAre("Password for alice@h:2121: "));
  // No terminal to ask on: an error that says where a password may come
  // from.
  typed_.reset();
  EXPECT_THAT(Resolve("ftp://alice@h/"), HasSubstr("no password for alice@h"));
}

TEST_F(CredentialsTest, PasswordFileMustBeARegularFileOfOursAlone) {
  const std::string good = WriteSecret("good", "pw\n", 0600);
  absl::StatusOr<std::string> read = ftp::ReadPasswordFile(good);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(*read, "pw");
  EXPECT_TRUE(ftp::ReadPasswordFile(WriteSecret("ro", "pw", 0400)).ok());

  for (mode_t mode : {0640, 0604, 0620, 0602, 0660, 0644}) {
    absl::Status s =
        ftp::ReadPasswordFile(WriteSecret("loose", "pw", mode)).status();
    EXPECT_THAT(Msg(s), HasSubstr("mode 0600")) << std::oct << mode;
  }
  const std::string link = dir_ + "/link";
  ASSERT_EQ(symlink(good.c_str(), link.c_str()), 0);
  EXPECT_THAT(Msg(ftp::ReadPasswordFile(link).status()), HasSubstr("symlink"));
  const std::string theirs = WriteSecret("theirs", "pw", 0600);
  ASSERT_EQ(chown(theirs.c_str(), 12345, 12345), 0);
  EXPECT_THAT(Msg(ftp::ReadPasswordFile(theirs).status()),
              HasSubstr("owned by user 12345"));
  const std::string fifo = dir_ + "/fifo";
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  EXPECT_THAT(Msg(ftp::ReadPasswordFile(fifo).status()),
              HasSubstr("not a regular file"));
  EXPECT_FALSE(ftp::ReadPasswordFile(dir_ + "/missing").ok());
}

TEST_F(CredentialsTest, NetrcThatOthersMayReadIsUsedWithAWarning) {
  const std::string netrc =
      WriteSecret("netrc", "machine h login bob password pw\n", 0644);
  sources_.netrc_path = netrc;
  EXPECT_EQ(Resolve("ftp://h/"), "bob:pw");
  ASSERT_EQ(warnings_.size(), 1u);
  EXPECT_THAT(warnings_[0], HasSubstr("mode 0644"));
  EXPECT_THAT(warnings_[0], HasSubstr("chmod 600"));
  EXPECT_THAT(warnings_[0], Not(HasSubstr("pw\n")));
  warnings_.clear();
  ASSERT_EQ(chmod(netrc.c_str(), 0600), 0);
  EXPECT_EQ(Resolve("ftp://h/"), "bob:pw");
  EXPECT_TRUE(warnings_.empty());
  // Not through a symlink: said, and skipped.
  sources_.netrc_path = dir_ + "/netrc-link";
  ASSERT_EQ(symlink(netrc.c_str(), sources_.netrc_path.c_str()), 0);
  EXPECT_EQ(Resolve("ftp://h/"), "anonymous:anonymous@");
  ASSERT_EQ(warnings_.size(), 1u);
  EXPECT_THAT(warnings_[0], HasSubstr("symlink"));
  // None at all: nothing to say.
  warnings_.clear();
  sources_.netrc_path = dir_ + "/no-such-netrc";
  EXPECT_EQ(Resolve("ftp://h/"), "anonymous:anonymous@");
  EXPECT_TRUE(warnings_.empty());
}

TEST_F(CredentialsTest, AMalformedNetrcIsAnErrorThatQuotesNothing) {
  sources_.netrc_path =
      WriteSecret("netrc", "machine h login bob password\n", 0600);
  const std::string r = Resolve("ftp://h/");
  EXPECT_THAT(r, HasSubstr("error: "));
  EXPECT_THAT(r, HasSubstr(sources_.netrc_path));
}

}  // namespace
}  // namespace tlsession::testing
