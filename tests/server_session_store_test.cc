// Tests of MemoryServerSessionStore: storage, LRU bound, expiry, metrics
// and use from several threads; sessions kept as BoringSSL objects, and the
// default conversion of the bytes interface. No sockets.
#include "session/server_session_store.h"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <atomic>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/start_line.h"
#include "tests/testing/test_sessions.h"

namespace tlsession {
namespace {

using ::testing::Eq;
using ::testing::Optional;

// A clock that moves only when told to.
class FakeClock {
 public:
  absl::Time Now() const { return now_; }
  void Advance(absl::Duration d) { now_ += d; }
  std::function<absl::Time()> AsFunction() {
    return [this] { return now_; };
  }

 private:
  absl::Time now_ = absl::FromUnixSeconds(1700000000);
};

MemoryServerSessionStore::Config ConfigWith(FakeClock& clock,
                                            size_t max_entries) {
  MemoryServerSessionStore::Config config;
  config.max_entries = max_entries;
  config.clock = clock.AsFunction();
  return config;
}

TEST(InMemoryServerSessionStoreTest, PutThenGetReturnsTheSession) {
  FakeClock clock;
  MemoryServerSessionStore store(ConfigWith(clock, 10));
  store.Put("id-1", "session-1", clock.Now() + absl::Hours(1));
  store.Put("id-2", "session-2", clock.Now() + absl::Hours(1));

  EXPECT_THAT(store.Get("id-1"), Optional(Eq(std::string("session-1"))));
  EXPECT_THAT(store.Get("id-2"), Optional(Eq(std::string("session-2"))));
  EXPECT_EQ(store.Get("id-3"), std::nullopt);
  EXPECT_EQ(store.entry_count(), 2u);
}

TEST(InMemoryServerSessionStoreTest, IdsAreBinarySafe) {
  FakeClock clock;
  MemoryServerSessionStore store(ConfigWith(clock, 10));
  const std::string id_a("\0a", 2);
  const std::string id_b("\0b", 2);
  store.Put(id_a, "A", clock.Now() + absl::Hours(1));
  store.Put(id_b, "B", clock.Now() + absl::Hours(1));

  EXPECT_THAT(store.Get(id_a), Optional(Eq(std::string("A"))));
  EXPECT_THAT(store.Get(id_b), Optional(Eq(std::string("B"))));
  EXPECT_EQ(store.Get(std::string("\0", 1)), std::nullopt);
}

TEST(InMemoryServerSessionStoreTest, PutReplacesTheSessionUnderTheSameId) {
  FakeClock clock;
  MemoryServerSessionStore store(ConfigWith(clock, 2));
  store.Put("id", "old", clock.Now() + absl::Hours(1));
  store.Put("other", "x", clock.Now() + absl::Hours(1));
  store.Put("id", "new", clock.Now() + absl::Hours(1));

  EXPECT_THAT(store.Get("id"), Optional(Eq(std::string("new"))));
  EXPECT_THAT(store.Get("other"), Optional(Eq(std::string("x"))));
  EXPECT_EQ(store.entry_count(), 2u);
  EXPECT_EQ(store.metrics().evictions, 0u);
}

TEST(InMemoryServerSessionStoreTest, RemoveForgetsTheSession) {
  FakeClock clock;
  MemoryServerSessionStore store(ConfigWith(clock, 10));
  store.Put("id", "session", clock.Now() + absl::Hours(1));
  store.Put("keep", "kept", clock.Now() + absl::Hours(1));
  store.Remove("id");
  store.Remove("never-stored");

  EXPECT_EQ(store.Get("id"), std::nullopt);
  EXPECT_THAT(store.Get("keep"), Optional(Eq(std::string("kept"))));
  EXPECT_EQ(store.entry_count(), 1u);
}

TEST(InMemoryServerSessionStoreTest, EvictsTheLeastRecentlyUsed) {
  FakeClock clock;
  MemoryServerSessionStore store(ConfigWith(clock, 3));
  const absl::Time expiry = clock.Now() + absl::Hours(1);
  store.Put("a", "A", expiry);
  store.Put("b", "B", expiry);
  store.Put("c", "C", expiry);
  // Using "a" makes "b" the least recently used.
  ASSERT_THAT(store.Get("a"), Optional(Eq(std::string("A"))));
  store.Put("d", "D", expiry);

  EXPECT_EQ(store.entry_count(), 3u);
  EXPECT_EQ(store.Get("b"), std::nullopt);
  EXPECT_THAT(store.Get("a"), Optional(Eq(std::string("A"))));
  EXPECT_THAT(store.Get("c"), Optional(Eq(std::string("C"))));
  EXPECT_THAT(store.Get("d"), Optional(Eq(std::string("D"))));
  EXPECT_EQ(store.metrics().evictions, 1u);

  // Re-putting "a" uses it too: now "c" is the oldest (after the Gets above,
  // the order is d, c, a from newest; re-putting a gives a, d, c).
  store.Put("a", "A2", expiry);
  store.Put("e", "E", expiry);
  EXPECT_EQ(store.Get("c"), std::nullopt);
  EXPECT_THAT(store.Get("a"), Optional(Eq(std::string("A2"))));
  EXPECT_THAT(store.Get("d"), Optional(Eq(std::string("D"))));
  EXPECT_THAT(store.Get("e"), Optional(Eq(std::string("E"))));
  EXPECT_EQ(store.metrics().evictions, 2u);
}

TEST(InMemoryServerSessionStoreTest, ZeroMaxEntriesStoresNothing) {
  FakeClock clock;
  MemoryServerSessionStore store(ConfigWith(clock, 0));
  store.Put("a", "A", clock.Now() + absl::Hours(1));
  EXPECT_EQ(store.entry_count(), 0u);
  EXPECT_EQ(store.Get("a"), std::nullopt);
}

TEST(InMemoryServerSessionStoreTest, GetOfAnExpiredEntryRemovesIt) {
  FakeClock clock;
  MemoryServerSessionStore store(ConfigWith(clock, 10));
  store.Put("short", "S", clock.Now() + absl::Seconds(10));
  store.Put("long", "L", clock.Now() + absl::Seconds(100));

  clock.Advance(absl::Seconds(9));
  EXPECT_THAT(store.Get("short"), Optional(Eq(std::string("S"))));

  // Expired from the expiry time itself on.
  clock.Advance(absl::Seconds(1));
  EXPECT_EQ(store.Get("short"), std::nullopt);
  EXPECT_EQ(store.entry_count(), 1u);
  EXPECT_THAT(store.Get("long"), Optional(Eq(std::string("L"))));

  const MemoryServerSessionStore::Metrics m = store.metrics();
  EXPECT_EQ(m.expirations, 1u);
  EXPECT_EQ(m.hits, 2u);
  EXPECT_EQ(m.misses, 1u);
}

TEST(InMemoryServerSessionStoreTest, PutOfAnExpiredSessionStoresNothing) {
  FakeClock clock;
  MemoryServerSessionStore store(ConfigWith(clock, 10));
  store.Put("id", "live", clock.Now() + absl::Hours(1));
  // An already-expired replacement drops the old entry too.
  store.Put("id", "dead", clock.Now());
  store.Put("other", "dead", clock.Now() - absl::Seconds(1));

  EXPECT_EQ(store.entry_count(), 0u);
  EXPECT_EQ(store.Get("id"), std::nullopt);
  EXPECT_EQ(store.Get("other"), std::nullopt);
  EXPECT_EQ(store.metrics().insertions, 1u);
}

TEST(InMemoryServerSessionStoreTest, MetricsCountEachOutcome) {
  FakeClock clock;
  MemoryServerSessionStore store(ConfigWith(clock, 2));
  const MemoryServerSessionStore::Metrics empty = store.metrics();
  EXPECT_EQ(empty.hits, 0u);
  EXPECT_EQ(empty.misses, 0u);
  EXPECT_EQ(empty.insertions, 0u);
  EXPECT_EQ(empty.evictions, 0u);
  EXPECT_EQ(empty.expirations, 0u);

  store.Put("a", "A", clock.Now() + absl::Seconds(5));
  store.Put("b", "B", clock.Now() + absl::Hours(1));
  store.Put("c", "C", clock.Now() + absl::Hours(1));  // Evicts "a".
  store.Put("c", "C2", clock.Now() + absl::Seconds(5));
  EXPECT_TRUE(store.Get("b").has_value());   // Hit.
  EXPECT_TRUE(store.Get("c").has_value());   // Hit.
  EXPECT_FALSE(store.Get("a").has_value());  // Miss: evicted.
  clock.Advance(absl::Seconds(5));
  EXPECT_FALSE(store.Get("c").has_value());  // Miss: expired.
  EXPECT_TRUE(store.Get("b").has_value());   // Hit.

  const MemoryServerSessionStore::Metrics m = store.metrics();
  EXPECT_EQ(m.hits, 3u);
  EXPECT_EQ(m.misses, 2u);
  EXPECT_EQ(m.insertions, 4u);
  EXPECT_EQ(m.evictions, 1u);
  EXPECT_EQ(m.expirations, 1u);
}

TEST(InMemoryServerSessionStoreTest, WorksThroughTheInterface) {
  FakeClock clock;
  std::unique_ptr<ServerSessionStore> store =
      std::make_unique<MemoryServerSessionStore>(ConfigWith(clock, 10));
  store->Put("id", "session", clock.Now() + absl::Hours(1));
  EXPECT_THAT(store->Get("id"), Optional(Eq(std::string("session"))));
  store->Remove("id");
  EXPECT_EQ(store->Get("id"), std::nullopt);
}

TEST(InMemoryServerSessionStoreTest, ConcurrentPutAndGet) {
  constexpr int kThreads = 8;
  constexpr int kPerThread = 500;
  MemoryServerSessionStore::Config config;
  config.max_entries = kThreads * kPerThread;
  MemoryServerSessionStore store(config);
  const absl::Time expiry = absl::Now() + absl::Hours(1);

  std::vector<int> wrong(kThreads, 0);
  testing::StartLine start(kThreads);  // All run at once, in any build.
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      start.Wait();
      for (int i = 0; i < kPerThread; ++i) {
        const std::string id = absl::StrCat("t", t, "-", i);
        store.Put(id, absl::StrCat("session ", id), expiry);
        // Also read another thread's entries, which may not be there yet.
        store.Get(absl::StrCat("t", (t + 1) % kThreads, "-", i));
        std::optional<std::string> got = store.Get(id);
        if (!got || *got != absl::StrCat("session ", id)) ++wrong[t];
      }
    });
  }
  for (std::thread& thread : threads) thread.join();

  for (int t = 0; t < kThreads; ++t) EXPECT_EQ(wrong[t], 0) << "thread " << t;
  EXPECT_EQ(store.entry_count(), size_t{kThreads * kPerThread});
  const MemoryServerSessionStore::Metrics m = store.metrics();
  EXPECT_EQ(m.insertions, uint64_t{kThreads * kPerThread});
  EXPECT_EQ(m.hits + m.misses, uint64_t{2 * kThreads * kPerThread});
  EXPECT_GE(m.hits, uint64_t{kThreads * kPerThread});
  EXPECT_EQ(m.evictions, 0u);
  for (int t = 0; t < kThreads; ++t) {
    for (int i = 0; i < kPerThread; i += 97) {
      const std::string id = absl::StrCat("t", t, "-", i);
      EXPECT_THAT(store.Get(id), Optional(Eq(absl::StrCat("session ", id))));
    }
  }
}

TEST(InMemoryServerSessionStoreTest, ConcurrentPutsStayWithinTheBound) {
  constexpr int kThreads = 8;
  constexpr int kPerThread = 1000;
  MemoryServerSessionStore::Config config;
  config.max_entries = 64;
  MemoryServerSessionStore store(config);
  const absl::Time expiry = absl::Now() + absl::Hours(1);

  testing::StartLine start(kThreads);  // All run at once, in any build.
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      start.Wait();
      for (int i = 0; i < kPerThread; ++i) {
        store.Put(absl::StrCat("t", t, "-", i), "s", expiry);
        store.Get(absl::StrCat("t", t, "-", i / 2));
      }
    });
  }
  for (std::thread& thread : threads) thread.join();

  EXPECT_EQ(store.entry_count(), 64u);
  const MemoryServerSessionStore::Metrics m = store.metrics();
  EXPECT_EQ(m.insertions, uint64_t{kThreads * kPerThread});
  EXPECT_EQ(m.evictions, uint64_t{kThreads * kPerThread - 64});
}

// Server sessions as BoringSSL objects (PutSession, GetSession).

Session ServerSession(absl::Time time) {
  testing::SessionSpec spec;
  spec.version = TLS1_2_VERSION;
  spec.time = time;
  return testing::MakeSession(spec);
}

std::string BytesOf(const SSL_SESSION* session) {
  uint8_t* data = nullptr;
  size_t len = 0;
  if (!SSL_SESSION_to_bytes(session, &data, &len)) return "";
  bssl::UniquePtr<uint8_t> owned(data);
  return std::string(reinterpret_cast<const char*>(data), len);
}

class ServerSessionObjectsTest : public ::testing::Test {
 protected:
  FakeClock clock_;
  MemoryServerSessionStore store_{ConfigWith(clock_, 10)};
  bssl::UniquePtr<SSL_CTX> ctx_{SSL_CTX_new(TLS_method())};
  Session session_ = ServerSession(absl::FromUnixSeconds(1700000000));
  absl::Time expiry_ = clock_.Now() + absl::Hours(1);
};

TEST_F(ServerSessionObjectsTest, PutSessionKeepsTheObjectItself) {
  store_.PutSession("id", session_.get(), expiry_);
  bssl::UniquePtr<SSL_SESSION> got = store_.GetSession("id", ctx_.get());
  EXPECT_EQ(got.get(), session_.get());  // No copy, no parse.
  EXPECT_EQ(store_.GetSession("other", ctx_.get()), nullptr);
  const MemoryServerSessionStore::Metrics m = store_.metrics();
  EXPECT_EQ(m.hits, 1u);
  EXPECT_EQ(m.misses, 1u);
  EXPECT_EQ(m.insertions, 1u);
}

TEST_F(ServerSessionObjectsTest, EachInterfaceReadsWhatTheOtherStored) {
  store_.PutSession("object", session_.get(), expiry_);
  EXPECT_THAT(store_.Get("object"), Optional(Eq(BytesOf(session_.get()))));

  store_.Put("bytes", BytesOf(session_.get()), expiry_);
  bssl::UniquePtr<SSL_SESSION> parsed = store_.GetSession("bytes", ctx_.get());
  ASSERT_NE(parsed, nullptr);
  EXPECT_NE(parsed.get(), session_.get());
  EXPECT_EQ(BytesOf(parsed.get()), BytesOf(session_.get()));
}

TEST_F(ServerSessionObjectsTest, BytesReplaceAnObjectUnderTheSameId) {
  store_.PutSession("id", session_.get(), expiry_);
  const Session other = ServerSession(absl::FromUnixSeconds(1700000100));
  store_.Put("id", BytesOf(other.get()), expiry_);
  bssl::UniquePtr<SSL_SESSION> got = store_.GetSession("id", ctx_.get());
  ASSERT_NE(got, nullptr);
  EXPECT_EQ(BytesOf(got.get()), BytesOf(other.get()));
  EXPECT_EQ(store_.entry_count(), 1u);
}

TEST_F(ServerSessionObjectsTest, AnExpiredObjectIsAMissAndIsDropped) {
  store_.PutSession("id", session_.get(), clock_.Now() + absl::Seconds(5));
  clock_.Advance(absl::Seconds(5));
  EXPECT_EQ(store_.GetSession("id", ctx_.get()), nullptr);
  EXPECT_EQ(store_.entry_count(), 0u);
  EXPECT_EQ(store_.metrics().expirations, 1u);
}

TEST_F(ServerSessionObjectsTest, AnAlreadyExpiredPutSessionDropsTheOldEntry) {
  store_.PutSession("id", session_.get(), expiry_);
  store_.PutSession("id", session_.get(), clock_.Now());
  EXPECT_EQ(store_.GetSession("id", ctx_.get()), nullptr);
  EXPECT_EQ(store_.entry_count(), 0u);
}

TEST_F(ServerSessionObjectsTest, DamagedBytesAreAMissThatLeavesNoError) {
  store_.Put("id", "not a session", expiry_);
  EXPECT_EQ(store_.GetSession("id", ctx_.get()), nullptr);
  EXPECT_EQ(ERR_peek_error(), 0u);
}

TEST_F(ServerSessionObjectsTest, ConcurrentLookupsShareOneObject) {
  store_.PutSession("id", session_.get(), expiry_);
  std::vector<std::thread> threads;
  std::atomic<int> same{0};
  testing::StartLine start(4);  // All look up at once, in any build.
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      start.Wait();
      for (int i = 0; i < 500; ++i) {
        bssl::UniquePtr<SSL_SESSION> got = store_.GetSession("id", ctx_.get());
        if (got.get() == session_.get()) ++same;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(same.load(), 2000);
}

// A store that implements only the bytes interface, as a shared store does:
// the defaults serialize and parse.
class BytesOnlyStore : public ServerSessionStore {
 public:
  void Put(absl::string_view id, std::string bytes, absl::Time) override {
    map_[std::string(id)] = std::move(bytes);
  }
  std::optional<std::string> Get(absl::string_view id) override {
    auto it = map_.find(std::string(id));
    if (it == map_.end()) return std::nullopt;
    return it->second;
  }
  void Remove(absl::string_view id) override { map_.erase(std::string(id)); }
  std::map<std::string, std::string> map_;
};

TEST_F(ServerSessionObjectsTest, TheDefaultsGoThroughTheBytesInterface) {
  BytesOnlyStore store;
  store.PutSession("id", session_.get(), expiry_);
  EXPECT_EQ(store.map_["id"], BytesOf(session_.get()));
  bssl::UniquePtr<SSL_SESSION> got = store.GetSession("id", ctx_.get());
  ASSERT_NE(got, nullptr);
  EXPECT_EQ(BytesOf(got.get()), BytesOf(session_.get()));

  store.Put("bad", "not a session", expiry_);
  EXPECT_EQ(store.GetSession("bad", ctx_.get()), nullptr);
  EXPECT_EQ(store.GetSession("none", ctx_.get()), nullptr);
  EXPECT_EQ(ERR_peek_error(), 0u);
}

// A store without a single-use check never proves a ticket unused: early
// data is rejected over it (fail closed).
TEST(EarlyDataClaims, TheDefaultRefusesToClaim) {
  BytesOnlyStore store;
  absl::Status claim =
      store.ClaimEarlyData("digest", absl::Now() + absl::Hours(1));
  EXPECT_EQ(claim.code(), absl::StatusCode::kUnimplemented);
}

TEST(EarlyDataClaims, OnlyTheFirstClaimOfADigestSucceeds) {
  FakeClock clock;
  MemoryServerSessionStore store(ConfigWith(clock, 16));
  const absl::Time expiry = clock.Now() + absl::Hours(2);
  EXPECT_TRUE(store.ClaimEarlyData("ticket-a", expiry).ok());
  EXPECT_EQ(store.ClaimEarlyData("ticket-a", expiry).code(),
            absl::StatusCode::kAlreadyExists);
  EXPECT_TRUE(store.ClaimEarlyData("ticket-b", expiry).ok());
  const MemoryServerSessionStore::Metrics m = store.metrics();
  EXPECT_EQ(m.early_data_claims, 2u);
  EXPECT_EQ(m.early_data_replays, 1u);
  // Claims are not session entries.
  EXPECT_EQ(store.entry_count(), 0u);
}

TEST(EarlyDataClaims, AClaimIsHeldUntilItsExpiryThenForgotten) {
  FakeClock clock;
  MemoryServerSessionStore store(ConfigWith(clock, 16));
  ASSERT_TRUE(
      store.ClaimEarlyData("ticket", clock.Now() + absl::Seconds(10)).ok());
  clock.Advance(absl::Seconds(9));
  EXPECT_EQ(store.ClaimEarlyData("ticket", clock.Now()).code(),
            absl::StatusCode::kAlreadyExists);
  clock.Advance(absl::Seconds(1));  // now == expiry: expired.
  EXPECT_TRUE(
      store.ClaimEarlyData("ticket", clock.Now() + absl::Seconds(10)).ok());
}

// A full set never evicts a live claim (its replay would get in): the claim
// fails instead, until the oldest expire.
TEST(EarlyDataClaims, AFullSetRefusesNewClaimsUntilSomeExpire) {
  FakeClock clock;
  MemoryServerSessionStore::Config config = ConfigWith(clock, 16);
  config.max_early_data_claims = 2;
  MemoryServerSessionStore store(config);
  ASSERT_TRUE(store.ClaimEarlyData("a", clock.Now() + absl::Seconds(5)).ok());
  ASSERT_TRUE(store.ClaimEarlyData("b", clock.Now() + absl::Seconds(50)).ok());
  EXPECT_EQ(store.ClaimEarlyData("c", clock.Now() + absl::Seconds(50)).code(),
            absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(store.ClaimEarlyData("a", clock.Now()).code(),
            absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(store.metrics().early_data_full, 1u);
  clock.Advance(absl::Seconds(5));  // "a" expires; "b" stays.
  EXPECT_TRUE(store.ClaimEarlyData("c", clock.Now() + absl::Seconds(50)).ok());
  EXPECT_EQ(store.ClaimEarlyData("b", clock.Now()).code(),
            absl::StatusCode::kAlreadyExists);
}

// Threads claiming one digest at once: exactly one wins.
TEST(EarlyDataClaims, ConcurrentClaimsOfOneDigestHaveOneWinner) {
  MemoryServerSessionStore store;
  constexpr int kThreads = 8;
  std::atomic<int> ready{0};
  std::atomic<int> winners{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&] {
      ready.fetch_add(1);
      while (ready.load() < kThreads) {
      }
      if (store.ClaimEarlyData("ticket", absl::Now() + absl::Hours(1)).ok()) {
        winners.fetch_add(1);
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(winners.load(), 1);
}

}  // namespace
}  // namespace tlsession
