// `ftps --session-store redis://... --fleet-key FILE`: the tool, run as real
// child processes against a real vsftpd (TLS and session reuse required)
// and a real redis-server, both on loopback. A second run, a new process
// that shares nothing with the first but Redis, resumes the control
// connection; every data connection resumes the control session; a Redis
// that cannot be reached costs only a full handshake; configuration errors
// exit 2; neither password is ever printed.
#include <openssl/rand.h>
#include <sys/stat.h>

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
#include "testbed/ftp_servers.h"
#include "testbed/redis_server.h"
#include "tests/testing/ftps_tool.h"

namespace tlsession::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

class FtpsSharedStoreTest : public ::testing::TestWithParam<FtpServerCase> {
 protected:
  void SetUp() override {
    auto server = FtpServer::Start(GetParam().Options());
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    auto redis = TestRedisServer::Start();
    ASSERT_TRUE(redis.ok()) << redis.status();
    redis_ = std::move(*redis);
    dir_ = MakeTempDir();
    ca_ = dir_ + "/ca.pem";
    WriteFileOrDie(ca_, server_->ca_pem());
    fleet_key_ = dir_ + "/fleet.key";
    std::string key(32, '\0');
    ASSERT_TRUE(RAND_bytes(reinterpret_cast<uint8_t*>(&key[0]), key.size()));
    WriteFileOrDie(fleet_key_, key);
    ASSERT_EQ(chmod(fleet_key_.c_str(), 0600), 0);
    const std::string home = dir_ + "/home";
    ASSERT_EQ(mkdir(home.c_str(), 0700), 0);
    tool_ = std::make_unique<FtpsTool>(dir_, home);
    server_->PutFile("shared.txt", "shared store\n");
  }

  std::string TlsVersion() const {
    return GetParam().max_version == TLS1_3_VERSION ? "TLSv1.3" : "TLSv1.2";
  }

  std::string Url() const {
    return absl::StrCat("ftp://", FtpServer::kUser, ":", FtpServer::kPassword,
                        "@localhost:", server_->port(), "/");
  }

  // `ftps -v --cacert CA --session-store STORE ... ls URL`.
  ToolRun Ls(const std::vector<std::string>& store_flags) {
    std::vector<std::string> args = {"-v", "--cacert", ca_};
    args.insert(args.end(), store_flags.begin(), store_flags.end());
    args.push_back("ls");
    args.push_back(Url());
    return tool_->Run(args, RunOptions(), absl::Seconds(60));
  }
  std::vector<std::string> StoreFlags() const {
    return {"--session-store",
            redis_->url_without_password(),
            "--session-store-password-file",
            redis_->password_file(),
            "--fleet-key",
            fleet_key_};
  }

  // The -v line of the control connection.
  std::string ControlLine(const ToolRun& run) const {
    const auto lines = LinesStartingWith(run.output, "control connection: ");
    return lines.size() == 1 ? lines[0] : "";
  }

  // The listing arrived, its one data connection resumed the control
  // session, and no password was printed.
  void ExpectListedAndQuiet(const ToolRun& run) {
    SCOPED_TRACE(run.command);
    EXPECT_THAT(run.output, HasSubstr("shared.txt")) << run;
    const auto data = LinesStartingWith(run.output, "data connection ");
    ASSERT_EQ(data.size(), 1u) << run;
    EXPECT_THAT(data[0],
                StartsWith(absl::StrCat("data connection 1: ", TlsVersion(),
                                        ", session reused")))
        << run;
    EXPECT_THAT(run.output, Not(HasSubstr(FtpServer::kPassword))) << run;
    EXPECT_THAT(run.output, Not(HasSubstr(redis_->password()))) << run;
  }

  std::unique_ptr<FtpServer> server_;
  std::unique_ptr<TestRedisServer> redis_;
  std::string dir_, ca_, fleet_key_;
  std::unique_ptr<FtpsTool> tool_;
};

TEST_P(FtpsSharedStoreTest, ASecondProcessResumesTheControlConnection) {
  ToolRun first = Ls(StoreFlags());
  ASSERT_EQ(first.exit_code, kExitOk) << first;
  ExpectListedAndQuiet(first);
  EXPECT_THAT(ControlLine(first),
              StartsWith(absl::StrCat("control connection: ", TlsVersion(),
                                      ", session NOT reused")))
      << first;
  // What the first run left is in Redis, under HMAC'd names only.
  auto keys = redis_->Keys("*");
  ASSERT_TRUE(keys.ok()) << keys.status();
  EXPECT_FALSE(keys->empty()) << "nothing stored in Redis";
  for (const std::string& k : *keys) {
    EXPECT_THAT(k, Not(HasSubstr("localhost"))) << k;
  }

  ToolRun second = Ls(StoreFlags());
  ASSERT_EQ(second.exit_code, kExitOk) << second;
  ExpectListedAndQuiet(second);
  EXPECT_THAT(ControlLine(second),
              StartsWith(absl::StrCat("control connection: ", TlsVersion(),
                                      ", session reused")))
      << second << "\n"
      << server_->log();
}

TEST_P(FtpsSharedStoreTest, APasswordInTheUrlIsNeverPrinted) {
  ToolRun run =
      Ls({"--session-store", redis_->url(), "--fleet-key", fleet_key_});
  ASSERT_EQ(run.exit_code, kExitOk) << run;
  ExpectListedAndQuiet(run);
}

TEST_P(FtpsSharedStoreTest, AnUnreachableRedisCostsOnlyAFullHandshake) {
  const std::vector<std::string> flags = StoreFlags();
  ASSERT_TRUE(Ls(flags).exit_code == kExitOk);
  redis_->Kill();  // Nothing listens on its port any more.
  ToolRun run = Ls(flags);
  ASSERT_EQ(run.exit_code, kExitOk) << run;
  ExpectListedAndQuiet(run);
  EXPECT_THAT(ControlLine(run),
              StartsWith(absl::StrCat("control connection: ", TlsVersion(),
                                      ", session NOT reused")))
      << run;
}

TEST_P(FtpsSharedStoreTest, ConfigurationErrorsExit2) {
  const std::string url = redis_->url_without_password();
  const std::vector<std::vector<std::string>> bad = {
      {"--session-store", url},  // No --fleet-key.
      {"--session-store", url, "--fleet-key", fleet_key_, "--session-cache",
       dir_ + "/cache"},
      {"--session-store", "http://127.0.0.1:1", "--fleet-key", fleet_key_},
      {"--session-store", url, "--fleet-key", dir_ + "/no-such-key"},
  };
  for (const auto& flags : bad) {
    ToolRun run = Ls(flags);
    EXPECT_EQ(run.exit_code, kExitUsage) << run;
    EXPECT_THAT(run.output, Not(HasSubstr("shared.txt"))) << run;
  }
  // A fleet key others may read is refused, as every key file is.
  ASSERT_EQ(chmod(fleet_key_.c_str(), 0644), 0);
  ToolRun run = Ls(StoreFlags());
  EXPECT_EQ(run.exit_code, kExitUsage) << run;
  EXPECT_THAT(run.output, HasSubstr(fleet_key_)) << run;
}

INSTANTIATE_TEST_SUITE_P(Vsftpd, FtpsSharedStoreTest,
                         ::testing::Values(FtpServerCase{FtpServerKind::kVsftpd,
                                                         TLS1_3_VERSION, false},
                                           FtpServerCase{FtpServerKind::kVsftpd,
                                                         TLS1_2_VERSION,
                                                         false}),
                         [](const auto& info) { return info.param.Name(); });

}  // namespace
}  // namespace tlsession::testing
