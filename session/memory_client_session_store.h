// MemoryClientSessionStore: the default ClientSessionStore, in this process's
// memory, bounded by a count of keys (least recently used key dropped first)
// and of single-use sessions per key (oldest dropped first). It has both
// optional capabilities: it counts what it holds and exports it.
#ifndef TLSESSION_SESSION_MEMORY_CLIENT_SESSION_STORE_H_
#define TLSESSION_SESSION_MEMORY_CLIENT_SESSION_STORE_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "base/lru_map.h"
#include "base/mutex.h"
#include "session/client_session_store.h"

namespace tlsession {

class MemoryClientSessionStore : public ClientSessionStore,
                                 public ClientSessionStoreCounts,
                                 public ClientSessionStoreExporter {
 public:
  struct Config {
    // The most entries (keys, each with its sessions) kept; the least
    // recently used goes first.
    size_t max_entries = 1024;
    // The most single-use (TLS 1.3) sessions kept per key; at least one.
    size_t max_sessions_per_key = 4;
  };

  MemoryClientSessionStore();
  explicit MemoryClientSessionStore(Config config);
  MemoryClientSessionStore(const MemoryClientSessionStore&) = delete;
  MemoryClientSessionStore& operator=(const MemoryClientSessionStore&) = delete;

  // ClientSessionStore:
  void Put(const StoreKey& key, const Session& session) override;
  Session Take(absl::string_view key) override;
  void Remove(absl::string_view key, const Session& session) override;
  void RemovePeer(absl::string_view peer) override;
  void Clear() override;
  uint64_t evictions() const override;
  // Returns this store itself: it counts and exports.
  const ClientSessionStoreCounts* counts() const override { return this; }
  ClientSessionStoreExporter* exporter() override { return this; }

  // ClientSessionStoreCounts:
  size_t entry_count() const override;
  size_t session_count() const override;

  // ClientSessionStoreExporter:
  std::vector<StoreEntry> Export(bool take_single_use) override;

 private:
  struct Node {
    std::string peer;
    std::deque<Session> sessions;  // Oldest first.
  };

  const size_t max_sessions_per_key_;
  mutable Mutex mu_;
  LruMap<Node> nodes_ ABSL_GUARDED_BY(mu_);
  uint64_t evictions_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace tlsession

#endif  // TLSESSION_SESSION_MEMORY_CLIENT_SESSION_STORE_H_
