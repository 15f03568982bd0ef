// The README's main job: start a local vsftpd that requires TLS session
// reuse on data connections (require_ssl_reuse=YES) on a loopback port, then
// upload, list and download a file with the `ftps` tool, which prints for
// each data connection whether the session was resumed.
//
// Exits non-zero unless every step succeeded, the file came back intact and
// every data connection resumed the control connection's session.
#include <sys/wait.h>

#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "testbed/certs.h"
#include "testbed/data.h"
#include "testbed/ftp_servers.h"
#include "testbed/subprocess.h"

namespace tlsession {
namespace {

using testing::ChildProcess;
using testing::FtpServer;
using testing::FtpServerOptions;

// Runs `ftps ARGS...`, echoing its output; returns its output or "" and
// sets |ok| false on failure.
std::string RunFtps(const std::vector<std::string>& args,
                    const std::string& dir, bool* ok) {
  std::vector<std::string> argv = {"tools/ftps"};
  argv.insert(argv.end(), args.begin(), args.end());
  absl::PrintF("\n$ ftps %s\n", absl::StrJoin(args, " "));
  auto child = ChildProcess::Spawn(argv, dir + "/ftps.out", false);
  if (!child.ok()) {
    absl::PrintF("cannot run ftps: %s\n", child.status().ToString());
    *ok = false;
    return "";
  }
  auto status = (*child)->Wait(absl::Seconds(60));
  std::string out = (*child)->log();
  for (absl::string_view line : absl::StrSplit(out, '\n')) {
    if (!line.empty()) absl::PrintF("  %s\n", line);
  }
  if (!status.ok() || !WIFEXITED(*status) || WEXITSTATUS(*status) != 0) {
    absl::PrintF("ftps failed (%s)\n",
                 status.ok() ? testing::DescribeWaitStatus(*status)
                             : std::string(status.status().message()));
    *ok = false;
  }
  return out;
}

int Run() {
  FtpServerOptions options;  // vsftpd, TLS 1.3, require_ssl_reuse=YES.
  auto server = FtpServer::Start(options);
  if (!server.ok()) {
    absl::FPrintF(stderr, "cannot start vsftpd: %s\n",
                  server.status().ToString());
    return 1;
  }
  const std::string dir = testing::MakeTempDir();
  const std::string ca = dir + "/ca.pem";
  testing::WriteFileOrDie(ca, (*server)->ca_pem());
  const std::string payload = testing::PseudoRandomBytes(1 << 20, 1);
  testing::WriteFileOrDie(dir + "/hello.bin", payload);
  absl::PrintF(
      "vsftpd on 127.0.0.1:%d requires TLS and TLS session reuse on every "
      "data connection (require_ssl_reuse=YES).\n",
      (*server)->port());

  const std::string base =
      absl::StrCat("ftp://", FtpServer::kUser, ":", FtpServer::kPassword,
                   "@localhost:", (*server)->port(), "/");
  bool ok = true;
  std::string all;
  all += RunFtps(
      {"-v", "--cacert", ca, "put", dir + "/hello.bin", base + "hello.bin"},
      dir, &ok);
  all += RunFtps({"-v", "--cacert", ca, "ls", base}, dir, &ok);
  all += RunFtps(
      {"-v", "--cacert", ca, "get", base + "hello.bin", dir + "/back.bin"}, dir,
      &ok);
  const bool intact =
      testing::Sha256Hex(testing::ReadFileOrEmpty(dir + "/back.bin")) ==
      testing::Sha256Hex(payload);
  int reused = 0, not_reused = 0;
  for (absl::string_view line : absl::StrSplit(all, '\n')) {
    if (!absl::StartsWith(line, "data connection")) continue;
    if (absl::StrContains(line, "session NOT reused")) {
      ++not_reused;
    } else if (absl::StrContains(line, "session reused")) {
      ++reused;
    }
  }
  const bool clean = !absl::StrContains(
      (*server)->log(), "DATA connection terminated without SSL shutdown");
  absl::PrintF(
      "\n%d data connections resumed the control session, %d did not; "
      "download %s; vsftpd saw %s TLS shutdowns.\n",
      reused, not_reused, intact ? "intact (SHA-256 matches)" : "CORRUPT",
      clean ? "only clean" : "UNCLEAN");
  if (!ok || !intact || reused != 3 || not_reused != 0 || !clean) {
    absl::PrintF("FAILED\n");
    return 1;
  }
  absl::PrintF("OK\n");
  return 0;
}

}  // namespace
}  // namespace tlsession

int main() { return tlsession::Run(); }
