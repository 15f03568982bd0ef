// RedisServerSessionStore: a ServerSessionStore shared by a fleet of servers
// through Redis, so that a TLS 1.2 session ID made on one instance resumes on
// any other. A handshake never waits past the client's timeout: writes go
// through a background writer, and every failure is a miss. ClaimEarlyData
// fails closed. How: ARCHITECTURE.md, "The fleet: Redis layout and single
// use" ("The server store") and "0-RTT early data". Thread-safe, as tls/
// requires.
#ifndef TLSESSION_FLEET_REDIS_SERVER_SESSION_STORE_H_
#define TLSESSION_FLEET_REDIS_SERVER_SESSION_STORE_H_

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "base/mutex.h"
#include "fleet/fleet_key.h"
#include "fleet/redis_client.h"
#include "session/server_session_store.h"

namespace tlsession::fleet {

class RedisServerSessionStore : public ServerSessionStore {
 public:
  struct Config {
    // The in-process LRU in front of Redis; zero disables it (every Get then
    // asks Redis: benchmarks use that to measure the Redis path).
    size_t local_entries = 4096;
    // Writes (SET, DEL) waiting for the background writer; beyond this a
    // write is dropped (counted), never waited for.
    size_t max_pending_writes = 4096;
    // The bound of each background write (off the handshake path). Gets use
    // the RedisClient's timeout.
    absl::Duration write_timeout = absl::Milliseconds(50);
    // The clock, injectable for tests.
    std::function<absl::Time()> clock = [] { return absl::Now(); };
  };

  // Counters since construction.
  struct Metrics {
    uint64_t hits = 0;        // Gets answered with a session...
    uint64_t local_hits = 0;  // ...of which from the in-process LRU.
    uint64_t misses = 0;      // Gets that found nothing (Redis said nil).
    uint64_t errors = 0;      // Gets that failed: I/O, protocol, refused
                              // values (rejected below), error replies.
    uint64_t rejected = 0;    // Values that did not open or parse.
    uint64_t timeouts = 0;    // Gets that ran out of time.
    uint64_t skipped = 0;     // Gets not sent (back-off, pool full).
    uint64_t redis_gets = 0;  // GETs sent, on the handshake's path.
    uint64_t writes = 0;      // SETs and DELs done by the writer.
    uint64_t write_failures = 0;
    uint64_t dropped_writes = 0;       // Writes dropped: queue full or expired.
    uint64_t early_data_claims = 0;    // ClaimEarlyData: OK (first use).
    uint64_t early_data_replays = 0;   // ...AlreadyExists (Redis said nil).
    uint64_t early_data_failures = 0;  // ...no answer or a wrong one.
  };

  RedisServerSessionStore(std::shared_ptr<RedisClient> redis,
                          std::shared_ptr<const FleetKey> key);
  RedisServerSessionStore(std::shared_ptr<RedisClient> redis,
                          std::shared_ptr<const FleetKey> key, Config config);
  // Stops the writer; writes still queued are dropped.
  ~RedisServerSessionStore() override;
  RedisServerSessionStore(const RedisServerSessionStore&) = delete;
  RedisServerSessionStore& operator=(const RedisServerSessionStore&) = delete;

  // ServerSessionStore:
  void Put(absl::string_view session_id, std::string serialized_session,
           absl::Time expiry) override;
  std::optional<std::string> Get(absl::string_view session_id) override;
  void Remove(absl::string_view session_id) override;
  // SET NX PX of the digest's name, within the RedisClient's timeout.
  absl::Status ClaimEarlyData(absl::string_view ticket_digest,
                              absl::Time expiry) override;

  // Waits up to |timeout| until every queued write is done; false if some
  // are still pending. For tests and benchmarks.
  bool WaitForWrites(absl::Duration timeout);

  // The Redis key name of |session_id| (for tests that tamper with it).
  std::string KeyNameFor(absl::string_view session_id) const;
  // The Redis key name of an early-data claim of |ticket_digest|.
  std::string ClaimNameFor(absl::string_view ticket_digest) const;

  // A copy of the counters.
  Metrics metrics() const;
  // The client (for its own counters).
  const RedisClient& redis() const { return *redis_; }

 private:
  // A queued write: a SET when |value| is set, else a DEL.
  struct Write {
    std::string name;
    std::optional<std::string> value;
    absl::Time expiry;
  };
  // Queues |write| for the writer; drops it (counted) when the queue is
  // full.
  void Enqueue(Write write);
  // The writer thread: batches of queued writes, each batch pipelined in one
  // round trip, until the store is destroyed.
  void RunWriter();
  // Waits for queued writes and takes up to a batch; nullopt when stopping.
  std::optional<std::vector<Write>> TakeBatch();
  // Sends |batch| in one pipeline and counts the results.
  void SendBatch(const std::vector<Write>& batch);
  // Opens and checks a value read from Redis: the session and its expiry.
  std::optional<std::string> OpenValue(const std::string& name,
                                       const std::string& sealed,
                                       absl::Time* expiry);
  // Adds one to |counter|.
  void Count(uint64_t Metrics::*counter);

  const std::shared_ptr<RedisClient> redis_;
  const std::shared_ptr<const FleetKey> key_;
  const Config config_;
  MemoryServerSessionStore local_;

  mutable Mutex mu_;
  std::condition_variable_any wake_;
  std::deque<Write> queue_ ABSL_GUARDED_BY(mu_);
  size_t in_flight_ ABSL_GUARDED_BY(mu_) = 0;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  Metrics metrics_ ABSL_GUARDED_BY(mu_);
  std::thread writer_;
};

}  // namespace tlsession::fleet

#endif  // TLSESSION_FLEET_REDIS_SERVER_SESSION_STORE_H_
