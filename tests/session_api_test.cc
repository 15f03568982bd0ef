// The session API with CPython's ssl-module semantics, over real sockets on
// 127.0.0.1: session(), set_session(), session_reused(), Session's
// accessors, equality, hashing and serialization; session lifetimes on the
// Context's clock, moved by the tests.
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <memory>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "session/client_session_cache.h"
#include "session/server_session_store.h"
#include "testbed/tls_server.h"
#include "tests/testing/test_clock.h"
#include "tests/tls_test_util.h"

namespace tlsession::testing {
namespace {

using ::testing::HasSubstr;

class ResumptionTest : public ::testing::TestWithParam<Resumption> {};

TEST_P(ResumptionTest, FullThenResumed) {
  auto server = TestTlsServer::Start(MustCreate(ServerOptions(GetParam())));
  ASSERT_TRUE(server.ok()) << server.status();
  auto client = MustCreate(ClientOptions());

  absl::StatusOr<ClientRun> first = RunClient(client, (*server)->port());
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_FALSE(first->reused);
  ASSERT_TRUE(first->session.is_resumable());
  const bool tls13 = GetParam() == Resumption::kTls13;
  EXPECT_EQ(first->session.protocol_version(),
            tls13 ? TLS1_3_VERSION : TLS1_2_VERSION);
  EXPECT_EQ(first->session.has_ticket(),
            GetParam() != Resumption::kTls12SessionId);
  EXPECT_EQ(first->session.is_single_use(), tls13);

  absl::StatusOr<ClientRun> second =
      RunClient(client, (*server)->port(), first->session);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_TRUE(second->reused);

  ASSERT_TRUE((*server)->WaitForServed(2));
  auto served = (*server)->served();
  EXPECT_FALSE(served[0].session_reused);
  EXPECT_TRUE(served[1].session_reused);
  EXPECT_TRUE(served[1].handler.ok()) << served[1].handler;

  if (GetParam() != Resumption::kTls13) {
    // TLS 1.2 sessions may be offered again and again.
    absl::StatusOr<ClientRun> third =
        RunClient(client, (*server)->port(), first->session);
    ASSERT_TRUE(third.ok()) << third.status();
    EXPECT_TRUE(third->reused);
  }
}

// Every resumption mode, and its name in test names.
const auto kAllModes = ::testing::Values(
    Resumption::kTls12SessionId, Resumption::kTls12Ticket, Resumption::kTls13);
std::string ModeName(const ::testing::TestParamInfo<Resumption>& info) {
  return ResumptionName(info.param);
}

INSTANTIATE_TEST_SUITE_P(AllModes, ResumptionTest, kAllModes, ModeName);

TEST(SessionApi, EmptyBeforeHandshakeAndSetAfterwards) {
  auto server = TestTlsServer::Start(MustCreate(ServerOptions()));
  ASSERT_TRUE(server.ok());
  auto fd = ConnectTcp("127.0.0.1", (*server)->port(), absl::Seconds(5));
  ASSERT_TRUE(fd.ok());
  auto conn = Connection::Create(MustCreate(ClientOptions()), std::move(*fd),
                                 "localhost");
  ASSERT_TRUE(conn.ok());
  EXPECT_TRUE((*conn)->session().empty());
  EXPECT_FALSE((*conn)->session_reused());
  ASSERT_TRUE((*conn)->Handshake().ok());
  Session s = (*conn)->session();
  EXPECT_FALSE(s.empty());
  // Two reads of the same connection's session compare (and hash) equal.
  EXPECT_EQ(s, (*conn)->session());
  EXPECT_EQ(absl::HashOf(s), absl::HashOf((*conn)->session()));
  ASSERT_TRUE((*conn)->Shutdown().ok());
}

TEST(SessionApi, Tls13TicketsArriveWithoutApplicationData) {
  auto server = TestTlsServer::Start(MustCreate(ServerOptions()));
  ASSERT_TRUE(server.ok());
  auto conn = Connection::Connect(MustCreate(ClientOptions()), "localhost",
                                  (*server)->port());
  ASSERT_TRUE(conn.ok()) << conn.status();
  EXPECT_EQ((*conn)->version(), TLS1_3_VERSION);
  absl::StatusOr<Session> s = (*conn)->WaitForSession(absl::Seconds(5));
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_TRUE(s->is_resumable());
  EXPECT_TRUE(s->has_ticket());
  EXPECT_GE((*conn)->sessions_received(), 1);
  EXPECT_EQ(*s, (*conn)->session());
  ASSERT_TRUE((*conn)->Shutdown().ok());
}

TEST(SessionApi, NoTicketWithinDeadlineIsAClearError) {
  ContextOptions o = ServerOptions();
  o.session_tickets = false;
  o.tls13_tickets = 0;
  auto server = TestTlsServer::Start(MustCreate(o));
  ASSERT_TRUE(server.ok());
  auto conn = Connection::Connect(MustCreate(ClientOptions()), "localhost",
                                  (*server)->port());
  ASSERT_TRUE(conn.ok()) << conn.status();
  absl::StatusOr<Session> s = (*conn)->WaitForSession(absl::Milliseconds(200));
  EXPECT_EQ(s.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_THAT(Msg(s.status()), HasSubstr("no session ticket"));
  EXPECT_FALSE((*conn)->session().is_resumable());
}

TEST(SessionApi, AccessorsDescribeTheSession) {
  auto server = TestTlsServer::Start(
      MustCreate(ServerOptions(Resumption::kTls12SessionId)));
  ASSERT_TRUE(server.ok());
  const absl::Time before = absl::Now() - absl::Seconds(2);
  auto run = RunClient(MustCreate(ClientOptions()), (*server)->port());
  ASSERT_TRUE(run.ok()) << run.status();
  const Session& s = run->session;
  EXPECT_EQ(s.id().size(), 32u);
  EXPECT_GE(s.time(), before);
  EXPECT_LE(s.time(), absl::Now() + absl::Seconds(2));
  EXPECT_EQ(s.timeout(), absl::Hours(2));
  EXPECT_EQ(s.expiry(), s.time() + s.timeout());
  EXPECT_FALSE(s.has_ticket());
  EXPECT_EQ(s.ticket_lifetime_hint(), absl::ZeroDuration());
  EXPECT_GT(s.peer_certificate_expiry(), absl::Now());
  EXPECT_LT(s.peer_certificate_expiry(), absl::InfiniteFuture());
}

// The server's clock stands still: a lifetime computed on the real clock
// can lose a second to a handshake that crosses one.
TEST(SessionApi, TicketLifetimeHintFollowsServerTimeout) {
  TestClock server_clock(NowSeconds());
  ContextOptions o = ServerOptions(Resumption::kTls12Ticket);
  o.session_timeout = absl::Minutes(10);
  o.clock = server_clock.fn();
  auto server = TestTlsServer::Start(MustCreate(o));
  ASSERT_TRUE(server.ok());
  auto run = RunClient(MustCreate(ClientOptions()), (*server)->port());
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_TRUE(run->session.has_ticket());
  EXPECT_EQ(run->session.ticket_lifetime_hint(), absl::Minutes(10));
}

TEST(SessionApi, SessionsOfTwoConnectionsDiffer) {
  auto server = TestTlsServer::Start(MustCreate(ServerOptions()));
  ASSERT_TRUE(server.ok());
  auto client = MustCreate(ClientOptions());
  auto a = RunClient(client, (*server)->port());
  auto b = RunClient(client, (*server)->port());
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(a->session, b->session);
  Session copy = a->session;
  EXPECT_EQ(copy, a->session);
  absl::flat_hash_set<Session> set = {a->session, b->session, copy};
  EXPECT_EQ(set.size(), 2u);
}

TEST(SetSession, RefusedOnServerSide) {
  auto server_ctx = MustCreate(ServerOptions());
  auto listener = TcpListener::Listen("127.0.0.1", 0);
  ASSERT_TRUE(listener.ok());
  auto client_fd = ConnectTcp("127.0.0.1", listener->port(), absl::Seconds(5));
  ASSERT_TRUE(client_fd.ok());
  auto accepted = listener->Accept(absl::Seconds(5));
  ASSERT_TRUE(accepted.ok());
  auto conn = Connection::Create(server_ctx, std::move(*accepted), "");
  ASSERT_TRUE(conn.ok());
  absl::Status s = (*conn)->set_session(Session());
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(Msg(s),
              HasSubstr("cannot set session for a server-side connection"));
}

TEST(SetSession, RefusedAfterHandshake) {
  auto server = TestTlsServer::Start(MustCreate(ServerOptions()));
  ASSERT_TRUE(server.ok());
  auto client = MustCreate(ClientOptions());
  auto first = RunClient(client, (*server)->port());
  ASSERT_TRUE(first.ok());
  auto conn = Connection::Connect(client, "localhost", (*server)->port());
  ASSERT_TRUE(conn.ok());
  absl::Status s = (*conn)->set_session(first->session);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(Msg(s), HasSubstr("after the handshake"));
}

TEST(SetSession, RefusedFromAnotherContext) {
  auto server = TestTlsServer::Start(MustCreate(ServerOptions()));
  ASSERT_TRUE(server.ok());
  auto context_a = MustCreate(ClientOptions());
  ContextOptions other = ClientOptions();
  other.alpn_protocols = {"ftp"};  // Another configuration: another identity.
  auto context_b = MustCreate(other);
  ASSERT_NE(context_a->id(), context_b->id());
  auto first = RunClient(context_a, (*server)->port());
  ASSERT_TRUE(first.ok());
  auto fd = ConnectTcp("127.0.0.1", (*server)->port(), absl::Seconds(5));
  ASSERT_TRUE(fd.ok());
  auto conn = Connection::Create(context_b, std::move(*fd), "localhost");
  ASSERT_TRUE(conn.ok());
  absl::Status s = (*conn)->set_session(first->session);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Msg(s), HasSubstr("different context"));
  // The same configuration built twice is the same identity.
  EXPECT_EQ(MustCreate(ClientOptions())->id(), context_a->id());
}

// Session lifetimes on clocks the tests move (ContextOptions::clock, with
// tests/testing/test_clock.h): no test sleeps for a session to expire.

// A server whose clock reached a session's expiry (time + timeout) does not
// resume it, in each resumption mode; one second earlier it does. The
// client's clock has not moved, so it offers both sessions (under TLS 1.2
// session IDs carry no lifetime: the client keeps its own default): it is
// the server that refuses. Its session-ID store runs on a clock that never
// moves and hands the expired session back, so that the check tested is
// BoringSSL's own, on the Context's clock.
class ServerClockTest : public ::testing::TestWithParam<Resumption> {};

TEST_P(ServerClockTest, RefusesSessionsFromTheirExpiryOn) {
  TestClock clock;
  ContextOptions o = ServerOptions(GetParam());
  o.session_timeout = absl::Minutes(10);
  o.clock = clock.fn();
  o.session_store = std::make_shared<MemoryServerSessionStore>();
  auto server = TestTlsServer::Start(MustCreate(o));
  ASSERT_TRUE(server.ok()) << server.status();
  auto client = MustCreate(ClientOptions());
  // Two sessions, each offered once (TLS 1.3 tickets are single-use).
  auto early = RunClient(client, (*server)->port());
  ASSERT_TRUE(early.ok()) << early.status();
  auto late = RunClient(client, (*server)->port());
  ASSERT_TRUE(late.ok()) << late.status();

  clock.Advance(absl::Minutes(10) - absl::Seconds(1));
  auto within = RunClient(client, (*server)->port(), early->session);
  ASSERT_TRUE(within.ok()) << within.status();
  EXPECT_TRUE(within->reused);

  clock.Advance(absl::Seconds(1));
  auto expired = RunClient(client, (*server)->port(), late->session);
  ASSERT_TRUE(expired.ok()) << expired.status();
  EXPECT_FALSE(expired->reused);
}

INSTANTIATE_TEST_SUITE_P(AllModes, ServerClockTest, kAllModes, ModeName);

// The session-ID store a server Context makes when given none runs on the
// Context's clock.
TEST(ServerClock, DefaultSessionStoreRunsOnIt) {
  TestClock clock;
  ContextOptions o = ServerOptions(Resumption::kTls12SessionId);
  o.clock = clock.fn();
  auto context = MustCreate(o);
  ServerSessionStore* store = context->session_store();
  ASSERT_NE(store, nullptr);
  store->Put("id", "session bytes", clock.Now() + absl::Minutes(1));
  EXPECT_TRUE(store->Get("id").has_value());
  clock.Advance(absl::Minutes(1));
  EXPECT_FALSE(store->Get("id").has_value());
}

// A client's BoringSSL reads the client Context's clock: the sessions it
// makes carry that clock's time, and from a TLS 1.3 ticket's expiry on (by
// that clock) the client no longer offers it, though the server, whose
// clock has not moved, would still resume it. The server runs on a clock of
// its own that stands still too: on the real clock a handshake that crossed
// a second shortened the ticket's lifetime to 9m59s (seen under -c opt).
TEST(ClientClock, SessionsCarryItsTimeAndExpireByIt) {
  TestClock server_clock(NowSeconds());
  ContextOptions so = ServerOptions(Resumption::kTls13);
  so.session_timeout = absl::Minutes(10);
  so.clock = server_clock.fn();
  auto server = TestTlsServer::Start(MustCreate(so));
  ASSERT_TRUE(server.ok()) << server.status();
  TestClock clock(NowSeconds() + absl::Hours(24));
  ContextOptions co = ClientOptions();
  co.clock = clock.fn();
  auto client = MustCreate(co);
  auto early = RunClient(client, (*server)->port());
  ASSERT_TRUE(early.ok()) << early.status();
  auto late = RunClient(client, (*server)->port());
  ASSERT_TRUE(late.ok()) << late.status();
  EXPECT_EQ(early->session.time(), clock.Now());
  EXPECT_EQ(early->session.timeout(), absl::Minutes(10));

  clock.Advance(absl::Minutes(10) - absl::Seconds(1));
  auto within = RunClient(client, (*server)->port(), early->session);
  ASSERT_TRUE(within.ok()) << within.status();
  EXPECT_TRUE(within->reused);

  clock.Advance(absl::Seconds(1));
  auto expired = RunClient(client, (*server)->port(), late->session);
  ASSERT_TRUE(expired.ok()) << expired.status();
  EXPECT_FALSE(expired->reused);
}

// A client whose Context and session cache share one clock (as
// ContextOptions::clock documents): once that clock has passed the
// sessions' lifetime, the cache offers none (it counts them as expired)
// and the handshake is in full.
TEST(ClientClock, CacheOnTheSameClockOffersNothingPastTheLifetime) {
  ContextOptions so = ServerOptions(Resumption::kTls13);
  so.session_timeout = absl::Minutes(10);
  auto server = TestTlsServer::Start(MustCreate(so));
  ASSERT_TRUE(server.ok()) << server.status();
  TestClock clock;
  ClientSessionCache::Config config;
  config.clock = clock.fn();
  auto cache = std::make_shared<ClientSessionCache>(config);
  ContextOptions co = ClientOptions();
  co.session_cache = cache;
  co.clock = clock.fn();
  auto client = MustCreate(co);
  auto first = RunClient(client, (*server)->port());
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_GT(cache->session_count(), 0u);

  clock.Advance(absl::Minutes(10));
  auto second = RunClient(client, (*server)->port());
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_FALSE(second->reused);
  EXPECT_EQ(cache->metrics().hits, 0u);
  EXPECT_GT(cache->metrics().expirations, 0u);
}

TEST(ContextClock, EmptyClockIsAnError) {
  ContextOptions o = ClientOptions();
  o.clock = nullptr;
  auto context = Context::Create(o);
  EXPECT_EQ(context.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Msg(context.status()), HasSubstr("clock"));
}

TEST(Serialization, RoundTripResumes) {
  auto server = TestTlsServer::Start(MustCreate(ServerOptions()));
  ASSERT_TRUE(server.ok());
  auto client = MustCreate(ClientOptions());
  auto first = RunClient(client, (*server)->port());
  ASSERT_TRUE(first.ok());
  absl::StatusOr<std::string> bytes = first->session.ToBytes();
  ASSERT_TRUE(bytes.ok());
  // A fresh Context with the same configuration, as after a restart.
  auto restarted = MustCreate(ClientOptions());
  absl::StatusOr<Session> parsed = restarted->SessionFromBytes(*bytes);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(*parsed, first->session);
  auto second = RunClient(restarted, (*server)->port(), *parsed);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_TRUE(second->reused);
}

TEST(Serialization, BadBytesGiveClearErrors) {
  auto server = TestTlsServer::Start(MustCreate(ServerOptions()));
  ASSERT_TRUE(server.ok());
  auto client = MustCreate(ClientOptions());
  auto first = RunClient(client, (*server)->port());
  ASSERT_TRUE(first.ok());
  std::string bytes = *first->session.ToBytes();

  auto garbage = client->SessionFromBytes("definitely not a session");
  EXPECT_EQ(garbage.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Msg(garbage.status()), HasSubstr("bad magic"));

  auto truncated = client->SessionFromBytes(bytes.substr(0, bytes.size() / 2));
  EXPECT_EQ(truncated.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Msg(truncated.status()), HasSubstr("corrupted"));

  std::string flipped = bytes;
  for (size_t i = 5; i < flipped.size(); i += 7) flipped[i] ^= 0x5a;
  EXPECT_FALSE(client->SessionFromBytes(flipped).ok());

  ContextOptions other = ClientOptions();
  other.max_version = TLS1_2_VERSION;
  auto foreign = MustCreate(other)->SessionFromBytes(bytes);
  EXPECT_EQ(foreign.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(Msg(foreign.status()), HasSubstr("different context"));

  EXPECT_FALSE(Session().ToBytes().ok());
}

// Event-driven use over a BIO pair in one thread: the same session API.
TEST(BioTransport, HandshakeStepsAndResumption) {
  auto server_ctx = MustCreate(ServerOptions(Resumption::kTls13));
  auto client_ctx = MustCreate(ClientOptions());
  Session offer;
  for (int round = 0; round < 2; ++round) {
    BIO* c = nullptr;
    BIO* s = nullptr;
    ASSERT_TRUE(BIO_new_bio_pair(&c, 0, &s, 0));
    auto client = Connection::CreateOverBio(client_ctx, bssl::UniquePtr<BIO>(c),
                                            "localhost");
    auto server =
        Connection::CreateOverBio(server_ctx, bssl::UniquePtr<BIO>(s), "");
    ASSERT_TRUE(client.ok() && server.ok());
    if (!offer.empty()) {
      ASSERT_TRUE((*client)->set_session(offer).ok());
    }
    bool client_done = false, server_done = false;
    // Once a handshake has begun, set_session is refused (BoringSSL itself
    // would abort).
    ASSERT_FALSE(*(*client)->HandshakeStep());
    EXPECT_EQ((*client)->set_session(offer).code(),
              absl::StatusCode::kFailedPrecondition);
    for (int i = 0; i < 20 && !(client_done && server_done); ++i) {
      auto a = (*client)->HandshakeStep();
      ASSERT_TRUE(a.ok()) << a.status();
      client_done = *a;
      auto b = (*server)->HandshakeStep();
      ASSERT_TRUE(b.ok()) << b.status();
      server_done = *b;
    }
    ASSERT_TRUE(client_done && server_done);
    EXPECT_EQ((*client)->session_reused(), round == 1);
    EXPECT_EQ((*server)->session_reused(), round == 1);
    ASSERT_TRUE((*client)->ProcessPendingMessages().ok());
    ASSERT_TRUE((*client)->session().is_resumable());
    offer = (*client)->session();
    // Blocking reads cannot wait on a BIO the caller drives.
    char byte;
    auto n = (*client)->Read(&byte, 1);
    EXPECT_EQ(n.status().code(), absl::StatusCode::kUnavailable);
    EXPECT_THAT(Msg(n.status()), HasSubstr("would block"));
  }
}

// Sessions reach the Connection whose own call received them: two TLS 1.3
// connections driven in turn on one thread each get their own two tickets,
// and tickets read by a call made on ssl() directly reach no Connection.
TEST(BioTransport, InterleavedConnectionsKeepTheirOwnTickets) {
  auto server_ctx = MustCreate(ServerOptions(Resumption::kTls13));
  auto client_ctx = MustCreate(ClientOptions());
  struct Pair {
    std::unique_ptr<Connection> client, server;
  };
  std::vector<Pair> pairs(3);
  for (Pair& p : pairs) {
    BIO* c = nullptr;
    BIO* s = nullptr;
    ASSERT_TRUE(BIO_new_bio_pair(&c, 0, &s, 0));
    p.client = *Connection::CreateOverBio(client_ctx, bssl::UniquePtr<BIO>(c),
                                          "localhost");
    p.server =
        *Connection::CreateOverBio(server_ctx, bssl::UniquePtr<BIO>(s), "");
  }
  for (int i = 0; i < 20; ++i) {
    for (Pair& p : pairs) {
      ASSERT_TRUE(p.client->HandshakeStep().ok());
      ASSERT_TRUE(p.server->HandshakeStep().ok());
    }
  }
  for (Pair& p : pairs) ASSERT_TRUE(p.client->handshake_complete());
  ASSERT_TRUE(pairs[0].client->ProcessPendingMessages().ok());
  ASSERT_TRUE(pairs[1].client->ProcessPendingMessages().ok());
  char byte;
  EXPECT_LE(SSL_peek(pairs[2].client->ssl(), &byte, 1), 0);  // Tickets only.
  ERR_clear_error();

  EXPECT_EQ(pairs[0].client->sessions_received(), 2);
  EXPECT_EQ(pairs[1].client->sessions_received(), 2);
  EXPECT_EQ(pairs[2].client->sessions_received(), 0);
  ASSERT_TRUE(pairs[0].client->session().is_resumable());
  ASSERT_TRUE(pairs[1].client->session().is_resumable());
  EXPECT_NE(pairs[0].client->session(), pairs[1].client->session());
}

TEST(SessionValue, SharedAcrossThreads) {
  auto server = TestTlsServer::Start(MustCreate(ServerOptions()));
  ASSERT_TRUE(server.ok());
  auto first = RunClient(MustCreate(ClientOptions()), (*server)->port());
  ASSERT_TRUE(first.ok());
  const Session shared = first->session;
  std::vector<std::thread> threads;
  std::atomic<int> equal{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 1000; ++i) {
        Session copy = shared;
        if (copy == shared && copy.id() == shared.id()) ++equal;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(equal.load(), 4000);
}

}  // namespace
}  // namespace tlsession::testing
