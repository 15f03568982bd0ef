// Interoperability with a TLS peer we did not write: the `openssl` command-line
// tool (OpenSSL 3, /usr/bin/openssl), run as a child process.
//
//  * The library's client resumes sessions against `openssl s_server -www`
//    (TLS 1.2 with tickets, TLS 1.2 with session IDs only, TLS 1.3).
//  * `openssl s_client -sess_out` / `-sess_in` resumes sessions against the
//    library's server (TestTlsServer), in all three resumption modes.
//
// Only the openssl binary is used; nothing here compiles against OpenSSL's
// headers.
#include <sys/wait.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "testbed/certs.h"
#include "testbed/openssl_client.h"
#include "testbed/server_process.h"
#include "testbed/subprocess.h"
#include "testbed/tls_server.h"
#include "tests/tls_test_util.h"
#include "tls/connection.h"
#include "tls/context.h"
#include "tls/socket.h"

namespace tlsession::testing {
namespace {

constexpr char kOpenssl[] = "/usr/bin/openssl";

// `openssl s_server -www` with |flags| on a free loopback port, through
// ServerProcess: ready once it prints "ACCEPT" (after listen(2)), on another
// port when the one picked was taken meanwhile. Killed and reaped on
// destruction. The error quotes its command and output.
absl::StatusOr<std::unique_ptr<ServerProcess>> StartSServer(
    const std::vector<std::string>& flags, const TestPki& pki,
    const std::string& dir) {
  ServerSpec spec;
  spec.name = "openssl s_server";
  spec.log_path = dir + "/s_server.log";
  spec.ready_line = "ACCEPT";
  spec.command =
      [&pki, flags](uint16_t port) -> absl::StatusOr<std::vector<std::string>> {
    std::vector<std::string> argv = {
        kOpenssl,  "s_server",
        "-accept", absl::StrCat("127.0.0.1:", port),
        "-cert",   pki.server_cert_file(),
        "-key",    pki.server_key_file(),
        "-www"};
    argv.insert(argv.end(), flags.begin(), flags.end());
    return argv;
  };
  return ServerProcess::Start(spec);
}

// What one library client connection to s_server -www saw.
struct Fetch {
  bool reused = false;
  uint16_t version = 0;
  std::string version_name;
  Session session;       // Resumable, from WaitForSession().
  std::string response;  // The whole HTTP response.
};

// Connects to 127.0.0.1:|port| as "localhost", offers |offer|, waits for a
// resumable session, GETs / and reads the response up to the server's
// close_notify.
absl::StatusOr<Fetch> FetchPage(const std::shared_ptr<const Context>& ctx,
                                uint16_t port, const Session& offer) {
  absl::StatusOr<OwnedFd> fd = ConnectTcp("127.0.0.1", port, absl::Seconds(10));
  if (!fd.ok()) return fd.status();
  auto conn = Connection::Create(ctx, std::move(*fd), "localhost");
  if (!conn.ok()) return conn.status();
  if (!offer.empty()) {
    if (absl::Status s = (*conn)->set_session(offer); !s.ok()) return s;
  }
  if (absl::Status s = (*conn)->Handshake(); !s.ok()) return s;
  Fetch fetch;
  fetch.reused = (*conn)->session_reused();
  fetch.version = (*conn)->version();
  fetch.version_name = (*conn)->version_name();
  absl::StatusOr<Session> session = (*conn)->WaitForSession(absl::Seconds(5));
  if (!session.ok()) return session.status();
  fetch.session = *session;
  if (absl::Status s = (*conn)->Write("GET / HTTP/1.0\r\n\r\n"); !s.ok()) {
    return s;
  }
  char buf[4096];
  for (;;) {
    absl::StatusOr<size_t> n = (*conn)->Read(buf, sizeof(buf));
    if (!n.ok()) {
      return absl::Status(n.status().code(),
                          absl::StrCat(n.status().message(),
                                       "; response so far:\n", fetch.response));
    }
    if (*n == 0) break;  // close_notify.
    fetch.response.append(buf, *n);
    if (fetch.response.size() > (1 << 20)) {
      return absl::OutOfRangeError("response over 1 MiB");
    }
  }
  // s_server has sent close_notify and closes; ours is a courtesy and its
  // result (the peer may already be gone) is not the point of these tests.
  (*conn)->SendCloseNotify().IgnoreError();
  return fetch;
}

struct SServerCase {
  std::string name;
  std::vector<std::string> flags;
  uint16_t version;
  std::string version_name;
  bool ticket;  // Whether s_server issues TLS 1.2 tickets / 1.3 tickets.
};

class OpenSslServerTest : public ::testing::TestWithParam<SServerCase> {};

TEST_P(OpenSslServerTest, LibraryClientResumes) {
  const SServerCase& c = GetParam();
  const TestPki& pki = GetTestPki();
  const std::string dir = MakeTempDir();
  auto server = StartSServer(c.flags, pki, dir);
  ASSERT_TRUE(server.ok()) << server.status();
  const uint16_t port = (*server)->port();
  auto ctx = MustCreate(ClientOptions());

  absl::StatusOr<Fetch> first = FetchPage(ctx, port, Session());
  ASSERT_TRUE(first.ok()) << first.status() << "\ns_server output:\n"
                          << (*server)->log();
  EXPECT_FALSE(first->reused);
  EXPECT_EQ(first->version, c.version);
  EXPECT_EQ(first->version_name, c.version_name);
  ASSERT_TRUE(first->session.is_resumable());
  EXPECT_EQ(first->session.protocol_version(), c.version);
  EXPECT_EQ(first->session.has_ticket(), c.ticket);
  // s_server's own account of the connection, in its status page.
  EXPECT_TRUE(absl::StartsWith(first->response, "HTTP/1.0 200 ok\r\n"))
      << first->response;
  EXPECT_TRUE(absl::StrContains(first->response,
                                absl::StrCat("\nNew, ", c.version_name, ",")))
      << first->response;

  absl::StatusOr<Fetch> second = FetchPage(ctx, port, first->session);
  ASSERT_TRUE(second.ok()) << second.status() << "\ns_server output:\n"
                           << (*server)->log();
  EXPECT_TRUE(second->reused);
  EXPECT_EQ(second->version, c.version);
  EXPECT_EQ(second->version_name, c.version_name);
  EXPECT_TRUE(absl::StartsWith(second->response, "HTTP/1.0 200 ok\r\n"))
      << second->response;
  EXPECT_TRUE(absl::StrContains(
      second->response, absl::StrCat("\nReused, ", c.version_name, ",")))
      << second->response;

  if (c.version == TLS1_2_VERSION) {
    // A TLS 1.2 session may be offered again.
    absl::StatusOr<Fetch> third = FetchPage(ctx, port, first->session);
    ASSERT_TRUE(third.ok()) << third.status();
    EXPECT_TRUE(third->reused);
  } else {
    // TLS 1.3 tickets are single-use: resume with the newest one instead.
    absl::StatusOr<Fetch> third = FetchPage(ctx, port, second->session);
    ASSERT_TRUE(third.ok()) << third.status();
    EXPECT_TRUE(third->reused);
  }
  EXPECT_TRUE((*server)->child().Running()) << (*server)->log();
}

INSTANTIATE_TEST_SUITE_P(
    SServer, OpenSslServerTest,
    ::testing::Values(
        SServerCase{
            "tls12_ticket", {"-tls1_2"}, TLS1_2_VERSION, "TLSv1.2", true},
        SServerCase{"tls12_sid",
                    {"-tls1_2", "-no_ticket"},
                    TLS1_2_VERSION,
                    "TLSv1.2",
                    false},
        SServerCase{"tls13", {"-tls1_3"}, TLS1_3_VERSION, "TLSv1.3", true}),
    [](const ::testing::TestParamInfo<SServerCase>& info) {
      return info.param.name;
    });

class OpenSslClientTest : public ::testing::TestWithParam<Resumption> {};

TEST_P(OpenSslClientTest, SClientResumesAgainstLibraryServer) {
  const bool tls13 = GetParam() == Resumption::kTls13;
  const std::string version = tls13 ? "TLSv1.3" : "TLSv1.2";
  const TestPki& pki = GetTestPki();
  auto server = TestTlsServer::Start(MustCreate(ServerOptions(GetParam())));
  ASSERT_TRUE(server.ok()) << server.status();
  const uint16_t port = (*server)->port();
  const std::string dir = MakeTempDir();
  const std::string sess_file = dir + "/session.pem";
  constexpr char kSessionEnd[] = "-----END SSL SESSION PARAMETERS-----";

  // First run: a full handshake; the session (under TLS 1.3: from the first
  // ticket) is written to |sess_file|. Wait for both before closing stdin.
  absl::StatusOr<SClientRun> first = RunSClient(
      port, pki, {"-sess_out", sess_file}, dir + "/s_client.1.log",
      [&](const std::string& output) {
        return HasHandshakeSummary(output) &&
               absl::StrContains(ReadFileOrEmpty(sess_file), kSessionEnd);
      });
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_TRUE(WIFEXITED(first->wait_status) &&
              WEXITSTATUS(first->wait_status) == 0)
      << DescribeWaitStatus(first->wait_status) << "\n"
      << first->output;
  EXPECT_TRUE(
      absl::StrContains(first->output, absl::StrCat("\nNew, ", version, ",")))
      << first->output;
  EXPECT_FALSE(absl::StrContains(first->output, "\nReused, ")) << first->output;
  EXPECT_TRUE(absl::StrContains(first->output, "Verify return code: 0 (ok)"))
      << first->output;
  ASSERT_TRUE(absl::StrContains(ReadFileOrEmpty(sess_file), kSessionEnd))
      << "s_client wrote no session:\n"
      << first->output;

  // Second run: offer the saved session.
  absl::StatusOr<SClientRun> second =
      RunSClient(port, pki, {"-sess_in", sess_file}, dir + "/s_client.2.log",
                 HasHandshakeSummary);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_TRUE(WIFEXITED(second->wait_status) &&
              WEXITSTATUS(second->wait_status) == 0)
      << DescribeWaitStatus(second->wait_status) << "\n"
      << second->output;
  EXPECT_TRUE(absl::StrContains(second->output,
                                absl::StrCat("\nReused, ", version, ",")))
      << second->output;
  EXPECT_FALSE(absl::StrContains(second->output, "\nNew, ")) << second->output;
  EXPECT_TRUE(absl::StrContains(second->output, "Verify return code: 0 (ok)"))
      << second->output;

  // The library server's view agrees.
  ASSERT_TRUE((*server)->WaitForServed(2));
  const std::vector<ServedConnection> served = (*server)->served();
  ASSERT_EQ(served.size(), 2u);
  EXPECT_TRUE(served[0].handshake.ok()) << served[0].handshake;
  EXPECT_TRUE(served[1].handshake.ok()) << served[1].handshake;
  EXPECT_FALSE(served[0].session_reused);
  EXPECT_TRUE(served[1].session_reused);
  EXPECT_EQ(served[0].version, version);
  EXPECT_EQ(served[1].version, version);
  EXPECT_EQ(served[0].server_name, "localhost");
  EXPECT_EQ(served[1].server_name, "localhost");
}

INSTANTIATE_TEST_SUITE_P(AllModes, OpenSslClientTest,
                         ::testing::Values(Resumption::kTls12SessionId,
                                           Resumption::kTls12Ticket,
                                           Resumption::kTls13),
                         [](const ::testing::TestParamInfo<Resumption>& info) {
                           return ResumptionName(info.param);
                         });

}  // namespace
}  // namespace tlsession::testing
