// ClientSessionCache: the one owner of client sessions' lives. Lookup()
// hands out the session that may be offered to a key (a TLS 1.3 ticket at
// most once), Insert() takes sessions back from connections that ended
// cleanly; storage is a ClientSessionStore (memory by default, or shared).
// The promises and where each is tested: ARCHITECTURE.md, "The client
// cache's promises". Thread-safe.
#ifndef TLSESSION_SESSION_CLIENT_SESSION_CACHE_H_
#define TLSESSION_SESSION_CLIENT_SESSION_CACHE_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "base/coarse_clock.h"
#include "base/mutex.h"
#include "base/secret.h"
#include "session/client_session_store.h"
#include "session/session.h"

namespace tlsession {

class ClientSessionCache {
 public:
  struct Config {
    // Bounds of the default store (when |store| is null).
    size_t max_entries = 1024;
    size_t max_sessions_per_key = 4;
    // Where sessions are kept; null makes a MemoryClientSessionStore with the
    // bounds above. Several caches may share one store only with the same
    // digest_key.
    std::shared_ptr<ClientSessionStore> store;
    // Keys the digests that name entries (HMAC-SHA256), so that stored keys
    // cannot be tested against guessed host names. Persistence and shared
    // stores set it from their key file; empty means an empty HMAC key.
    std::string digest_key;
    // The clock, injectable for tests (default: coarse_clock.h). A test
    // that moves time for a client gives the same function to the
    // ContextOptions::clock of the Contexts using this cache, so that the
    // cache and BoringSSL agree on what has expired.
    std::function<absl::Time()> clock = CoarseNow;
  };

  // Where a session may be offered.
  struct Key {
    std::string context_id;  // Context::id(): the whole configuration.
    std::string host;        // As given: the SNI and verification name.
    uint16_t port = 0;
    std::vector<std::string> alpn;
  };

  // Counters since construction, readable at any time.
  struct Metrics {
    uint64_t hits = 0;
    uint64_t misses = 0;
    uint64_t insertions = 0;
    uint64_t evictions = 0;    // Dropped by the store for its bounds.
    uint64_t expirations = 0;  // Dropped because they were no longer usable.
  };

  ClientSessionCache();
  explicit ClientSessionCache(Config config);
  ~ClientSessionCache();
  ClientSessionCache(const ClientSessionCache&) = delete;
  ClientSessionCache& operator=(const ClientSessionCache&) = delete;

  // Checkout: the newest usable session for |key|, or an empty Session on a
  // miss. A single-use session has left the cache when this returns.
  Session Lookup(const Key& key);

  // Give-back: adds |session| for |key|. Fails, changing nothing, when the
  // session is not resumable, no longer usable, or was made under another
  // Context than key.context_id.
  absl::Status Insert(const Key& key, const Session& session);

  // Forgets |session| if it is held for |key|.
  void Remove(const Key& key, const Session& session);

  // Forgets every session (ClientSessionStore::Clear).
  void Clear();

  // Forgets every session for |host|:|port|, whatever the rest of the key
  // (ClientSessionStore::RemovePeer).
  void RemovePeer(absl::string_view host, uint16_t port);

  // Returns a copy of the counters.
  Metrics metrics() const;

  // Returns the number of keys holding sessions, or nullopt when the store
  // cannot count them (ClientSessionStore::counts() is null, as for a store
  // shared through Redis).
  std::optional<size_t> entry_count() const;

  // Returns the number of sessions held, or nullopt when the store cannot
  // count them (see entry_count()).
  std::optional<size_t> session_count() const;

  // The store under this cache, for persistence (SessionCacheFile).
  ClientSessionStore& store() const { return *store_; }
  // True when this cache names keys with |digest_key|: a store written under
  // another digest key holds nothing this cache would ever find.
  bool UsesDigestKey(absl::string_view digest_key) const;
  // The current time on this cache's clock.
  absl::Time Now() const { return clock_(); }

  // The digests under which |key| is stored.
  StoreKey Digests(const Key& key) const;

 private:
  // Fields that enter a key's digest, in one place: Chromium's TieKeyFields.
  static auto TieKeyFields(const Key& key) {
    return std::tie(key.context_id, key.host, key.port, key.alpn);
  }
  std::string Hmac(absl::string_view label,
                   const std::vector<std::string>& fields) const;
  std::string KeyDigest(const Key& key) const;
  std::string PeerDigest(absl::string_view host, uint16_t port) const;
  // Whether |session| may be offered for |key| at |now|.
  bool Offerable(const Key& key, const Session& session, absl::Time now) const;
  void Count(uint64_t Metrics::*counter, uint64_t n = 1);

  const std::shared_ptr<ClientSessionStore> store_;
  const Secret digest_key_;
  const std::function<absl::Time()> clock_;
  mutable Mutex mu_;
  Metrics metrics_ ABSL_GUARDED_BY(mu_);
};

}  // namespace tlsession

#endif  // TLSESSION_SESSION_CLIENT_SESSION_CACHE_H_
