// TicketKeySync: one set of session ticket keys for a whole fleet, rotated in
// epochs and kept in step through Redis. A key issues only once every
// instance could load it, keeps decrypting for a grace period, and a process
// that cannot reach Redis keeps the keys it has. Every process of a fleet must
// use the same rotation_period, publish_lead and fleet key. The protocol:
// ARCHITECTURE.md, "The fleet: Redis layout and single use" ("How ticket keys
// rotate"). Thread-safe.
#ifndef TLSESSION_FLEET_TICKET_KEY_SYNC_H_
#define TLSESSION_FLEET_TICKET_KEY_SYNC_H_

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "base/mutex.h"
#include "fleet/fleet_key.h"
#include "fleet/redis_client.h"
#include "session/ticket_keys.h"

namespace tlsession::fleet {

class TicketKeySync {
 public:
  struct Config {
    // How long each key issues tickets.
    absl::Duration rotation_period = absl::Hours(1);
    // How long a published key only decrypts before it may issue; at least
    // two sync intervals, and at most rotation_period - sync_interval.
    absl::Duration publish_lead = absl::Minutes(1);
    // How long a key keeps decrypting after it stopped issuing: tickets
    // resume for at least this long (set it to the ticket lifetime, the
    // server's session_timeout, for tickets to live their whole life).
    absl::Duration grace = absl::Hours(2);
    // How often each process reads the keys (and the holder renews its
    // lease and publishes).
    absl::Duration sync_interval = absl::Seconds(10);
    // The rotation lease; at least two sync intervals.
    absl::Duration lease = absl::Seconds(30);
    // Bound of the keys held (issuing, decrypt-only and in grace): the
    // window (grace + publish_lead) / rotation_period + 3 must fit.
    size_t max_keys = 64;
    // Runs the background thread; tests that drive SyncNow() with their own
    // clock turn it off.
    bool background = true;
    std::function<absl::Time()> clock = [] { return absl::Now(); };
  };

  // Counters and state since construction.
  struct Metrics {
    uint64_t syncs = 0;          // Rounds that read the keys from Redis.
    uint64_t sync_failures = 0;  // Rounds that could not.
    uint64_t published = 0;      // Keys this process wrote (as holder).
    uint64_t rejected = 0;       // Values in Redis that did not open.
    uint64_t replaced = 0;       // Of those, replaced by this holder.
    uint64_t ring_changes = 0;   // Times the ring's keys changed.
    bool holder = false;         // Held the lease at the last round.
    int64_t issuing_epoch = 0;   // The epoch of the issuing key.
    bool issuing_local = false;  // Issuing under a local (fallback) key.
    size_t keys = 0;             // Keys in the ring.
  };

  // Validates |config|, runs a first sync (bounded by the client's timeout;
  // Redis may be down: a local key is used until it is back), and starts the
  // background thread.
  static absl::StatusOr<std::unique_ptr<TicketKeySync>> Start(
      std::shared_ptr<RedisClient> redis, std::shared_ptr<const FleetKey> key,
      Config config);

  // Stops the background thread.
  ~TicketKeySync();
  TicketKeySync(const TicketKeySync&) = delete;
  TicketKeySync& operator=(const TicketKeySync&) = delete;

  // The ring to hand to ContextOptions::ticket_keys; kept current.
  std::shared_ptr<TicketKeyRing> ring() const { return ring_; }

  // Runs one round now: lease, read, publish, update the ring. The error (a
  // failed read) changes nothing: the ring keeps its keys.
  absl::Status SyncNow();

  Metrics metrics() const;

 private:
  // One key as this process knows it.
  struct Record {
    int64_t epoch = 0;
    absl::Time published;
    TicketKey key;
    bool local_only = false;  // A fallback key, made while Redis was away.
    bool in_redis = false;    // Seen in Redis at the last successful read.
    absl::Time last_issuing = absl::InfinitePast();
  };

  TicketKeySync(std::shared_ptr<RedisClient> redis,
                std::shared_ptr<const FleetKey> key, Config config);

  // The epoch that |t| falls in, and when |epoch| starts.
  int64_t EpochAt(absl::Time t) const;
  absl::Time EpochStart(int64_t epoch) const;
  // When |r| may start issuing: the start of its epoch, but never before
  // publish_lead after it was published.
  absl::Time IssueFrom(const Record& r) const;
  // When |r| stops decrypting: grace after it stopped (or was due to stop)
  // issuing.
  absl::Time DecryptUntil(const Record& r) const;
  // The Redis key name of |epoch|'s key.
  std::string NameOf(int64_t epoch) const;
  // A record's plaintext: format, epoch, publication time, key (a secret:
  // the caller wipes it).
  std::string Encode(const Record& r) const;
  // Opens and parses a value read from |name| for |epoch|; nullopt when it
  // is refused (tampered, moved, or for another epoch).
  std::optional<Record> Decode(const std::string& name,
                               const std::string& sealed, int64_t epoch);

  // One round: lease, read, publish (holder), choose the keys, update the
  // ring. The error is the read's.
  absl::Status Round() ABSL_EXCLUSIVE_LOCKS_REQUIRED(round_mu_);
  // Takes or renews the lease; true when this process holds it.
  bool UpdateLease();
  // Reads the epochs from the oldest still in grace to the next one, in one
  // pipeline: epoch -> its record; epochs missing from Redis or whose value
  // was refused are absent, the refused values put in |*corrupt| by epoch.
  absl::StatusOr<std::map<int64_t, std::optional<Record>>> FetchWindow(
      int64_t epoch, std::map<int64_t, std::string>* corrupt);
  // Adds the records read to records_ and marks which are in Redis.
  void Merge(std::map<int64_t, std::optional<Record>>& fetched)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(round_mu_);
  // Holder: writes |epoch|'s key (the one held for that epoch, keeping its
  // publication time, or a new one published at |now|) with SET NX, or, when
  // |corrupt| (the refused value read), in its place while it is still there.
  void Publish(int64_t epoch, absl::Time now, const std::string* corrupt)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(round_mu_);
  // Makes a local key when no key is known at all (Redis away at start).
  void EnsureSomeKey(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(round_mu_);
  // Chooses the issuing and decrypt-only keys at |now|, drops keys past
  // their grace, and hands the ring the result when it changed.
  void UpdateRing(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(round_mu_);
  // The newest key allowed to issue at |now| (or, when none is yet, the
  // first that will be).
  Record* ChooseIssuing(absl::Time now)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(round_mu_);
  // When the next round is due: the next sync, or the next time a key
  // starts issuing or stops decrypting.
  absl::Time NextWake(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(round_mu_);
  // The background thread: rounds until destruction.
  void Run();

  const std::shared_ptr<RedisClient> redis_;
  const std::shared_ptr<const FleetKey> key_;
  const Config config_;
  const std::string lease_name_;
  const std::string instance_id_;  // Random: this process's lease value.
  // Made by the first round, in Start(), before any other thread can see
  // this object; never replaced (its keys are, by Replace()).
  std::shared_ptr<TicketKeyRing> ring_;

  Mutex round_mu_;  // One round at a time.
  // By key name (16 bytes).
  std::map<std::string, Record> records_ ABSL_GUARDED_BY(round_mu_);
  std::vector<std::string> ring_names_ ABSL_GUARDED_BY(round_mu_);
  absl::Time next_wake_ ABSL_GUARDED_BY(round_mu_);

  mutable Mutex mu_;
  std::condition_variable_any wake_;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  Metrics metrics_ ABSL_GUARDED_BY(mu_);
  std::thread thread_;
};

}  // namespace tlsession::fleet

#endif  // TLSESSION_FLEET_TICKET_KEY_SYNC_H_
