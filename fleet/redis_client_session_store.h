// RedisClientSessionStore: a ClientSessionStore that a fleet of client
// processes (crawlers, workers, FTPS batch jobs) shares through Redis, so
// that a session one process got resumes in any other, and each TLS 1.3
// ticket is still used at most once across the whole fleet.
//
// Layout in Redis, per StoreKey (the cache's HMAC digests; no host names):
// - TLS 1.3 tickets (single-use): a list under FleetKey::KeyName("c", key,
//   ":t"), newest at the head. Put is LPUSH, then LTRIM to
//   Config::max_sessions_per_key (the oldest drop off), then PEXPIRE to the
//   pushed ticket's remaining usable time (a server's tickets share one
//   lifetime, so the newest ticket lives longest). Take is LPOP: Redis pops
//   atomically, so two processes never receive the same ticket.
// - TLS 1.2 sessions (reusable): one value under KeyName("c", key, ":s"),
//   SET with PX = its remaining usable time; Take is GET (it stays).
//   A ticket replaces a reusable session (DEL ":s") and a reusable session
//   replaces the tickets (DEL ":t"), as in MemoryClientSessionStore.
// - Per peer, a set of the keys stored for it, under KeyName("p", peer), for
//   RemovePeer.
// Both names of one key share a Redis Cluster hash tag. Every command names
// one key; a Put or a Take is one pipelined round trip. Every value is sealed
// under the fleet key with its name as associated data: a tampered or moved
// value is refused (counted in Metrics::rejected) and the connection makes a
// full handshake.
//
// Fail-open: when Redis is slow, down or answers garbage, Take finds nothing
// and Put stores nothing; the connection makes a full handshake. Every call
// is bounded by the RedisClient's timeout.
//
// Best-effort parts (documented, not atomic across the fleet):
// - Remove of a single-use session does nothing: a ticket leaves Redis when
//   it is taken, and one still in a list cannot be named without its sealed
//   bytes. Remove of a reusable session is GET, compare, DEL.
// - RemovePeer reads the peer's key set and deletes those keys; sessions put
//   concurrently may survive it.
// - Clear forgets the peers this process stored sessions for (up to
//   Config::max_tracked_peers); other processes' peers stay until they
//   expire. Use a fresh namespace prefix or fleet key to drop everything.
// - evictions() counts the tickets this process trimmed.
//
// Neither optional capability (client_session_store.h): counts() and
// exporter() are null. Counting a shared store would scan Redis, and Redis is
// the persistence, so ClientSessionCache's counts are unknown (nullopt) and
// SessionCacheFile::Save over this store refuses rather than write a file
// with nothing in it.
//
// Thread-safe.
#ifndef TLSESSION_FLEET_REDIS_CLIENT_SESSION_STORE_H_
#define TLSESSION_FLEET_REDIS_CLIENT_SESSION_STORE_H_

#include <openssl/ssl.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "base/mutex.h"
#include "fleet/fleet_key.h"
#include "fleet/redis_client.h"
#include "session/client_session_store.h"
#include "session/session.h"

namespace tlsession::fleet {

class RedisClientSessionStore : public ClientSessionStore {
 public:
  struct Config {
    // The most TLS 1.3 tickets kept per key (LTRIM); at least one.
    size_t max_sessions_per_key = 4;
    // How many peers this process remembers for Clear().
    size_t max_tracked_peers = 4096;
    std::function<absl::Time()> clock = [] { return absl::Now(); };
  };

  // Counters since construction.
  struct Metrics {
    uint64_t takes = 0;
    uint64_t ticket_hits = 0;   // Takes that popped a ticket.
    uint64_t session_hits = 0;  // Takes that got a reusable session.
    uint64_t misses = 0;        // Takes that found nothing.
    uint64_t errors = 0;        // Calls that failed (I/O, error replies).
    uint64_t timeouts = 0;
    uint64_t skipped = 0;    // Calls not sent (back-off, pool full).
    uint64_t rejected = 0;   // Values that did not open or parse.
    uint64_t puts = 0;       // Sessions written.
    uint64_t evictions = 0;  // Tickets trimmed by our LTRIMs.
  };

  RedisClientSessionStore(std::shared_ptr<RedisClient> redis,
                          std::shared_ptr<const FleetKey> key);
  RedisClientSessionStore(std::shared_ptr<RedisClient> redis,
                          std::shared_ptr<const FleetKey> key, Config config);
  RedisClientSessionStore(const RedisClientSessionStore&) = delete;
  RedisClientSessionStore& operator=(const RedisClientSessionStore&) = delete;

  // ClientSessionStore (see above for what is best-effort):
  void Put(const StoreKey& key, const Session& session) override;
  Session Take(absl::string_view key) override;
  void Remove(absl::string_view key, const Session& session) override;
  void RemovePeer(absl::string_view peer) override;
  void Clear() override;
  uint64_t evictions() const override;

  // The Redis names of |key|'s ticket list and reusable session (tests).
  std::string TicketListName(absl::string_view key) const;
  std::string SessionName(absl::string_view key) const;

  // A copy of the counters.
  Metrics metrics() const;

 private:
  // Counts a failed call by its outcome.
  void CountFailure(const absl::Status& status);
  // Adds |n| to |counter|.
  void Count(uint64_t Metrics::*counter, uint64_t n = 1);
  // The Redis name of |peer|'s key set.
  std::string PeerName(absl::string_view peer) const;
  // Opens and parses a value read from |name|; empty when refused.
  Session OpenSession(const std::string& name, const std::string& sealed);
  // Pops tickets until one opens (tampered ones are dropped); empty when
  // the list is empty or Redis fails.
  Session PopTicket(const std::string& list);

  const std::shared_ptr<RedisClient> redis_;
  const std::shared_ptr<const FleetKey> key_;
  const Config config_;
  // A BoringSSL context used only to parse sessions.
  const bssl::UniquePtr<SSL_CTX> parsing_ctx_;
  mutable Mutex mu_;
  Metrics metrics_ ABSL_GUARDED_BY(mu_);
  std::set<std::string> peers_ ABSL_GUARDED_BY(mu_);
};

}  // namespace tlsession::fleet

#endif  // TLSESSION_FLEET_REDIS_CLIENT_SESSION_STORE_H_
