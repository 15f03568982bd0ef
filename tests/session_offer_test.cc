// What a client offers, seen from the server's side: every test reads the
// ClientHello bytes themselves (ClientHelloRecorder) to prove that a session
// is offered only to the peer and configuration it was made for, that a
// TLS 1.3 ticket is offered at most once (also by FTPS clients and by two
// processes sharing one cache file), and that a connection that did not end
// cleanly seeds nothing.
#include <sys/wait.h>
#include <unistd.h>

#include <functional>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "ftp_adapter/ftps_client.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "session/session_cache_file.h"
#include "testbed/certs.h"
#include "testbed/tls_server.h"
#include "tests/testing/client_hello_recorder.h"
#include "tests/testing/hostile_ftp_server.h"
#include "tests/tls_test_util.h"
#include "tls/connection.h"
#include "tls/socket.h"

namespace tlsession {
namespace {

using testing::ClientHelloRecorder;
using testing::Fault;
using testing::HostileFtpServer;
using testing::HostileOptions;
using testing::TestTlsServer;

// A TLS server that records every ClientHello.
struct RecordedServer {
  std::unique_ptr<ClientHelloRecorder> recorder;
  std::unique_ptr<TestTlsServer> server;
  uint16_t port() const { return server->port(); }
};

RecordedServer StartServer(
    testing::Resumption mode, size_t tickets = 2,
    TestTlsServer::Handler handler = TestTlsServer::Echo) {
  ContextOptions o = testing::ServerOptions(mode);
  o.tls13_tickets = tickets;
  std::shared_ptr<const Context> context = testing::MustCreate(o);
  RecordedServer out;
  out.recorder = std::make_unique<ClientHelloRecorder>();
  out.recorder->Install(context);
  auto server = TestTlsServer::Start(context, std::move(handler));
  EXPECT_TRUE(server.ok()) << server.status();
  if (server.ok()) out.server = std::move(*server);
  return out;
}

// Connects with |context| to |host|:|port|, exchanges a line, reads the
// tickets and ends cleanly, so that the connection's sessions are given back.
void ConnectAndEndCleanly(std::shared_ptr<const Context> context,
                          const std::string& host, uint16_t port) {
  auto conn = Connection::Connect(context, host, port);
  ASSERT_TRUE(conn.ok()) << conn.status();
  ASSERT_TRUE((*conn)->Write("ping\n").ok());
  char buf[16];
  ASSERT_TRUE((*conn)->Read(buf, sizeof(buf)).ok());
  if ((*conn)->version() >= TLS1_3_VERSION) {
    ASSERT_TRUE((*conn)->WaitForSession(absl::Seconds(5)).ok());
  }
  ASSERT_TRUE((*conn)->Shutdown().ok());
  EXPECT_TRUE((*conn)->closed_cleanly());
}

bool LastHelloOffered(const RecordedServer& s) {
  auto hellos = s.recorder->hellos();
  return !hellos.empty() && hellos.back().offers_ticket();
}

// Any ticket identity that appears more than once.
std::vector<std::string> Repeated(const std::vector<std::string>& tickets) {
  std::set<std::string> seen;
  std::vector<std::string> repeated;
  for (const std::string& t : tickets) {
    if (!seen.insert(t).second) repeated.push_back(t);
  }
  return repeated;
}

ContextOptions CachingClient(std::shared_ptr<ClientSessionCache> cache) {
  ContextOptions o = testing::ClientOptions();
  o.session_cache = std::move(cache);
  return o;
}

class WrongPeerTest : public ::testing::TestWithParam<testing::Resumption> {};

// Nothing changed: the next connection offers the cached session; a changed
// host name, port, ALPN list or identity field: nothing is offered.
TEST_P(WrongPeerTest, OffersOnlyToTheSamePeerAndConfiguration) {
  if (GetParam() == testing::Resumption::kTls12SessionId) {
    GTEST_SKIP() << "session IDs are not tickets; covered by the cache tests";
  }
  RecordedServer a = StartServer(GetParam());
  RecordedServer b = StartServer(GetParam());
  auto cache = std::make_shared<ClientSessionCache>();
  auto base = testing::MustCreate(CachingClient(cache));
  const auto changed = [&](auto change) {
    ContextOptions o = CachingClient(cache);
    change(o);
    return testing::MustCreate(o);
  };
  // Each probe first seeds the cache for localhost:a, then connects with
  // the change and looks at what the ClientHello offered.
  struct Probe {
    std::string what;
    std::shared_ptr<const Context> context;
    std::string host;
    uint16_t port;
    bool expect_offer;
  };
  const std::vector<Probe> probes = {
      {"nothing changed", base, "localhost", a.port(), true},
      {"host name", base, "127.0.0.1", a.port(), false},
      {"port", base, "localhost", b.port(), false},
      {"ALPN list",
       changed([](ContextOptions& o) { o.alpn_protocols = {"h2"}; }),
       "localhost", a.port(), false},
      {"groups", changed([](ContextOptions& o) { o.groups = "P-256"; }),
       "localhost", a.port(), false},
      {"trust roots", changed([](ContextOptions& o) {
         o.ca_pem +=
             testing::GetTestPki(testing::KeyType::kRsa2048).ca.cert_pem;
       }),
       "localhost", a.port(), false},
      {"client certificate", changed([](ContextOptions& o) {
         o.certificate_chain_pem = testing::GetTestPki().client.cert_pem;
         o.private_key_pem = testing::GetTestPki().client.key_pem;
       }),
       "localhost", a.port(), false},
  };
  for (const Probe& p : probes) {
    cache->Clear();
    ConnectAndEndCleanly(base, "localhost", a.port());
    ASSERT_GE(cache->session_count(), 1u);
    auto conn = Connection::Connect(p.context, p.host, p.port);
    ASSERT_TRUE(conn.ok()) << p.what << ": " << conn.status();
    const RecordedServer& server = p.port == a.port() ? a : b;
    EXPECT_EQ(LastHelloOffered(server), p.expect_offer) << p.what;
    EXPECT_EQ((*conn)->session_reused(), p.expect_offer) << p.what;
  }
}

INSTANTIATE_TEST_SUITE_P(Modes, WrongPeerTest,
                         ::testing::Values(testing::Resumption::kTls12Ticket,
                                           testing::Resumption::kTls13),
                         [](const auto& info) {
                           return testing::ResumptionName(info.param);
                         });

// A server that sends one ticket per handshake: each ticket is offered once,
// and a run of connections keeps resuming with the ticket each one received.
TEST(SingleUse, EachTls13TicketIsOfferedOnce) {
  RecordedServer server = StartServer(testing::Resumption::kTls13, 1);
  auto cache = std::make_shared<ClientSessionCache>();
  auto context = testing::MustCreate(CachingClient(cache));
  for (int i = 0; i < 5; ++i) {
    ConnectAndEndCleanly(context, "localhost", server.port());
  }
  const std::vector<std::string> offered = server.recorder->tickets_offered();
  EXPECT_EQ(offered.size(), 4u);  // Every connection but the first.
  EXPECT_THAT(Repeated(offered), ::testing::IsEmpty());
}

// Two connections open at once: the second does not get the ticket the
// first was handed.
TEST(SingleUse, ConcurrentCheckoutsGetDifferentTickets) {
  RecordedServer server = StartServer(testing::Resumption::kTls13, 1);
  auto cache = std::make_shared<ClientSessionCache>();
  auto context = testing::MustCreate(CachingClient(cache));
  ConnectAndEndCleanly(context, "localhost", server.port());
  // Both ClientHellos leave before either handshake completes.
  std::vector<std::unique_ptr<Connection>> conns;
  for (int i = 0; i < 2; ++i) {
    auto fd = ConnectTcp("localhost", server.port(), absl::Seconds(5));
    ASSERT_TRUE(fd.ok());
    auto conn = Connection::Create(context, *std::move(fd), "localhost");
    ASSERT_TRUE(conn.ok());
    ASSERT_TRUE((*conn)->HandshakeStep().ok());
    conns.push_back(*std::move(conn));
  }
  for (auto& conn : conns) {
    ASSERT_TRUE(conn->Handshake().ok());
    ASSERT_TRUE(conn->Shutdown().ok());
  }
  EXPECT_EQ(conns[0]->offered_origin(), SessionOrigin::kCache);
  EXPECT_TRUE(conns[0]->session_reused());
  EXPECT_EQ(conns[1]->offered_origin(), SessionOrigin::kNone);
  EXPECT_FALSE(conns[1]->session_reused());
  EXPECT_THAT(Repeated(server.recorder->tickets_offered()),
              ::testing::IsEmpty());
}

// A connection that ends without close_notify (cut by the peer, or by an
// attacker) gives nothing to the cache: the next connection offers nothing.
TEST(CleanEnd, UncleanEndSeedsNothing) {
  RecordedServer server = StartServer(
      testing::Resumption::kTls13, 2, [](Connection& c) -> absl::Status {
        char buf[16];
        (void)c.Read(buf, sizeof(buf));
        return c.Write("pong\n");  // Then close without close_notify.
      });
  auto cache = std::make_shared<ClientSessionCache>();
  auto context = testing::MustCreate(CachingClient(cache));
  {
    auto conn = Connection::Connect(context, "localhost", server.port());
    ASSERT_TRUE(conn.ok());
    ASSERT_TRUE((*conn)->Write("ping\n").ok());
    ASSERT_TRUE((*conn)->WaitForSession(absl::Seconds(5)).ok());
    char buf[16];
    while ((*conn)->Read(buf, sizeof(buf)).ok()) {
    }
    EXPECT_EQ((*conn)->state(), ConnectionState::kBroken);
  }
  EXPECT_EQ(cache->session_count(), 0u);
  auto next = Connection::Connect(context, "localhost", server.port());
  ASSERT_TRUE(next.ok());
  EXPECT_FALSE(LastHelloOffered(server));
}

// FTPS against a server that requires reuse and records ClientHellos.
class FtpsSessionTest : public ::testing::Test {
 protected:
  std::unique_ptr<HostileFtpServer> Start(Fault fault, size_t tickets) {
    HostileOptions o;
    o.fault = fault;
    o.file = std::string(1000, 'x');
    o.tls13_tickets = tickets;
    o.recorder = &recorder_;
    auto server = HostileFtpServer::Start(o);
    EXPECT_TRUE(server.ok()) << server.status();
    return server.ok() ? *std::move(server) : nullptr;
  }

  // One client run: connect, two downloads, QUIT. The cache file is loaded
  // before and saved after, as the ftps tool does; |after_load|, when given,
  // runs between the load and the connection.
  absl::Status Run(uint16_t port, const std::string& cache_path,
                   const std::function<void()>& after_load = nullptr) {
    auto file = SessionCacheFile::Open(cache_path);
    if (!file.ok()) return file.status();
    ClientSessionCache::Config config;
    config.digest_key = file->digest_key();
    auto cache = std::make_shared<ClientSessionCache>(config);
    (void)file->Load(*cache);
    if (after_load) after_load();
    ftp::ClientOptions co;
    co.tls_context = testing::MustCreate(CachingClient(cache));
    co.timeout = absl::Seconds(5);
    absl::Status result = [&]() -> absl::Status {
      auto client = ftp::FtpsClient::Connect("localhost", port, co);
      if (!client.ok()) return client.status();
      if (auto s = (*client)->Login("u", "p"); !s.ok()) return s;
      for (int i = 0; i < 2; ++i) {
        auto s = (*client)->Retrieve(
            "f", [](absl::string_view) { return absl::OkStatus(); });
        if (!s.ok()) return s;
      }
      return (*client)->Quit();
    }();
    if (auto saved = file->Save(*cache); !saved.ok()) return saved;
    return result;
  }

  size_t SessionsInFile(const std::string& cache_path) {
    auto file = SessionCacheFile::Open(cache_path);
    ClientSessionCache::Config config;
    config.digest_key = file->digest_key();
    ClientSessionCache cache(config);
    auto loaded = file->Load(cache);
    return loaded.ok() ? *loaded : 0;
  }

  ClientHelloRecorder recorder_;
  std::string dir_ = testing::MakeTempDir();
};

// A server that answers QUIT with a TCP reset (no 221, no close_notify):
// nothing of that control connection is saved, so the next run offers
// nothing. With a clean 221 the same run saves the spare ticket and the
// fresh ticket its first resumed data connection received (adopted by the
// control connection, so that the next run resumes).
TEST_F(FtpsSessionTest, ResetOnQuitSavesNothing) {
  auto reset = Start(Fault::kResetOnQuit, 2);
  ASSERT_NE(reset, nullptr);
  EXPECT_FALSE(Run(reset->port(), dir_ + "/reset").ok());
  EXPECT_EQ(SessionsInFile(dir_ + "/reset"), 0u);

  auto clean = Start(Fault::kNone, 2);
  ASSERT_NE(clean, nullptr);
  EXPECT_TRUE(Run(clean->port(), dir_ + "/clean").ok());
  EXPECT_EQ(SessionsInFile(dir_ + "/clean"), 2u);
}

// A server that sends one ticket per connection: the control connection's
// ticket is leased to the data connections and never cached, saved or
// offered again; the first data connection's own fresh ticket is kept
// instead, so every run after the first resumes its control connection, and
// no control connection offers a ticket another one offered.
TEST_F(FtpsSessionTest, LoneTicketIsLeasedAndADataTicketIsKept) {
  auto server = Start(Fault::kNone, 1);
  ASSERT_NE(server, nullptr);
  const std::string cache = dir_ + "/lone";
  for (int run = 0; run < 3; ++run) {
    ASSERT_TRUE(Run(server->port(), cache).ok()) << run;
  }
  EXPECT_EQ(server->data_connections_resumed(), 6);
  // Control connections (on the listening port) of runs 2 and 3 offered the
  // ticket kept by the run before, each a different one.
  const auto control = recorder_.tickets_offered(server->port());
  EXPECT_EQ(control.size(), 2u);
  EXPECT_THAT(Repeated(control), ::testing::IsEmpty());
  // What the last run kept (loading takes it out of the file).
  EXPECT_EQ(SessionsInFile(cache), 1u);
}

// Two processes sharing one cache file, made to overlap: both have loaded
// the file before either connects (a barrier of two pipes), so one takes the
// file's tickets and the other finds none, and both save afterwards. No
// ticket is offered on two control connections, and neither run's spare
// tickets are lost.
TEST_F(FtpsSessionTest, TwoProcessesNeverOfferTheSameTicket) {
  auto server = Start(Fault::kNone, 4);
  ASSERT_NE(server, nullptr);
  const std::string cache = dir_ + "/shared";
  ASSERT_TRUE(Run(server->port(), cache).ok());
  // 3 spare tickets and the adopted data-connection ticket (4 per peer at
  // most). Loading takes the tickets out of the file; seed it again.
  ASSERT_EQ(SessionsInFile(cache), 4u);
  ASSERT_TRUE(Run(server->port(), cache).ok());
  int loaded[2], go[2];
  ASSERT_EQ(pipe(loaded), 0);
  ASSERT_EQ(pipe(go), 0);
  std::vector<pid_t> children;
  for (int i = 0; i < 2; ++i) {
    const pid_t pid = fork();
    if (pid == 0) {
      close(loaded[0]);
      close(go[1]);
      const auto barrier = [&] {
        // Tell the parent this run has loaded, then wait for the other's.
        char c = 'l';
        if (write(loaded[1], &c, 1) != 1) _exit(2);
        while (read(go[0], &c, 1) > 0) {
        }
      };
      _exit(Run(server->port(), cache, barrier).ok() ? 0 : 1);
    }
    children.push_back(pid);
  }
  close(loaded[1]);
  close(go[0]);
  // Both children have loaded (or one died: read sees the end early).
  char c;
  int arrived = 0;
  while (arrived < 2 && read(loaded[0], &c, 1) == 1) ++arrived;
  close(go[1]);  // Both go on at once.
  close(loaded[0]);
  EXPECT_EQ(arrived, 2);
  for (pid_t pid : children) {
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  // One run offered one of the file's 3 tickets; the other had none.
  const auto control = recorder_.tickets_offered(server->port());
  EXPECT_GE(control.size(), 1u);
  EXPECT_THAT(Repeated(control), ::testing::IsEmpty());
  // Each run got 4 tickets and leased 1 to its data connections: both runs'
  // 3 spares are in the file (the run that loaded also keeps what it did not
  // offer, up to 4 per peer).
  EXPECT_GE(SessionsInFile(cache), 6u);
}

}  // namespace
}  // namespace tlsession
