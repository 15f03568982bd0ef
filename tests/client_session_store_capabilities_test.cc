// ClientSessionStore's optional capabilities (session/client_session_store.h)
// on sessions built in memory: the memory store counts and exports; a store
// with only the core interface is asked for neither, so the cache's counts
// are unknown (nullopt, never 0) and SessionCacheFile::Save refuses it with
// Unimplemented, leaving the file and the store as they were, while Load
// into it still works. The Redis store, which has neither capability, is
// checked against a real redis-server in
// tests/fleet/redis_client_session_store_test.cc.
#include "session/client_session_store.h"

#include <stdlib.h>

#include <fstream>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "session/client_session_cache.h"
#include "session/memory_client_session_store.h"
#include "session/session_cache_file.h"
#include "tests/testing/files.h"
#include "tests/testing/test_sessions.h"

namespace tlsession::testing {
namespace {

constexpr absl::string_view kCtx = "store capabilities context";

// A store with the core interface only: a real MemoryClientSessionStore
// underneath, its optional capabilities not offered (as a store shared
// through a network service would not).
class CoreOnlyStore : public ClientSessionStore {
 public:
  void Put(const StoreKey& key, const Session& session) override {
    memory_.Put(key, session);
  }
  Session Take(absl::string_view key) override { return memory_.Take(key); }
  void Remove(absl::string_view key, const Session& session) override {
    memory_.Remove(key, session);
  }
  void RemovePeer(absl::string_view peer) override { memory_.RemovePeer(peer); }
  void Clear() override { memory_.Clear(); }
  uint64_t evictions() const override { return memory_.evictions(); }

  // The store underneath, for the test to look into.
  MemoryClientSessionStore& memory() { return memory_; }

 private:
  MemoryClientSessionStore memory_;
};

// What |path| holds; empty when it cannot be read.
std::string ReadFileOrEmpty(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// A fresh folder of this test's own.
std::string MakeTempDir() {
  std::string dir = ::testing::TempDir() + "/store_test.XXXXXX";
  EXPECT_NE(mkdtemp(&dir[0]), nullptr);
  return dir;
}

ClientSessionCache::Key KeyFor(absl::string_view host) {
  return ClientSessionCache::Key{std::string(kCtx), std::string(host), 443, {}};
}

// The memory store offers both capabilities, and the cache counts through
// them.
TEST(ClientSessionStoreTest, MemoryStoreCountsAndExports) {
  auto store = std::make_shared<MemoryClientSessionStore>();
  ASSERT_NE(store->counts(), nullptr);
  ASSERT_NE(store->exporter(), nullptr);
  ClientSessionCache::Config config;
  config.store = store;
  ClientSessionCache cache(config);
  EXPECT_EQ(cache.entry_count(), std::optional<size_t>(0));
  ASSERT_TRUE(cache.Insert(KeyFor("a"), Tls13Ticket(kCtx)).ok());
  ASSERT_TRUE(cache.Insert(KeyFor("a"), Tls13Ticket(kCtx)).ok());
  EXPECT_EQ(cache.entry_count(), std::optional<size_t>(1));
  EXPECT_EQ(cache.session_count(), std::optional<size_t>(2));
  EXPECT_EQ(store->exporter()->Export(false).size(), 1u);
}

// Over a store that cannot count, the counts are unknown, not zero; the
// cache's policy works as ever.
TEST(ClientSessionStoreTest, CountsOfAStoreThatCannotCountAreUnknown) {
  auto store = std::make_shared<CoreOnlyStore>();
  EXPECT_EQ(store->counts(), nullptr);
  EXPECT_EQ(store->exporter(), nullptr);
  ClientSessionCache::Config config;
  config.store = store;
  ClientSessionCache cache(config);
  const Session ticket = Tls13Ticket(kCtx);
  ASSERT_TRUE(cache.Insert(KeyFor("a"), ticket).ok());
  EXPECT_EQ(cache.entry_count(), std::nullopt);
  EXPECT_EQ(cache.session_count(), std::nullopt);
  EXPECT_EQ(store->memory().session_count(), 1u);
  EXPECT_EQ(cache.Lookup(KeyFor("a")), ticket);
  EXPECT_TRUE(cache.Lookup(KeyFor("a")).empty());
}

// Save over a store that cannot export fails with Unimplemented, before
// taking anything: the file keeps its sessions (it is not replaced by an
// empty one) and the store keeps its tickets. Load into it works.
TEST(ClientSessionStoreTest, SaveRefusesAStoreThatCannotExport) {
  const std::string path = MakeTempDir() + "/sessions";
  absl::StatusOr<SessionCacheFile> file = SessionCacheFile::Open(path);
  ASSERT_TRUE(file.ok()) << file.status();
  ClientSessionCache::Config memory_config;
  ClientSessionCache memory_cache(memory_config);
  ASSERT_TRUE(memory_cache.Insert(KeyFor("a"), Tls12Session(kCtx)).ok());
  ASSERT_TRUE(file->Save(memory_cache).ok());
  const std::string before = ReadFileOrEmpty(path);
  ASSERT_FALSE(before.empty());

  auto store = std::make_shared<CoreOnlyStore>();
  ClientSessionCache::Config config;
  config.store = store;
  ClientSessionCache cache(config);
  absl::StatusOr<size_t> loaded = file->Load(cache);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(*loaded, 1u);
  ASSERT_TRUE(cache.Insert(KeyFor("b"), Tls13Ticket(kCtx)).ok());

  const absl::Status saved = file->Save(cache);
  EXPECT_EQ(saved.code(), absl::StatusCode::kUnimplemented) << saved;
  EXPECT_TRUE(absl::StrContains(saved.message(), path)) << saved;
  EXPECT_TRUE(absl::StrContains(saved.message(), "cannot export")) << saved;
  EXPECT_EQ(ReadFileOrEmpty(path), before);
  EXPECT_EQ(store->memory().session_count(), 2u);
  EXPECT_EQ(file->Save(*store, cache.Now()).code(),
            absl::StatusCode::kUnimplemented);

  // With no file yet, none is created.
  const std::string fresh = MakeTempDir() + "/never";
  absl::StatusOr<SessionCacheFile> never = SessionCacheFile::Open(fresh);
  ASSERT_TRUE(never.ok()) << never.status();
  EXPECT_EQ(never->Save(cache).code(), absl::StatusCode::kUnimplemented);
  EXPECT_FALSE(PathExists(fresh));
  EXPECT_FALSE(PathExists(fresh + ".lock"));
}

}  // namespace
}  // namespace tlsession::testing
