// The `ftps` tool (//tools:ftps) as a user meets it, run as a real child
// process against real vsftpd and ProFTPD on loopback: its progress and
// summary, where downloads land, resuming that skips, and the basics
// (--version, usage hints, config file, --json).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
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

  // Runs `ftps --cacert CA ARGS...` in the folder |cwd| (default: ours),
  // stderr apart.
  ToolRun Ftps(std::vector<std::string> args, std::vector<std::string> env = {},
               std::string cwd = "") {
    args.insert(args.begin(), {"--cacert", ca_});
    RunOptions options;
    options.split_stderr = true;
    options.env = std::move(env);
    options.cwd = std::move(cwd);
    return tool_->Run(args, options, kChildTimeout);
  }
  ToolRun FtpsIn(const std::string& cwd, std::vector<std::string> args) {
    return Ftps(std::move(args), {}, cwd);
  }

  // Makes the folder |name| under ours; returns its path.
  std::string MakeDir(const std::string& name) {
    const std::string path = Local(name);
    EXPECT_EQ(mkdir(path.c_str(), 0755), 0) << path;
    return path;
  }

  // The mode bits of |path| (lstat).
  static mode_t ModeOf(const std::string& path) {
    struct stat st;
    return lstat(path.c_str(), &st) == 0 ? st.st_mode : 0;
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

TEST_P(FtpsToolUxTest, ABatchHasOneOverallLineAndOneSummary) {
  std::vector<std::string> args = {"--progress=line", "get",
                                   "--output-dir",    MakeDir("out"),
                                   "--parallel",      "2"};
  for (int i = 0; i < 3; ++i) {
    const std::string name = absl::StrCat("f", i, ".bin");
    server_->PutFile(name, std::string(1024, 'a' + i));
    args.push_back(Url(name));
  }
  ToolRun get = Ftps(args, {"COLUMNS=200"});
  ASSERT_EQ(get.exit_code, kExitOk) << get << get.err;
  const std::vector<std::string> last = LastLines(get.err);
  ASSERT_EQ(last.size(), 2u) << get.err;
  EXPECT_THAT(last[0], ContainsRegex("^\\[3/3\\]  f[0-2]\\.bin  3\\.0 KiB  "))
      << get.err;
  EXPECT_THAT(last[1],
              ContainsRegex("^ftps: 3 ok, 0 failed; 3\\.0 KiB in [0-9.]+ s, "
                            ".*3 files$"))
      << get.err;
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

// ------------------------------------------------------------ destinations

TEST_P(FtpsToolUxTest, DestinationsLikeTheOtherTools) {
  server_->PutFile("a.txt", "alpha\n");
  const std::string cwd = MakeDir("cwd");
  // No local name: the remote base name, here.
  ToolRun none = FtpsIn(cwd, {"get", Url("a.txt")});
  ASSERT_EQ(none.exit_code, kExitOk) << none << none.err;
  EXPECT_EQ(ReadFileOrEmpty(cwd + "/a.txt"), "alpha\n");
  // A folder (".", "sub/", "sub") takes the remote name; never a "..part".
  ASSERT_EQ(unlink((cwd + "/a.txt").c_str()), 0);
  ToolRun dot = FtpsIn(cwd, {"get", Url("a.txt"), "."});
  ASSERT_EQ(dot.exit_code, kExitOk) << dot << dot.err;
  EXPECT_EQ(ReadFileOrEmpty(cwd + "/a.txt"), "alpha\n");
  const std::string sub = MakeDir("cwd/sub");
  ToolRun slash = FtpsIn(cwd, {"get", Url("a.txt"), "sub/"});
  ASSERT_EQ(slash.exit_code, kExitOk) << slash << slash.err;
  EXPECT_EQ(ReadFileOrEmpty(sub + "/a.txt"), "alpha\n");
  ToolRun bare = Ftps({"get", Url("a.txt"), sub});
  ASSERT_EQ(bare.exit_code, kExitOk) << bare << bare.err;
  EXPECT_THAT(ListDir(cwd), ::testing::UnorderedElementsAre("a.txt", "sub"));
  EXPECT_EQ(ListDir(sub), std::vector<std::string>{"a.txt"});
  // "-" and /dev/stdout: the bytes on stdout, nothing else there.
  ToolRun dash = Ftps({"get", Url("a.txt"), "-"});
  ASSERT_EQ(dash.exit_code, kExitOk) << dash << dash.err;
  EXPECT_EQ(dash.output, "alpha\n");
  ToolRun dev = Ftps({"get", Url("a.txt"), "/dev/stdout"});
  ASSERT_EQ(dev.exit_code, kExitOk) << dev << dev.err;
  EXPECT_EQ(dev.output, "alpha\n");
}

TEST_P(FtpsToolUxTest, BadDestinationsFailBeforeTransferring) {
  server_->PutFile("a.txt", "alpha\n");
  WriteFileOrDie(Local("target"), "kept\n");
  ASSERT_EQ(symlink(Local("target").c_str(), Local("link.txt").c_str()), 0);
  ToolRun link = Ftps({"get", Url("a.txt"), Local("link.txt")});
  EXPECT_EQ(link.exit_code, kExitLocalFile) << link << link.err;
  EXPECT_THAT(link.err, HasSubstr("symlink")) << link.err;
  EXPECT_THAT(link.err, Not(HasSubstr("alpha"))) << link.err;
  EXPECT_EQ(ReadFileOrEmpty(Local("target")), "kept\n");
  EXPECT_FALSE(PathExists(Local("link.txt.part")));
  ToolRun nodir = Ftps({"get", Url("a.txt"), Local("nodir/a.txt")});
  EXPECT_EQ(nodir.exit_code, kExitLocalFile) << nodir << nodir.err;
  EXPECT_THAT(nodir.err, HasSubstr("nodir")) << nodir.err;
  // Neither connected: no summary.
  EXPECT_THAT(link.err + nodir.err, Not(HasSubstr(" in "))) << link.err;
  ToolRun folder_url = Ftps({"get", Url("")});
  EXPECT_EQ(folder_url.exit_code, kExitUsage) << folder_url << folder_url.err;
}

TEST_P(FtpsToolUxTest, FilesHonourTheUmaskNoClobberAndRemoteTime) {
  server_->PutFile("a.txt", "alpha\n");
  const absl::Time remote = absl::FromUnixSeconds(981173106);  // 2001-02-03.
  const struct timespec times[2] = {absl::ToTimespec(remote),
                                    absl::ToTimespec(remote)};
  ASSERT_EQ(utimensat(AT_FDCWD, (server_->root() + "/a.txt").c_str(), times, 0),
            0);
  const mode_t old_mask = umask(022);
  ToolRun get = Ftps({"--remote-time", "get", Url("a.txt"), Local("a")});
  umask(077);
  ToolRun strict = Ftps({"get", Url("a.txt"), Local("b")});
  umask(old_mask);
  ASSERT_EQ(get.exit_code, kExitOk) << get << get.err;
  ASSERT_EQ(strict.exit_code, kExitOk) << strict << strict.err;
  EXPECT_EQ(ModeOf(Local("a")) & 0777, 0644u);
  EXPECT_EQ(ModeOf(Local("b")) & 0777, 0600u);
  struct stat st;
  ASSERT_EQ(stat(Local("a").c_str(), &st), 0);
  EXPECT_EQ(st.st_mtime, absl::ToTimeT(remote));

  WriteFileOrDie(Local("c"), "mine\n");
  ToolRun keep = Ftps({"--no-clobber", "get", Url("a.txt"), Local("c")});
  EXPECT_EQ(keep.exit_code, kExitOk) << keep << keep.err;
  EXPECT_THAT(keep.err, HasSubstr("--no-clobber")) << keep.err;
  EXPECT_EQ(ReadFileOrEmpty(Local("c")), "mine\n");
}

TEST_P(FtpsToolUxTest, PutToAFolderUrlAppendsTheName) {
  WriteFileOrDie(Local("up.txt"), "upload\n");
  ASSERT_EQ(Ftps({"mkdir", Url("dir")}).exit_code, kExitOk);
  ToolRun put = Ftps({"put", Local("up.txt"), Url("dir/")});
  ASSERT_EQ(put.exit_code, kExitOk) << put << put.err;
  EXPECT_EQ(server_->GetFile("dir/up.txt"), "upload\n");
  ToolRun top = Ftps({"put", Local("up.txt"), Url("")});
  ASSERT_EQ(top.exit_code, kExitOk) << top << top.err;
  EXPECT_EQ(server_->GetFile("up.txt"), "upload\n");
}

// ------------------------------------------------------------------ resume

TEST_P(FtpsToolUxTest, ContinueSkipsACompleteFileAndHintsOtherwise) {
  const std::string payload = PseudoRandomBytes(300 * 1024, 9);
  server_->PutFile("big.bin", payload);
  ASSERT_EQ(Ftps({"get", Url("big.bin"), Local("big")}).exit_code, kExitOk);
  ToolRun again = Ftps({"--continue", "get", Url("big.bin"), Local("big")});
  ASSERT_EQ(again.exit_code, kExitOk) << again << again.err;
  EXPECT_THAT(again.err, HasSubstr("0 B in ")) << again.err;
  EXPECT_THAT(again.err, HasSubstr("1 already complete")) << again.err;
  EXPECT_THAT(again.err, Not(HasSubstr("data connection"))) << again.err;
  EXPECT_EQ(ReadFileOrEmpty(Local("big")), payload);

  // Same size but older than the server's file: downloaded again.
  const struct timespec old[2] = {{1000000000, 0}, {1000000000, 0}};
  ASSERT_EQ(utimensat(AT_FDCWD, Local("big").c_str(), old, 0), 0);
  ToolRun older = Ftps({"--continue", "get", Url("big.bin"), Local("big")});
  ASSERT_EQ(older.exit_code, kExitOk) << older << older.err;
  EXPECT_THAT(older.err, HasSubstr(", 1 file, ")) << older.err;

  // A part file that a plain get replaces: the hint names --continue.
  WriteFileOrDie(Local("other.part"), payload.substr(0, 1000));
  ToolRun hint = Ftps({"get", Url("big.bin"), Local("other")});
  ASSERT_EQ(hint.exit_code, kExitOk) << hint << hint.err;
  EXPECT_THAT(hint.err, HasSubstr("--continue would resume it")) << hint.err;
  // --continue resumes it: the summary counts the kept bytes.
  WriteFileOrDie(Local("third.part"), payload.substr(0, 1024));
  ToolRun resumed = Ftps({"--continue", "get", Url("big.bin"), Local("third")});
  ASSERT_EQ(resumed.exit_code, kExitOk) << resumed << resumed.err;
  EXPECT_THAT(resumed.err, HasSubstr("299.0 KiB in ")) << resumed.err;
  EXPECT_THAT(resumed.err, HasSubstr("1.0 KiB resumed")) << resumed.err;
  EXPECT_EQ(ReadFileOrEmpty(Local("third")), payload);
}

TEST_P(FtpsToolUxTest, RetryBacksOffAfterAConnectionError) {
  // Port 1 on loopback: nothing listens there; the connection is refused.
  ToolRun r = Ftps({"--retry", "2", "get", "ftp://u:pw@127.0.0.1:1/f", "-"});
  EXPECT_EQ(r.exit_code, kExitConnection) << r << r.err;
  EXPECT_THAT(r.err, HasSubstr("retrying in 1s (1 of 2)")) << r.err;
  EXPECT_THAT(r.err, HasSubstr("retrying in 2s (2 of 2)")) << r.err;
  EXPECT_THAT(r.err, Not(HasSubstr("pw@"))) << r.err;
  // A refusal is not retried.
  ToolRun missing = Ftps({"--retry", "2", "get", Url("missing"), Local("m")});
  EXPECT_EQ(missing.exit_code, kExitRefused) << missing << missing.err;
  EXPECT_THAT(missing.err, Not(HasSubstr("retrying"))) << missing.err;
}

// ------------------------------------------------------------------ basics

TEST_P(FtpsToolUxTest, VersionHelpAndAShortUsageHint) {
  ToolRun version = tool_->Run({"--version"});
  EXPECT_EQ(version.exit_code, kExitOk) << version;
  EXPECT_THAT(version.output, ContainsRegex("^ftps [0-9.]+ \\(tlsession, "))
      << version;
  ToolRun help = tool_->Run({"--help"});
  EXPECT_EQ(help.exit_code, kExitOk) << help;
  EXPECT_THAT(help.output, HasSubstr("--limit-rate")) << help;
  EXPECT_THAT(help.output, HasSubstr("exit codes:")) << help;
  ToolRun bad = Ftps({"--frobnicate", "ls", Url("")});
  EXPECT_EQ(bad.exit_code, kExitUsage) << bad << bad.err;
  EXPECT_THAT(bad.err, HasSubstr("unknown option --frobnicate")) << bad.err;
  EXPECT_THAT(bad.err, HasSubstr("ftps --help")) << bad.err;
  EXPECT_LE(std::count(bad.err.begin(), bad.err.end(), '\n'), 12) << bad.err;
}

TEST_P(FtpsToolUxTest, JsonForListingsAndTransfers) {
  server_->PutFile("a.txt", "alpha\n");
  ToolRun ls = Ftps({"--json", "ls", Url("")});
  ASSERT_EQ(ls.exit_code, kExitOk) << ls << ls.err;
  EXPECT_THAT(ls.output, ContainsRegex("^\\[\n  \\{\"name\": ")) << ls.output;
  EXPECT_THAT(ls.output, HasSubstr("{\"name\": \"a.txt\"")) << ls.output;
  if (GetParam().kind == FtpServerKind::kProftpd) {  // MLSD's facts.
    EXPECT_THAT(ls.output, HasSubstr("\"size\": \"6\"")) << ls.output;
    EXPECT_THAT(ls.output, HasSubstr("\"type\": \"file\"")) << ls.output;
  }
  ToolRun get = Ftps({"--json", "get", Url("a.txt"), Local("a")});
  ASSERT_EQ(get.exit_code, kExitOk) << get << get.err;
  EXPECT_THAT(get.output,
              ContainsRegex("^\\{\"command\": \"get\", \"remote\": "
                            "\"a.txt\", .*\"bytes\": 6, .*\"data_resumed\": "
                            "1\\}\n$"))
      << get.output;
  EXPECT_EQ(get.err, "");  // The JSON replaces the summary.
}

TEST_P(FtpsToolUxTest, ConfigFileGivesPerHostDefaults) {
  server_->PutFile("a.txt", "alpha\n");
  const std::string folder = home_ + "/.config/ftps";
  ASSERT_EQ(mkdir((home_ + "/.config").c_str(), 0700), 0);
  ASSERT_EQ(mkdir(folder.c_str(), 0700), 0);
  const std::string config = folder + "/config";
  WriteFileOrDie(config, absl::StrCat("# test\n[localhost:", server_->port(),
                                      "]\ncacert = ", ca_, "\n"));
  ASSERT_EQ(chmod(config.c_str(), 0600), 0);
  RunOptions split;
  split.split_stderr = true;
  // No --cacert: the server is trusted through the config's CA file.
  ToolRun get = tool_->Run({"get", Url("a.txt"), Local("a")}, split);
  ASSERT_EQ(get.exit_code, kExitOk) << get << get.err;
  EXPECT_EQ(ReadFileOrEmpty(Local("a")), "alpha\n");
  // Others may read it: refused, as a key would be.
  ASSERT_EQ(chmod(config.c_str(), 0644), 0);
  ToolRun open = tool_->Run({"get", Url("a.txt"), Local("b")}, split);
  EXPECT_EQ(open.exit_code, kExitUsage) << open << open.err;
  EXPECT_THAT(open.err, HasSubstr("config file")) << open.err;
  ToolRun missing = Ftps({"--config", Local("none"), "ls", Url("")});
  EXPECT_EQ(missing.exit_code, kExitUsage) << missing << missing.err;
}

TEST_P(FtpsToolUxTest, ClientKeyIsASecretFileAndGoesWithACertificate) {
  WriteFileOrDie(Local("client.pem"), "not used\n");
  WriteFileOrDie(Local("client.key"), "not used\n");
  ASSERT_EQ(chmod(Local("client.key").c_str(), 0644), 0);
  ToolRun open = Ftps({"--cert", Local("client.pem"), "--key",
                       Local("client.key"), "ls", Url("")});
  EXPECT_EQ(open.exit_code, kExitUsage) << open << open.err;
  EXPECT_THAT(open.err, HasSubstr("client key file")) << open.err;
  ToolRun alone = Ftps({"--cert", Local("client.pem"), "ls", Url("")});
  EXPECT_EQ(alone.exit_code, kExitUsage) << alone << alone.err;
  EXPECT_THAT(alone.err, HasSubstr("--cert and --key")) << alone.err;
}

TEST_P(FtpsToolUxTest, LimitRateStillDeliversWholeFiles) {
  const std::string payload = PseudoRandomBytes(256 * 1024, 3);
  server_->PutFile("f.bin", payload);
  ToolRun get = Ftps({"--limit-rate", "2M", "get", Url("f.bin"), Local("f")});
  ASSERT_EQ(get.exit_code, kExitOk) << get << get.err;
  EXPECT_EQ(ReadFileOrEmpty(Local("f")), payload);
  ToolRun put = Ftps({"--limit-rate", "2M", "put", Local("f"), Url("g.bin")});
  ASSERT_EQ(put.exit_code, kExitOk) << put << put.err;
  EXPECT_EQ(server_->GetFile("g.bin"), payload);
  ToolRun bad = Ftps({"--limit-rate", "fast", "ls", Url("")});
  EXPECT_EQ(bad.exit_code, kExitUsage) << bad << bad.err;
}

// ----------------------------------------------------------------- smaller

TEST_P(FtpsToolUxTest, VerboseNormalSessionHasNoWarnings) {
  server_->PutFile("a.txt", "alpha\n");
  ToolRun ls = Ftps({"-v", "ls", Url("")});
  ASSERT_EQ(ls.exit_code, kExitOk) << ls << ls.err;
  EXPECT_THAT(ls.err, HasSubstr("< 221")) << ls.err;
  EXPECT_THAT(ls.err, Not(HasSubstr("clean end"))) << ls.err;
  EXPECT_THAT(ls.err, Not(HasSubstr("close_notify"))) << ls.err;
  EXPECT_THAT(ls.err, Not(HasSubstr("WARNING"))) << ls.err;
  EXPECT_THAT(ls.err, Not(HasSubstr("warning"))) << ls.err;
}

TEST_P(FtpsToolUxTest, LsOfAMissingFolderFailsWithTheReply) {
  ASSERT_EQ(Ftps({"mkdir", Url("empty")}).exit_code, kExitOk);
  ToolRun empty = Ftps({"ls", Url("empty")});
  EXPECT_EQ(empty.exit_code, kExitOk) << empty << empty.err;
  EXPECT_EQ(empty.output, "");
  ToolRun missing = Ftps({"ls", Url("no-such-folder")});
  EXPECT_EQ(missing.exit_code, kExitRefused) << missing << missing.err;
  EXPECT_THAT(missing.err, ContainsRegex("[45]50")) << missing.err;
  EXPECT_THAT(missing.err, HasSubstr("no-such-folder")) << missing.err;
  ToolRun json = Ftps({"--json", "ls", Url("no-such-folder")});
  EXPECT_EQ(json.exit_code, kExitRefused) << json << json.err;
}

TEST_P(FtpsToolUxTest, TheWrongSchemeGetsAHint) {
  FtpServerCase implicit_case = GetParam();
  implicit_case.implicit_tls = true;
  auto implicit = FtpServer::Start(implicit_case.Options());
  ASSERT_TRUE(implicit.ok()) << implicit.status();
  const std::string implicit_port = absl::StrCat((*implicit)->port());
  // ftp:// where TLS comes first: no greeting arrives.
  ToolRun plain =
      Ftps({"--timeout", "1", "ls",
            absl::StrCat("ftp://u:pw@localhost:", implicit_port, "/")});
  EXPECT_EQ(plain.exit_code, kExitConnection) << plain << plain.err;
  EXPECT_THAT(plain.err, HasSubstr(absl::StrCat(
                             "localhost:", implicit_port,
                             ": if it speaks implicit TLS, use ftps://")))
      << plain.err;
  // ftps:// where the greeting comes in clear.
  ToolRun tls = Ftps(
      {"ls", absl::StrCat("ftps://u:pw@localhost:", server_->port(), "/")});
  EXPECT_EQ(tls.exit_code, kExitConnection) << tls << tls.err;
  EXPECT_THAT(tls.err, HasSubstr("use ftp://")) << tls.err;
}

TEST_P(FtpsToolUxTest, Ipv6AddressesArePrintedInBrackets) {
  ToolRun r = Ftps({"ls", "ftp://u:pw@[::1]:1/"});
  EXPECT_EQ(r.exit_code, kExitConnection) << r << r.err;
  EXPECT_THAT(r.err, HasSubstr("[::1]:1")) << r.err;
  EXPECT_THAT(r.err, Not(HasSubstr(" ::1:1"))) << r.err;
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
