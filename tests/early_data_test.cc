// 0-RTT early data between the library's client and server, over real
// sockets on 127.0.0.1: accepted on a fresh ticket, rejected on a replay of
// the same ticket (and resent after the handshake, once), rejected when the
// single-use check cannot be made (the handshake still resumes), never
// offered without the options or a capable session.
#include <openssl/ssl.h>

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "session/client_session_cache.h"
#include "session/server_session_store.h"
#include "testbed/tls_server.h"
#include "tests/tls_test_util.h"
#include "tls/connection.h"
#include "tls/context.h"

namespace tlsession {
namespace {

using testing::ClientOptions;
using testing::MustCreate;
using testing::ServerOptions;
using testing::TestTlsServer;

// What the server's handler saw of one connection.
struct EarlySeen {
  bool accepted = false;
  bool reused = false;
  uint64_t early_bytes = 0;
  std::string reason;
  std::string data;  // Every byte read, in order.
};

// A server that records each connection and echoes all it reads.
class Recorder {
 public:
  TestTlsServer::Handler Handler() {
    return [this](Connection& conn) -> absl::Status {
      EarlySeen seen;
      char buf[4096];
      absl::Status status;
      for (;;) {
        absl::StatusOr<size_t> n = conn.Read(buf, sizeof(buf));
        if (!n.ok()) {
          status = n.status();
          break;
        }
        if (*n == 0) break;
        seen.data.append(buf, *n);
        if (absl::Status s = conn.Write(absl::string_view(buf, *n)); !s.ok()) {
          status = s;
          break;
        }
      }
      seen.accepted = conn.early_data_accepted();
      seen.reused = conn.session_reused();
      seen.early_bytes = conn.early_bytes_read();
      seen.reason = conn.early_data_reason();
      {
        std::lock_guard<std::mutex> lock(mu_);
        seen_.push_back(seen);
      }
      if (!status.ok()) return status;
      return conn.Shutdown();
    };
  }
  std::vector<EarlySeen> seen() const {
    std::lock_guard<std::mutex> lock(mu_);
    return seen_;
  }

 private:
  mutable std::mutex mu_;
  std::vector<EarlySeen> seen_;
};

ContextOptions EarlyServerOptions() {
  ContextOptions o = ServerOptions();
  o.early_data = true;
  return o;
}

ContextOptions EarlyClientOptions() {
  ContextOptions o = ClientOptions();
  o.early_data = true;
  return o;
}

// Reads exactly |n| bytes from |conn|.
absl::StatusOr<std::string> ReadExactly(Connection& conn, size_t n) {
  std::string out(n, '\0');
  size_t got = 0;
  while (got < n) {
    absl::StatusOr<size_t> r = conn.Read(&out[got], n - got);
    if (!r.ok()) return r.status();
    if (*r == 0) return absl::DataLossError("closed early");
    got += *r;
  }
  return out;
}

// One 0-RTT connection to |port| offering |session|: sends |request| with
// HandshakeWithEarlyData, reads its echo, shuts down cleanly.
struct EarlyRun {
  EarlyDataResult result;
  bool reused = false;
  std::string echo;
  Session next;  // A fresh ticket from this connection.
};

absl::StatusOr<EarlyRun> RunEarly(
    const std::shared_ptr<const Context>& ctx, uint16_t port,
    const Session& session, const std::string& request,
    UnsentEarlyData unsent = UnsentEarlyData::kResend) {
  absl::StatusOr<std::unique_ptr<Connection>> conn =
      Connection::ConnectWithEarlyData(ctx, "localhost", port, request, unsent,
                                       session);
  if (!conn.ok()) return conn.status();
  EarlyRun run;
  run.result = (*conn)->early_data();
  run.reused = (*conn)->session_reused();
  const bool sent = run.result.outcome == EarlyDataOutcome::kAccepted ||
                    run.result.sent_after_handshake;
  if (sent) {
    absl::StatusOr<std::string> echo = ReadExactly(**conn, request.size());
    if (!echo.ok()) return echo.status();
    run.echo = *echo;
  }
  absl::StatusOr<Session> next = (*conn)->WaitForSession(absl::Seconds(10));
  if (next.ok()) run.next = *next;
  if (absl::Status s = (*conn)->Shutdown(); !s.ok()) return s;
  return run;
}

class EarlyDataTest : public ::testing::Test {
 protected:
  void StartServer(ContextOptions options) {
    server_ctx_ = MustCreate(std::move(options));
    auto server = TestTlsServer::Start(server_ctx_, recorder_.Handler());
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
  }
  // A full handshake's ticket for the next connection.
  Session FreshTicket(const std::shared_ptr<const Context>& client) {
    absl::StatusOr<testing::ClientRun> run =
        testing::RunClient(client, server_->port());
    EXPECT_TRUE(run.ok()) << run.status();
    return run.ok() ? run->session : Session();
  }

  Recorder recorder_;
  std::shared_ptr<const Context> server_ctx_;
  std::unique_ptr<TestTlsServer> server_;
};

TEST_F(EarlyDataTest, AFreshTicketCarriesEarlyDataThatTheServerSeesAsEarly) {
  StartServer(EarlyServerOptions());
  auto client = MustCreate(EarlyClientOptions());
  Session ticket = FreshTicket(client);
  ASSERT_FALSE(ticket.empty());
  ASSERT_TRUE(SSL_SESSION_early_data_capable(ticket.get()));

  absl::StatusOr<EarlyRun> run =
      RunEarly(client, server_->port(), ticket, "GET /early");
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_EQ(run->result.outcome, EarlyDataOutcome::kAccepted);
  EXPECT_EQ(run->result.reason, "accepted");
  EXPECT_FALSE(run->result.sent_after_handshake);
  EXPECT_TRUE(run->reused);
  EXPECT_EQ(run->echo, "GET /early");

  ASSERT_TRUE(server_->WaitForServed(2));
  std::vector<EarlySeen> seen = recorder_.seen();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_FALSE(seen[0].accepted);
  EXPECT_EQ(seen[0].early_bytes, 0u);
  EXPECT_TRUE(seen[1].accepted);
  EXPECT_TRUE(seen[1].reused);
  EXPECT_EQ(seen[1].early_bytes, 10u);
  EXPECT_EQ(seen[1].data, "GET /early");
  EXPECT_EQ(seen[1].reason, "accepted");
}

// The same ticket offered twice (a replay of its ClientHello and early
// data): the second is rejected by the single-use check, still resumes, and
// the client's bytes reach the server once, after the handshake.
TEST_F(EarlyDataTest, AReplayedTicketsEarlyDataIsRejectedAndSentOnce) {
  StartServer(EarlyServerOptions());
  auto client = MustCreate(EarlyClientOptions());
  Session ticket = FreshTicket(client);
  ASSERT_FALSE(ticket.empty());

  absl::StatusOr<EarlyRun> first =
      RunEarly(client, server_->port(), ticket, "first");
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->result.outcome, EarlyDataOutcome::kAccepted);

  absl::StatusOr<EarlyRun> replay =
      RunEarly(client, server_->port(), ticket, "again");
  ASSERT_TRUE(replay.ok()) << replay.status();
  EXPECT_EQ(replay->result.outcome, EarlyDataOutcome::kRejected);
  EXPECT_EQ(replay->result.reason, "peer_declined");
  EXPECT_TRUE(replay->result.sent_after_handshake);
  EXPECT_TRUE(replay->reused) << "fail open for resumption";
  EXPECT_EQ(replay->echo, "again");

  ASSERT_TRUE(server_->WaitForServed(3));
  std::vector<EarlySeen> seen = recorder_.seen();
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_FALSE(seen[2].accepted);
  EXPECT_TRUE(seen[2].reused);
  EXPECT_EQ(seen[2].early_bytes, 0u);
  EXPECT_EQ(seen[2].data, "again") << "the early bytes arrive exactly once";
  EXPECT_EQ(seen[2].reason, "ticket already used for 0-RTT");

  // The rejected connection's own tickets still allow 0-RTT.
  ASSERT_FALSE(replay->next.empty());
  EXPECT_TRUE(SSL_SESSION_early_data_capable(replay->next.get()));
  absl::StatusOr<EarlyRun> fresh =
      RunEarly(client, server_->port(), replay->next, "fresh");
  ASSERT_TRUE(fresh.ok()) << fresh.status();
  EXPECT_EQ(fresh->result.outcome, EarlyDataOutcome::kAccepted);
}

// Under kReport, rejected early data is not sent: the caller is told.
TEST_F(EarlyDataTest, ReportLeavesRejectedBytesUnsent) {
  StartServer(EarlyServerOptions());
  auto client = MustCreate(EarlyClientOptions());
  Session ticket = FreshTicket(client);
  ASSERT_TRUE(RunEarly(client, server_->port(), ticket, "one").ok());
  absl::StatusOr<EarlyRun> replay = RunEarly(client, server_->port(), ticket,
                                             "two", UnsentEarlyData::kReport);
  ASSERT_TRUE(replay.ok()) << replay.status();
  EXPECT_EQ(replay->result.outcome, EarlyDataOutcome::kRejected);
  EXPECT_FALSE(replay->result.sent_after_handshake);
  ASSERT_TRUE(server_->WaitForServed(3));
  EXPECT_EQ(recorder_.seen()[2].data, "");
}

// When the single-use check cannot be made (here: every claim slot is
// live), early data is rejected and the handshake resumes.
TEST_F(EarlyDataTest, ACheckThatCannotBeMadeRejectsEarlyDataButResumes) {
  MemoryServerSessionStore::Config config;
  config.max_early_data_claims = 0;
  ContextOptions options = EarlyServerOptions();
  options.session_store = std::make_shared<MemoryServerSessionStore>(config);
  StartServer(options);
  auto client = MustCreate(EarlyClientOptions());
  Session ticket = FreshTicket(client);
  absl::StatusOr<EarlyRun> run =
      RunEarly(client, server_->port(), ticket, "hello");
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_EQ(run->result.outcome, EarlyDataOutcome::kRejected);
  EXPECT_TRUE(run->reused);
  EXPECT_EQ(run->echo, "hello");
  ASSERT_TRUE(server_->WaitForServed(2));
  EXPECT_THAT(recorder_.seen()[1].reason,
              ::testing::StartsWith("single-use check failed: "));
}

// Without ContextOptions::early_data on the server, its tickets do not allow
// 0-RTT: the client does not offer it and sends after the handshake.
TEST_F(EarlyDataTest, AServerWithoutEarlyDataIssuesTicketsThatDoNotOfferIt) {
  StartServer(ServerOptions());
  auto client = MustCreate(EarlyClientOptions());
  Session ticket = FreshTicket(client);
  ASSERT_FALSE(ticket.empty());
  EXPECT_FALSE(SSL_SESSION_early_data_capable(ticket.get()));
  absl::StatusOr<EarlyRun> run =
      RunEarly(client, server_->port(), ticket, "late");
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_EQ(run->result.outcome, EarlyDataOutcome::kNotOffered);
  EXPECT_EQ(run->result.reason, "unsupported_for_session");
  EXPECT_TRUE(run->result.sent_after_handshake);
  EXPECT_EQ(run->echo, "late");
}

// A client without ContextOptions::early_data never sends early data.
TEST_F(EarlyDataTest, AClientWithoutTheOptionDoesNotOfferIt) {
  StartServer(EarlyServerOptions());
  auto client = MustCreate(ClientOptions());
  Session ticket = FreshTicket(client);
  absl::StatusOr<EarlyRun> run =
      RunEarly(client, server_->port(), ticket, "plain");
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_EQ(run->result.outcome, EarlyDataOutcome::kNotOffered);
  EXPECT_EQ(run->result.reason, "disabled");
  EXPECT_EQ(run->echo, "plain");
  ASSERT_TRUE(server_->WaitForServed(2));
  EXPECT_EQ(recorder_.seen()[1].early_bytes, 0u);
}

// Through the client's session cache: the first connection fills it, the
// second takes its ticket (single use) for 0-RTT, the third takes the
// ticket the second received.
TEST_F(EarlyDataTest, TheCacheHandsEachTicketToOneEarlyConnection) {
  StartServer(EarlyServerOptions());
  ContextOptions options = EarlyClientOptions();
  options.session_cache = std::make_shared<ClientSessionCache>();
  auto client = MustCreate(options);
  ASSERT_TRUE(testing::RunClient(client, server_->port()).ok());
  for (int i = 0; i < 3; ++i) {
    absl::StatusOr<EarlyRun> run =
        RunEarly(client, server_->port(), Session(), absl::StrCat("req", i));
    ASSERT_TRUE(run.ok()) << run.status();
    EXPECT_EQ(run->result.outcome, EarlyDataOutcome::kAccepted) << i;
  }
  ASSERT_TRUE(server_->WaitForServed(4));
  for (const EarlySeen& seen : recorder_.seen()) {
    EXPECT_NE(seen.reason, "ticket already used for 0-RTT");
  }
}

// The cache hands a ticket only to connections with the same identity
// (ALPN list included), peer name and port: a ticket made for "h2" never
// carries early data of an "http/1.1" Context, nor of another host name.
TEST_F(EarlyDataTest, OnlyTheSameAlpnAndPeerGetTheTicket) {
  ContextOptions server = EarlyServerOptions();
  server.alpn_protocols = {"h2", "http/1.1"};
  StartServer(server);
  auto cache = std::make_shared<ClientSessionCache>();
  ContextOptions h2 = EarlyClientOptions();
  h2.alpn_protocols = {"h2"};
  h2.session_cache = cache;
  auto h2_client = MustCreate(h2);
  ASSERT_TRUE(testing::RunClient(h2_client, server_->port()).ok());

  ContextOptions http11 = h2;
  http11.alpn_protocols = {"http/1.1"};
  absl::StatusOr<EarlyRun> other_alpn =
      RunEarly(MustCreate(http11), server_->port(), Session(), "other alpn");
  ASSERT_TRUE(other_alpn.ok()) << other_alpn.status();
  EXPECT_EQ(other_alpn->result.outcome, EarlyDataOutcome::kNotOffered);
  EXPECT_EQ(other_alpn->result.reason, "no_session_offered");

  // The test certificate names 127.0.0.1 too: the same server under
  // another name is another peer.
  absl::StatusOr<std::unique_ptr<Connection>> other_peer =
      Connection::ConnectWithEarlyData(h2_client, "127.0.0.1", server_->port(),
                                       "other peer");
  ASSERT_TRUE(other_peer.ok()) << other_peer.status();
  EXPECT_EQ((*other_peer)->early_data().outcome, EarlyDataOutcome::kNotOffered);
  EXPECT_EQ((*other_peer)->early_data().reason, "no_session_offered");
  absl::StatusOr<std::string> echo = ReadExactly(**other_peer, 10);
  EXPECT_EQ(echo.value_or(""), "other peer");
  EXPECT_TRUE((*other_peer)->Shutdown().ok());

  absl::StatusOr<EarlyRun> same =
      RunEarly(h2_client, server_->port(), Session(), "same alpn and peer");
  ASSERT_TRUE(same.ok()) << same.status();
  EXPECT_EQ(same->result.outcome, EarlyDataOutcome::kAccepted);
}

// Early data larger than the ticket's limit: what fits goes early, the rest
// after the handshake; the server reads all of it, in order.
TEST_F(EarlyDataTest, DataPastTheLimitFollowsInOneRtt) {
  StartServer(EarlyServerOptions());
  auto client = MustCreate(EarlyClientOptions());
  Session ticket = FreshTicket(client);
  std::string big(kMaxEarlyDataBytes + 5000, 'x');
  for (size_t i = 0; i < big.size(); ++i) big[i] = 'a' + i % 26;
  absl::StatusOr<EarlyRun> run = RunEarly(client, server_->port(), ticket, big);
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_EQ(run->result.outcome, EarlyDataOutcome::kAccepted);
  EXPECT_EQ(run->echo, big);
  ASSERT_TRUE(server_->WaitForServed(2));
  EarlySeen seen = recorder_.seen()[1];
  EXPECT_EQ(seen.data, big);
  EXPECT_GT(seen.early_bytes, 0u);
  EXPECT_LE(seen.early_bytes, kMaxEarlyDataBytes);
}

TEST_F(EarlyDataTest, OnlyAClientBeforeItsHandshakeSendsEarlyData) {
  StartServer(EarlyServerOptions());
  auto client = MustCreate(EarlyClientOptions());
  auto conn = testing::ConnectLocal(client, server_->port());
  ASSERT_TRUE(conn.ok()) << conn.status();
  EXPECT_EQ((*conn)->HandshakeWithEarlyData("late").code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ((*conn)->early_data().outcome, EarlyDataOutcome::kNone);
}

}  // namespace
}  // namespace tlsession
