// The `ftps` command-line tool (//tools:ftps) run as a real child
// process against real vsftpd and ProFTPD on loopback, both requiring TLS and
// TLS session reuse on data connections: its commands, its -v report of
// session reuse, its session cache across runs, its exit codes and where it
// takes the password from.
#include <dirent.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testbed/certs.h"
#include "testbed/data.h"
#include "testbed/ftp_servers.h"
#include "testbed/subprocess.h"
#include "tests/testing/files.h"
#include "tests/testing/ftps_tool.h"

namespace tlsession::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// Every child gets this long; the slowest command moves 5 MB on loopback.
constexpr absl::Duration kChildTimeout = absl::Seconds(60);

using ServerCase = FtpServerCase;

class FtpsToolTest : public ::testing::TestWithParam<ServerCase> {
 protected:
  void SetUp() override {
    auto server = FtpServer::Start(GetParam().Options());
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    dir_ = MakeTempDir();
    ca_ = Local("ca.pem");
    WriteFileOrDie(ca_, server_->ca_pem());
    // A HOME without .netrc: nothing from the real home reaches the tool.
    empty_home_ = Local("home");
    ASSERT_EQ(mkdir(empty_home_.c_str(), 0700), 0);
    ASSERT_TRUE(PathExists(FtpsBinary())) << FtpsBinary();
    tool_ = std::make_unique<FtpsTool>(dir_, empty_home_);
  }

  bool IsVsftpd() const { return GetParam().kind == FtpServerKind::kVsftpd; }
  std::string TlsVersion() const {
    return GetParam().max_version == TLS1_3_VERSION ? "TLSv1.3" : "TLSv1.2";
  }

  std::string Local(const std::string& name) const {
    return absl::StrCat(dir_, "/", name);
  }

  // ftp[s]://[user[:password]@]localhost:PORT/path
  std::string Url(const std::string& path, const std::string& userinfo) const {
    return absl::StrCat(GetParam().implicit_tls ? "ftps" : "ftp", "://",
                        userinfo, userinfo.empty() ? "" : "@",
                        "localhost:", server_->port(), "/", path);
  }
  std::string Url(const std::string& path) const {
    return Url(path, absl::StrCat(FtpServer::kUser, ":", FtpServer::kPassword));
  }

  // Runs `ftps ARGS...` as a child process and waits for it (bounded).
  ToolRun Ftps(const std::vector<std::string>& args,
               const RunOptions& options = RunOptions()) {
    return tool_->Run(args, options, kChildTimeout);
  }

  // Checks a -v run: the control connection's version line, the password
  // masked, and |data_connections| data connections, each one resuming.
  void ExpectVerboseReport(const ToolRun& run, size_t data_connections) {
    SCOPED_TRACE(run.command);
    const auto control = LinesStartingWith(run.output, "control connection: ");
    ASSERT_EQ(control.size(), 1u) << run;
    EXPECT_THAT(control[0],
                ::testing::StartsWith(absl::StrCat(
                    "control connection: ", TlsVersion(), ", session ")))
        << run;
    EXPECT_THAT(run.output, HasSubstr("> PASS ****")) << run;
    EXPECT_THAT(run.output, Not(HasSubstr(FtpServer::kPassword))) << run;
    const auto data = LinesStartingWith(run.output, "data connection ");
    EXPECT_EQ(data.size(), data_connections) << run;
    for (size_t i = 0; i < data.size(); ++i) {
      EXPECT_THAT(data[i], ::testing::StartsWith(absl::StrCat(
                               "data connection ", i + 1, ": ", TlsVersion(),
                               ", session reused, ")))
          << run;
    }
    EXPECT_THAT(run.output, Not(HasSubstr("data connection: unclean"))) << run;
    // Only the control connection may say it did not resume.
    for (absl::string_view line : absl::StrSplit(run.output, '\n')) {
      if (absl::StrContains(line, "session NOT reused")) {
        EXPECT_TRUE(absl::StartsWith(line, "control connection: "))
            << line << "\n"
            << run;
      }
    }
  }

  void ExpectCleanServerLog() {
    EXPECT_THAT(
        server_->log(),
        Not(HasSubstr("DATA connection terminated without SSL shutdown")));
  }

  std::unique_ptr<FtpServer> server_;
  std::string dir_;
  std::string ca_;
  std::string empty_home_;
  std::unique_ptr<FtpsTool> tool_;
};

// put, ls, get, size, mv, mkdir, rm, rmdir, each with -v.
class FtpsToolFlowTest : public FtpsToolTest {};

TEST_P(FtpsToolFlowTest, EveryCommandSucceedsAndEveryDataConnectionResumes) {
  const std::string payload = PseudoRandomBytes(5 << 20, 11);
  WriteFileOrDie(Local("big.bin"), payload);

  ToolRun put =
      Ftps({"-v", "--cacert", ca_, "put", Local("big.bin"), Url("big.bin")});
  ASSERT_EQ(put.exit_code, kExitOk) << put << "\n" << server_->log();
  ExpectVerboseReport(put, 1);
  EXPECT_THAT(put.output, HasSubstr(absl::StrCat(5 << 20, " bytes"))) << put;
  EXPECT_EQ(Sha256Hex(server_->GetFile("big.bin")), Sha256Hex(payload));

  ToolRun ls = Ftps({"-v", "--cacert", ca_, "ls", Url("")});
  ASSERT_EQ(ls.exit_code, kExitOk) << ls;
  ExpectVerboseReport(ls, 1);
  EXPECT_THAT(ls.output, HasSubstr("big.bin")) << ls;
  EXPECT_THAT(ls.output, HasSubstr(absl::StrCat(5 << 20))) << ls;

  ToolRun get =
      Ftps({"-v", "--cacert", ca_, "get", Url("big.bin"), Local("back.bin")});
  ASSERT_EQ(get.exit_code, kExitOk) << get;
  ExpectVerboseReport(get, 1);
  EXPECT_EQ(Sha256Hex(ReadFileOrEmpty(Local("back.bin"))), Sha256Hex(payload));
  EXPECT_FALSE(PathExists(Local("back.bin.part")));

  // Without -v the output is the size alone.
  ToolRun size = Ftps({"--cacert", ca_, "size", Url("big.bin")});
  ASSERT_EQ(size.exit_code, kExitOk) << size;
  EXPECT_EQ(size.output, absl::StrCat(5 << 20, "\n"));

  ToolRun mv = Ftps({"-v", "--cacert", ca_, "mv", Url("big.bin"), "moved.bin"});
  ASSERT_EQ(mv.exit_code, kExitOk) << mv;
  ExpectVerboseReport(mv, 0);
  EXPECT_FALSE(server_->Exists("big.bin"));
  EXPECT_EQ(Sha256Hex(server_->GetFile("moved.bin")), Sha256Hex(payload));

  ToolRun mk = Ftps({"-v", "--cacert", ca_, "mkdir", Url("newdir")});
  ASSERT_EQ(mk.exit_code, kExitOk) << mk;
  ExpectVerboseReport(mk, 0);
  struct stat st;
  ASSERT_EQ(stat((server_->root() + "/newdir").c_str(), &st), 0);
  EXPECT_TRUE(S_ISDIR(st.st_mode));

  // mv to a same-server URL, then to a path relative to the file's folder,
  // then back: the server's file system shows where each landed, so RNTO
  // carried the path alone.
  ToolRun to_url = Ftps(
      {"-v", "--cacert", ca_, "mv", Url("moved.bin"), Url("newdir/m2.bin")});
  ASSERT_EQ(to_url.exit_code, kExitOk) << to_url;
  EXPECT_THAT(to_url.output, HasSubstr("> RNTO newdir/m2.bin")) << to_url;
  EXPECT_THAT(to_url.output, Not(HasSubstr(FtpServer::kPassword))) << to_url;
  EXPECT_TRUE(server_->Exists("newdir/m2.bin"));
  ToolRun relative =
      Ftps({"--cacert", ca_, "mv", Url("newdir/m2.bin"), "m3.bin"});
  ASSERT_EQ(relative.exit_code, kExitOk) << relative;
  EXPECT_TRUE(server_->Exists("newdir/m3.bin"));
  ToolRun back =
      Ftps({"--cacert", ca_, "mv", Url("newdir/m3.bin"), Url("moved.bin", "")});
  EXPECT_EQ(back.exit_code, kExitUsage) << back;  // Another user: refused.
  back = Ftps({"--cacert", ca_, "mv", Url("newdir/m3.bin"), Url("moved.bin")});
  ASSERT_EQ(back.exit_code, kExitOk) << back;
  EXPECT_EQ(Sha256Hex(server_->GetFile("moved.bin")), Sha256Hex(payload));

  ToolRun rm = Ftps({"-v", "--cacert", ca_, "rm", Url("moved.bin")});
  ASSERT_EQ(rm.exit_code, kExitOk) << rm;
  ExpectVerboseReport(rm, 0);
  EXPECT_FALSE(server_->Exists("moved.bin"));

  ToolRun rmdir = Ftps({"-v", "--cacert", ca_, "rmdir", Url("newdir")});
  ASSERT_EQ(rmdir.exit_code, kExitOk) << rmdir;
  ExpectVerboseReport(rmdir, 0);
  EXPECT_FALSE(server_->Exists("newdir"));

  ExpectCleanServerLog();
}

INSTANTIATE_TEST_SUITE_P(
    Servers, FtpsToolFlowTest,
    ::testing::Values(ServerCase{FtpServerKind::kVsftpd, TLS1_3_VERSION, false},
                      ServerCase{FtpServerKind::kProftpd, TLS1_3_VERSION,
                                 false},
                      ServerCase{FtpServerKind::kVsftpd, TLS1_2_VERSION, false},
                      ServerCase{FtpServerKind::kVsftpd, TLS1_3_VERSION, true}),
    [](const auto& info) { return info.param.Name(); });

// --session-cache: the second run (a new process) resumes the first run's
// control session.
class FtpsToolCacheTest : public FtpsToolTest {
 protected:
  // Whether the server resumes a control session made by another
  // connection. vsftpd makes its SSL_CTX (and so its ticket keys) before it
  // forks per connection: its tickets work across connections under TLS 1.2
  // and 1.3. ProFTPD under TLS 1.3 too. ProFTPD under TLS 1.2 does not: its
  // TLS log shows "TLSv1.2 connection accepted" with no "resumed session" on
  // the second run's control connection, because mod_tls sends no tickets
  // unless "TLSSessionTickets on", and without a TLSSessionCache
  // (mod_tls_shmcache...) each forked connection has its own empty session
  // ID cache. The tool must then say so and still work.
  bool ServerResumesAcrossConnections() const {
    return !(GetParam().kind == FtpServerKind::kProftpd &&
             GetParam().max_version == TLS1_2_VERSION);
  }
};

TEST_P(FtpsToolCacheTest, SessionCacheResumesTheControlConnectionNextRun) {
  server_->PutFile("c.txt", "cached\n");
  const std::string cache = Local("sessions.cache");
  const std::vector<std::string> args = {
      "-v", "--cacert", ca_, "--session-cache", cache, "ls", Url("")};
  ToolRun first = Ftps(args);
  ASSERT_EQ(first.exit_code, kExitOk) << first;
  ExpectVerboseReport(first, 1);
  EXPECT_THAT(first.output,
              HasSubstr(absl::StrCat("control connection: ", TlsVersion(),
                                     ", session NOT reused")))
      << first;
  struct stat st;
  ASSERT_EQ(stat(cache.c_str(), &st), 0) << "no session cache file";
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  EXPECT_GT(st.st_size, 0);

  ToolRun second = Ftps(args);  // A new process: only the file carries over.
  ASSERT_EQ(second.exit_code, kExitOk) << second << "\n" << server_->log();
  ExpectVerboseReport(second, 1);
  EXPECT_THAT(second.output, HasSubstr("c.txt")) << second;
  EXPECT_THAT(second.output,
              HasSubstr(absl::StrCat("control connection: ", TlsVersion(),
                                     ServerResumesAcrossConnections()
                                         ? ", session reused"
                                         : ", session NOT reused")))
      << second << "\n"
      << server_->log();
  ASSERT_EQ(stat(cache.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  ExpectCleanServerLog();
}

INSTANTIATE_TEST_SUITE_P(
    Servers, FtpsToolCacheTest,
    ::testing::Values(
        ServerCase{FtpServerKind::kVsftpd, TLS1_3_VERSION, false},
        ServerCase{FtpServerKind::kProftpd, TLS1_3_VERSION, false},
        ServerCase{FtpServerKind::kVsftpd, TLS1_2_VERSION, false},
        ServerCase{FtpServerKind::kProftpd, TLS1_2_VERSION, false}),
    [](const auto& info) { return info.param.Name(); });

// Everything else, against both servers (TLS 1.3, explicit FTPS).
class FtpsToolServerTest : public FtpsToolTest {};

TEST_P(FtpsToolServerTest, ParallelGetOfManyFilesIsIntactAndClean) {
  constexpr int kFiles = 24;
  std::vector<std::string> contents;
  std::vector<std::string> args = {
      "-v",           "--cacert",   ca_,          "get",
      "--output-dir", Local("out"), "--parallel", "4"};
  for (int i = 0; i < kFiles; ++i) {
    // 0 bytes, 1 byte, a few KB ... about 2 MB.
    const size_t size = i == 0   ? 0
                        : i == 1 ? 1
                                 : (size_t{1} << (i % 12 + 10)) + i * 997;
    contents.push_back(PseudoRandomBytes(size, 100 + i));
    const std::string name = absl::StrCat("file", i, ".bin");
    server_->PutFile(name, contents.back());
    args.push_back(Url(name));
  }
  ASSERT_EQ(mkdir(Local("out").c_str(), 0755), 0);
  ToolRun get = Ftps(args);
  ASSERT_EQ(get.exit_code, kExitOk) << get << "\n" << server_->log();
  for (int i = 0; i < kFiles; ++i) {
    const std::string path = Local(absl::StrCat("out/file", i, ".bin"));
    EXPECT_EQ(Sha256Hex(ReadFileOrEmpty(path)), Sha256Hex(contents[i])) << path;
  }
  const std::vector<std::string> names = ListDir(Local("out"));
  EXPECT_EQ(names.size(), static_cast<size_t>(kFiles));
  for (const std::string& name : names) {
    EXPECT_FALSE(absl::EndsWith(name, ".part")) << name;
  }
  // Four control connections, 24 data connections, all resumed.
  EXPECT_EQ(LinesStartingWith(get.output, "control connection: ").size(), 4u)
      << get;
  const auto data = LinesStartingWith(get.output, "data connection ");
  EXPECT_EQ(data.size(), static_cast<size_t>(kFiles)) << get;
  for (const std::string& line : data) {
    EXPECT_THAT(line, HasSubstr(", session reused, ")) << get;
  }
  EXPECT_THAT(get.output, Not(HasSubstr("session NOT reused, "))) << get;
  EXPECT_THAT(get.output, Not(HasSubstr(FtpServer::kPassword)));
  ExpectCleanServerLog();
}

TEST_P(FtpsToolServerTest, NoFsyncStillDeliversWholeFilesUnderTheirNames) {
  const std::string contents = PseudoRandomBytes(700 * 1024 + 13, 7);
  server_->PutFile("big.bin", contents);
  ASSERT_EQ(mkdir(Local("nofsync").c_str(), 0755), 0);
  ToolRun get = Ftps({"--cacert", ca_, "--no-fsync", "get", "--output-dir",
                      Local("nofsync"), Url("big.bin")});
  ASSERT_EQ(get.exit_code, kExitOk) << get;
  EXPECT_EQ(Sha256Hex(ReadFileOrEmpty(Local("nofsync/big.bin"))),
            Sha256Hex(contents));
  EXPECT_EQ(ListDir(Local("nofsync")),
            std::vector<std::string>{"big.bin"});  // No part file left.
}

TEST_P(FtpsToolServerTest, WrongPasswordExits4QuotingThe530) {
  ToolRun r = Ftps({"--cacert", ca_, "ls",
                    Url("", absl::StrCat(FtpServer::kUser, ":wrong-pass"))});
  EXPECT_EQ(r.exit_code, kExitLogin) << r;
  EXPECT_THAT(r.output, HasSubstr("530")) << r;
  EXPECT_THAT(r.output, Not(HasSubstr("wrong-pass"))) << r;
}

TEST_P(FtpsToolServerTest, UntrustedCertificateExits3) {
  // No --cacert: the system store does not know the test CA.
  ToolRun r = Ftps({"ls", Url("")});
  EXPECT_EQ(r.exit_code, kExitConnection) << r;
  EXPECT_THAT(absl::AsciiStrToLower(r.output), HasSubstr("certificate")) << r;
  EXPECT_THAT(absl::AsciiStrToLower(r.output), HasSubstr("verif")) << r;
  // Nothing was sent before the certificate was checked.
  ToolRun v = Ftps({"-v", "ls", Url("")});
  EXPECT_EQ(v.exit_code, kExitConnection) << v;
  EXPECT_THAT(v.output, Not(HasSubstr("> USER"))) << v;
}

TEST_P(FtpsToolServerTest, NoSessionReuseExits7AndLeavesNoFile) {
  server_->PutFile("n.bin", PseudoRandomBytes(100000, 3));
  ToolRun r = Ftps({"--cacert", ca_, "--no-session-reuse", "get", Url("n.bin"),
                    Local("n.bin")});
  EXPECT_EQ(r.exit_code, kExitReuseRequired) << r;
  EXPECT_THAT(r.output, HasSubstr("requires TLS session reuse")) << r;
  EXPECT_THAT(r.output, HasSubstr(IsVsftpd() ? "\"522" : "\"425")) << r;
  EXPECT_FALSE(PathExists(Local("n.bin")));
  EXPECT_FALSE(PathExists(Local("n.bin.part")));
}

TEST_P(FtpsToolServerTest, MissingLocalFileExits6) {
  ToolRun r =
      Ftps({"--cacert", ca_, "put", Local("does-not-exist"), Url("x.bin")});
  EXPECT_EQ(r.exit_code, kExitLocalFile) << r;
  EXPECT_THAT(r.output, HasSubstr("does-not-exist")) << r;
  EXPECT_FALSE(server_->Exists("x.bin"));
}

TEST_P(FtpsToolServerTest, UsageErrorsExit2) {
  ToolRun unknown = Ftps({"--cacert", ca_, "--frobnicate", "ls", Url("")});
  EXPECT_EQ(unknown.exit_code, kExitUsage) << unknown;
  EXPECT_THAT(unknown.output, HasSubstr("unknown option --frobnicate"))
      << unknown;
  EXPECT_THAT(unknown.output, HasSubstr("usage:")) << unknown;

  for (const std::string& bad :
       {std::string("http://localhost/x"),
        absl::StrCat("ftp://localhost:99999/x"),
        absl::StrCat("ftp://", FtpServer::kUser, ":", FtpServer::kPassword,
                     "@localhost:", server_->port(), "/a?b"),
        std::string("localhost")}) {
    ToolRun r = Ftps({"--cacert", ca_, "ls", bad});
    EXPECT_EQ(r.exit_code, kExitUsage) << r;
    EXPECT_THAT(r.output, HasSubstr("usage:")) << r;
    // Error messages never show the password.
    EXPECT_THAT(r.output, Not(HasSubstr(FtpServer::kPassword))) << r;
  }
  ToolRun no_command = Ftps({"--cacert", ca_});
  EXPECT_EQ(no_command.exit_code, kExitUsage) << no_command;
  ToolRun bad_parallel =
      Ftps({"--parallel", "0", "get", "--output-dir", dir_, Url("x")});
  EXPECT_EQ(bad_parallel.exit_code, kExitUsage) << bad_parallel;
}

TEST_P(FtpsToolServerTest, MissingRemoteFileExits5AndCreatesNoLocalFile) {
  const std::string dest = Local("missing.bin");
  ToolRun r = Ftps({"--cacert", ca_, "get", Url("missing.bin"), dest});
  EXPECT_EQ(r.exit_code, kExitRefused) << r;
  EXPECT_THAT(r.output, HasSubstr("550")) << r;
  EXPECT_FALSE(PathExists(dest));
  EXPECT_FALSE(PathExists(dest + ".part"))
      << "an empty .part file is left for a file the server does not have";
  // Among other files in a parallel get: they arrive, the missing one
  // leaves nothing behind, and the run fails.
  server_->PutFile("here1.bin", PseudoRandomBytes(30000, 1));
  server_->PutFile("here2.bin", PseudoRandomBytes(40000, 2));
  ASSERT_EQ(mkdir(Local("out").c_str(), 0755), 0);
  ToolRun many =
      Ftps({"--cacert", ca_, "get", "--output-dir", Local("out"), "--parallel",
            "2", Url("here1.bin"), Url("missing.bin"), Url("here2.bin")});
  EXPECT_EQ(many.exit_code, kExitRefused) << many;
  EXPECT_THAT(many.output, HasSubstr("missing.bin")) << many;
  EXPECT_EQ(ReadFileOrEmpty(Local("out/here1.bin")),
            PseudoRandomBytes(30000, 1));
  EXPECT_EQ(ReadFileOrEmpty(Local("out/here2.bin")),
            PseudoRandomBytes(40000, 2));
  EXPECT_THAT(ListDir(Local("out")),
              ::testing::UnorderedElementsAre("here1.bin", "here2.bin"));
  // rm of a missing file is a refusal too.
  ToolRun rm = Ftps({"--cacert", ca_, "rm", Url("missing.bin")});
  EXPECT_EQ(rm.exit_code, kExitRefused) << rm;
}

TEST_P(FtpsToolServerTest, InsecureWarnsOnStderrAndWorksWithoutCacert) {
  server_->PutFile("i.txt", "insecure\n");
  RunOptions o;
  o.split_stderr = true;
  ToolRun r = Ftps({"--insecure", "ls", Url("")}, o);
  ASSERT_EQ(r.exit_code, kExitOk) << r;
  EXPECT_THAT(r.err, HasSubstr("WARNING: --insecure")) << r;
  EXPECT_THAT(r.err, HasSubstr("NOT verified")) << r;
  EXPECT_THAT(r.output, Not(HasSubstr("WARNING"))) << r;  // stdout
  EXPECT_THAT(r.output, HasSubstr("i.txt")) << r;
  // Without the warning's cause, no warning.
  ToolRun verified = Ftps({"--cacert", ca_, "ls", Url("")}, o);
  ASSERT_EQ(verified.exit_code, kExitOk) << verified;
  EXPECT_THAT(verified.err, Not(HasSubstr("WARNING"))) << verified;
}

TEST_P(FtpsToolServerTest, PasswordFromTheEnvironment) {
  server_->PutFile("e.txt", "env\n");
  const std::string url = Url("", FtpServer::kUser);  // No password.
  RunOptions o;
  o.env = {absl::StrCat("FTPS_PASSWORD=", FtpServer::kPassword)};
  ToolRun r = Ftps({"-v", "--cacert", ca_, "ls", url}, o);
  ASSERT_EQ(r.exit_code, kExitOk) << r;
  EXPECT_THAT(r.output, HasSubstr("e.txt")) << r;
  EXPECT_THAT(r.output, HasSubstr("> USER tlsftp")) << r;
  EXPECT_THAT(r.output, Not(HasSubstr(FtpServer::kPassword))) << r;
  // The variable is what was used: a wrong one is a refused login...
  o.env = {"FTPS_PASSWORD=wrong-pass"};
  ToolRun wrong = Ftps({"--cacert", ca_, "ls", url}, o);
  EXPECT_EQ(wrong.exit_code, kExitLogin) << wrong;
  // ...and without it there is no password at all.
  ToolRun none = Ftps({"--cacert", ca_, "ls", url});
  EXPECT_NE(none.exit_code, kExitOk) << none;
  EXPECT_THAT(none.output, HasSubstr("no password")) << none;
}

TEST_P(FtpsToolServerTest, PasswordFromNetrc) {
  server_->PutFile("n.txt", "netrc\n");
  const std::string home = Local("netrc-home");
  ASSERT_EQ(mkdir(home.c_str(), 0700), 0);
  WriteFileOrDie(
      home + "/.netrc",
      absl::StrCat("machine elsewhere login x password y\n"
                   "machine localhost login ",
                   FtpServer::kUser, " password ", FtpServer::kPassword, "\n"));
  ASSERT_EQ(chmod((home + "/.netrc").c_str(), 0600), 0);
  RunOptions o;
  o.home = home;
  // The user in the URL, the password from .netrc.
  ToolRun r = Ftps({"-v", "--cacert", ca_, "ls", Url("", FtpServer::kUser)}, o);
  ASSERT_EQ(r.exit_code, kExitOk) << r;
  EXPECT_THAT(r.output, HasSubstr("n.txt")) << r;
  EXPECT_THAT(r.output, HasSubstr("> USER tlsftp")) << r;
  EXPECT_THAT(r.output, Not(HasSubstr(FtpServer::kPassword))) << r;
  // No user in the URL: both from .netrc.
  ToolRun both = Ftps({"-v", "--cacert", ca_, "ls", Url("", "")}, o);
  ASSERT_EQ(both.exit_code, kExitOk) << both;
  EXPECT_THAT(both.output, HasSubstr("> USER tlsftp")) << both;
  EXPECT_THAT(both.output, HasSubstr("n.txt")) << both;
  // The same URL without that .netrc fails: the file is what logged in.
  ToolRun without = Ftps({"--cacert", ca_, "ls", Url("", FtpServer::kUser)});
  EXPECT_NE(without.exit_code, kExitOk) << without;
}

INSTANTIATE_TEST_SUITE_P(Servers, FtpsToolServerTest,
                         ::testing::Values(ServerCase{FtpServerKind::kVsftpd,
                                                      TLS1_3_VERSION, false},
                                           ServerCase{FtpServerKind::kProftpd,
                                                      TLS1_3_VERSION, false}),
                         [](const auto& info) { return info.param.Name(); });

}  // namespace
}  // namespace tlsession::testing
