// RedisClientSessionStore against a real redis-server, with real sessions
// from real handshakes: TLS 1.3 tickets are popped atomically (each handed
// out once across stores, even from many threads), TLS 1.2 sessions are
// shared, lists are bounded and expire, values are sealed under digest names
// (no host names), tampered values are refused, a dead Redis is a miss, and
// the store neither counts nor exports (a cache file refuses to save it).
#include "fleet/redis_client_session_store.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <atomic>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/time/clock.h"
#include "fleet/fleet_key.h"
#include "fleet/redis_client.h"
#include "session/client_session_cache.h"
#include "session/session_cache_file.h"
#include "testbed/certs.h"
#include "testbed/redis_server.h"
#include "testbed/tls_server.h"
#include "tests/fleet/reply_dropping_proxy.h"
#include "tests/testing/start_line.h"
#include "tls/connection.h"
#include "tls/context.h"

namespace tlsession::fleet {
namespace {

using testing::TestRedisServer;
using testing::TestTlsServer;

std::shared_ptr<const Context> MustContext(ContextOptions o) {
  auto c = Context::Create(std::move(o));
  EXPECT_TRUE(c.ok()) << c.status();
  return *c;
}

ContextOptions Server(bool tls13, size_t tickets) {
  const testing::TestPki& pki = testing::GetTestPki();
  ContextOptions o;
  o.role = Role::kServer;
  o.certificate_chain_pem = pki.server.cert_pem;
  o.private_key_pem = pki.server.key_pem;
  o.tls13_tickets = tickets;
  if (!tls13) {
    o.max_version = TLS1_2_VERSION;
    o.session_tickets = false;
  }
  return o;
}

class RedisClientSessionStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto redis = TestRedisServer::Start();
    ASSERT_TRUE(redis.ok()) << redis.status();
    redis_ = *std::move(redis);
    key_ = *FleetKey::FromSecret(Secret(std::string(32, 'c')));
  }
  // A store (one process's) on its own RedisClient, to Redis or through
  // the proxy on |port|.
  std::shared_ptr<RedisClientSessionStore> Store(size_t max_tickets = 4,
                                                 uint16_t port = 0) {
    RedisClient::Config config;
    config.endpoint.port = port != 0 ? port : redis_->port();
    config.endpoint.password = Secret(std::string(redis_->password()));
    config.timeout = absl::Seconds(1);
    RedisClientSessionStore::Config store;
    store.max_sessions_per_key = max_tickets;
    return std::make_shared<RedisClientSessionStore>(
        *RedisClient::Create(std::move(config)), key_, store);
  }
  // A cache over |store|, as one client process would have.
  std::shared_ptr<ClientSessionCache> Cache(
      std::shared_ptr<RedisClientSessionStore> store) {
    ClientSessionCache::Config config;
    config.store = std::move(store);
    config.digest_key = std::string(key_->ClientDigestKey().view());
    return std::make_shared<ClientSessionCache>(std::move(config));
  }
  std::shared_ptr<const Context> Client(
      std::shared_ptr<ClientSessionCache> cache) {
    ContextOptions o;
    o.ca_pem = testing::GetTestPki().ca.cert_pem;
    o.session_cache = std::move(cache);
    return MustContext(std::move(o));
  }
  // One connection through |client|'s cache; waits for |tickets| sessions
  // and ends cleanly (the sessions go to the store). Returns whether it
  // resumed.
  bool Connect(const std::shared_ptr<const Context>& client, uint16_t port,
               int tickets = 1) {
    auto conn = Connection::Connect(client, "localhost", port);
    EXPECT_TRUE(conn.ok()) << conn.status();
    if (!conn.ok()) return false;
    const absl::Time deadline = absl::Now() + absl::Seconds(5);
    while ((*conn)->sessions_received() < tickets && absl::Now() < deadline) {
      EXPECT_TRUE((*conn)->WaitForSession(absl::Seconds(1)).ok());
      EXPECT_TRUE((*conn)->ProcessPendingMessages().ok());
    }
    const bool reused = (*conn)->session_reused();
    EXPECT_TRUE((*conn)->Shutdown().ok());
    return reused;
  }

  // How many of |sessions| (empty ones skipped) resume a connection to
  // |port|: each is offered on a connection of its own, as its PSK identity.
  // The test server accepts a ticket any number of times, so a ticket handed
  // out twice resumes twice.
  int Resumptions(const std::vector<Session>& sessions, uint16_t port) {
    ContextOptions o;
    o.ca_pem = testing::GetTestPki().ca.cert_pem;
    auto plain = MustContext(std::move(o));
    int resumed = 0;
    for (const Session& s : sessions) {
      if (s.empty()) continue;
      auto conn = Connection::Connect(plain, "localhost", port, s);
      EXPECT_TRUE(conn.ok()) << conn.status();
      if (!conn.ok()) continue;
      if ((*conn)->session_reused()) ++resumed;
      EXPECT_TRUE((*conn)->Shutdown().ok());
    }
    return resumed;
  }
  // The store digest under which client context |a| keeps sessions for
  // localhost:|port|.
  std::string Digest(const std::shared_ptr<RedisClientSessionStore>& store,
                     const std::shared_ptr<const Context>& a, uint16_t port) {
    const ClientSessionCache::Key key{a->id(), "localhost", port, {}};
    return Cache(store)->Digests(key).key;
  }

  std::unique_ptr<TestRedisServer> redis_;
  std::shared_ptr<const FleetKey> key_;
};

// Issue 20's first repro: the reply to a Put is lost (a proxy forwards the
// put and closes the connection instead of replying). The put is not sent
// again, and two processes' takes hand the ticket out once: its PSK identity
// resumes one connection.
TEST_F(RedisClientSessionStoreTest, LostPutReplyHandsTheTicketOutOnce) {
  auto server = TestTlsServer::Start(MustContext(Server(true, 1)));
  ASSERT_TRUE(server.ok());
  auto proxy = testing::ReplyDroppingProxy::Start(redis_->port());
  ASSERT_TRUE(proxy.ok()) << proxy.status();
  auto store_p = Store(4, (*proxy)->port());
  auto a = Client(Cache(store_p));
  (*proxy)->DropReplyTo("LPUSH");  // The put script's text.
  // The lookup (a take) connects; the put reuses that connection.
  EXPECT_FALSE(Connect(a, (*server)->port(), 1));
  EXPECT_EQ((*proxy)->dropped(), 1);
  EXPECT_EQ(store_p->metrics().puts, 0u);  // Its reply was lost.
  const std::string digest = Digest(store_p, a, (*server)->port());
  auto len = redis_->Command({"LLEN", store_p->TicketListName(digest)});
  ASSERT_TRUE(len.ok());
  EXPECT_EQ(len->integer, 1);  // Pushed once.
  std::vector<Session> taken = {Store()->Take(digest), Store()->Take(digest)};
  EXPECT_EQ(taken[0].empty() + taken[1].empty(), 1);
  EXPECT_EQ(Resumptions(taken, (*server)->port()), 1);
}

// The reply to a take is lost: the ticket was taken (its spent marker set)
// and is not taken again by anyone; the PSK identity is presented at most
// once (here: never).
TEST_F(RedisClientSessionStoreTest, LostTakeReplyNeverHandsTheTicketOut) {
  auto server = TestTlsServer::Start(MustContext(Server(true, 1)));
  ASSERT_TRUE(server.ok());
  auto proxy = testing::ReplyDroppingProxy::Start(redis_->port());
  ASSERT_TRUE(proxy.ok()) << proxy.status();
  auto store_p = Store(4, (*proxy)->port());
  auto a = Client(Cache(store_p));
  EXPECT_FALSE(Connect(a, (*server)->port(), 1));
  EXPECT_EQ(store_p->metrics().puts, 1u);
  const std::string digest = Digest(store_p, a, (*server)->port());
  (*proxy)->DropReplyTo("LPOP");  // The take script's text.
  std::vector<Session> taken = {store_p->Take(digest)};
  EXPECT_EQ((*proxy)->dropped(), 1);
  EXPECT_TRUE(taken[0].empty());
  taken.push_back(Store()->Take(digest));
  taken.push_back(store_p->Take(digest));
  EXPECT_TRUE(taken[1].empty());
  EXPECT_TRUE(taken[2].empty());
  EXPECT_EQ(Resumptions(taken, (*server)->port()), 0);
}

// Issue 20's second repro: someone with Redis write access copies a stored
// ticket (GET of its name, as LINDEX did) and puts it back after it was
// taken, under its own name and under another: it never opens twice. A
// duplicated index entry names one ticket, taken once; and a process that
// puts back a ticket it took is refused.
TEST_F(RedisClientSessionStoreTest, ReplayedTicketsNeverOpenTwice) {
  auto server = TestTlsServer::Start(MustContext(Server(true, 1)));
  ASSERT_TRUE(server.ok());
  auto store = Store();
  auto a = Client(Cache(store));
  EXPECT_FALSE(Connect(a, (*server)->port(), 1));
  const std::string digest = Digest(store, a, (*server)->port());
  const std::string index = store->TicketListName(digest);
  auto entries = redis_->Command({"LRANGE", index, "0", "-1"});
  ASSERT_TRUE(entries.ok());
  ASSERT_EQ(entries->elements.size(), 1u);
  const std::string entry = entries->elements[0].str;
  const std::string name = store->TicketName(digest, entry);
  auto copy = redis_->Command({"GET", name});
  ASSERT_TRUE(copy.ok() && copy->is_string());
  // A duplicated entry (a push sent twice) before the take.
  ASSERT_TRUE(redis_->Command({"LPUSH", index, entry}).ok());
  auto b = Store();
  std::vector<Session> taken = {b->Take(digest), b->Take(digest)};
  EXPECT_FALSE(taken[0].empty());
  EXPECT_TRUE(taken[1].empty());
  // The copy, back under its own name with its entry: spent.
  ASSERT_TRUE(redis_->Command({"SET", name, copy->str, "PX", "600000"}).ok());
  ASSERT_TRUE(redis_->Command({"LPUSH", index, entry, entry}).ok());
  auto c = Store();
  taken.push_back(c->Take(digest));
  EXPECT_TRUE(taken.back().empty());
  EXPECT_EQ(c->metrics().spent, 1u);
  // Under another name (another entry of this key; another key): refused.
  std::string forged = entry;
  forged[0] = forged[0] == '0' ? '1' : '0';
  ASSERT_TRUE(redis_
                  ->Command({"SET", store->TicketName(digest, forged),
                             copy->str, "PX", "600000"})
                  .ok());
  ASSERT_TRUE(redis_->Command({"LPUSH", index, forged}).ok());
  taken.push_back(c->Take(digest));
  EXPECT_TRUE(taken.back().empty());
  EXPECT_EQ(c->metrics().rejected, 1u)
      << entry << " spent " << c->metrics().spent << " misses "
      << c->metrics().misses << " errors " << c->metrics().errors;
  // The process that took it puts it back: refused, not stored.
  const ClientSessionCache::Key key{
      a->id(), "localhost", (*server)->port(), {}};
  b->Put(Cache(b)->Digests(key), taken[0]);
  EXPECT_EQ(b->metrics().spent, 1u);
  EXPECT_EQ(b->metrics().puts, 0u);
  taken.push_back(c->Take(digest));
  EXPECT_TRUE(taken.back().empty());
  EXPECT_EQ(Resumptions(taken, (*server)->port()), 1);
}

TEST_F(RedisClientSessionStoreTest, TicketsCrossProcessesAndEachIsUsedOnce) {
  auto server = TestTlsServer::Start(MustContext(Server(true, 2)));
  ASSERT_TRUE(server.ok());
  auto store_a = Store();
  auto store_b = Store();
  auto a = Client(Cache(store_a));
  auto b = Client(Cache(store_b));
  EXPECT_FALSE(Connect(a, (*server)->port(), 2));  // Two tickets to Redis.
  EXPECT_EQ(store_a->metrics().puts, 2u);
  const ClientSessionCache::Key key{
      a->id(), "localhost", (*server)->port(), {}};
  const std::string list =
      store_a->TicketListName(Cache(store_a)->Digests(key).key);
  auto len = redis_->Command({"LLEN", list});
  ASSERT_TRUE(len.ok());
  EXPECT_EQ(len->integer, 2);
  // Another process resumes with one of them, and puts its new tickets.
  EXPECT_TRUE(Connect(b, (*server)->port(), 2));
  EXPECT_EQ(store_b->metrics().ticket_hits, 1u);
  len = redis_->Command({"LLEN", list});
  EXPECT_EQ(len->integer, 3);
  // The list expires with the tickets (the server's 2 h session timeout).
  auto pttl = redis_->Command({"PTTL", list});
  ASSERT_TRUE(pttl.ok());
  EXPECT_GT(pttl->integer, 0);
  EXPECT_LE(pttl->integer, 2 * 3600 * 1000);
  // Names and values say nothing of "localhost".
  auto keys = redis_->Keys("*");
  ASSERT_TRUE(keys.ok());
  for (const std::string& k : *keys) {
    EXPECT_FALSE(absl::StrContains(k, "localhost")) << k;
  }
}

TEST_F(RedisClientSessionStoreTest, ConcurrentTakesNeverShareATicket) {
  auto server = TestTlsServer::Start(MustContext(Server(true, 8)));
  ASSERT_TRUE(server.ok());
  auto store_a = Store(/*max_tickets=*/64);
  auto a = Client(Cache(store_a));
  for (int i = 0; i < 4; ++i) Connect(a, (*server)->port(), 8);
  const ClientSessionCache::Key key{
      a->id(), "localhost", (*server)->port(), {}};
  const std::string digest = Cache(store_a)->Digests(key).key;
  // 4 stores (processes) x 4 threads take until the list is empty, all
  // starting at once (in any build: a thread started last could otherwise
  // find the list empty already).
  std::vector<std::shared_ptr<RedisClientSessionStore>> stores;
  for (int i = 0; i < 4; ++i) stores.push_back(Store(64));
  std::mutex mu;
  std::vector<std::string> ids;
  testing::StartLine start(16);
  std::vector<std::thread> threads;
  for (int t = 0; t < 16; ++t) {
    threads.emplace_back([&, t] {
      start.Wait();
      for (;;) {
        Session s = stores[t % 4]->Take(digest);
        if (s.empty()) return;
        std::lock_guard<std::mutex> lock(mu);
        ids.push_back(s.id());
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_GE(ids.size(), 25u);  // 4 connections x 8 tickets, some resumed.
  std::set<std::string> unique(ids.begin(), ids.end());
  EXPECT_EQ(unique.size(), ids.size()) << "a ticket was handed out twice";
}

TEST_F(RedisClientSessionStoreTest, ListsAreBounded) {
  auto server = TestTlsServer::Start(MustContext(Server(true, 6)));
  ASSERT_TRUE(server.ok());
  auto store = Store(/*max_tickets=*/4);
  auto a = Client(Cache(store));
  Connect(a, (*server)->port(), 6);
  EXPECT_EQ(store->metrics().puts, 6u);
  EXPECT_EQ(store->evictions(), 2u);
  const ClientSessionCache::Key key{
      a->id(), "localhost", (*server)->port(), {}};
  auto len = redis_->Command(
      {"LLEN", store->TicketListName(Cache(store)->Digests(key).key)});
  ASSERT_TRUE(len.ok());
  EXPECT_EQ(len->integer, 4);
}

TEST_F(RedisClientSessionStoreTest, Tls12SessionsAreSharedAndStay) {
  auto server = TestTlsServer::Start(MustContext(Server(false, 0)));
  ASSERT_TRUE(server.ok());
  auto a = Client(Cache(Store()));
  auto b = Client(Cache(Store()));
  // TLS 1.2: a resumed connection receives no new session.
  EXPECT_FALSE(Connect(a, (*server)->port(), 0));
  EXPECT_TRUE(Connect(b, (*server)->port(), 0));
  EXPECT_TRUE(Connect(a, (*server)->port(), 0));
  EXPECT_TRUE(Connect(b, (*server)->port(), 0));
}

TEST_F(RedisClientSessionStoreTest, TamperedValuesAreRefused) {
  auto server = TestTlsServer::Start(MustContext(Server(true, 2)));
  ASSERT_TRUE(server.ok());
  auto store = Store();
  auto a = Client(Cache(store));
  Connect(a, (*server)->port(), 2);
  const ClientSessionCache::Key key{
      a->id(), "localhost", (*server)->port(), {}};
  const std::string list =
      store->TicketListName(Cache(store)->Digests(key).key);
  const std::string digest = Cache(store)->Digests(key).key;
  // Flip a bit in the newest ticket; replace the other with garbage; then
  // move a copy of a ticket to another key's index.
  auto entries = redis_->Command({"LRANGE", list, "0", "-1"});
  ASSERT_TRUE(entries.ok());
  ASSERT_EQ(entries->elements.size(), 2u);
  const std::string newest =
      store->TicketName(digest, entries->elements[0].str);
  const std::string oldest =
      store->TicketName(digest, entries->elements[1].str);
  auto value = redis_->Command({"GET", newest});
  ASSERT_TRUE(value.ok() && value->is_string());
  std::string flipped = value->str;
  flipped[20] ^= 0x04;
  ASSERT_TRUE(redis_->Command({"SET", newest, flipped, "KEEPTTL"}).ok());
  auto copy = redis_->Command({"GET", oldest});
  ASSERT_TRUE(copy.ok() && copy->is_string());
  ASSERT_TRUE(redis_->Command({"SET", oldest, "not sealed", "KEEPTTL"}).ok());
  auto other = Store();
  EXPECT_TRUE(other->Take(digest).empty());
  EXPECT_EQ(other->metrics().rejected, 2u);
  const std::string entry = entries->elements[1].str;
  ASSERT_TRUE(
      redis_->Command({"SET", store->TicketName("elsewhere", entry), copy->str})
          .ok());
  ASSERT_TRUE(
      redis_->Command({"RPUSH", store->TicketListName("elsewhere"), entry})
          .ok());
  EXPECT_TRUE(other->Take("elsewhere").empty());
  EXPECT_EQ(other->metrics().rejected, 3u);
  // The connection then makes a full handshake: no crash, no error.
  EXPECT_FALSE(Connect(Client(Cache(other)), (*server)->port()));
}

TEST_F(RedisClientSessionStoreTest, RemovePeerAndClear) {
  auto server = TestTlsServer::Start(MustContext(Server(true, 2)));
  ASSERT_TRUE(server.ok());
  auto store = Store();
  auto cache = Cache(store);
  auto a = Client(cache);
  Connect(a, (*server)->port(), 2);
  cache->RemovePeer("localhost", (*server)->port());
  auto keys = redis_->Keys("*");
  ASSERT_TRUE(keys.ok());
  EXPECT_TRUE(keys->empty());
  Connect(a, (*server)->port(), 2);
  Connect(a, (*server)->port(), 2);  // Resumes: one ticket spent.
  cache->Clear();
  // Only the spent marker stays (until the ticket would have expired):
  // deleting it would let a copy of that ticket be taken again.
  keys = redis_->Keys("*");
  ASSERT_TRUE(keys.ok());
  ASSERT_EQ(keys->size(), 1u);
  EXPECT_TRUE(absl::StrContains((*keys)[0], ":x:")) << (*keys)[0];
}

// The store has neither optional capability: the cache's counts are
// unknown (not 0), and a cache file refuses to save it rather than write a
// file with nothing in it; the tickets stay in Redis.
TEST_F(RedisClientSessionStoreTest, NeitherCountsNorExports) {
  auto server = TestTlsServer::Start(MustContext(Server(true, 2)));
  ASSERT_TRUE(server.ok());
  auto store = Store();
  EXPECT_EQ(store->counts(), nullptr);
  EXPECT_EQ(store->exporter(), nullptr);
  auto cache = Cache(store);
  Connect(Client(cache), (*server)->port(), 2);
  EXPECT_EQ(store->metrics().puts, 2u);
  EXPECT_EQ(cache->entry_count(), std::nullopt);
  EXPECT_EQ(cache->session_count(), std::nullopt);

  std::string dir = ::testing::TempDir() + "/redis_store.XXXXXX";
  ASSERT_NE(mkdtemp(&dir[0]), nullptr);
  auto file = SessionCacheFile::Open(dir + "/sessions");
  ASSERT_TRUE(file.ok()) << file.status();
  const absl::Status saved = file->Save(*cache);
  EXPECT_EQ(saved.code(), absl::StatusCode::kUnimplemented) << saved;
  EXPECT_NE(access((dir + "/sessions").c_str(), F_OK), 0);
  auto keys = redis_->Keys("*");
  ASSERT_TRUE(keys.ok());
  EXPECT_FALSE(keys->empty());
}

TEST_F(RedisClientSessionStoreTest, DeadRedisIsAMissNotAnError) {
  auto server = TestTlsServer::Start(MustContext(Server(true, 2)));
  ASSERT_TRUE(server.ok());
  auto store = Store();
  auto a = Client(Cache(store));
  Connect(a, (*server)->port(), 2);
  redis_->Kill();
  EXPECT_FALSE(Connect(a, (*server)->port(), 2));  // Full, and fine.
  const RedisClientSessionStore::Metrics m = store->metrics();
  EXPECT_GE(m.errors + m.skipped, 1u);
}

}  // namespace
}  // namespace tlsession::fleet
