// ClientSessionCache over real TLS on 127.0.0.1: a session is never offered
// to a peer or a configuration it was not made for; single-use tickets,
// expiry, bounds, metrics, filling from the new-session callback, and a
// multi-threaded stress test (run under --config=tsan by test.sh).
#include "session/client_session_cache.h"

#include <sys/socket.h>

#include <atomic>
#include <thread>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/tls_server.h"
#include "tests/tls_test_util.h"

namespace tlsession::testing {
namespace {

using Key = ClientSessionCache::Key;

ContextOptions CachingClient(std::shared_ptr<ClientSessionCache> cache) {
  ContextOptions o = ClientOptions();
  o.session_cache = std::move(cache);
  return o;
}

// A client certificate other than the test PKI's own.
CertAndKey OtherClientCertificate() {
  CertOptions o;
  o.common_name = "another client";
  auto cert = MakeCertificate(o, &GetTestPki().ca);
  EXPECT_TRUE(cert.ok());
  return *std::move(cert);
}

TEST(CacheUse, SecondConnectionResumesWithNoCodeAtTheCallSite) {
  auto server = TestTlsServer::Start(MustCreate(ServerOptions()));
  ASSERT_TRUE(server.ok());
  auto cache = std::make_shared<ClientSessionCache>();
  auto client = MustCreate(CachingClient(cache));
  auto first = RunClient(client, (*server)->port());
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_FALSE(first->reused);
  // The server sends two TLS 1.3 tickets; both reach the cache.
  EXPECT_EQ(cache->session_count(), 2u);
  auto second = RunClient(client, (*server)->port());
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_TRUE(second->reused);
  auto m = cache->metrics();
  EXPECT_EQ(m.misses, 1u);
  EXPECT_EQ(m.hits, 1u);
  EXPECT_EQ(m.insertions, 4u);
}

TEST(CacheKey, HostAOnSameIpAndPortIsNotOfferedToHostB) {
  auto server = TestTlsServer::Start(MustCreate(ServerOptions()));
  ASSERT_TRUE(server.ok());
  auto cache = std::make_shared<ClientSessionCache>();
  auto client = MustCreate(CachingClient(cache));
  ASSERT_TRUE(RunClient(client, (*server)->port(), Session(), "localhost").ok());
  // Same IP, same port, another name (the certificate covers both).
  auto fd = ConnectTcp("127.0.0.1", (*server)->port(), absl::Seconds(5));
  ASSERT_TRUE(fd.ok());
  auto conn = Connection::Create(client, std::move(*fd), "127.0.0.1");
  ASSERT_TRUE(conn.ok());
  ASSERT_TRUE((*conn)->Handshake().ok());
  EXPECT_FALSE((*conn)->offered_cached_session());
  EXPECT_FALSE((*conn)->session_reused());
  ASSERT_TRUE((*conn)->Shutdown().ok());
}

TEST(CacheKey, SessionWithClientCertXIsNotOfferedWithCertY) {
  // curl's CVE-2016-5419: a session made with one client certificate was
  // resumed with another, skipping the server's check of the second.
  ContextOptions s = ServerOptions();
  s.require_client_certificate = true;
  auto server = TestTlsServer::Start(MustCreate(s));
  ASSERT_TRUE(server.ok());
  auto cache = std::make_shared<ClientSessionCache>();
  ContextOptions x = CachingClient(cache);
  x.certificate_chain_pem = GetTestPki().client.cert_pem;
  x.private_key_pem = GetTestPki().client.key_pem;
  CertAndKey other = OtherClientCertificate();
  ContextOptions y = CachingClient(cache);
  y.certificate_chain_pem = other.cert_pem;
  y.private_key_pem = other.key_pem;
  auto context_x = MustCreate(x);
  auto context_y = MustCreate(y);
  ASSERT_NE(context_x->id(), context_y->id());
  ASSERT_TRUE(RunClient(context_x, (*server)->port()).ok());
  ASSERT_GT(cache->session_count(), 0u);
  auto with_y = RunClient(context_y, (*server)->port());
  ASSERT_TRUE(with_y.ok()) << with_y.status();
  EXPECT_FALSE(with_y->reused);
  // X itself still resumes.
  auto with_x = RunClient(context_x, (*server)->port());
  ASSERT_TRUE(with_x.ok());
  EXPECT_TRUE(with_x->reused);
}

TEST(CacheKey, SessionMadeWithoutVerificationIsNotOfferedToAVerifier) {
  auto server = TestTlsServer::Start(MustCreate(ServerOptions()));
  ASSERT_TRUE(server.ok());
  auto cache = std::make_shared<ClientSessionCache>();
  ContextOptions insecure = CachingClient(cache);
  insecure.insecure_skip_verify = true;
  ASSERT_TRUE(RunClient(MustCreate(insecure), (*server)->port()).ok());
  ASSERT_GT(cache->session_count(), 0u);
  auto verifying = RunClient(MustCreate(CachingClient(cache)),
                             (*server)->port());
  ASSERT_TRUE(verifying.ok());
  EXPECT_FALSE(verifying->reused);
}

TEST(CacheKey, PortAlpnAndContextAreEachPartOfTheKey) {
  auto server = TestTlsServer::Start(MustCreate(ServerOptions()));
  ASSERT_TRUE(server.ok());
  ClientSessionCache cache;
  auto client = MustCreate(ClientOptions());
  auto run = RunClient(client, (*server)->port());
  ASSERT_TRUE(run.ok());
  const Key key{client->id(), "localhost", (*server)->port(), {"ftp"}};
  ASSERT_TRUE(cache.Insert(key, run->session).ok());
  Key other_port = key;
  other_port.port++;
  Key other_alpn = key;
  other_alpn.alpn = {"h2"};
  Key no_alpn = key;
  no_alpn.alpn.clear();
  Key other_host = key;
  other_host.host = "LOCALHOST.";
  Key other_context = key;
  other_context.context_id = MustCreate(CachingClient(nullptr))->id() + "x";
  for (const Key& k :
       {other_port, other_alpn, no_alpn, other_host, other_context}) {
    EXPECT_TRUE(cache.Lookup(k).empty());
  }
  EXPECT_EQ(cache.Lookup(key), run->session);
  EXPECT_EQ(cache.metrics().misses, 5u);
}

TEST(CacheInsert, RefusesNonResumableAndForeignSessions) {
  auto server = TestTlsServer::Start(MustCreate(ServerOptions()));
  ASSERT_TRUE(server.ok());
  auto client = MustCreate(ClientOptions());
  auto run = RunClient(client, (*server)->port());
  ASSERT_TRUE(run.ok());
  ClientSessionCache cache;
  Key key{client->id(), "localhost", 1, {}};
  EXPECT_FALSE(cache.Insert(key, Session()).ok());
  Key foreign = key;
  foreign.context_id = "another context";
  absl::Status s = cache.Insert(foreign, run->session);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(cache.size(), 0u);
}

TEST(Tls13Tickets, EachUsedOnceNewestFirstBounded) {
  ContextOptions s = ServerOptions();
  s.tls13_tickets = 5;
  auto server = TestTlsServer::Start(MustCreate(s));
  ASSERT_TRUE(server.ok());
  ClientSessionCache::Config config;
  config.max_sessions_per_key = 3;
  auto cache = std::make_shared<ClientSessionCache>(config);
  auto client = MustCreate(CachingClient(cache));
  auto conn = Connection::Connect(client, "localhost", (*server)->port());
  ASSERT_TRUE(conn.ok());
  // Collect all five tickets, then end cleanly.
  const absl::Time deadline = absl::Now() + absl::Seconds(5);
  while ((*conn)->sessions_received() < 5 && absl::Now() < deadline) {
    ASSERT_TRUE((*conn)->WaitForSession(absl::Seconds(1)).ok());
    ASSERT_TRUE((*conn)->ProcessPendingMessages().ok());
  }
  ASSERT_EQ((*conn)->sessions_received(), 5);
  const Session newest = (*conn)->session();
  ASSERT_TRUE((*conn)->Shutdown().ok());
  EXPECT_EQ(cache->session_count(), 3u);
  EXPECT_EQ(cache->metrics().evictions, 2u);
  const Key key{client->id(), "localhost", (*server)->port(), {}};
  Session a = cache->Lookup(key);
  EXPECT_EQ(a, newest);
  Session b = cache->Lookup(key);
  Session c = cache->Lookup(key);
  EXPECT_FALSE(b.empty());
  EXPECT_FALSE(c.empty());
  EXPECT_NE(a, b);
  EXPECT_NE(b, c);
  EXPECT_TRUE(cache->Lookup(key).empty());  // All three used once.
  EXPECT_EQ(cache->metrics().hits, 3u);
}

TEST(Tls12Sessions, MayBeReused) {
  auto server = TestTlsServer::Start(
      MustCreate(ServerOptions(Resumption::kTls12SessionId)));
  ASSERT_TRUE(server.ok());
  auto cache = std::make_shared<ClientSessionCache>();
  auto client = MustCreate(CachingClient(cache));
  ASSERT_TRUE(RunClient(client, (*server)->port()).ok());
  for (int i = 0; i < 3; ++i) {
    auto run = RunClient(client, (*server)->port());
    ASSERT_TRUE(run.ok());
    EXPECT_TRUE(run->reused) << i;
  }
  EXPECT_EQ(cache->session_count(), 1u);
}

// A clock the test moves.
struct FakeClock {
  std::shared_ptr<std::atomic<int64_t>> now_s =
      std::make_shared<std::atomic<int64_t>>(absl::ToUnixSeconds(absl::Now()));
  std::function<absl::Time()> fn() const {
    auto p = now_s;
    return [p] { return absl::FromUnixSeconds(p->load()); };
  }
  void Advance(absl::Duration d) { *now_s += absl::ToInt64Seconds(d); }
};

TEST(Expiry, BySessionLifetime) {
  ContextOptions s = ServerOptions(Resumption::kTls12SessionId);
  auto server = TestTlsServer::Start(MustCreate(s));
  ASSERT_TRUE(server.ok());
  auto client = MustCreate(ClientOptions());
  auto run = RunClient(client, (*server)->port());
  ASSERT_TRUE(run.ok());
  FakeClock clock;
  ClientSessionCache::Config config;
  config.clock = clock.fn();
  ClientSessionCache cache(config);
  const Key key{client->id(), "localhost", 443, {}};
  ASSERT_TRUE(cache.Insert(key, run->session).ok());
  clock.Advance(run->session.timeout() - absl::Minutes(1));
  EXPECT_FALSE(cache.Lookup(key).empty());
  clock.Advance(absl::Minutes(2));
  EXPECT_TRUE(cache.Lookup(key).empty());
  EXPECT_EQ(cache.metrics().expirations, 1u);
}

TEST(Expiry, ByTicketLifetimeHint) {
  ContextOptions s = ServerOptions(Resumption::kTls12Ticket);
  s.session_timeout = absl::Minutes(10);
  auto server = TestTlsServer::Start(MustCreate(s));
  ASSERT_TRUE(server.ok());
  auto client = MustCreate(ClientOptions());
  auto run = RunClient(client, (*server)->port());
  ASSERT_TRUE(run.ok());
  ASSERT_EQ(run->session.ticket_lifetime_hint(), absl::Minutes(10));
  FakeClock clock;
  ClientSessionCache::Config config;
  config.clock = clock.fn();
  ClientSessionCache cache(config);
  const Key key{client->id(), "localhost", 443, {}};
  ASSERT_TRUE(cache.Insert(key, run->session).ok());
  clock.Advance(absl::Minutes(11));
  EXPECT_TRUE(cache.Lookup(key).empty());
  EXPECT_EQ(cache.metrics().expirations, 1u);
}

TEST(Expiry, ByPeerCertificateExpiry) {
  // A server certificate valid for one more hour; sessions live two.
  CertOptions o;
  o.common_name = "localhost";
  o.dns_names = {"localhost"};
  o.not_after = absl::Now() + absl::Hours(1);
  auto short_lived = MakeCertificate(o, &GetTestPki().ca);
  ASSERT_TRUE(short_lived.ok());
  ContextOptions s = ServerOptions(Resumption::kTls12SessionId);
  s.certificate_chain_pem = short_lived->cert_pem;
  s.private_key_pem = short_lived->key_pem;
  auto server = TestTlsServer::Start(MustCreate(s));
  ASSERT_TRUE(server.ok());
  auto client = MustCreate(ClientOptions());
  auto run = RunClient(client, (*server)->port());
  ASSERT_TRUE(run.ok());
  FakeClock clock;
  ClientSessionCache::Config config;
  config.clock = clock.fn();
  ClientSessionCache cache(config);
  const Key key{client->id(), "localhost", 443, {}};
  ASSERT_TRUE(cache.Insert(key, run->session).ok());
  clock.Advance(absl::Minutes(90));
  ASSERT_LT(clock.fn()(), run->session.expiry());  // Session still alive...
  EXPECT_TRUE(cache.Lookup(key).empty());         // ...certificate is not.
}

TEST(Bounds, LeastRecentlyUsedPeerGoesFirst) {
  auto server = TestTlsServer::Start(
      MustCreate(ServerOptions(Resumption::kTls12SessionId)));
  ASSERT_TRUE(server.ok());
  auto client = MustCreate(ClientOptions());
  auto run = RunClient(client, (*server)->port());
  ASSERT_TRUE(run.ok());
  ClientSessionCache::Config config;
  config.max_entries = 2;
  ClientSessionCache cache(config);
  Key a{client->id(), "a.example", 1, {}};
  Key b{client->id(), "b.example", 1, {}};
  Key c{client->id(), "c.example", 1, {}};
  ASSERT_TRUE(cache.Insert(a, run->session).ok());
  ASSERT_TRUE(cache.Insert(b, run->session).ok());
  EXPECT_FALSE(cache.Lookup(a).empty());  // a is now the most recent.
  ASSERT_TRUE(cache.Insert(c, run->session).ok());
  EXPECT_EQ(cache.size(), 2u);
  EXPECT_TRUE(cache.Lookup(b).empty());
  EXPECT_FALSE(cache.Lookup(a).empty());
  EXPECT_FALSE(cache.Lookup(c).empty());
  EXPECT_EQ(cache.metrics().evictions, 1u);
}

TEST(Flush, AllAndPerPeer) {
  auto server = TestTlsServer::Start(
      MustCreate(ServerOptions(Resumption::kTls12SessionId)));
  ASSERT_TRUE(server.ok());
  auto client = MustCreate(ClientOptions());
  auto run = RunClient(client, (*server)->port());
  ASSERT_TRUE(run.ok());
  ClientSessionCache cache;
  Key a{client->id(), "a.example", 1, {}};
  Key a_alpn{client->id(), "a.example", 1, {"h2"}};
  Key a_other_port{client->id(), "a.example", 2, {}};
  Key b{client->id(), "b.example", 1, {}};
  for (const Key& k : {a, a_alpn, a_other_port, b}) {
    ASSERT_TRUE(cache.Insert(k, run->session).ok());
  }
  cache.FlushForPeer("a.example", 1);
  EXPECT_TRUE(cache.Lookup(a).empty());
  EXPECT_TRUE(cache.Lookup(a_alpn).empty());
  EXPECT_FALSE(cache.Lookup(a_other_port).empty());
  EXPECT_FALSE(cache.Lookup(b).empty());
  cache.Flush();
  EXPECT_EQ(cache.size(), 0u);
  EXPECT_TRUE(cache.Lookup(b).empty());
}

TEST(Filling, ConnectionEndedWithoutCleanShutdownIsNotCached) {
  // The server completes a TLS 1.2 handshake (the session arrives) and then
  // drops TCP without close_notify.
  auto server = TestTlsServer::Start(
      MustCreate(ServerOptions(Resumption::kTls12SessionId)),
      [](Connection& c) -> absl::Status {
        ::shutdown(c.fd(), SHUT_RDWR);
        return absl::OkStatus();
      });
  ASSERT_TRUE(server.ok());
  auto cache = std::make_shared<ClientSessionCache>();
  auto client = MustCreate(CachingClient(cache));
  {
    auto conn = Connection::Connect(client, "localhost", (*server)->port());
    ASSERT_TRUE(conn.ok()) << conn.status();
    EXPECT_EQ((*conn)->sessions_received(), 1);
    char buf[16];
    auto n = (*conn)->Read(buf, sizeof(buf));
    EXPECT_FALSE(n.ok());
    EXPECT_FALSE((*conn)->closed_cleanly());
  }
  EXPECT_EQ(cache->session_count(), 0u);
}

TEST(Filling, FailedVerificationCachesNothing) {
  auto server = TestTlsServer::Start(MustCreate(ServerOptions()));
  ASSERT_TRUE(server.ok());
  auto cache = std::make_shared<ClientSessionCache>();
  ContextOptions c;  // System roots: the test CA is unknown.
  c.session_cache = cache;
  EXPECT_FALSE(RunClient(MustCreate(c), (*server)->port()).ok());
  EXPECT_EQ(cache->session_count(), 0u);
  EXPECT_EQ(cache->metrics().insertions, 0u);
}

TEST(Concurrency, ManyThreadsLookupAndInsert) {
  auto server = TestTlsServer::Start(MustCreate(ServerOptions()));
  ASSERT_TRUE(server.ok());
  auto client = MustCreate(ClientOptions());
  std::vector<Session> sessions;
  for (int i = 0; i < 4; ++i) {
    auto run = RunClient(client, (*server)->port());
    ASSERT_TRUE(run.ok());
    sessions.push_back(run->session);
  }
  ClientSessionCache::Config config;
  config.max_entries = 16;
  ClientSessionCache cache(config);
  constexpr int kThreads = 8;
  constexpr int kOps = 2000;
  std::atomic<uint64_t> hits{0};
  std::atomic<uint64_t> inserts{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kOps; ++i) {
        Key key{client->id(), absl::StrCat("host", (t + i) % 24), 443, {}};
        if (i % 3 == 0) {
          EXPECT_TRUE(cache.Insert(key, sessions[i % sessions.size()]).ok());
          ++inserts;
        } else if (!cache.Lookup(key).empty()) {
          ++hits;
        }
        if (i % 500 == 0) cache.FlushForPeer("host3", 443);
        (void)cache.metrics();
      }
    });
  }
  for (auto& t : threads) t.join();
  const auto m = cache.metrics();
  EXPECT_EQ(m.hits, hits.load());
  EXPECT_EQ(m.hits + m.misses,
            static_cast<uint64_t>(kThreads * kOps) - inserts.load());
  EXPECT_LE(m.insertions, inserts.load());
  EXPECT_GT(m.insertions, 0u);
  EXPECT_LE(cache.size(), 16u);
}

}  // namespace
}  // namespace tlsession::testing
