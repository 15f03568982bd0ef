// Passwords inside URL arguments leave argv once read, for every URL-taking
// flag and operand of the three tools: tls_echo_server (--session-store,
// --ticket-keys), tls_fleet_client (--session-store) and ftps
// (--session-store, the ftp:// operand). Each tool runs for real (a real
// redis-server; a silent TCP peer that holds the clients in their
// handshake), and the test reads its /proc/PID/cmdline, what `ps` shows
// other users.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "testbed/certs.h"
#include "testbed/poll.h"
#include "testbed/subprocess.h"
#include "tests/fleet/fleet_harness.h"
#include "tls/socket.h"

namespace tlsession::testing {
namespace {

constexpr char kSecret[] = "S3CRET-PW";

// The NUL-separated argv of |pid| with NULs as spaces.
std::string CommandLine(pid_t pid) {
  std::string raw = ReadFileOrEmpty(absl::StrCat("/proc/", pid, "/cmdline"));
  for (char& c : raw) {
    if (c == '\0') c = ' ';
  }
  return raw;
}

// HOST:PORT of |redis|.
std::string HostPort(const TestRedisServer& redis) {
  return std::string(
      absl::StripPrefix(redis.url_without_password(), "redis://"));
}

// Expects |child|'s argv (read while it runs) to hold none of kSecret and
// still to show the rest of |url_fragment|.
void ExpectScrubbed(ChildProcess& child, const std::string& url_fragment) {
  ASSERT_TRUE(child.Running()) << child.log();
  const std::string argv = CommandLine(child.pid());
  EXPECT_FALSE(argv.empty());
  EXPECT_FALSE(absl::StrContains(argv, kSecret)) << argv;
  EXPECT_TRUE(absl::StrContains(argv, url_fragment)) << argv;
}

TEST(ArgvSecretsTest, EchoServerScrubsBothRedisUrls) {
  auto fleet = FleetHarness::Start();
  ASSERT_TRUE(fleet.ok()) << fleet.status();
  const std::string url =
      absl::StrCat("redis://user:", kSecret, "@", HostPort((*fleet)->redis()));
  // The harness's --redis-password-file overrides the URL's password, so
  // the server logs in with the right one.
  auto index = (*fleet)->StartInstance(
      {"--session-store", url, absl::StrCat("--ticket-keys=", url)});
  ASSERT_TRUE(index.ok()) << index.status();
  ExpectScrubbed((*fleet)->process(*index), "redis://user:*");
}

// A TCP peer that accepts and says nothing: a client connected to it waits
// in its handshake (or for FTP's greeting), so it is still running once
// Accept returns, long after it read its command line.
struct SilentPeer {
  TcpListener listener;
};

absl::StatusOr<SilentPeer> Listen() {
  absl::StatusOr<TcpListener> listener = TcpListener::Listen("127.0.0.1", 0);
  if (!listener.ok()) return listener.status();
  return SilentPeer{*std::move(listener)};
}

TEST(ArgvSecretsTest, ClientsScrubStoreUrlsAndFtpOperands) {
  auto fleet = FleetHarness::Start();
  ASSERT_TRUE(fleet.ok()) << fleet.status();
  const std::string store =
      absl::StrCat("redis://:", kSecret, "@", HostPort((*fleet)->redis()));
  const TestPki& pki = GetTestPki();
  const std::string dir = (*fleet)->dir();

  absl::StatusOr<SilentPeer> tls_peer = Listen();
  ASSERT_TRUE(tls_peer.ok()) << tls_peer.status();
  auto client = ChildProcess::Spawn(
      {RunfilesBinary("tools/tls_fleet_client"), "--connect",
       absl::StrCat("127.0.0.1:", tls_peer->listener.port()), "--servername",
       "localhost", "--ca", pki.ca_file(), "--session-store", store,
       "--fleet-key", (*fleet)->fleet_key_file()},
      dir + "/tls_fleet_client.log", /*stdin_pipe=*/false);
  ASSERT_TRUE(client.ok()) << client.status();
  absl::StatusOr<OwnedFd> tls_conn =
      tls_peer->listener.Accept(Scaled(absl::Seconds(20)));
  ASSERT_TRUE(tls_conn.ok()) << tls_conn.status() << (*client)->log();
  ExpectScrubbed(**client, "redis://:*");

  absl::StatusOr<SilentPeer> ftp_peer = Listen();
  ASSERT_TRUE(ftp_peer.ok()) << ftp_peer.status();
  const std::string ftp_url =
      absl::StrCat("ftp://alice:", kSecret,
                   "@127.0.0.1:", ftp_peer->listener.port(), "/dir/");
  auto ftps = ChildProcess::Spawn(
      {RunfilesBinary("tools/ftps"), "--cacert", pki.ca_file(),
       "--session-store", store, "--fleet-key", (*fleet)->fleet_key_file(),
       "ls", ftp_url},
      dir + "/ftps.log", /*stdin_pipe=*/false);
  ASSERT_TRUE(ftps.ok()) << ftps.status();
  absl::StatusOr<OwnedFd> ftp_conn =
      ftp_peer->listener.Accept(Scaled(absl::Seconds(20)));
  ASSERT_TRUE(ftp_conn.ok()) << ftp_conn.status() << (*ftps)->log();
  ExpectScrubbed(**ftps, "ftp://alice:*");
  EXPECT_TRUE(absl::StrContains(CommandLine((*ftps)->pid()), "redis://:*"));
}

}  // namespace
}  // namespace tlsession::testing
