// Require-reuse, FTPS style, over real sockets on 127.0.0.1: data
// connections resume only the session of their own control connection
// (Connection::IsolateSessions() on the control connection,
// ShareSessionsWith() on each data connection), the errors of both, and
// WaitForSession() when the tickets and close_notify arrive together.
#include <openssl/ssl.h>
#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testbed/poll.h"
#include "testbed/tls_server.h"
#include "tests/tls_test_util.h"
#include "tls/connection.h"
#include "tls/context.h"
#include "tls/socket.h"

namespace tlsession::testing {
namespace {

using ::testing::HasSubstr;

// A hand-made FTPS-like server: control connections on one listener (each
// IsolateSessions() before its handshake), data connections on another (each
// ShareSessionsWith() a given control connection before its handshake), in a
// fixed order agreed with the test. Serves one connection at a time.
class FtpsServer {
 public:
  struct Step {
    bool control;    // A control connection, else a data connection.
    int control_ix;  // Data: the index of the control connection to share.
  };
  static Step Control() { return {true, -1}; }
  static Step Data(int control_ix) { return {false, control_ix}; }

  struct DataRecord {
    int control_ix = -1;
    absl::Status share;
    absl::Status handshake;
    bool session_reused = false;
    absl::Status shutdown;
  };
  struct ControlRecord {
    absl::Status isolate;
    absl::Status handshake;
    absl::Status late_isolate;  // IsolateSessions() after the handshake.
    absl::Status shutdown;
  };
  struct Results {
    absl::Status accept;  // The first failed accept, if any.
    std::vector<ControlRecord> controls;
    std::vector<DataRecord> data;
  };

  static absl::StatusOr<std::unique_ptr<FtpsServer>> Start(
      std::shared_ptr<const Context> ctx, std::vector<Step> plan) {
    auto control = TcpListener::Listen("127.0.0.1", 0);
    if (!control.ok()) return control.status();
    auto data = TcpListener::Listen("127.0.0.1", 0);
    if (!data.ok()) return data.status();
    std::unique_ptr<FtpsServer> server(
        new FtpsServer(std::move(ctx), std::move(plan), std::move(*control),
                       std::move(*data)));
    server->thread_ = std::thread([s = server.get()] { s->Run(); });
    return server;
  }

  ~FtpsServer() {
    if (thread_.joinable()) thread_.join();
  }

  uint16_t control_port() const { return control_.port(); }
  uint16_t data_port() const { return data_.port(); }

  // Waits for the plan to finish (every step is bounded by timeouts) and
  // returns what the server saw.
  Results Finish() {
    if (thread_.joinable()) thread_.join();
    return results_;
  }

 private:
  FtpsServer(std::shared_ptr<const Context> ctx, std::vector<Step> plan,
             TcpListener control, TcpListener data)
      : ctx_(std::move(ctx)),
        plan_(std::move(plan)),
        control_(std::move(control)),
        data_(std::move(data)) {}

  void Run() {
    std::vector<std::unique_ptr<Connection>> controls;
    for (const Step& step : plan_) {
      TcpListener& listener = step.control ? control_ : data_;
      absl::StatusOr<OwnedFd> fd = listener.Accept(absl::Seconds(10));
      if (!fd.ok()) {
        results_.accept = fd.status();
        break;
      }
      auto conn = Connection::Create(ctx_, std::move(*fd), "");
      if (!conn.ok()) {
        results_.accept = conn.status();
        break;
      }
      (*conn)->set_timeout(absl::Seconds(10));
      if (step.control) {
        ControlRecord record;
        record.isolate = (*conn)->IsolateSessions();
        record.handshake = (*conn)->Handshake();
        record.late_isolate = (*conn)->IsolateSessions();
        results_.controls.push_back(record);
        controls.push_back(std::move(*conn));
        continue;
      }
      DataRecord record;
      record.control_ix = step.control_ix;
      if (step.control_ix < 0 ||
          static_cast<size_t>(step.control_ix) >= controls.size()) {
        record.share = absl::InvalidArgumentError("bad control index");
      } else {
        record.share = (*conn)->ShareSessionsWith(*controls[step.control_ix]);
      }
      record.handshake = (*conn)->Handshake();
      record.session_reused = (*conn)->session_reused();
      // A real require-reuse server refuses a data connection that did not
      // resume; this one serves every one and lets the test judge. The client
      // ends each data connection: the server reads until its close_notify,
      // then answers with its own, so that its TLS 1.3 tickets always arrive
      // well before its close_notify (see TicketsThenCloseNotify).
      if (record.handshake.ok()) {
        char buf[256];
        absl::StatusOr<size_t> n;
        do {
          n = (*conn)->Read(buf, sizeof(buf));
        } while (n.ok() && *n > 0);
        record.shutdown = n.ok() ? (*conn)->Shutdown() : n.status();
      }
      results_.data.push_back(record);
    }
    // The control connections end last, as when the FTP session ends.
    for (size_t i = 0; i < controls.size(); ++i) {
      if (results_.controls[i].handshake.ok()) {
        results_.controls[i].shutdown = controls[i]->Shutdown();
      }
    }
  }

  const std::shared_ptr<const Context> ctx_;
  const std::vector<Step> plan_;
  TcpListener control_;
  TcpListener data_;
  Results results_;  // Written by the thread; read after joining it.
  std::thread thread_;
};

class RequireReuseTest : public ::testing::TestWithParam<Resumption> {
 protected:
  bool tls13() const { return GetParam() == Resumption::kTls13; }
};

// Under TLS 1.2 (session ID or ticket) every data connection offers the
// control connection's session, as FTPS clients do.
//
// Under TLS 1.3 each data connection offers a ticket it has never offered
// before: the first data connection offers the control connection's ticket,
// and each later one the newest ticket of the data connection before it. Those
// tickets were issued by connections that shared the control connection's
// session-ID context, so they resume too: the chain works for any number of
// data connections, and no ticket is offered twice (RFC 8446 C.4). (BoringSSL
// servers keep no replay state, so re-offering the control connection's one
// ticket also happens to resume, but a client must not rely on it.)
TEST_P(RequireReuseTest, DataConnectionsResumeTheControlSession) {
  auto server_ctx = MustCreate(ServerOptions(GetParam()));
  auto server =
      FtpsServer::Start(server_ctx, {FtpsServer::Control(), FtpsServer::Data(0),
                                     FtpsServer::Data(0), FtpsServer::Data(0)});
  ASSERT_TRUE(server.ok()) << server.status();
  auto client = MustCreate(ClientOptions());

  auto control = ConnectLocal(client, (*server)->control_port());
  ASSERT_TRUE(control.ok()) << control.status();
  EXPECT_FALSE((*control)->session_reused());
  absl::StatusOr<Session> control_session =
      (*control)->WaitForSession(absl::Seconds(5));
  ASSERT_TRUE(control_session.ok()) << control_session.status();
  ASSERT_TRUE(control_session->is_resumable());
  EXPECT_EQ(control_session->is_single_use(), tls13());

  Session offer = *control_session;
  std::vector<Session> offered;
  for (int i = 0; i < 3; ++i) {
    SCOPED_TRACE(::testing::Message() << "data connection " << i + 1);
    auto data = ConnectLocal(client, (*server)->data_port(), offer);
    ASSERT_TRUE(data.ok()) << data.status();
    EXPECT_TRUE((*data)->session_reused());
    offered.push_back(offer);
    if (tls13()) {
      absl::StatusOr<Session> fresh = (*data)->WaitForSession(absl::Seconds(5));
      ASSERT_TRUE(fresh.ok()) << fresh.status();
      ASSERT_TRUE(fresh->is_resumable());
      offer = *fresh;
    }
    ASSERT_TRUE((*data)->Shutdown().ok());
  }
  if (tls13()) {
    // Three distinct tickets were offered.
    EXPECT_NE(offered[0], offered[1]);
    EXPECT_NE(offered[1], offered[2]);
    EXPECT_NE(offered[0], offered[2]);
  }
  ASSERT_TRUE((*control)->Shutdown().ok());

  FtpsServer::Results r = (*server)->Finish();
  EXPECT_TRUE(r.accept.ok()) << r.accept;
  ASSERT_EQ(r.controls.size(), 1u);
  EXPECT_TRUE(r.controls[0].isolate.ok()) << r.controls[0].isolate;
  EXPECT_TRUE(r.controls[0].handshake.ok()) << r.controls[0].handshake;
  EXPECT_EQ(r.controls[0].late_isolate.code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(r.controls[0].shutdown.ok()) << r.controls[0].shutdown;
  ASSERT_EQ(r.data.size(), 3u);
  for (size_t i = 0; i < r.data.size(); ++i) {
    SCOPED_TRACE(::testing::Message() << "data connection " << i + 1);
    EXPECT_TRUE(r.data[i].share.ok()) << r.data[i].share;
    EXPECT_TRUE(r.data[i].handshake.ok()) << r.data[i].handshake;
    EXPECT_TRUE(r.data[i].session_reused);
    EXPECT_TRUE(r.data[i].shutdown.ok()) << r.data[i].shutdown;
  }
}

// Two control connections on one server Context: a data connection tied to
// one of them resumes only that one's sessions, never the other's and never
// without a session. (The third data connection is the positive control.)
TEST_P(RequireReuseTest, ForeignOrMissingSessionIsNotReused) {
  auto server_ctx = MustCreate(ServerOptions(GetParam()));
  auto server = FtpsServer::Start(
      server_ctx,
      {FtpsServer::Control(), FtpsServer::Control(), FtpsServer::Data(0),
       FtpsServer::Data(0), FtpsServer::Data(0), FtpsServer::Data(1)});
  ASSERT_TRUE(server.ok()) << server.status();
  auto client = MustCreate(ClientOptions());

  auto control_a = ConnectLocal(client, (*server)->control_port());
  ASSERT_TRUE(control_a.ok()) << control_a.status();
  auto session_a = (*control_a)->WaitForSession(absl::Seconds(5));
  ASSERT_TRUE(session_a.ok()) << session_a.status();
  auto control_b = ConnectLocal(client, (*server)->control_port());
  ASSERT_TRUE(control_b.ok()) << control_b.status();
  auto session_b = (*control_b)->WaitForSession(absl::Seconds(5));
  ASSERT_TRUE(session_b.ok()) << session_b.status();
  ASSERT_NE(*session_a, *session_b);

  // Data(0) offered B's session.
  auto foreign = ConnectLocal(client, (*server)->data_port(), *session_b);
  ASSERT_TRUE(foreign.ok()) << foreign.status();
  EXPECT_FALSE((*foreign)->session_reused());
  ASSERT_TRUE((*foreign)->Shutdown().ok());
  // Data(0) offered nothing.
  auto none = ConnectLocal(client, (*server)->data_port());
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_FALSE((*none)->session_reused());
  ASSERT_TRUE((*none)->Shutdown().ok());
  // Data(0) offered A's session: resumes.
  auto own = ConnectLocal(client, (*server)->data_port(), *session_a);
  ASSERT_TRUE(own.ok()) << own.status();
  EXPECT_TRUE((*own)->session_reused());
  // Under TLS 1.3, a fresh ticket of A's for the next connection (A's own
  // ticket has been used); under TLS 1.2, A's session again.
  Session a_again = *session_a;
  if (tls13()) {
    auto fresh = (*own)->WaitForSession(absl::Seconds(5));
    ASSERT_TRUE(fresh.ok()) << fresh.status();
    a_again = *fresh;
  }
  ASSERT_TRUE((*own)->Shutdown().ok());
  // Data(1), tied to B, offered A's session.
  auto cross = ConnectLocal(client, (*server)->data_port(), a_again);
  ASSERT_TRUE(cross.ok()) << cross.status();
  EXPECT_FALSE((*cross)->session_reused());
  ASSERT_TRUE((*cross)->Shutdown().ok());

  ASSERT_TRUE((*control_a)->Shutdown().ok());
  ASSERT_TRUE((*control_b)->Shutdown().ok());
  FtpsServer::Results r = (*server)->Finish();
  EXPECT_TRUE(r.accept.ok()) << r.accept;
  ASSERT_EQ(r.controls.size(), 2u);
  for (const FtpsServer::ControlRecord& c : r.controls) {
    EXPECT_TRUE(c.isolate.ok()) << c.isolate;
    EXPECT_TRUE(c.handshake.ok()) << c.handshake;
    EXPECT_TRUE(c.shutdown.ok()) << c.shutdown;
  }
  ASSERT_EQ(r.data.size(), 4u);
  for (const FtpsServer::DataRecord& d : r.data) {
    EXPECT_TRUE(d.share.ok()) << d.share;
    EXPECT_TRUE(d.handshake.ok()) << d.handshake;
    EXPECT_TRUE(d.shutdown.ok()) << d.shutdown;
  }
  EXPECT_FALSE(r.data[0].session_reused) << "resumed another control's session";
  EXPECT_FALSE(r.data[1].session_reused) << "resumed without a session";
  EXPECT_TRUE(r.data[2].session_reused) << "did not resume its own control's";
  EXPECT_FALSE(r.data[3].session_reused) << "resumed another control's session";
}

INSTANTIATE_TEST_SUITE_P(AllModes, RequireReuseTest,
                         ::testing::Values(Resumption::kTls12SessionId,
                                           Resumption::kTls12Ticket,
                                           Resumption::kTls13),
                         [](const auto& info) {
                           return ResumptionName(info.param);
                         });

// Two connected server-side Connections (no handshake) and a client-side one.
class IsolationErrors : public ::testing::Test {
 protected:
  void SetUp() override {
    auto listener = TcpListener::Listen("127.0.0.1", 0);
    ASSERT_TRUE(listener.ok()) << listener.status();
    auto server_ctx = MustCreate(ServerOptions());
    for (int i = 0; i < 2; ++i) {
      auto client_fd =
          ConnectTcp("127.0.0.1", listener->port(), absl::Seconds(5));
      ASSERT_TRUE(client_fd.ok()) << client_fd.status();
      auto accepted = listener->Accept(absl::Seconds(5));
      ASSERT_TRUE(accepted.ok()) << accepted.status();
      auto conn = Connection::Create(server_ctx, std::move(*accepted), "");
      ASSERT_TRUE(conn.ok()) << conn.status();
      server_conns_.push_back(std::move(*conn));
      if (i == 0) {
        auto c = Connection::Create(MustCreate(ClientOptions()),
                                    std::move(*client_fd), "localhost");
        ASSERT_TRUE(c.ok()) << c.status();
        client_conn_ = std::move(*c);
      } else {
        client_fds_.push_back(std::move(*client_fd));
      }
    }
  }

  std::vector<std::unique_ptr<Connection>> server_conns_;
  std::unique_ptr<Connection> client_conn_;
  std::vector<OwnedFd> client_fds_;
};

TEST_F(IsolationErrors, ShareWithControlThatDidNotIsolateFails) {
  Connection& control = *server_conns_[0];
  Connection& data = *server_conns_[1];
  absl::Status s = data.ShareSessionsWith(control);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(Msg(s), HasSubstr("did not call IsolateSessions()"));
  // Once the control connection isolates, sharing works.
  ASSERT_TRUE(control.IsolateSessions().ok());
  EXPECT_TRUE(data.ShareSessionsWith(control).ok());
}

TEST_F(IsolationErrors, IsolateOnClientConnectionFails) {
  absl::Status s = client_conn_->IsolateSessions();
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(Msg(s), HasSubstr("server-side connection"));
  // Nor may a client connection share a server's sessions.
  ASSERT_TRUE(server_conns_[0]->IsolateSessions().ok());
  absl::Status share = client_conn_->ShareSessionsWith(*server_conns_[0]);
  EXPECT_EQ(share.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(Msg(share), HasSubstr("server-side connection"));
}

// ---------------------------------------------------------------------------
// Library bug, found while writing the require-reuse tests (fixed in
// dac1fb3): when a TLS 1.3 server sends its tickets and closes right away (a
// data connection that the server ends), the client's WaitForSession() reads
// the tickets and the close_notify in one SSL_peek and gets
// SSL_ERROR_ZERO_RETURN; it must still return the session it now holds.

// Waits until the peer of |fd| has ended its side of the connection: its
// FIN, which comes after everything it sent, has arrived. False when
// |max_wait| passed first.
bool PeerEnded(int fd, absl::Duration max_wait) {
  const absl::Time deadline = absl::Now() + max_wait;
  for (;;) {
    pollfd p{fd, POLLRDHUP, 0};
    const int ms = static_cast<int>(std::max<int64_t>(
        0, absl::ToInt64Milliseconds(deadline - absl::Now())));
    const int r = poll(&p, 1, ms);
    if (r > 0) return (p.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0;
    if (r == 0 || errno != EINTR) return false;
  }
}

TEST(WaitForSession, TicketsThenCloseNotify) {
  // The server ends at once: close_notify after its tickets, then it closes
  // the socket without waiting for the client's close_notify.
  auto server = TestTlsServer::Start(
      MustCreate(ServerOptions(Resumption::kTls13)), [](Connection& conn) {
        conn.set_timeout(absl::ZeroDuration());
        (void)conn.Shutdown();  // Sent; the wait for ours times out at once.
        return absl::OkStatus();
      });
  ASSERT_TRUE(server.ok()) << server.status();
  auto conn = ConnectLocal(MustCreate(ClientOptions()), (*server)->port());
  ASSERT_TRUE(conn.ok()) << conn.status();
  ASSERT_EQ((*conn)->version(), TLS1_3_VERSION);
  // The tickets and the close_notify have both arrived before reading.
  ASSERT_TRUE(PeerEnded((*conn)->fd(), Scaled(absl::Seconds(5))));
  absl::StatusOr<Session> s = (*conn)->WaitForSession(absl::Seconds(5));
  EXPECT_TRUE(s.ok()) << s.status()
                      << " (sessions received: " << (*conn)->sessions_received()
                      << ", session() "
                      << ((*conn)->session().is_resumable() ? "is" : "is not")
                      << " resumable)";
  EXPECT_TRUE((*conn)->Shutdown().ok());
}

}  // namespace
}  // namespace tlsession::testing
