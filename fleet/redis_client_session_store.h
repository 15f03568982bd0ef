// RedisClientSessionStore: a ClientSessionStore that a fleet of client
// processes shares through Redis, so that a session one process got resumes
// in any other while each TLS 1.3 ticket is still used at most once across
// the fleet. Values are sealed under the fleet key; when Redis fails, Take
// finds nothing and Put stores nothing (a full handshake). Neither optional
// capability: counts() and exporter() are null. Layout, single-use argument
// and best-effort parts: ARCHITECTURE.md, "The fleet: Redis layout and single
// use". Thread-safe.
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
    uint64_t spent = 0;      // Tickets refused: taken before (spent marker).
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

  // The Redis names of |key|'s ticket index and reusable session (tests).
  std::string TicketListName(absl::string_view key) const;
  std::string SessionName(absl::string_view key) const;
  // The index entry of single-use |session|: the SHA-256 of its PSK identity
  // (of its bytes when it has no ticket), 16 bytes in hex, "." and its
  // usable-until time in Unix ms. Empty when it cannot be serialized.
  static std::string TicketEntry(const Session& session);
  // The Redis names of the ticket |entry| of |key| and of its spent marker.
  std::string TicketName(absl::string_view key, absl::string_view entry) const;
  std::string SpentName(absl::string_view key, absl::string_view entry) const;

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
  // Opens a reply of the take script ({entry, sealed value, spent count}):
  // the ticket, or empty (none, or refused: counted).
  Session OpenTaken(const std::string& list, const RedisReply& taken);
  // Runs the take script until a ticket opens (refused ones are gone);
  // empty when the index is empty or Redis fails.
  Session TakeTicket(const std::string& list);
  // Puts single-use |session| (bytes |bytes|, |ms| to live) under |key|;
  // the reply of the put script then the peer set's, or the failure.
  absl::StatusOr<std::vector<RedisReply>> PutTicket(const StoreKey& key,
                                                    const Session& session,
                                                    const std::string& bytes,
                                                    const std::string& ms);
  // Deletes the tickets that |key|'s index names (RemovePeer).
  void DeleteIndexedTickets(const std::string& key);

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
