// 0-RTT early data with a TLS peer we did not write: the `openssl` tool
// (OpenSSL 3, /usr/bin/openssl), run as a child process.
//
//  * `openssl s_client -sess_in S -early_data FILE` against the library's
//    server: accepted once; the same session and early data again (a
//    replay): rejected, and the handshake still resumes.
//  * The library's client against `openssl s_server -early_data`: accepted.
//  * The library's client against `gnutls-serv --earlydata` (GnuTLS 3.7,
//    Debian's gnutls-bin): accepted. gnutls-serv reads early data and drops
//    it (its --echo mode echoes only 1-RTT records), so only the handshake's
//    outcome is checked there.
#include <sys/wait.h>

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "testbed/certs.h"
#include "testbed/openssl_client.h"
#include "testbed/poll.h"
#include "testbed/server_process.h"
#include "testbed/subprocess.h"
#include "testbed/tls_server.h"
#include "tests/tls_test_util.h"
#include "tls/connection.h"
#include "tls/context.h"

namespace tlsession::testing {
namespace {

constexpr char kOpenssl[] = "/usr/bin/openssl";
constexpr char kSessionEnd[] = "-----END SSL SESSION PARAMETERS-----";

// What the library's server saw: early bytes and all bytes per connection.
struct Seen {
  uint64_t early_bytes = 0;
  std::string data;
  bool reused = false;
};

class SClientAgainstLibraryServer : public ::testing::Test {
 protected:
  void SetUp() override {
    ContextOptions options = ServerOptions();
    options.early_data = true;
    auto server = TestTlsServer::Start(
        MustCreate(options), [this](Connection& conn) -> absl::Status {
          Seen seen;
          char buf[4096];
          for (;;) {
            absl::StatusOr<size_t> n = conn.Read(buf, sizeof(buf));
            if (!n.ok() || *n == 0) break;
            seen.data.append(buf, *n);
            if (!conn.Write(absl::string_view(buf, *n)).ok()) break;
          }
          seen.early_bytes = conn.early_bytes_read();
          seen.reused = conn.session_reused();
          std::lock_guard<std::mutex> lock(mu_);
          seen_.push_back(seen);
          return absl::OkStatus();
        });
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
  }
  std::vector<Seen> seen() {
    std::lock_guard<std::mutex> lock(mu_);
    return seen_;
  }

  std::mutex mu_;
  std::vector<Seen> seen_;
  std::unique_ptr<TestTlsServer> server_;
};

// s_client's run offering |sess_file| with |early_file| as early data; ready
// once it printed what became of the early data.
absl::StatusOr<SClientRun> SClientEarly(uint16_t port,
                                        const std::string& sess_file,
                                        const std::string& early_file,
                                        const std::string& log) {
  return RunSClient(port, GetTestPki(),
                    {"-sess_in", sess_file, "-early_data", early_file}, log,
                    [](const std::string& output) {
                      return HasHandshakeSummary(output) &&
                             absl::StrContains(output, "Early data was");
                    });
}

TEST_F(SClientAgainstLibraryServer, AcceptedOnceThenTheReplayIsRejected) {
  const std::string dir = MakeTempDir();
  const std::string sess_file = dir + "/session.pem";
  const std::string early_file = dir + "/early.txt";
  WriteFileOrDie(early_file, "EARLY REQUEST\n");
  const uint16_t port = server_->port();

  absl::StatusOr<SClientRun> first = RunSClient(
      port, GetTestPki(), {"-sess_out", sess_file}, dir + "/s_client.1.log",
      [&](const std::string& output) {
        return HasHandshakeSummary(output) &&
               absl::StrContains(ReadFileOrEmpty(sess_file), kSessionEnd);
      });
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_TRUE(first->new_session()) << first->output;
  EXPECT_TRUE(absl::StrContains(first->output, "Max Early Data: 14336"))
      << first->output;

  absl::StatusOr<SClientRun> early =
      SClientEarly(port, sess_file, early_file, dir + "/s_client.2.log");
  ASSERT_TRUE(early.ok()) << early.status();
  EXPECT_TRUE(early->reused()) << early->output;
  EXPECT_TRUE(absl::StrContains(early->output, "Early data was accepted"))
      << early->output;

  // The same session and early data again: what an attacker replaying the
  // recorded flight would send.
  absl::StatusOr<SClientRun> replay =
      SClientEarly(port, sess_file, early_file, dir + "/s_client.3.log");
  ASSERT_TRUE(replay.ok()) << replay.status();
  EXPECT_TRUE(absl::StrContains(replay->output, "Early data was rejected"))
      << replay->output;
  EXPECT_TRUE(replay->reused()) << "resumption fails open:\n" << replay->output;

  ASSERT_TRUE(server_->WaitForServed(3));
  std::vector<Seen> seen = this->seen();
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[1].early_bytes, 14u);
  EXPECT_TRUE(absl::StartsWith(seen[1].data, "EARLY REQUEST\n"))
      << seen[1].data;
  EXPECT_TRUE(seen[2].reused);
  EXPECT_EQ(seen[2].early_bytes, 0u);
  EXPECT_FALSE(absl::StrContains(seen[2].data, "EARLY REQUEST"))
      << "a rejected replay's early data never reaches the application";
}

// `openssl s_server -early_data` (its interactive mode: -early_data refuses
// -www) on a free port, its stdin a pipe that stays open (EOF would end it).
absl::StatusOr<std::unique_ptr<ServerProcess>> StartEarlySServer(
    const std::string& dir) {
  const TestPki& pki = GetTestPki();
  ServerSpec spec;
  spec.name = "openssl s_server -early_data";
  spec.log_path = dir + "/s_server.log";
  spec.ready_line = "ACCEPT";
  spec.own_process_group = true;  // The sh, its sleep and s_server.
  spec.command =
      [&pki](uint16_t port) -> absl::StatusOr<std::vector<std::string>> {
    return std::vector<std::string>{
        "/bin/sh", "-c",
        absl::StrCat("sleep 100000 | exec ", kOpenssl,
                     " s_server -early_data -accept 127.0.0.1:", port,
                     " -cert ", pki.server_cert_file(), " -key ",
                     pki.server_key_file())};
  };
  return ServerProcess::Start(spec);
}

TEST(LibraryClientAgainstSServer, EarlyDataIsAccepted) {
  const std::string dir = MakeTempDir();
  auto server = StartEarlySServer(dir);
  ASSERT_TRUE(server.ok()) << server.status();
  const uint16_t port = (*server)->port();
  ContextOptions options = ClientOptions();
  options.early_data = true;
  auto ctx = MustCreate(options);

  // A full handshake for a ticket (s_server serves one client at a time).
  Session ticket;
  {
    absl::StatusOr<std::unique_ptr<Connection>> conn = ConnectLocal(ctx, port);
    ASSERT_TRUE(conn.ok()) << conn.status() << "\n" << (*server)->log();
    absl::StatusOr<Session> session =
        (*conn)->WaitForSession(Scaled(absl::Seconds(10)));
    ASSERT_TRUE(session.ok()) << session.status();
    ticket = *session;
    (void)(*conn)->Shutdown();
  }
  ASSERT_TRUE(SSL_SESSION_early_data_capable(ticket.get()));

  absl::StatusOr<std::unique_ptr<Connection>> conn =
      Connection::ConnectWithEarlyData(ctx, "localhost", port,
                                       "EARLY FROM TLSESSION\n",
                                       UnsentEarlyData::kResend, ticket);
  ASSERT_TRUE(conn.ok()) << conn.status() << "\n" << (*server)->log();
  EXPECT_EQ((*conn)->early_data().outcome, EarlyDataOutcome::kAccepted)
      << (*conn)->early_data().reason;
  EXPECT_TRUE((*conn)->session_reused());
  EXPECT_TRUE(PollUntil(
      [&] {
        return absl::StrContains((*server)->log(), "Early data received:") &&
               absl::StrContains((*server)->log(), "EARLY FROM TLSESSION");
      },
      absl::Now() + Scaled(absl::Seconds(10))))
      << (*server)->log();
  (void)(*conn)->SendCloseNotify();
}

// `gnutls-serv --earlydata --echo` on a free port (it listens on every
// address; ready once it says so for IPv4).
absl::StatusOr<std::unique_ptr<ServerProcess>> StartGnutlsServ(
    const std::string& dir) {
  const TestPki& pki = GetTestPki();
  ServerSpec spec;
  spec.name = "gnutls-serv --earlydata";
  spec.log_path = dir + "/gnutls-serv.log";
  spec.ready_line = "Echo Server listening on IPv4 0.0.0.0 port {port}";
  spec.command =
      [&pki](uint16_t port) -> absl::StatusOr<std::vector<std::string>> {
    return std::vector<std::string>{"/usr/bin/gnutls-serv",
                                    "--earlydata",
                                    "--echo",
                                    "-p",
                                    absl::StrCat(port),
                                    "--x509certfile",
                                    pki.server_cert_file(),
                                    "--x509keyfile",
                                    pki.server_key_file()};
  };
  return ServerProcess::Start(spec);
}

TEST(LibraryClientAgainstGnutlsServ, EarlyDataIsAccepted) {
  const std::string dir = MakeTempDir();
  auto server = StartGnutlsServ(dir);
  ASSERT_TRUE(server.ok()) << server.status();
  const uint16_t port = (*server)->port();
  ContextOptions options = ClientOptions();
  options.early_data = true;
  auto ctx = MustCreate(options);
  Session ticket;
  {
    absl::StatusOr<std::unique_ptr<Connection>> conn = ConnectLocal(ctx, port);
    ASSERT_TRUE(conn.ok()) << conn.status() << "\n" << (*server)->log();
    absl::StatusOr<Session> session =
        (*conn)->WaitForSession(Scaled(absl::Seconds(10)));
    ASSERT_TRUE(session.ok()) << session.status();
    ticket = *session;
    (void)(*conn)->Shutdown();
  }
  ASSERT_TRUE(SSL_SESSION_early_data_capable(ticket.get()));
  absl::StatusOr<std::unique_ptr<Connection>> conn =
      Connection::ConnectWithEarlyData(ctx, "localhost", port, "EARLY\n",
                                       UnsentEarlyData::kResend, ticket);
  ASSERT_TRUE(conn.ok()) << conn.status() << "\n" << (*server)->log();
  EXPECT_EQ((*conn)->early_data().outcome, EarlyDataOutcome::kAccepted)
      << (*conn)->early_data().reason << "\n"
      << (*server)->log();
  EXPECT_TRUE((*conn)->session_reused());
  (void)(*conn)->Shutdown();
  EXPECT_TRUE(absl::StrContains((*server)->log(), "This is a resumed session"))
      << (*server)->log();
}

}  // namespace
}  // namespace tlsession::testing
