// ServerSessionStore: where a server keeps the sessions it can resume by
// session ID, behind a small storage interface.
//
// As Botan separates Session_Manager from its in-memory, SQLite and stateless
// implementations, tls/ talks only to ServerSessionStore, so a store shared by
// a fleet of servers (fleet/'s Redis store, say) plugs in without touching
// tls/. A store implements the bytes interface (Put, Get, Remove): sessions
// as BoringSSL serializes them (SSL_SESSION_to_bytes), secrets included, so a
// shared store must be as protected as a private key.
//
// tls/ hands sessions over as BoringSSL objects (PutSession, GetSession). By
// default those go through the bytes interface; MemoryServerSessionStore,
// the default store, keeps the objects themselves, so a resumption in one
// process neither serializes nor parses a session, as BoringSSL's own cache.
#ifndef TLSESSION_SESSION_SERVER_SESSION_STORE_H_
#define TLSESSION_SESSION_SERVER_SESSION_STORE_H_

#include <openssl/ssl.h>

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "base/coarse_clock.h"
#include "base/lru_map.h"
#include "base/mutex.h"

namespace tlsession {

// The storage interface. Implementations must be thread-safe: tls/ calls them
// from every thread that runs a handshake.
class ServerSessionStore {
 public:
  virtual ~ServerSessionStore() = default;

  // Stores |serialized_session| under |session_id| until |expiry|, replacing
  // any session already stored under that ID. A store may drop entries
  // earlier (to bound its size, for example).
  virtual void Put(absl::string_view session_id, std::string serialized_session,
                   absl::Time expiry) = 0;

  // Returns a copy of the session stored under |session_id|, or nullopt when
  // there is none or it has expired.
  virtual std::optional<std::string> Get(absl::string_view session_id) = 0;

  // Forgets the session stored under |session_id|, if any.
  virtual void Remove(absl::string_view session_id) = 0;

  // Stores |session| (a server's session, which BoringSSL no longer changes)
  // as Put does. The default serializes it into Put; it does not take a
  // reference. Returns without storing if it cannot be serialized.
  virtual void PutSession(absl::string_view session_id, SSL_SESSION* session,
                          absl::Time expiry);

  // The session Get would return, as a new reference the caller owns, or
  // null. The default parses Get's bytes with |ctx|'s certificate handling
  // (a damaged entry is a miss) and wipes them.
  virtual bssl::UniquePtr<SSL_SESSION> GetSession(absl::string_view session_id,
                                                  const SSL_CTX* ctx);

  // The single-use check behind 0-RTT (ContextOptions::early_data): records
  // that the ticket whose digest is |ticket_digest| was offered with early
  // data, until |expiry| (past which the ticket cannot resume anyway).
  // Returns OK only when this call is provably the first to record it,
  // atomically across every server sharing the store; AlreadyExists when it
  // was recorded before (a replay); any other error when the check could not
  // be made (the store is full, slow, down or answered nonsense). tls/
  // accepts early data on OK only: every error is a rejection (fail closed),
  // and the handshake still resumes. The default is Unimplemented: a store
  // that cannot prove single use never lets early data in.
  virtual absl::Status ClaimEarlyData(absl::string_view ticket_digest,
                                      absl::Time expiry);
};

// A ServerSessionStore in this process's memory, bounded by a count of
// entries: when full, Put evicts the least recently used entry (Get and Put
// count as uses). An entry is expired from its expiry time on (now >= expiry):
// Get of an expired entry removes it and returns nullopt, and Put of an
// already-expired session stores nothing.
class MemoryServerSessionStore : public ServerSessionStore {
 public:
  struct Config {
    // The most entries held; zero stores nothing.
    size_t max_entries = 20480;
    // The clock, injectable for tests (default: coarse_clock.h). Called
    // without the store's lock held.
    std::function<absl::Time()> clock = CoarseNow;
    // The most ticket digests ClaimEarlyData remembers. A live digest is
    // never evicted (that would let its replay in): when all are live,
    // claims fail and early data is rejected until some expire.
    size_t max_early_data_claims = 65536;
  };

  // Counters since construction, readable at any time.
  struct Metrics {
    uint64_t hits = 0;         // Gets that found a live entry.
    uint64_t misses = 0;       // Gets that returned nullopt (expired too).
    uint64_t insertions = 0;   // Puts that stored an entry (replacing too).
    uint64_t evictions = 0;    // Entries dropped for the max_entries bound.
    uint64_t expirations = 0;  // Entries dropped because they had expired.
    uint64_t early_data_claims = 0;   // ClaimEarlyData calls that returned OK.
    uint64_t early_data_replays = 0;  // ...that found the digest (replays).
    uint64_t early_data_full = 0;     // ...refused: every slot held live.
  };

  MemoryServerSessionStore();
  explicit MemoryServerSessionStore(Config config);
  MemoryServerSessionStore(const MemoryServerSessionStore&) = delete;
  MemoryServerSessionStore& operator=(const MemoryServerSessionStore&) = delete;
  ~MemoryServerSessionStore() override;

  // ServerSessionStore:
  void Put(absl::string_view session_id, std::string serialized_session,
           absl::Time expiry) override;
  std::optional<std::string> Get(absl::string_view session_id) override;
  void Remove(absl::string_view session_id) override;
  // Keep a reference to |session| itself, shared by every handshake that
  // resumes it (BoringSSL's own cache does the same). BoringSSL wipes a
  // session's memory when its last reference goes.
  void PutSession(absl::string_view session_id, SSL_SESSION* session,
                  absl::Time expiry) override;
  bssl::UniquePtr<SSL_SESSION> GetSession(absl::string_view session_id,
                                          const SSL_CTX* ctx) override;
  // An atomic insert into a set of digests under the store's lock, bounded
  // by Config::max_early_data_claims; expired digests are dropped oldest
  // first.
  absl::Status ClaimEarlyData(absl::string_view ticket_digest,
                              absl::Time expiry) override;

  // The number of entries held, expired ones not yet noticed included.
  size_t entry_count() const;

  Metrics metrics() const;

 private:
  // One of the two forms, as it was stored: bytes from Put, or the session
  // from PutSession. Each getter converts the other form when asked for it.
  struct Entry {
    std::string serialized_session;
    bssl::UniquePtr<SSL_SESSION> session;
    absl::Time expiry;
  };

  // The live entry under |session_id|, counting a hit or a miss; an expired
  // entry is dropped and is a miss.
  Entry* FindLive(absl::string_view session_id, absl::Time now)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The entry to (re)fill for |session_id| with what it held wiped, or null
  // when nothing is to be stored (|expiry| passed, or a store of zero
  // entries).
  Entry* Refill(absl::string_view session_id, absl::Time now, absl::Time expiry)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  static void Clear(Entry& entry);

  // Drops the claims expired at |now|, oldest first.
  void DropExpiredClaims(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const std::function<absl::Time()> clock_;
  const size_t max_claims_;
  mutable Mutex mu_;
  // ClaimEarlyData's digests, and the same in the order they were claimed
  // with their expiry (expiries grow with the claims' times: the front
  // expires first, give or take a clock step).
  absl::flat_hash_set<std::string> claims_ ABSL_GUARDED_BY(mu_);
  std::deque<std::pair<absl::Time, std::string>> claim_order_
      ABSL_GUARDED_BY(mu_);
  LruMap<Entry> entries_ ABSL_GUARDED_BY(mu_);
  Metrics metrics_ ABSL_GUARDED_BY(mu_);
};

}  // namespace tlsession

#endif  // TLSESSION_SESSION_SERVER_SESSION_STORE_H_
