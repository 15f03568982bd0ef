// ClientSessionCache: a thread-safe cache of client sessions, keyed so that a
// session is only ever offered to the peer, and under the configuration, it
// was made for.
//
// Modelled on Chromium's SSLClientSessionCache. A Key is the Context's
// identity (a digest of its whole configuration: versions, ciphers, groups,
// trust roots, verification mode, client certificate and key), the host name
// as given (SNI and verification name), the port and the ALPN list; a change
// in any of them is a miss. Keys are held only as digests, so keys do not
// list the hosts visited (the sessions' certificates still name them: see
// session_cache_file.h for encryption).
//
// TLS 1.3 sessions (tickets) are single-use (RFC 8446, appendix C.4): the
// cache keeps up to Config::max_sessions_per_key of them per key, hands out
// the newest and forgets it as it does. A TLS 1.2 session may be reused: the
// newest one stays until it expires or is replaced.
//
// Before a session is handed out it is checked again: within its lifetime
// (and the ticket lifetime hint) and its peer certificate not expired.
#ifndef TLSESSION_SESSION_CLIENT_SESSION_CACHE_H_
#define TLSESSION_SESSION_CLIENT_SESSION_CACHE_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <list>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "session/mutex.h"
#include "session/session.h"

namespace tlsession {

class ClientSessionCache {
 public:
  struct Config {
    // The most keys (peers) kept; the least recently used goes first.
    size_t max_entries = 1024;
    // The most single-use (TLS 1.3) sessions kept per key.
    size_t max_sessions_per_key = 4;
    // The clock, injectable for tests.
    std::function<absl::Time()> clock = [] { return absl::Now(); };
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
    uint64_t evictions = 0;    // Dropped for the LRU or per-key bound.
    uint64_t expirations = 0;  // Dropped because they expired.
  };

  ClientSessionCache();
  explicit ClientSessionCache(Config config);
  ClientSessionCache(const ClientSessionCache&) = delete;
  ClientSessionCache& operator=(const ClientSessionCache&) = delete;

  // Returns the newest valid session for |key| (removing it when it is
  // single-use), or an empty Session on a miss.
  Session Lookup(const Key& key);

  // Adds |session| for |key|. Fails, changing nothing, when the session is
  // not resumable or was made under another Context than key.context_id.
  absl::Status Insert(const Key& key, const Session& session);

  // Forgets |session| if it is still held for |key| (a connection that
  // delivered it ended without a clean shutdown).
  void Remove(const Key& key, const Session& session);

  // Forgets every session.
  void Flush();
  // Forgets every session for |host|:|port|, whatever the rest of the key.
  void FlushForPeer(absl::string_view host, uint16_t port);

  Metrics metrics() const;
  // The number of keys and of sessions held.
  size_t size() const;
  size_t session_count() const;

  // One key's sessions, oldest first, in the digested form persistence uses.
  struct Entry {
    std::string key_digest;
    std::string peer_digest;
    std::vector<Session> sessions;
  };
  // A snapshot of every entry, least recently used first, expired sessions
  // left out.
  std::vector<Entry> Export() const;
  // Adds entries (from a file), skipping expired sessions. Entries count as
  // most recently used in the order given. Returns the number of sessions
  // added.
  size_t Import(std::vector<Entry> entries);

  // Digests used as map keys: keyed with |digest_key| (HMAC-SHA256) when it is
  // not empty, so that a stolen file cannot be tested against guessed host
  // names. Set before use; persistence sets it from its key file.
  void set_digest_key(std::string digest_key);
  std::string KeyDigest(const Key& key) const;
  std::string PeerDigest(absl::string_view host, uint16_t port) const;

 private:
  struct Node {
    std::string peer_digest;
    std::deque<Session> sessions;  // Oldest first.
    std::list<std::string>::iterator lru;
  };

  bool Expired(const Session& s, absl::Time now) const;
  void TouchLocked(Node& node, const std::string& digest)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void EvictLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void EraseLocked(const std::string& digest) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void AddLocked(const std::string& key_digest, const std::string& peer_digest,
                 const Session& session) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  std::string Digest(absl::string_view label,
                     const std::vector<std::string>& fields) const;

  const Config config_;
  mutable Mutex mu_;
  std::string digest_key_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, Node> entries_ ABSL_GUARDED_BY(mu_);
  // Key digests, most recently used first.
  std::list<std::string> lru_ ABSL_GUARDED_BY(mu_);
  Metrics metrics_ ABSL_GUARDED_BY(mu_);
};

}  // namespace tlsession

#endif  // TLSESSION_SESSION_CLIENT_SESSION_CACHE_H_
