// MemoryClientSessionStore (session/memory_client_session_store.h) and
// LruMap (base/lru_map.h) on their own, on sessions built in memory: take
// and put, bounds, removal, export, eviction order. No sockets; the cache's
// policy over the store is client_session_cache_test.cc's.
#include <string>
#include <vector>

#include "base/lru_map.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "session/client_session_store.h"
#include "session/memory_client_session_store.h"
#include "tests/client_cache_test_util.h"
#include "tests/testing/test_sessions.h"

namespace tlsession::testing {
namespace {

using ::testing::ElementsAre;

// ---------------------------------------------------------------------------
// MemoryClientSessionStore on its own.

StoreKey SK(absl::string_view key, absl::string_view peer = "peer") {
  return StoreKey{std::string(key), std::string(peer)};
}

// Take hands out the newest session: a ticket leaves, a reusable one stays;
// an unknown key gives nothing; an empty session is never stored.
TEST(MemoryStore, PutAndTake) {
  MemoryClientSessionStore store;
  EXPECT_TRUE(store.Take("k").empty());
  store.Put(SK("k"), Session());
  EXPECT_EQ(store.entry_count(), 0u);
  const Session t1 = Tls13Ticket(kCtx), t2 = Tls13Ticket(kCtx);
  store.Put(SK("k"), t1);
  store.Put(SK("k"), t2);
  store.Put(SK("k"), t2);  // Not twice.
  EXPECT_EQ(store.session_count(), 2u);
  EXPECT_EQ(store.Take("k"), t2);
  EXPECT_EQ(store.Take("k"), t1);
  EXPECT_TRUE(store.Take("k").empty());
  EXPECT_EQ(store.entry_count(), 0u);  // An emptied key is gone.

  const Session s = Tls12Session(kCtx);
  store.Put(SK("r"), s);
  EXPECT_EQ(store.Take("r"), s);
  EXPECT_EQ(store.Take("r"), s);
  EXPECT_EQ(store.session_count(), 1u);
}

// Bounds: keys beyond max_entries (least recently used first) and tickets
// beyond max_sessions_per_key (oldest first) are dropped and counted; a
// per-key bound of zero still keeps one; zero keys holds nothing.
TEST(MemoryStore, Bounds) {
  MemoryClientSessionStore store({2, 2});
  store.Put(SK("a"), Tls13Ticket(kCtx));
  store.Put(SK("b"), Tls12Session(kCtx));
  (void)store.Take("b");  // b is now the most recent; a goes next.
  store.Put(SK("c"), Tls12Session(kCtx));
  EXPECT_EQ(store.entry_count(), 2u);
  EXPECT_EQ(store.evictions(), 1u);
  EXPECT_TRUE(store.Take("a").empty());
  const Session t1 = Tls13Ticket(kCtx), t2 = Tls13Ticket(kCtx),
                t3 = Tls13Ticket(kCtx);
  for (const Session& t : {t1, t2, t3}) store.Put(SK("c"), t);
  EXPECT_EQ(store.evictions(), 2u);
  EXPECT_EQ(store.Take("c"), t3);
  EXPECT_EQ(store.Take("c"), t2);
  EXPECT_TRUE(store.Take("c").empty());

  MemoryClientSessionStore one_per_key({4, 0});
  one_per_key.Put(SK("k"), Tls13Ticket(kCtx));
  one_per_key.Put(SK("k"), t1);
  EXPECT_EQ(one_per_key.session_count(), 1u);
  EXPECT_EQ(one_per_key.Take("k"), t1);

  MemoryClientSessionStore none({0, 4});
  none.Put(SK("k"), t1);
  EXPECT_EQ(none.entry_count(), 0u);
  EXPECT_TRUE(none.Take("k").empty());
}

// Remove, RemovePeer and Clear forget what they name and nothing else.
TEST(MemoryStore, RemoveRemovePeerClear) {
  MemoryClientSessionStore store;
  const Session t1 = Tls13Ticket(kCtx), t2 = Tls13Ticket(kCtx);
  store.Put(SK("k1", "p1"), t1);
  store.Put(SK("k1", "p1"), t2);
  store.Put(SK("k2", "p1"), Tls12Session(kCtx));
  store.Put(SK("k3", "p2"), Tls12Session(kCtx));
  store.Remove("k1", t1);
  store.Remove("k3", t1);  // Not held there: nothing.
  EXPECT_EQ(store.session_count(), 3u);
  store.RemovePeer("p1");
  EXPECT_EQ(store.entry_count(), 1u);
  EXPECT_FALSE(store.Take("k3").empty());
  store.Clear();
  EXPECT_EQ(store.entry_count(), 0u);
  EXPECT_EQ(store.session_count(), 0u);
}

// Export lists every key (least recently used first) with its sessions,
// oldest first; with take_single_use its tickets leave the store and its
// reusable sessions stay.
TEST(MemoryStore, Export) {
  MemoryClientSessionStore store;
  const Session t1 = Tls13Ticket(kCtx), t2 = Tls13Ticket(kCtx);
  const Session s = Tls12Session(kCtx);
  store.Put(SK("tickets", "p1"), t1);
  store.Put(SK("tickets", "p1"), t2);
  store.Put(SK("reusable", "p2"), s);
  std::vector<StoreEntry> copy = store.Export(false);
  ASSERT_EQ(copy.size(), 2u);
  EXPECT_EQ(copy[0].key.key, "tickets");
  EXPECT_EQ(copy[0].key.peer, "p1");
  EXPECT_EQ(Ids(copy[0].sessions), Ids({t1, t2}));
  EXPECT_EQ(copy[1].key.key, "reusable");
  EXPECT_EQ(Ids(copy[1].sessions), Ids({s}));
  EXPECT_EQ(store.session_count(), 3u);

  std::vector<StoreEntry> taken = store.Export(true);
  ASSERT_EQ(taken.size(), 2u);
  EXPECT_EQ(Ids(taken[0].sessions), Ids({t1, t2}));
  EXPECT_EQ(store.session_count(), 1u);
  EXPECT_TRUE(store.Take("tickets").empty());
  EXPECT_EQ(store.Take("reusable"), s);
}

// ---------------------------------------------------------------------------
// LruMap on its own.

// FindOrCreate evicts the least recently used entry (telling on_evict) when
// full; Find marks an entry used, Peek does not.
TEST(LruMap, EvictsLeastRecentlyUsed) {
  LruMap<int> map(2);
  *map.FindOrCreate("a") = 1;
  *map.FindOrCreate("b") = 2;
  ASSERT_NE(map.Find("a"), nullptr);  // a used: b is the oldest.
  std::vector<int> evicted;
  *map.FindOrCreate("c", [&](int& v) { evicted.push_back(v); }) = 3;
  EXPECT_THAT(evicted, ElementsAre(2));
  EXPECT_EQ(map.Peek("b"), nullptr);
  ASSERT_NE(map.Peek("a"), nullptr);
  EXPECT_EQ(*map.Peek("a"), 1);
  // Peek did not mark a used, Find on c did not happen: a is the oldest.
  ASSERT_NE(map.Peek("c"), nullptr);
  (void)map.FindOrCreate("d", [&](int& v) { evicted.push_back(v); });
  EXPECT_THAT(evicted, ElementsAre(2, 1));
  EXPECT_EQ(map.size(), 2u);
  EXPECT_EQ(map.max_entries(), 2u);
  // An existing key is found, not created, and evicts nothing.
  EXPECT_EQ(*map.FindOrCreate("c"), 3);
  EXPECT_EQ(map.size(), 2u);
}

// ForEachOldestFirst visits in use order; Erase, EraseIf and Clear forget;
// a map of zero entries holds nothing.
TEST(LruMap, OrderEraseAndZeroBound) {
  LruMap<std::string> map(4);
  for (const char* k : {"a", "b", "c", "d"}) *map.FindOrCreate(k) = k;
  (void)map.Find("b");
  std::vector<std::string> order;
  map.ForEachOldestFirst(
      [&](const std::string& k, const std::string&) { order.push_back(k); });
  EXPECT_THAT(order, ElementsAre("a", "c", "d", "b"));
  EXPECT_TRUE(map.Erase("c"));
  EXPECT_FALSE(map.Erase("c"));
  map.EraseIf([](const std::string& k, std::string& v) {
    v.assign(v.size(), '\0');  // May wipe before it goes.
    return k == "a" || k == "b";
  });
  order.clear();
  map.ForEachOldestFirst(
      [&](const std::string& k, const std::string&) { order.push_back(k); });
  EXPECT_THAT(order, ElementsAre("d"));
  map.Clear();
  EXPECT_EQ(map.size(), 0u);
  EXPECT_EQ(map.Find("d"), nullptr);

  LruMap<int> none(0);
  EXPECT_EQ(none.FindOrCreate("a"), nullptr);
  EXPECT_EQ(none.size(), 0u);
}

}  // namespace
}  // namespace tlsession::testing
