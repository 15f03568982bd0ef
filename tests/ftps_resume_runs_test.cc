// `ftps --session-cache` over many runs (issue 22, item 7): every control
// connection after the first resumes, run after run, whether or not the run
// opened data connections, against vsftpd (TLS 1.3 and 1.2) and ProFTPD
// (TLS 1.3); against a server that never resumes control connections
// (ProFTPD under TLS 1.2 here) -v says so. The tool runs as a child process
// against real servers on loopback.
#include <sys/stat.h>

#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testbed/certs.h"
#include "testbed/ftp_servers.h"
#include "tests/testing/files.h"
#include "tests/testing/ftps_tool.h"

namespace tlsession::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr absl::Duration kChildTimeout = absl::Seconds(60);

class FtpsResumeRunsTest : public ::testing::TestWithParam<FtpServerCase> {
 protected:
  void SetUp() override {
    auto server = FtpServer::Start(GetParam().Options());
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    dir_ = MakeTempDir();
    ca_ = absl::StrCat(dir_, "/ca.pem");
    WriteFileOrDie(ca_, server_->ca_pem());
    const std::string home = absl::StrCat(dir_, "/home");
    ASSERT_EQ(mkdir(home.c_str(), 0700), 0);
    tool_ = std::make_unique<FtpsTool>(dir_, home);
  }

  std::string Url(const std::string& path) const {
    return absl::StrCat("ftp://", FtpServer::kUser, ":", FtpServer::kPassword,
                        "@localhost:", server_->port(), "/", path);
  }

  // The six runs: with one data connection (get, ls) and with none (size),
  // so that both ways of keeping a ticket for the cache are exercised.
  std::vector<std::vector<std::string>> SixRuns() const {
    const std::string cache = absl::StrCat(dir_, "/sessions.cache");
    const std::vector<std::string> common = {"-v", "--cacert", ca_,
                                             "--session-cache", cache};
    const std::vector<std::vector<std::string>> commands = {
        {"get", Url("r.txt"), absl::StrCat(dir_, "/r1.txt")},
        {"get", Url("r.txt"), absl::StrCat(dir_, "/r2.txt")},
        {"size", Url("r.txt")},
        {"ls", Url("")},
        {"size", Url("r.txt")},
        {"get", Url("r.txt"), absl::StrCat(dir_, "/r3.txt")}};
    std::vector<std::vector<std::string>> runs;
    for (const auto& command : commands) {
      runs.push_back(common);
      runs.back().insert(runs.back().end(), command.begin(), command.end());
    }
    return runs;
  }

  std::string TlsVersion() const {
    return GetParam().max_version == TLS1_3_VERSION ? "TLSv1.3" : "TLSv1.2";
  }

  std::unique_ptr<FtpServer> server_;
  std::string dir_;
  std::string ca_;
  std::unique_ptr<FtpsTool> tool_;
};

class EveryRunResumes : public FtpsResumeRunsTest {};

TEST_P(EveryRunResumes, SixRunsInARowEachAfterTheFirstResumes) {
  server_->PutFile("r.txt", "resumed\n");
  const auto runs = SixRuns();
  for (size_t i = 0; i < runs.size(); ++i) {
    ToolRun run = tool_->Run(runs[i], RunOptions(), kChildTimeout);
    SCOPED_TRACE(absl::StrCat("run ", i + 1));
    ASSERT_EQ(run.exit_code, kExitOk) << run << "\n" << server_->log();
    const auto control = LinesStartingWith(
        run.output, absl::StrCat("control connection: ", TlsVersion()));
    ASSERT_EQ(control.size(), 1u) << run;
    EXPECT_EQ(control[0],
              absl::StrCat("control connection: ", TlsVersion(), ", session ",
                           i == 0 ? "NOT reused" : "reused"))
        << run << "\n"
        << server_->log();
    EXPECT_THAT(run.output, Not(HasSubstr("session NOT reused, "))) << run;
    EXPECT_THAT(run.output, Not(HasSubstr("did not resume the cached"))) << run;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Servers, EveryRunResumes,
    ::testing::Values(
        FtpServerCase{FtpServerKind::kVsftpd, TLS1_3_VERSION, false},
        FtpServerCase{FtpServerKind::kVsftpd, TLS1_2_VERSION, false},
        FtpServerCase{FtpServerKind::kProftpd, TLS1_3_VERSION, false}),
    [](const auto& info) { return info.param.Name(); });

// ProFTPD under TLS 1.2 sends no tickets and keeps no session-ID cache
// across its forked connections (see ftps_tool_test's FtpsToolCacheTest):
// it never resumes a control connection. Every run still works, and from
// the second on -v says why the cache does not help.
class NeverResumes : public FtpsResumeRunsTest {};

TEST_P(NeverResumes, EveryRunWorksAndVerboseSaysTheServerDeclined) {
  server_->PutFile("r.txt", "resumed\n");
  const auto runs = SixRuns();
  for (size_t i = 0; i < runs.size(); ++i) {
    ToolRun run = tool_->Run(runs[i], RunOptions(), kChildTimeout);
    SCOPED_TRACE(absl::StrCat("run ", i + 1));
    ASSERT_EQ(run.exit_code, kExitOk) << run << "\n" << server_->log();
    EXPECT_THAT(run.output, HasSubstr("control connection: TLSv1.2, session "
                                      "NOT reused"))
        << run;
    if (i > 0) {
      EXPECT_THAT(run.output, HasSubstr("did not resume the cached session "
                                        "offered"))
          << run;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Servers, NeverResumes,
                         ::testing::Values(FtpServerCase{
                             FtpServerKind::kProftpd, TLS1_2_VERSION, false}),
                         [](const auto& info) { return info.param.Name(); });

}  // namespace
}  // namespace tlsession::testing
