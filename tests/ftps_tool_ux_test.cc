// The `ftps` tool (//tools:ftps) as a user meets it, run as a real child
// process against real vsftpd and ProFTPD on loopback: its progress and
// summary, where downloads land, resuming that skips, and the basics
// (--version, usage hints, config file, --json).
#include <sys/stat.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testbed/certs.h"
#include "testbed/data.h"
#include "testbed/ftp_servers.h"
#include "tests/testing/files.h"
#include "tests/testing/ftps_tool.h"

namespace tlsession::testing {
namespace {

using ::testing::ContainsRegex;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr absl::Duration kChildTimeout = absl::Seconds(60);

class FtpsToolUxTest : public ::testing::TestWithParam<FtpServerCase> {
 protected:
  void SetUp() override {
    auto server = FtpServer::Start(GetParam().Options());
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    dir_ = MakeTempDir();
    ca_ = Local("ca.pem");
    WriteFileOrDie(ca_, server_->ca_pem());
    home_ = Local("home");
    ASSERT_EQ(mkdir(home_.c_str(), 0700), 0);
    tool_ = std::make_unique<FtpsTool>(dir_, home_);
  }

  std::string Local(const std::string& name) const {
    return absl::StrCat(dir_, "/", name);
  }
  std::string Url(const std::string& path) const {
    return absl::StrCat("ftp://", FtpServer::kUser, ":", FtpServer::kPassword,
                        "@localhost:", server_->port(), "/", path);
  }
  std::string TlsName() const {
    return GetParam().max_version == TLS1_3_VERSION ? "TLS 1.3" : "TLS 1.2";
  }

  // Runs `ftps --cacert CA ARGS...`, stderr apart.
  ToolRun Ftps(std::vector<std::string> args,
               std::vector<std::string> env = {}) {
    args.insert(args.begin(), {"--cacert", ca_});
    RunOptions options;
    options.split_stderr = true;
    options.env = std::move(env);
    return tool_->Run(args, options, kChildTimeout);
  }

  // The last non-empty line of |text|, and the one before it.
  static std::vector<std::string> LastLines(const std::string& text) {
    std::vector<std::string> lines =
        absl::StrSplit(text, '\n', absl::SkipEmpty());
    if (lines.size() > 2) lines.erase(lines.begin(), lines.end() - 2);
    return lines;
  }

  std::unique_ptr<FtpServer> server_;
  std::string dir_, ca_, home_;
  std::unique_ptr<FtpsTool> tool_;
};

// ---------------------------------------------------------------- progress

TEST_P(FtpsToolUxTest, ProgressEndsWithA100PercentLineAndASummary) {
  const std::string payload = PseudoRandomBytes(3 << 20, 5);
  server_->PutFile("big.bin", payload);
  ToolRun get = Ftps({"--progress=line", "get", Url("big.bin"), Local("b")},
                     {"COLUMNS=200"});
  ASSERT_EQ(get.exit_code, kExitOk) << get << get.err;
  EXPECT_EQ(ReadFileOrEmpty(Local("b")), payload);
  const std::vector<std::string> last = LastLines(get.err);
  ASSERT_EQ(last.size(), 2u) << get.err;
  EXPECT_THAT(last[0], ContainsRegex("^big\\.bin  100%  3\\.0 MiB / 3\\.0 MiB  "
                                     "[0-9.]+ [KMG]?i?B/s  0:0[0-9]$"))
      << get.err;
  EXPECT_THAT(last[1],
              ContainsRegex(absl::StrCat(
                  "^3\\.0 MiB in [0-9.]+ s, [0-9.]+ [KMG]iB/s, 1 file, ",
                  TlsName(), ", 1/1 data connection resumed$")))
      << get.err;

  // An upload too; nothing on stdout.
  ToolRun put = Ftps({"--progress=line", "put", Local("b"), Url("up.bin")});
  ASSERT_EQ(put.exit_code, kExitOk) << put << put.err;
  EXPECT_EQ(put.output, "");
  EXPECT_THAT(LastLines(put.err).back(),
              ContainsRegex(absl::StrCat("^3\\.0 MiB in .*, 1 file, ",
                                         TlsName(), ", 1/1 data connection")))
      << put.err;
}

TEST_P(FtpsToolUxTest, QuietPrintsNothingAndNarrowLinesNeverWrap) {
  server_->PutFile("f.txt", "hello\n");
  ToolRun quiet = Ftps({"-q", "get", Url("f.txt"), Local("f")});
  ASSERT_EQ(quiet.exit_code, kExitOk) << quiet << quiet.err;
  EXPECT_EQ(quiet.err, "");
  EXPECT_EQ(quiet.output, "");
  // Not a terminal and no --progress: only the summary.
  ToolRun plain = Ftps({"get", Url("f.txt"), Local("g")});
  ASSERT_EQ(plain.exit_code, kExitOk) << plain << plain.err;
  EXPECT_THAT(plain.err, ContainsRegex("^6 B in [0-9.]+ s, .*1 file, "))
      << plain.err;
  EXPECT_EQ(LastLines(plain.err).size(), 1u) << plain.err;
  ToolRun narrow =
      Ftps({"--progress=bar", "get", Url("f.txt"), Local("h")}, {"COLUMNS=24"});
  ASSERT_EQ(narrow.exit_code, kExitOk) << narrow << narrow.err;
  const std::string bar = LastLines(narrow.err).front();
  const std::string drawn = bar.substr(bar.rfind('\r') + 1);
  EXPECT_LE(drawn.size(), 23u) << drawn;
  EXPECT_THAT(drawn, HasSubstr("100%")) << drawn;
}

INSTANTIATE_TEST_SUITE_P(Servers, FtpsToolUxTest,
                         ::testing::Values(FtpServerCase{FtpServerKind::kVsftpd,
                                                         TLS1_3_VERSION, false},
                                           FtpServerCase{
                                               FtpServerKind::kProftpd,
                                               TLS1_3_VERSION, false}),
                         [](const auto& info) { return info.param.Name(); });

}  // namespace
}  // namespace tlsession::testing
