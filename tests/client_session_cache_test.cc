// The client session cache's policy (session/client_session_cache.h) over
// its store, tested without sockets on sessions built in memory
// (tests/testing/test_sessions.h) and a test clock, the way Chromium tests
// SSLClientSessionCache: keys, checkout of single-use tickets, reuse of TLS
// 1.2 sessions, replacement, expiry, bounds, flushing, metrics, digest keys,
// threads (run under TSan by test.sh). The default store and LRU map on
// their own are client_session_store_test.cc's, one connection's sessions
// connection_sessions_test.cc's, the end-to-end tests over real TLS
// client_session_cache_tls_test.cc's.
#include "session/client_session_cache.h"

#include <openssl/ssl.h>

#include <atomic>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "base/lru_map.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "session/memory_client_session_store.h"
#include "testbed/certs.h"
#include "tests/client_cache_test_util.h"
#include "tests/testing/start_line.h"
#include "tests/testing/test_clock.h"
#include "tests/testing/test_sessions.h"

namespace tlsession::testing {
namespace {

using Key = ClientSessionCache::Key;

// ---------------------------------------------------------------------------
// Keys.

// Every key field (context identity, host as given, port, ALPN list) decides
// the key: any change is a miss, and it is a miss of the digest (no session
// is even found and refused).
TEST(CacheKey, EachFieldDecidesTheKey) {
  TestClock clock;
  ClientSessionCache cache(ConfigWith(clock));
  const Key key = KeyFor("localhost", 990, {"ftp"});
  const Session s = Tls12Session(kCtx);
  ASSERT_TRUE(cache.Insert(key, s).ok());

  Key other_port = key;
  other_port.port = 991;
  Key other_alpn = key;
  other_alpn.alpn = {"h2"};
  Key no_alpn = key;
  no_alpn.alpn.clear();
  Key more_alpn = key;
  more_alpn.alpn = {"ftp", "h2"};
  Key other_host = key;
  other_host.host = "LOCALHOST.";  // Same server, another name as given.
  Key ip_host = key;
  ip_host.host = "127.0.0.1";
  Key other_context = key;
  other_context.context_id = std::string(kOtherCtx);
  const std::vector<Key> others = {other_port,   other_alpn, no_alpn,
                                   more_alpn,    other_host, ip_host,
                                   other_context};
  for (const Key& k : others) {
    SCOPED_TRACE(absl::StrCat(k.context_id, " ", k.host, ":", k.port, " ",
                              k.alpn.size()));
    EXPECT_NE(cache.Digests(k).key, cache.Digests(key).key);
    EXPECT_TRUE(cache.Lookup(k).empty());
  }
  EXPECT_EQ(cache.Lookup(key), s);
  const auto m = cache.metrics();
  EXPECT_EQ(m.misses, others.size());
  EXPECT_EQ(m.expirations, 0u);  // Missed by key, not refused when found.
  EXPECT_EQ(m.hits, 1u);
}

// ALPN lists are length-prefixed: {"a,b"} and {"a","b"} (and other lists
// that join alike) are different keys.
TEST(CacheKey, AlpnListsThatJoinAlikeDiffer) {
  TestClock clock;
  ClientSessionCache cache(ConfigWith(clock));
  const std::vector<std::vector<std::string>> lists = {
      {"a,b"}, {"a", "b"}, {"ab"},   {"a", "", "b"}, {""},
      {},      {"b", "a"}, {"1:a;"}, {"a;1:b"}};
  std::set<std::string> digests;
  for (const auto& alpn : lists) {
    digests.insert(cache.Digests(KeyFor("h", 1, alpn)).key);
  }
  EXPECT_EQ(digests.size(), lists.size());

  const Session s = Tls12Session(kCtx);
  ASSERT_TRUE(cache.Insert(KeyFor("h", 1, {"a,b"}), s).ok());
  EXPECT_TRUE(cache.Lookup(KeyFor("h", 1, {"a", "b"})).empty());
  EXPECT_EQ(cache.Lookup(KeyFor("h", 1, {"a,b"})), s);
}

// Fields cannot bleed into each other: host "a" port 12 and host "a1"
// port 2 (and similar) are different keys.
TEST(CacheKey, FieldBoundariesAreUnambiguous) {
  ClientSessionCache cache;
  EXPECT_NE(cache.Digests(KeyFor("a", 12)).key,
            cache.Digests(KeyFor("a1", 2)).key);
  EXPECT_NE(cache.Digests(KeyFor("h", 1, {}, "ctxh")).key,
            cache.Digests(KeyFor("tx", 1, {}, "c")).key);
}

// Keys are stored only as HMAC-SHA256 digests under the digest key: no host
// name in them; the same key under another digest key has other digests;
// under the same digest key the same ones.
TEST(CacheKey, StoredAsDigestsUnderTheDigestKey) {
  ClientSessionCache::Config a, a_again, b;
  a.digest_key = "digest key one";
  a_again.digest_key = "digest key one";
  b.digest_key = "digest key two";
  ClientSessionCache cache_a(a), cache_a_again(a_again), cache_b(b), unkeyed;
  const Key key = KeyFor("secret-host.example", 990, {"ftp"});
  const StoreKey da = cache_a.Digests(key);
  EXPECT_EQ(da.key.size(), 32u);
  EXPECT_EQ(da.peer.size(), 32u);
  EXPECT_EQ(da.key.find("secret-host"), std::string::npos);
  EXPECT_EQ(da.key, cache_a_again.Digests(key).key);
  EXPECT_EQ(da.peer, cache_a_again.Digests(key).peer);
  EXPECT_NE(da.key, cache_b.Digests(key).key);
  EXPECT_NE(da.peer, cache_b.Digests(key).peer);
  EXPECT_NE(da.key, unkeyed.Digests(key).key);
  EXPECT_TRUE(cache_a.UsesDigestKey("digest key one"));
  EXPECT_FALSE(cache_a.UsesDigestKey("digest key two"));
  EXPECT_TRUE(unkeyed.UsesDigestKey(""));
}

// The peer digest names only host and port, so that RemovePeer reaches
// every key of that server.
TEST(CacheKey, PeerDigestIsHostAndPortOnly) {
  ClientSessionCache cache;
  const StoreKey base = cache.Digests(KeyFor("h", 1, {"x"}, kCtx));
  EXPECT_EQ(base.peer, cache.Digests(KeyFor("h", 1, {}, kOtherCtx)).peer);
  EXPECT_NE(base.peer, cache.Digests(KeyFor("h", 2)).peer);
  EXPECT_NE(base.peer, cache.Digests(KeyFor("H", 1)).peer);
}

// Caches sharing a store find each other's sessions only when they share the
// digest key.
TEST(CacheKey, SharedStoreNeedsTheSameDigestKey) {
  auto store = std::make_shared<MemoryClientSessionStore>();
  ClientSessionCache::Config one, same, other;
  one.store = same.store = other.store = store;
  one.digest_key = same.digest_key = "k1";
  other.digest_key = "k2";
  ClientSessionCache writer(one), reader(same), stranger(other);
  const Session s = Tls12Session(kCtx);
  ASSERT_TRUE(writer.Insert(KeyFor(), s).ok());
  EXPECT_EQ(&writer.store(), store.get());
  EXPECT_TRUE(stranger.Lookup(KeyFor()).empty());
  EXPECT_EQ(reader.Lookup(KeyFor()), s);
}

// ---------------------------------------------------------------------------
// Insert.

// Insert refuses, changing nothing, empty and non-resumable sessions,
// sessions of another Context than the key's, and expired ones.
TEST(CacheInsert, RefusesWhatMayNeverBeOffered) {
  TestClock clock;
  ClientSessionCache cache(ConfigWith(clock));
  const Key key = KeyFor();
  EXPECT_EQ(cache.Insert(key, Session()).code(),
            absl::StatusCode::kInvalidArgument);
  SessionSpec not_resumable;
  not_resumable.context_id = std::string(kCtx);
  not_resumable.resumable = false;
  EXPECT_EQ(cache.Insert(key, MakeSession(not_resumable)).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(cache.Insert(key, Tls13Ticket(kOtherCtx)).code(),
            absl::StatusCode::kInvalidArgument);
  const Session old = Tls12Session(kCtx, clock.Now() - absl::Hours(3));
  EXPECT_EQ(cache.Insert(key, old).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(cache.entry_count(), 0u);
  EXPECT_EQ(cache.session_count(), 0u);
  const auto m = cache.metrics();
  EXPECT_EQ(m.insertions, 0u);
  EXPECT_EQ(m.expirations, 1u);
}

// ---------------------------------------------------------------------------
// Checkout.

// A TLS 1.3 ticket is handed out once: Lookup removes it, newest first,
// until none is left.
TEST(Checkout, TicketsLeaveNewestFirstAndOnce) {
  TestClock clock;
  ClientSessionCache cache(ConfigWith(clock));
  const Key key = KeyFor();
  const Session t1 = Tls13Ticket(kCtx), t2 = Tls13Ticket(kCtx),
                t3 = Tls13Ticket(kCtx);
  for (const Session& t : {t1, t2, t3}) ASSERT_TRUE(cache.Insert(key, t).ok());
  EXPECT_EQ(cache.session_count(), 3u);
  EXPECT_EQ(cache.Lookup(key), t3);
  EXPECT_EQ(cache.session_count(), 2u);
  EXPECT_EQ(cache.Lookup(key), t2);
  EXPECT_EQ(cache.Lookup(key), t1);
  EXPECT_TRUE(cache.Lookup(key).empty());
  EXPECT_EQ(cache.entry_count(), 0u);
  const auto m = cache.metrics();
  EXPECT_EQ(m.hits, 3u);
  EXPECT_EQ(m.misses, 1u);
  EXPECT_EQ(m.insertions, 3u);
}

// At most max_sessions_per_key tickets are kept per key; the oldest go first
// and count as evictions.
TEST(Checkout, TicketsPerKeyAreBounded) {
  TestClock clock;
  ClientSessionCache cache(ConfigWith(clock, 1024, 3));
  const Key key = KeyFor();
  std::vector<Session> tickets;
  for (int i = 0; i < 5; ++i) {
    tickets.push_back(Tls13Ticket(kCtx));
    ASSERT_TRUE(cache.Insert(key, tickets.back()).ok());
  }
  EXPECT_EQ(cache.session_count(), 3u);
  EXPECT_EQ(cache.metrics().evictions, 2u);
  std::vector<Session> out;
  // Bounded, so that tickets that never leave fail the test, not hang it.
  for (Session s; out.size() < 10 && !(s = cache.Lookup(key)).empty();) {
    out.push_back(s);
  }
  EXPECT_EQ(Ids(out), Ids({tickets[4], tickets[3], tickets[2]}));
}

// A TLS 1.2 session may be handed to many connections: it stays.
TEST(Checkout, Tls12SessionIsReused) {
  TestClock clock;
  ClientSessionCache cache(ConfigWith(clock));
  const Session s = Tls12Session(kCtx);
  ASSERT_TRUE(cache.Insert(KeyFor(), s).ok());
  for (int i = 0; i < 3; ++i) EXPECT_EQ(cache.Lookup(KeyFor()), s) << i;
  EXPECT_EQ(cache.session_count(), 1u);
  EXPECT_EQ(cache.metrics().hits, 3u);
}

// Many threads checking out one key's tickets never receive the same one.
TEST(Checkout, ConcurrentLookupsNeverShareATicket) {
  constexpr int kTickets = 200;
  constexpr int kThreads = 8;
  TestClock clock;
  ClientSessionCache cache(ConfigWith(clock, 16, kTickets));
  std::set<std::string> inserted;
  for (int i = 0; i < kTickets; ++i) {
    Session t = Tls13Ticket(kCtx);
    inserted.insert(t.id());
    ASSERT_TRUE(cache.Insert(KeyFor(), t).ok());
  }
  std::vector<std::vector<std::string>> got(kThreads);
  StartLine start(kThreads);  // All look up at once, in any build.
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      start.Wait();
      // At most kTickets each: tickets that never leave fail, not hang.
      for (Session s;
           got[t].size() < kTickets && !(s = cache.Lookup(KeyFor())).empty();) {
        got[t].push_back(s.id());
      }
    });
  }
  for (auto& t : threads) t.join();
  std::multiset<std::string> all;
  for (const auto& ids : got) all.insert(ids.begin(), ids.end());
  EXPECT_EQ(all.size(), static_cast<size_t>(kTickets));
  EXPECT_EQ(std::set<std::string>(all.begin(), all.end()), inserted);
  EXPECT_EQ(cache.metrics().hits, static_cast<uint64_t>(kTickets));
}

// ---------------------------------------------------------------------------
// Replacement.

// A TLS 1.2 session replaces every session of its key; a ticket replaces a
// TLS 1.2 session (the server now speaks TLS 1.3) but joins other tickets; a
// newer TLS 1.2 session replaces the older one; a session already held is
// not held twice.
TEST(Replacement, Rules) {
  TestClock clock;
  ClientSessionCache cache(ConfigWith(clock));
  const Key key = KeyFor();
  const Session t1 = Tls13Ticket(kCtx), t2 = Tls13Ticket(kCtx);
  const Session s1 = Tls12Session(kCtx), s2 = Tls12Session(kCtx);

  ASSERT_TRUE(cache.Insert(key, t1).ok());
  ASSERT_TRUE(cache.Insert(key, t2).ok());
  ASSERT_TRUE(cache.Insert(key, s1).ok());  // Replaces both tickets.
  EXPECT_EQ(cache.session_count(), 1u);
  EXPECT_EQ(cache.Lookup(key), s1);

  ASSERT_TRUE(cache.Insert(key, s2).ok());  // Replaces s1.
  EXPECT_EQ(cache.session_count(), 1u);
  EXPECT_EQ(cache.Lookup(key), s2);

  ASSERT_TRUE(cache.Insert(key, t1).ok());  // Replaces s2.
  ASSERT_TRUE(cache.Insert(key, t1).ok());  // Already held.
  EXPECT_EQ(cache.session_count(), 1u);
  EXPECT_EQ(cache.Lookup(key), t1);
  EXPECT_TRUE(cache.Lookup(key).empty());
  EXPECT_EQ(cache.metrics().evictions, 0u);  // Replacements are not evictions.
}

// Remove forgets one session of a key and leaves the others.
TEST(Replacement, RemoveForgetsOneSession) {
  TestClock clock;
  ClientSessionCache cache(ConfigWith(clock));
  const Session t1 = Tls13Ticket(kCtx), t2 = Tls13Ticket(kCtx);
  ASSERT_TRUE(cache.Insert(KeyFor(), t1).ok());
  ASSERT_TRUE(cache.Insert(KeyFor(), t2).ok());
  cache.Remove(KeyFor("other"), t2);  // Another key: nothing.
  EXPECT_EQ(cache.session_count(), 2u);
  cache.Remove(KeyFor(), t2);
  EXPECT_EQ(cache.session_count(), 1u);
  EXPECT_EQ(cache.Lookup(KeyFor()), t1);
}

// ---------------------------------------------------------------------------
// Expiry: Session::usable_until() is the one rule.

// A session is offered until its lifetime ends, then never; the expired one
// leaves the store.
TEST(Expiry, BySessionLifetime) {
  TestClock clock;
  ClientSessionCache cache(ConfigWith(clock));
  SessionSpec spec;
  spec.version = TLS1_2_VERSION;
  spec.context_id = std::string(kCtx);
  spec.time = clock.Now();
  spec.timeout = absl::Hours(1);
  const Session s = MakeSession(spec);
  ASSERT_TRUE(cache.Insert(KeyFor(), s).ok());
  clock.Advance(absl::Minutes(59));
  EXPECT_EQ(cache.Lookup(KeyFor()), s);
  clock.Advance(absl::Minutes(1));  // Exactly at the end: no longer usable.
  EXPECT_TRUE(cache.Lookup(KeyFor()).empty());
  EXPECT_EQ(cache.metrics().expirations, 1u);
  EXPECT_EQ(cache.session_count(), 0u);
}

// An expired newest ticket is skipped (and dropped) and an older usable one
// is handed out instead.
TEST(Expiry, ExpiredNewestTicketIsSkipped) {
  TestClock clock;
  ClientSessionCache cache(ConfigWith(clock));
  SessionSpec spec;
  spec.context_id = std::string(kCtx);
  spec.time = clock.Now();
  const Session older = MakeSession(spec);  // Two hours.
  spec.timeout = absl::Minutes(30);
  const Session newer = MakeSession(spec);
  ASSERT_TRUE(cache.Insert(KeyFor(), older).ok());
  ASSERT_TRUE(cache.Insert(KeyFor(), newer).ok());
  clock.Advance(absl::Minutes(31));
  EXPECT_EQ(cache.Lookup(KeyFor()), older);
  EXPECT_EQ(cache.metrics().expirations, 1u);
  EXPECT_EQ(cache.session_count(), 0u);
}

// A store that breaks the single-use rule (its Take never removes): an
// unusable ticket it keeps handing out is a miss, never an endless loop.
TEST(Expiry, MisbehavingStoreCannotMakeLookupSpin) {
  class StuckStore : public MemoryClientSessionStore {
   public:
    explicit StuckStore(Session s) : stuck_(std::move(s)) {}
    Session Take(absl::string_view) override { return stuck_; }

   private:
    Session stuck_;
  };
  TestClock clock;
  SessionSpec spec;
  spec.context_id = std::string(kCtx);
  spec.time = clock.Now();
  spec.timeout = absl::Minutes(1);
  ClientSessionCache::Config config = ConfigWith(clock);
  config.store = std::make_shared<StuckStore>(MakeSession(spec));
  ClientSessionCache cache(config);
  clock.Advance(absl::Minutes(2));
  EXPECT_TRUE(cache.Lookup(KeyFor()).empty());
  EXPECT_EQ(cache.metrics().misses, 1u);
}

// The ticket lifetime hint ends a session before its timeout, for TLS 1.2
// tickets and TLS 1.3 tickets alike.
TEST(Expiry, ByTicketLifetimeHint) {
  for (uint16_t version : {TLS1_2_VERSION, TLS1_3_VERSION}) {
    SCOPED_TRACE(version);
    TestClock clock;
    ClientSessionCache cache(ConfigWith(clock));
    SessionSpec spec;
    spec.version = version;
    spec.tls12_ticket = true;
    spec.context_id = std::string(kCtx);
    spec.time = clock.Now();
    spec.timeout = absl::Hours(2);
    spec.ticket_lifetime_hint = absl::Minutes(10);
    const Session s = MakeSession(spec);
    ASSERT_EQ(s.usable_until(), clock.Now() + absl::Minutes(10));
    ASSERT_TRUE(cache.Insert(KeyFor(), s).ok());
    clock.Advance(absl::Minutes(11));
    EXPECT_TRUE(cache.Lookup(KeyFor()).empty());
    EXPECT_EQ(cache.metrics().expirations, 1u);
  }
}

// A session is not offered after its server certificate's notAfter, even
// while its lifetime lasts: resuming skips verification.
TEST(Expiry, ByPeerCertificateNotAfter) {
  TestClock clock;
  CertOptions o;
  o.common_name = "localhost";
  o.not_before = clock.Now() - absl::Hours(1);
  o.not_after = clock.Now() + absl::Hours(1);
  auto cert = MakeCertificate(o, nullptr);
  ASSERT_TRUE(cert.ok()) << cert.status();
  ClientSessionCache cache(ConfigWith(clock));
  SessionSpec spec;
  spec.version = TLS1_2_VERSION;
  spec.context_id = std::string(kCtx);
  spec.time = clock.Now();
  spec.timeout = absl::Hours(2);
  spec.peer = cert->cert.get();
  const Session s = MakeSession(spec);
  EXPECT_EQ(s.peer_certificate_expiry(), o.not_after);
  EXPECT_EQ(s.usable_until(), o.not_after);
  ASSERT_TRUE(cache.Insert(KeyFor(), s).ok());
  clock.Advance(absl::Minutes(30));
  EXPECT_EQ(cache.Lookup(KeyFor()), s);
  clock.Advance(absl::Minutes(60));
  ASSERT_LT(clock.Now(), s.expiry());           // The session lives...
  EXPECT_TRUE(cache.Lookup(KeyFor()).empty());  // ...its certificate not.
  // Nor is it taken in again.
  EXPECT_FALSE(cache.Insert(KeyFor(), s).ok());
}

// ---------------------------------------------------------------------------
// Bounds.

// Beyond max_entries keys, the least recently used key goes first (a lookup
// counts as a use), and its sessions count as evictions.
TEST(Bounds, LeastRecentlyUsedKeyGoesFirst) {
  TestClock clock;
  ClientSessionCache cache(ConfigWith(clock, 2));
  const Key a = KeyFor("a.example"), b = KeyFor("b.example"),
            c = KeyFor("c.example");
  ASSERT_TRUE(cache.Insert(a, Tls12Session(kCtx)).ok());
  ASSERT_TRUE(cache.Insert(b, Tls12Session(kCtx)).ok());
  EXPECT_FALSE(cache.Lookup(a).empty());  // a is now the most recent.
  ASSERT_TRUE(cache.Insert(c, Tls12Session(kCtx)).ok());
  EXPECT_EQ(cache.entry_count(), 2u);
  EXPECT_EQ(cache.metrics().evictions, 1u);
  EXPECT_TRUE(cache.Lookup(b).empty());
  EXPECT_FALSE(cache.Lookup(a).empty());
  EXPECT_FALSE(cache.Lookup(c).empty());

  // A key of three tickets evicted: three evictions.
  ClientSessionCache one(ConfigWith(clock, 1));
  for (int i = 0; i < 3; ++i)
    ASSERT_TRUE(one.Insert(a, Tls13Ticket(kCtx)).ok());
  ASSERT_TRUE(one.Insert(b, Tls13Ticket(kCtx)).ok());
  EXPECT_EQ(one.metrics().evictions, 3u);
  EXPECT_EQ(one.session_count(), 1u);
}

// ---------------------------------------------------------------------------
// Clear and RemovePeer.

// Clear forgets everything; RemovePeer forgets every key of one host:port,
// whatever its context or ALPN list, and nothing else.
TEST(Clear, AllAndPerPeer) {
  TestClock clock;
  ClientSessionCache cache(ConfigWith(clock));
  const Key a = KeyFor("a.example", 1);
  const Key a_alpn = KeyFor("a.example", 1, {"h2"});
  const Key a_ctx = KeyFor("a.example", 1, {}, kOtherCtx);
  const Key a_port = KeyFor("a.example", 2);
  const Key b = KeyFor("b.example", 1);
  for (const Key& k : {a, a_alpn, a_port, b}) {
    ASSERT_TRUE(cache.Insert(k, Tls12Session(kCtx)).ok());
  }
  ASSERT_TRUE(cache.Insert(a_ctx, Tls13Ticket(kOtherCtx)).ok());
  cache.RemovePeer("a.example", 1);
  EXPECT_EQ(cache.entry_count(), 2u);
  EXPECT_TRUE(cache.Lookup(a).empty());
  EXPECT_TRUE(cache.Lookup(a_alpn).empty());
  EXPECT_TRUE(cache.Lookup(a_ctx).empty());
  EXPECT_FALSE(cache.Lookup(a_port).empty());
  EXPECT_FALSE(cache.Lookup(b).empty());
  cache.Clear();
  EXPECT_EQ(cache.entry_count(), 0u);
  EXPECT_EQ(cache.session_count(), 0u);
  EXPECT_TRUE(cache.Lookup(b).empty());
}

// ---------------------------------------------------------------------------
// Metrics.

// Each counter counts exactly its event.
TEST(Metrics, CountEachEvent) {
  TestClock clock;
  ClientSessionCache cache(ConfigWith(clock, 1, 2));
  EXPECT_EQ(cache.metrics().hits + cache.metrics().misses +
                cache.metrics().insertions + cache.metrics().evictions +
                cache.metrics().expirations,
            0u);
  ASSERT_TRUE(cache.Insert(KeyFor("a"), Tls13Ticket(kCtx)).ok());
  ASSERT_TRUE(cache.Insert(KeyFor("a"), Tls13Ticket(kCtx)).ok());
  ASSERT_TRUE(cache.Insert(KeyFor("a"), Tls13Ticket(kCtx)).ok());  // 1 evicted.
  ASSERT_TRUE(cache.Insert(KeyFor("b"), Tls12Session(kCtx)).ok());  // 2 more.
  EXPECT_FALSE(cache.Lookup(KeyFor("b")).empty());
  EXPECT_TRUE(cache.Lookup(KeyFor("a")).empty());
  clock.Advance(absl::Hours(3));
  EXPECT_TRUE(cache.Lookup(KeyFor("b")).empty());
  const auto m = cache.metrics();
  EXPECT_EQ(m.insertions, 4u);
  EXPECT_EQ(m.evictions, 3u);
  EXPECT_EQ(m.hits, 1u);
  EXPECT_EQ(m.misses, 2u);
  EXPECT_EQ(m.expirations, 1u);
}

// ---------------------------------------------------------------------------
// Threads (run under TSan by test.sh).

// Many threads inserting, checking out, flushing and reading metrics keep
// the cache consistent: bounds hold, counters add up, and no ticket is ever
// handed out twice.
TEST(Concurrency, ManyThreadsLookupAndInsert) {
  constexpr int kThreads = 8;
  constexpr int kOps = 600;
  constexpr int kHosts = 24;
  TestClock clock;
  ClientSessionCache cache(ConfigWith(clock, 16, 4));
  // Each thread inserts its own tickets (each once) and shared TLS 1.2
  // sessions.
  std::vector<std::vector<Session>> tickets(kThreads);
  for (auto& mine : tickets) {
    for (int i = 0; i < kOps / 3 + 1; ++i) mine.push_back(Tls13Ticket(kCtx));
  }
  const std::vector<Session> shared = {Tls12Session(kCtx), Tls12Session(kCtx)};
  std::atomic<uint64_t> lookups{0}, hits{0}, inserts{0};
  std::vector<std::vector<std::string>> handed_out(kThreads);
  StartLine start(kThreads);  // All run at once, in any build.
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      start.Wait();
      size_t next_ticket = 0;
      for (int i = 0; i < kOps; ++i) {
        const Key key = KeyFor(absl::StrCat("host", (t + i) % kHosts), 443);
        if (i % 3 == 0) {
          const Session& s = (i % 2 == 0) ? tickets[t][next_ticket++]
                                          : shared[i % shared.size()];
          EXPECT_TRUE(cache.Insert(key, s).ok());
          ++inserts;
        } else {
          ++lookups;
          Session s = cache.Lookup(key);
          if (!s.empty()) {
            ++hits;
            if (s.is_single_use()) handed_out[t].push_back(s.id());
          }
        }
        if (i % 100 == 0) cache.RemovePeer("host3", 443);
        (void)cache.metrics();
        (void)cache.entry_count();
      }
    });
  }
  for (auto& t : threads) t.join();
  const auto m = cache.metrics();
  EXPECT_EQ(m.hits, hits.load());
  EXPECT_EQ(m.hits + m.misses, lookups.load());
  EXPECT_EQ(m.insertions, inserts.load());
  EXPECT_EQ(m.expirations, 0u);
  EXPECT_LE(cache.entry_count(), 16u);
  std::multiset<std::string> all;
  for (const auto& ids : handed_out) all.insert(ids.begin(), ids.end());
  EXPECT_EQ(std::set<std::string>(all.begin(), all.end()).size(), all.size());
}

}  // namespace
}  // namespace tlsession::testing
