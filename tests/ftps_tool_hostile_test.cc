// The `ftps` tool (//tools:ftps) as a real child process against the
// hostile FTPS server (tests/testing/hostile_ftp_server.h) on loopback: what
// it does with passwords, with text the server sends, with part files in
// folders others can write, when it falls back to plaintext, and which exit
// code each failure gives.
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testbed/certs.h"
#include "testbed/data.h"
#include "testbed/subprocess.h"
#include "tests/testing/files.h"
#include "tests/testing/ftps_tool.h"
#include "tests/testing/hostile_ftp_server.h"

namespace tlsession::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// The password every URL in these tests holds: "%21" in URLs is '!'. Its
// core appears in both spellings, so one search finds either.
constexpr char kSecret[] = "Zq9S3cret!Pw";
constexpr char kSecretInUrl[] = "Zq9S3cret%21Pw";
constexpr char kSecretCore[] = "Zq9S3cret";

std::string Payload() { return PseudoRandomBytes(200000, 7); }

class HostileToolTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir();
    ca_ = Local("ca.pem");
    WriteFileOrDie(ca_, GetTestPki().ca.cert_pem);
    home_ = Local("home");
    ASSERT_EQ(mkdir(home_.c_str(), 0700), 0);
    tool_ = std::make_unique<FtpsTool>(dir_, home_);
    ASSERT_TRUE(PathExists(FtpsBinary())) << FtpsBinary();
  }

  void StartServer(HostileOptions o = HostileOptions()) {
    if (o.file.empty()) o.file = Payload();
    auto server = HostileFtpServer::Start(std::move(o));
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
  }

  std::string Local(const std::string& name) const {
    return absl::StrCat(dir_, "/", name);
  }

  // ftp://USERINFO@localhost:PORT/PATH (no "@" for an empty |userinfo|).
  std::string Url(const std::string& path,
                  const std::string& userinfo =
                      absl::StrCat("alice:", kSecretInUrl)) const {
    return absl::StrCat("ftp://", userinfo, userinfo.empty() ? "" : "@",
                        "localhost:", server_->port(), "/", path);
  }

  ToolRun Ftps(const std::vector<std::string>& args,
               const RunOptions& options = RunOptions()) {
    return tool_->Run(args, options);
  }

  // The PASS lines the server read.
  std::vector<std::string> PasswordsSent() const {
    std::vector<std::string> out;
    for (const std::string& c : server_->commands()) {
      if (absl::StartsWith(c, "PASS ")) out.push_back(c.substr(5));
    }
    return out;
  }

  std::string dir_;
  std::string ca_;
  std::string home_;
  std::unique_ptr<FtpsTool> tool_;
  std::unique_ptr<HostileFtpServer> server_;
};

// ----------------------------------------------- Part files and symlinks ---

// A folder anyone may write to (not sticky), where another user planted
// "report.txt.part" as a symlink to a file of ours.
class SharedFolderTest : public HostileToolTest {
 protected:
  void SetUp() override {
    HostileToolTest::SetUp();
    StartServer();
    shared_ = Local("shared");
    ASSERT_EQ(mkdir(shared_.c_str(), 0777), 0);
    ASSERT_EQ(chmod(shared_.c_str(), 0777), 0);
    ASSERT_EQ(mkdir(Local("victim").c_str(), 0700), 0);
    victim_ = Local("victim/important.conf");
    WriteFileOrDie(victim_, "precious\n");
  }

  void ExpectVictimIntact() {
    EXPECT_EQ(ReadFileOrEmpty(victim_), "precious\n");
    EXPECT_TRUE(S_ISREG(LinkMode(victim_)));
  }

  std::string shared_;
  std::string victim_;
};

TEST_F(SharedFolderTest, APlantedSymlinkAsPartFileIsNeverFollowed) {
  const std::string dest = shared_ + "/report.txt";
  ASSERT_EQ(symlink(victim_.c_str(), (dest + ".part").c_str()), 0);
  ToolRun r = Ftps({"--cacert", ca_, "get", Url("report.txt"), dest});
  EXPECT_EQ(r.exit_code, kExitOk) << r;
  ExpectVictimIntact();
  // The download is a regular file of its own, with the umask's mode (its
  // part file was 0600 until complete).
  const mode_t mask = umask(022);
  umask(mask);
  EXPECT_TRUE(S_ISREG(LinkMode(dest))) << std::oct << LinkMode(dest);
  EXPECT_EQ(LinkMode(dest) & 0777, 0666 & ~mask) << std::oct << LinkMode(dest);
  EXPECT_EQ(ReadFileOrEmpty(dest), Payload());
  EXPECT_FALSE(PathExists(dest + ".part"));

  // The same with --output-dir and several files.
  ASSERT_EQ(symlink(victim_.c_str(), (shared_ + "/b.txt.part").c_str()), 0);
  ToolRun many = Ftps({"--cacert", ca_, "get", "--output-dir", shared_,
                       "--parallel", "2", Url("a.txt"), Url("b.txt")});
  EXPECT_EQ(many.exit_code, kExitOk) << many;
  ExpectVictimIntact();
  EXPECT_TRUE(S_ISREG(LinkMode(shared_ + "/b.txt")));
  EXPECT_EQ(ReadFileOrEmpty(shared_ + "/b.txt"), Payload());
}

TEST_F(SharedFolderTest, ResumeRefusesAPartFileThatIsASymlink) {
  const std::string dest = shared_ + "/report.txt";
  ASSERT_EQ(symlink(victim_.c_str(), (dest + ".part").c_str()), 0);
  ToolRun r =
      Ftps({"--cacert", ca_, "--continue", "get", Url("report.txt"), dest});
  EXPECT_EQ(r.exit_code, kExitLocalFile) << r;
  EXPECT_THAT(r.output, HasSubstr("report.txt.part")) << r;
  ExpectVictimIntact();
  EXPECT_FALSE(PathExists(dest));
  // Nothing was asked of the server for a part file that cannot be used.
  for (const std::string& c : server_->commands()) {
    EXPECT_FALSE(absl::StartsWith(c, "RETR")) << c;
  }
}

TEST_F(SharedFolderTest, NeverRenamesOverASymlink) {
  const std::string dest = shared_ + "/report.txt";
  ASSERT_EQ(symlink(victim_.c_str(), dest.c_str()), 0);
  ToolRun r = Ftps({"--cacert", ca_, "get", Url("report.txt"), dest});
  EXPECT_EQ(r.exit_code, kExitLocalFile) << r;
  EXPECT_THAT(r.output, HasSubstr("symlink")) << r;
  ExpectVictimIntact();
  EXPECT_TRUE(S_ISLNK(LinkMode(dest)));
}

// -------------------------------------------------------------------- mv ---

// The RNFR and RNTO lines the server read from index |from| on.
std::vector<std::string> RenamesFrom(const std::vector<std::string>& commands,
                                     size_t from) {
  std::vector<std::string> out;
  for (size_t i = from; i < commands.size(); ++i) {
    if (absl::StartsWith(commands[i], "RNFR ") ||
        absl::StartsWith(commands[i], "RNTO ")) {
      out.push_back(commands[i]);
    }
  }
  return out;
}

TEST_F(HostileToolTest, MvSendsOnlyPathsNeverAUrlOrAPassword) {
  StartServer();
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"b.txt", "dir/b.txt"},                         // Relative to dir/.
      {"/top/b.txt", "/top/b.txt"},                   // Absolute.
      {Url("other/b.txt"), "other/b.txt"},            // A same-server URL.
      {Url("c.txt", "alice:another%40pw"), "c.txt"},  // Any password.
  };
  for (const auto& [target, rnto] : cases) {
    for (bool verbose : {false, true}) {
      std::vector<std::string> args = {"--cacert", ca_, "mv", Url("dir/a.txt"),
                                       target};
      if (verbose) args.insert(args.begin(), "-v");
      const size_t before = server_->commands().size();
      ToolRun r = Ftps(args);
      EXPECT_EQ(r.exit_code, kExitOk) << r;
      EXPECT_THAT(r.output, Not(HasSubstr(kSecretCore))) << r;
      EXPECT_THAT(r.output, Not(HasSubstr("another"))) << r;
      EXPECT_THAT(RenamesFrom(server_->commands(), before),
                  ::testing::ElementsAre("RNFR dir/a.txt", "RNTO " + rnto));
      if (verbose) {
        EXPECT_THAT(r.output, HasSubstr("> RNTO " + rnto)) << r;
        EXPECT_THAT(r.output, HasSubstr("> PASS ****")) << r;
      }
    }
  }
  // No line the server read, but PASS, holds the password or a URL.
  for (const std::string& c : server_->commands()) {
    if (absl::StartsWith(c, "PASS ")) continue;
    EXPECT_THAT(c, Not(HasSubstr(kSecretCore)));
    EXPECT_THAT(c, Not(HasSubstr("://")));
  }
}

TEST_F(HostileToolTest, MvToAnotherServersUrlIsRefusedBeforeConnecting) {
  StartServer();
  const std::string port = absl::StrCat(server_->port());
  const std::string pw = kSecretInUrl;
  for (const std::string& target :
       {absl::StrCat("ftp://bob:", pw, "@localhost:", port, "/b"),
        absl::StrCat("ftp://alice:", pw, "@127.0.0.1:", port, "/b"),
        absl::StrCat("ftps://alice:", pw, "@localhost:", port, "/b"),
        absl::StrCat("ftp://alice:", pw, "@localhost:", server_->port() + 1,
                     "/b"),
        Url("")}) {
    for (bool verbose : {false, true}) {
      std::vector<std::string> args = {"--cacert", ca_, "mv", Url("a.txt"),
                                       target};
      if (verbose) args.insert(args.begin(), "-v");
      ToolRun r = Ftps(args);
      EXPECT_EQ(r.exit_code, kExitUsage) << r;
      EXPECT_THAT(r.output, HasSubstr("mv: ftp")) << r;
      EXPECT_THAT(r.output, Not(HasSubstr(kSecretCore))) << r;
    }
  }
  EXPECT_THAT(server_->commands(), ::testing::IsEmpty());
}

// ------------------------------------------------------------- Passwords ---

TEST_F(HostileToolTest, EnvironmentPasswordGoesOnlyToAUserTheUrlNames) {
  StartServer();
  RunOptions o;
  o.env = {absl::StrCat("FTPS_PASSWORD=", kSecret)};
  for (const std::string& userinfo :
       {std::string(""), std::string("anonymous"), std::string("ftp")}) {
    ToolRun r = Ftps({"--cacert", ca_, "ls", Url("", userinfo)}, o);
    EXPECT_EQ(r.exit_code, kExitOk) << r;
  }
  ToolRun named = Ftps({"--cacert", ca_, "ls", Url("", "alice")}, o);
  EXPECT_EQ(named.exit_code, kExitOk) << named;
  // Three anonymous logins that did not get it, then alice's that did.
  EXPECT_THAT(PasswordsSent(),
              ::testing::ElementsAre("anonymous@", "anonymous@", "anonymous@",
                                     kSecret));
  ToolRun help = Ftps({"--help"});
  EXPECT_EQ(help.exit_code, kExitOk);
  EXPECT_THAT(help.output, HasSubstr("$FTPS_PASSWORD is used only for a URL "
                                     "that names a user"))
      << help;
}

TEST_F(HostileToolTest, ExplicitPasswordNeedsAUserInTheUrl) {
  StartServer();
  ToolRun r = Ftps({"--cacert", ca_, "--password", kSecret, "ls", Url("", "")});
  EXPECT_EQ(r.exit_code, kExitUsage) << r;
  EXPECT_THAT(r.output, HasSubstr("names no user")) << r;
  EXPECT_THAT(r.output, Not(HasSubstr(kSecretCore))) << r;
  EXPECT_TRUE(server_->commands().empty());
}

TEST_F(HostileToolTest, PasswordFileMustBeReadableByItsOwnerOnly) {
  StartServer();
  const std::string file = Local("pw");
  WriteFileOrDie(file, absl::StrCat(kSecret, "\n"));
  for (mode_t mode : {0644, 0640, 0604, 0660}) {
    ASSERT_EQ(chmod(file.c_str(), mode), 0);
    ToolRun r = Ftps(
        {"--cacert", ca_, "--password-file", file, "ls", Url("", "alice")});
    EXPECT_EQ(r.exit_code, kExitUsage) << r;
    EXPECT_THAT(r.output, HasSubstr("0600")) << r;
    EXPECT_THAT(r.output, Not(HasSubstr(kSecretCore))) << r;
  }
  EXPECT_TRUE(server_->commands().empty()) << "connected with a bad file";
  // Nor through a symlink, even to a good file.
  ASSERT_EQ(chmod(file.c_str(), 0600), 0);
  ASSERT_EQ(symlink(file.c_str(), Local("pw-link").c_str()), 0);
  ToolRun link = Ftps({"--cacert", ca_, "--password-file", Local("pw-link"),
                       "ls", Url("", "alice")});
  EXPECT_EQ(link.exit_code, kExitUsage) << link;
  EXPECT_THAT(link.output, HasSubstr("symlink")) << link;
  // Nor one that someone else owns.
  const std::string theirs = Local("pw-theirs");
  WriteFileOrDie(theirs, kSecret);
  ASSERT_EQ(chmod(theirs.c_str(), 0600), 0);
  ASSERT_EQ(chown(theirs.c_str(), 12345, 12345), 0);
  ToolRun other = Ftps(
      {"--cacert", ca_, "--password-file", theirs, "ls", Url("", "alice")});
  EXPECT_EQ(other.exit_code, kExitUsage) << other;
  EXPECT_THAT(other.output, HasSubstr("owned by")) << other;
  EXPECT_TRUE(server_->commands().empty());
  // Mode 0600, the first line is the password (the newline is not).
  ToolRun good = Ftps(
      {"-v", "--cacert", ca_, "--password-file", file, "ls", Url("", "alice")});
  EXPECT_EQ(good.exit_code, kExitOk) << good;
  EXPECT_THAT(PasswordsSent(), ::testing::ElementsAre(kSecret));
  EXPECT_THAT(good.output, Not(HasSubstr(kSecretCore))) << good;
}

TEST_F(HostileToolTest, NetrcThatOthersCanReadGetsAWarning) {
  StartServer();
  const std::string netrc = home_ + "/.netrc";
  WriteFileOrDie(netrc, absl::StrCat("machine localhost login alice password ",
                                     kSecret, "\n"));
  RunOptions o;
  o.split_stderr = true;
  ASSERT_EQ(chmod(netrc.c_str(), 0644), 0);
  ToolRun loose = Ftps({"--cacert", ca_, "ls", Url("", "")}, o);
  EXPECT_EQ(loose.exit_code, kExitOk) << loose;
  EXPECT_THAT(loose.err, HasSubstr("warning")) << loose;
  EXPECT_THAT(loose.err, HasSubstr(".netrc")) << loose;
  EXPECT_THAT(loose.err, HasSubstr("chmod 600")) << loose;
  ASSERT_EQ(chmod(netrc.c_str(), 0600), 0);
  ToolRun tight = Ftps({"--cacert", ca_, "ls", Url("", "")}, o);
  EXPECT_EQ(tight.exit_code, kExitOk) << tight;
  EXPECT_THAT(tight.err, Not(HasSubstr("warning"))) << tight;
  EXPECT_THAT(PasswordsSent(), ::testing::ElementsAre(kSecret, kSecret));
}

// What a run on a terminal showed, and how it ended.
struct TerminalRun {
  int exit_code = -1;
  std::string screen;  // Everything written to the terminal.
  bool prompted = false;
};

// Reads what |master| has until |want| appears in |screen| (true) or the
// terminal closes (false). Bounded by a safety deadline, not timed.
bool ReadUntil(int master, std::string* screen, absl::string_view want) {
  const absl::Time deadline = absl::Now() + absl::Seconds(60);
  while (want.empty() || !absl::StrContains(*screen, want)) {
    pollfd p{master, POLLIN, 0};
    const int left =
        static_cast<int>(absl::ToInt64Milliseconds(deadline - absl::Now()));
    if (left <= 0 || poll(&p, 1, left) <= 0) return false;
    char buf[4096];
    const ssize_t n = read(master, buf, sizeof(buf));
    if (n <= 0) return false;  // EIO: the terminal's other side closed.
    screen->append(buf, static_cast<size_t>(n));
  }
  return true;
}

// Runs the tool on a new pseudo-terminal (its controlling terminal and
// stdin/stdout/stderr), types |typed| and Enter once |prompt| appears.
TerminalRun RunOnTerminal(const std::vector<std::string>& args,
                          const std::string& home, absl::string_view prompt,
                          const std::string& typed) {
  std::vector<std::string> argv_strings = {FtpsBinary()};
  argv_strings.insert(argv_strings.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& a : argv_strings) argv.push_back(&a[0]);
  argv.push_back(nullptr);
  setenv("HOME", home.c_str(), 1);
  int master = -1;
  const pid_t pid = forkpty(&master, nullptr, nullptr, nullptr);
  TerminalRun run;
  if (pid < 0) {
    ADD_FAILURE() << "forkpty: " << strerror(errno);
    return run;
  }
  if (pid == 0) {
    execv(argv[0], argv.data());
    _exit(127);
  }
  run.prompted = ReadUntil(master, &run.screen, prompt);
  if (run.prompted) {
    const std::string line = typed + "\n";
    EXPECT_EQ(write(master, line.data(), line.size()),
              static_cast<ssize_t>(line.size()));
  }
  ReadUntil(master, &run.screen, "");  // To the end.
  close(master);
  int status = 0;
  waitpid(pid, &status, 0);
  if (WIFEXITED(status)) run.exit_code = WEXITSTATUS(status);
  return run;
}

TEST_F(HostileToolTest, PromptsOnATerminalWithoutEchoingThePassword) {
  StartServer();
  const std::string prompt =
      absl::StrCat("Password for alice@localhost:", server_->port(), ": ");
  TerminalRun r = RunOnTerminal({"--cacert", ca_, "ls", Url("", "alice")},
                                home_, prompt, kSecret);
  ASSERT_TRUE(r.prompted) << r.screen;
  EXPECT_EQ(r.exit_code, kExitOk) << r.screen;
  EXPECT_THAT(r.screen, HasSubstr("file.txt"));
  EXPECT_THAT(r.screen, Not(HasSubstr(kSecretCore)))
      << "the password was echoed:\n"
      << r.screen;
  EXPECT_THAT(PasswordsSent(), ::testing::ElementsAre(kSecret));
}

// ------------------------------------------------------------- Plaintext ---

TEST_F(HostileToolTest, PlaintextFallbackWarnsBeforeThePasswordIsSent) {
  // When the server reads PASS, the tool's stderr must already hold the
  // warning: the server looks at it right then.
  std::mutex mu;
  std::string stderr_at_pass;
  bool pass_seen = false;
  const std::string err_path = tool_->NextStderrPath();
  HostileOptions o;
  o.fault = Fault::kRefuseAuthTls;
  o.on_command = [&](const std::string& line) {
    if (!absl::StartsWith(line, "PASS ")) return;
    std::lock_guard<std::mutex> lock(mu);
    pass_seen = true;
    stderr_at_pass = ReadFileOrEmpty(err_path);
  };
  StartServer(o);
  RunOptions split;
  split.split_stderr = true;
  ToolRun r =
      Ftps({"--cacert", ca_, "--allow-plaintext", "ls", Url("")}, split);
  std::lock_guard<std::mutex> lock(mu);
  ASSERT_TRUE(pass_seen) << r;
  EXPECT_THAT(stderr_at_pass, HasSubstr("WARNING")) << r;
  EXPECT_THAT(stderr_at_pass, HasSubstr("in clear")) << r;
  EXPECT_THAT(r.err, Not(HasSubstr(kSecretCore))) << r;
  // Without --allow-plaintext the password is never sent.
  ToolRun refused = Ftps({"--cacert", ca_, "ls", Url("")}, split);
  EXPECT_EQ(refused.exit_code, kExitRefused) << refused;
  EXPECT_THAT(refused.err, HasSubstr("AUTH TLS refused")) << refused;
  EXPECT_EQ(PasswordsSent().size(), 1u);
}

// ---------------------------------------------------------- Server text ---

TEST_F(HostileToolTest, ServerTextNeverReachesTheTerminalRaw) {
  HostileOptions o;
  // An OSC that retitles the terminal, and a "clear screen".
  o.greeting = "220-\x1b]0;pwned\x07\r\n220 hi\x1b[2J";
  o.listing = "evil\x1b[2Jname\r\nok.txt\r\n";
  StartServer(o);
  ToolRun ls = Ftps({"-v", "--cacert", ca_, "ls", Url("")});
  EXPECT_EQ(ls.exit_code, kExitOk) << ls;
  EXPECT_THAT(ls.output, HasSubstr("< 220-\\x1b]0;pwned\\x07")) << ls;
  EXPECT_THAT(ls.output, HasSubstr("evil\\x1b[2Jname")) << ls;
  EXPECT_THAT(ls.output, HasSubstr("\nok.txt\n")) << ls;
  // An error quoting the server's reply, which echoes a path.
  ToolRun get = Ftps(
      {"-v", "--cacert", ca_, "get", Url("missing%1B%5D0%3Bx%07"), Local("m")});
  EXPECT_EQ(get.exit_code, kExitRefused) << get;
  for (const ToolRun* r : {&ls, &get}) {
    EXPECT_EQ(r->output.find('\x1b'), std::string::npos) << *r;
    EXPECT_EQ(r->output.find('\x07'), std::string::npos) << *r;
  }
}

// ------------------------------------------------ Same local name twice ---

TEST_F(HostileToolTest, TwoUrlsForOneLocalFileAreRefusedBeforeAnyTransfer) {
  StartServer();
  ASSERT_EQ(mkdir(Local("out").c_str(), 0755), 0);
  for (const std::string parallel : {"1", "2"}) {
    ToolRun r = Ftps({"--cacert", ca_, "get", "--output-dir", Local("out"),
                      "--parallel", parallel, Url("one.bin"), Url("a/x.bin"),
                      Url("b/x.bin")});
    EXPECT_EQ(r.exit_code, kExitUsage) << r;
    const std::string redacted =
        absl::StrCat("ftp://alice:***@localhost:", server_->port());
    EXPECT_THAT(r.output, HasSubstr(redacted + "/a/x.bin")) << r;
    EXPECT_THAT(r.output, HasSubstr(redacted + "/b/x.bin")) << r;
    EXPECT_THAT(r.output, HasSubstr("x.bin")) << r;
  }
  EXPECT_TRUE(server_->commands().empty());
  EXPECT_TRUE(ListDir(Local("out")).empty());
}

// ------------------------------------------ A failed data TLS handshake ---

TEST_F(HostileToolTest, DataCertificateFailureIsNotCalledASessionReuseRefusal) {
  // The server's reply after the failed handshake: its own words, and
  // vsftpd's, which blames session reuse for any data TLS failure.
  for (const std::string reply :
       {"425 TLS handshake failed",
        "522 SSL connection failed; session reuse required: see "
        "require_ssl_reuse option in vsftpd.conf man page"}) {
    HostileOptions o;
    o.fault = Fault::kBadDataCertificate;
    o.data_handshake_failure_reply = reply;
    StartServer(o);
    ToolRun r = Ftps({"--cacert", ca_, "get", Url("f"), Local("f")});
    EXPECT_EQ(r.exit_code, kExitConnection) << r;
    EXPECT_THAT(r.output, HasSubstr("data connection")) << r;
    EXPECT_THAT(r.output, HasSubstr("certificate verification failed")) << r;
    EXPECT_THAT(r.output, HasSubstr("Hostname mismatch")) << r;
    EXPECT_THAT(r.output, HasSubstr(reply.substr(0, 3))) << r;
    EXPECT_THAT(r.output, Not(HasSubstr("requires TLS session reuse"))) << r;
    EXPECT_FALSE(PathExists(Local("f")));
    EXPECT_FALSE(PathExists(Local("f.part")));
  }
}

// ------------------------------------- Exit codes; the password unseen ---

// One way to make the tool fail (or succeed). In |args|, $URL stands for
// ftp://alice:<the password>@localhost:<the server's port>, $CLOSED for the
// same on a port nobody listens on, $CA for the test CA's file and $DIR for
// a fresh folder holding an empty folder "out".
struct Scenario {
  std::string name;
  Fault fault;
  std::vector<std::string> args;
  int exit_code;
  std::string says;  // Part of the output.
};

// Test names and failure messages show the scenario's name.
void PrintTo(const Scenario& s, std::ostream* os) { *os << s.name; }

std::vector<Scenario> Scenarios() {
  const Fault ok = Fault::kNone;
  return {
      {"ok_ls", ok, {"--cacert", "$CA", "ls", "$URL/"}, kExitOk, "file.txt"},
      {"ok_get_many",
       ok,
       {"--cacert", "$CA", "get", "--output-dir", "$DIR/out", "$URL/a.bin",
        "$URL/b.bin"},
       kExitOk,
       ""},
      {"other_malformed_greeting",
       Fault::kMalformedGreeting,
       {"--cacert", "$CA", "ls", "$URL/"},
       kExitOther,
       "malformed reply"},
      {"other_listing_over_256_mib",
       Fault::kHugeListing,
       {"--cacert", "$CA", "ls", "$URL/"},
       kExitOther,
       "256 MiB"},
      {"other_reply_line_too_long",
       Fault::kHugeReplyLine,
       {"--cacert", "$CA", "ls", "$URL/"},
       kExitOther,
       "longer than"},
      {"usage_missing_cacert",
       ok,
       {"--cacert", "/nonexistent", "ls", "$URL/"},
       kExitUsage,
       "/nonexistent"},
      {"usage_not_a_file_url",
       ok,
       {"--cacert", "$CA", "get", "--output-dir", "$DIR/out", "$URL/dir/"},
       kExitUsage,
       "not a file URL: ftp://alice:***@"},
      {"usage_bad_port",
       ok,
       {"--cacert", "$CA", "ls",
        absl::StrCat("ftp://alice:", kSecretInUrl, "@localhost:99999/")},
       kExitUsage,
       "99999"},
      {"usage_query",
       ok,
       {"--cacert", "$CA", "ls", "$URL/a?b"},
       kExitUsage,
       "'?'"},
      {"usage_bad_escape",
       ok,
       {"--cacert", "$CA", "ls",
        absl::StrCat("ftp://alice:", kSecretInUrl, "%zz@localhost/")},
       kExitUsage,
       "percent"},
      {"usage_same_local_name",
       ok,
       {"--cacert", "$CA", "get", "--output-dir", "$DIR/out", "$URL/a/x",
        "$URL/b/x"},
       kExitUsage,
       "ftp://alice:***@"},
      {"usage_two_servers",
       ok,
       {"--cacert", "$CA", "get", "--output-dir", "$DIR/out", "$URL/x",
        "$CLOSED/y"},
       kExitUsage,
       "one server"},
      {"usage_unknown_option",
       ok,
       {"--frobnicate", "ls", "$URL/"},
       kExitUsage,
       "--frobnicate"},
      {"connection_untrusted_certificate",
       ok,
       {"ls", "$URL/"},
       kExitConnection,
       "certificate verification failed"},
      {"connection_refused",
       ok,
       {"--cacert", "$CA", "ls", "$CLOSED/"},
       kExitConnection,
       "localhost"},
      {"connection_reset_in_download",
       Fault::kResetDuringDownload,
       {"--cacert", "$CA", "get", "$URL/f", "$DIR/f"},
       kExitConnection,
       "TLS read"},
      {"connection_reset_in_get_many",
       Fault::kResetDuringDownload,
       {"--cacert", "$CA", "get", "--output-dir", "$DIR/out", "$URL/f"},
       kExitConnection,
       "ftp://alice:***@"},
      {"connection_data_certificate",
       Fault::kBadDataCertificate,
       {"--cacert", "$CA", "get", "$URL/f", "$DIR/f"},
       kExitConnection,
       "Hostname mismatch"},
      {"login_refused",
       Fault::kRejectLogin,
       {"--cacert", "$CA", "ls", "$URL/"},
       kExitLogin,
       "530"},
      {"refused_missing_file",
       ok,
       {"--cacert", "$CA", "get", "$URL/missing.bin", "$DIR/m"},
       kExitRefused,
       "550"},
      {"refused_missing_in_get_many",
       ok,
       {"--cacert", "$CA", "get", "--output-dir", "$DIR/out",
        "$URL/missing.bin"},
       kExitRefused,
       "ftp://alice:***@"},
      {"refused_prot_p",
       Fault::kRefuseProtP,
       {"--cacert", "$CA", "ls", "$URL/"},
       kExitRefused,
       "536"},
      {"refused_rm",
       ok,
       {"--cacert", "$CA", "rm", "$URL/x"},
       kExitRefused,
       "502"},
      {"refused_mv",
       ok,
       {"--cacert", "$CA", "mv", "$URL/x", "missing/y"},
       kExitRefused,
       "RNTO missing/y: the server replied \"550 missing/y"},
      {"refused_mv_to_url",
       ok,
       {"--cacert", "$CA", "mv", "$URL/d/x", "$URL/missing/y"},
       kExitRefused,
       "RNTO missing/y: the server replied \"550 missing/y"},
      {"usage_mv_to_another_server",
       ok,
       {"--cacert", "$CA", "mv", "$URL/x", "$CLOSED/y"},
       kExitUsage,
       "ftp://alice:***@localhost:"},
      {"local_output_dir_missing",
       ok,
       {"--cacert", "$CA", "get", "--output-dir", "$DIR/nope", "$URL/x"},
       kExitLocalFile,
       "nope"},
      {"local_put_missing_file",
       ok,
       {"--cacert", "$CA", "put", "$DIR/nope", "$URL/x"},
       kExitLocalFile,
       "nope"},
      {"local_cannot_write",
       ok,
       {"--cacert", "$CA", "get", "$URL/f", "$DIR/nope/f"},
       kExitLocalFile,
       "nope/f"},
      {"reuse_refused",
       Fault::kReject522,
       {"--cacert", "$CA", "get", "$URL/f", "$DIR/f"},
       kExitReuseRequired,
       "requires TLS session reuse"},
  };
}

class ScenarioTest : public HostileToolTest,
                     public ::testing::WithParamInterface<Scenario> {};

TEST_P(ScenarioTest, ExitsWithItsCodeAndNeverShowsThePassword) {
  const Scenario& s = GetParam();
  HostileOptions o;
  o.fault = s.fault;
  StartServer(o);
  ASSERT_EQ(mkdir(Local("out").c_str(), 0755), 0);
  absl::StatusOr<uint16_t> closed = PickFreePort();
  ASSERT_TRUE(closed.ok());
  const std::map<std::string, std::string> vars = {
      {"$URL", absl::StrCat("ftp://alice:", kSecretInUrl,
                            "@localhost:", server_->port())},
      {"$CLOSED",
       absl::StrCat("ftp://alice:", kSecretInUrl, "@localhost:", *closed)},
      {"$CA", ca_},
      {"$DIR", dir_}};
  // Quiet and verbose: -v prints the dialogue.
  for (bool verbose : {false, true}) {
    std::vector<std::string> args;
    if (verbose) args.push_back("-v");
    for (const std::string& a : s.args) {
      args.push_back(absl::StrReplaceAll(a, vars));
    }
    ToolRun r = Ftps(args);
    EXPECT_EQ(r.exit_code, s.exit_code) << r;
    EXPECT_THAT(r.output, HasSubstr(s.says)) << r;
    EXPECT_THAT(r.output, Not(HasSubstr(kSecretCore))) << r;
  }
}

INSTANTIATE_TEST_SUITE_P(Everything, ScenarioTest,
                         ::testing::ValuesIn(Scenarios()),
                         [](const auto& info) { return info.param.name; });

// Every exit code the usage text documents has a scenario above, and no
// scenario expects an undocumented one.
TEST_F(HostileToolTest, EveryDocumentedExitCodeHasAScenario) {
  ToolRun help = Ftps({"--help"});
  ASSERT_EQ(help.exit_code, kExitOk) << help;
  const size_t start = help.output.find("exit codes:");
  ASSERT_NE(start, std::string::npos) << help;
  std::set<int> documented;
  for (absl::string_view line :
       absl::StrSplit(help.output.substr(start), '\n')) {
    std::vector<absl::string_view> words =
        absl::StrSplit(absl::StripLeadingAsciiWhitespace(line), ' ');
    int code = 0;
    if (absl::StartsWith(line, "  ") && absl::SimpleAtoi(words[0], &code)) {
      documented.insert(code);
    }
  }
  std::set<int> covered;
  for (const Scenario& s : Scenarios()) covered.insert(s.exit_code);
  EXPECT_EQ(covered, documented) << help;
  EXPECT_EQ(documented, (std::set<int>{0, 1, 2, 3, 4, 5, 6, 7}));
}

}  // namespace
}  // namespace tlsession::testing
