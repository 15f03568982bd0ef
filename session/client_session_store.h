// ClientSessionStore: where a client's sessions are kept (keyed by opaque
// digests), apart from the policy in ClientSessionCache. Every store honours
// the whole interface; Take() removes a single-use (TLS 1.3) session as it
// hands it out, atomically. Counting and export are optional capabilities,
// returned by counts() and exporter() (null when a store lacks them): see
// ARCHITECTURE.md, "Stores". Implementations must be thread-safe.
#ifndef TLSESSION_SESSION_CLIENT_SESSION_STORE_H_
#define TLSESSION_SESSION_CLIENT_SESSION_STORE_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "session/session.h"

namespace tlsession {

// Where a session may be offered, as digests (ClientSessionCache makes them):
// |key| digests everything that must match for an offer (the Context's
// identity, host, port, ALPN list); |peer| digests only the host and port, so
// that every session for one server can be forgotten at once.
struct StoreKey {
  std::string key;
  std::string peer;
};

// One key's sessions, oldest first.
struct StoreEntry {
  StoreKey key;
  std::vector<Session> sessions;
};

// Optional capability: how much a store holds, for callers that report or
// bound it. A store offers it through ClientSessionStore::counts().
class ClientSessionStoreCounts {
 public:
  // Returns the number of entries: keys holding at least one session.
  virtual size_t entry_count() const = 0;

  // Returns the number of sessions held, under every key.
  virtual size_t session_count() const = 0;

 protected:
  ~ClientSessionStoreCounts() = default;
};

// Optional capability: listing a store's sessions, for persistence
// (SessionCacheFile). A store offers it through ClientSessionStore::exporter().
class ClientSessionStoreExporter {
 public:
  // Returns every key's sessions, least recently used key first. With
  // |take_single_use|, the single-use sessions returned leave the store (they
  // now belong to the caller, a file for example); reusable ones are copied.
  virtual std::vector<StoreEntry> Export(bool take_single_use) = 0;

 protected:
  ~ClientSessionStoreExporter() = default;
};

class ClientSessionStore {
 public:
  virtual ~ClientSessionStore() = default;

  // Adds |session| under |key|. A reusable (TLS 1.2) session replaces the
  // key's sessions; a single-use one joins the key's other single-use
  // sessions (replacing any reusable one), the oldest dropped beyond the
  // store's per-key bound. A session already held under |key| (equal by
  // Session's ==) is not added twice.
  virtual void Put(const StoreKey& key, const Session& session) = 0;

  // Hands out the newest session under |key|: a single-use session leaves
  // the store atomically as it is handed out; a reusable one stays. Empty
  // when the key holds nothing.
  virtual Session Take(absl::string_view key) = 0;

  // Forgets |session| under |key|, if it is held there.
  virtual void Remove(absl::string_view key, const Session& session) = 0;

  // Forgets every session whose StoreKey::peer is |peer|.
  virtual void RemovePeer(absl::string_view peer) = 0;

  // Forgets every session.
  virtual void Clear() = 0;

  // Returns the number of sessions this store dropped so far for its bounds
  // (in a shared store: those this process's calls dropped).
  virtual uint64_t evictions() const = 0;

  // Returns the store's counting capability, or null when it cannot count
  // what it holds without a scan. The store keeps ownership. The default
  // returns null.
  virtual const ClientSessionStoreCounts* counts() const { return nullptr; }

  // Returns the store's export capability, or null when it cannot list its
  // sessions (one whose service is its own persistence). The store keeps
  // ownership. The default returns null.
  virtual ClientSessionStoreExporter* exporter() { return nullptr; }
};

}  // namespace tlsession

#endif  // TLSESSION_SESSION_CLIENT_SESSION_STORE_H_
