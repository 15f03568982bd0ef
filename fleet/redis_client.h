// RedisClient: a small, bounded, fail-open Redis client for the fleet stores,
// over plain TCP or this library's TLS, to one server or to the primary that
// Sentinels name. Every call (discovery, connect, handshake, AUTH, round
// trip) ends within its deadline and returns a Status saying what happened;
// only calls marked Idempotent::kYes are ever retried. Pooling, retry,
// back-off and Sentinel: ARCHITECTURE.md, "The fleet: the Redis transport and
// Sentinel discovery". Thread-safe.
#ifndef TLSESSION_FLEET_REDIS_CLIENT_H_
#define TLSESSION_FLEET_REDIS_CLIENT_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "base/mutex.h"
#include "fleet/redis_link.h"
#include "fleet/redis_reply.h"
#include "fleet/redis_url.h"
#include "tls/context.h"

namespace tlsession::fleet {

// What a call's Status means to a fail-open store.
enum class RedisOutcome {
  kOk,
  kSkipped,  // Unavailable: not attempted (backing off, or no free connection).
  kTimeout,  // DeadlineExceeded: the call ran out of time.
  kError,    // Anything else: connection refused, I/O or protocol error,
             // AUTH refused, or an error reply from Redis.
};
// The outcome a call's |status| stands for (see RedisOutcome).
RedisOutcome RedisOutcomeOf(const absl::Status& status);

// Whether running a call twice has the effect of running it once (GET,
// SMEMBERS, SET of a fixed value without NX, DEL, PEXPIRE): only such calls
// are sent again when their connection ends with no reply, since the first
// run may have happened with its reply lost. LPUSH, LPOP, GETDEL, INCR, SET
// NX (whose reply says who won) and scripts that take are kNo, the default.
enum class Idempotent { kNo, kYes };

class RedisClient {
 public:
  struct Config {
    RedisEndpoint endpoint;
    // A client Context for TLS: required when endpoint.tls, refused
    // otherwise. Its session cache (if any) resumes the links' handshakes.
    std::shared_ptr<const Context> tls_context;
    // The default bound of one call: connecting and AUTH (when no pooled
    // connection is free) plus the command's round trip.
    absl::Duration timeout = absl::Milliseconds(5);
    // The most connections open at once; a call that finds none free and the
    // pool full is skipped (Unavailable) rather than queued.
    size_t max_connections = 16;
    // Consecutive transport failures that start a back-off.
    int failures_before_backoff = 3;
    absl::Duration backoff = absl::Milliseconds(500);
    absl::Duration max_backoff = absl::Seconds(5);
    // Replies larger than this (bytes received, or the reply objects the
    // reader allocates, array slots counted as the headers name them:
    // redis_reply.h) are an error, and their connection is closed.
    size_t max_reply_bytes = 1 << 20;
  };

  // Counters since construction.
  struct Metrics {
    uint64_t calls = 0;        // Command() and Pipeline() calls.
    uint64_t ok = 0;           // Calls that got their replies.
    uint64_t skipped = 0;      // Calls not attempted.
    uint64_t timeouts = 0;     // Calls that ran out of time.
    uint64_t errors = 0;       // Calls that failed otherwise.
    uint64_t connects = 0;     // Connections opened (and logged in).
    uint64_t backoffs = 0;     // Back-off periods started.
    uint64_t round_trips = 0;  // Request/reply exchanges (a pipeline is one).
    uint64_t tls_handshakes = 0;  // TLS links opened (data nodes).
    uint64_t tls_resumed = 0;     // Of which resumed a session.
    uint64_t discoveries = 0;     // Primaries learnt from a Sentinel.
    uint64_t failovers = 0;       // Of which at another address than before.
  };

  // Validates |config| and resolves the host once, now (a handshake never
  // waits on DNS). Does not connect: Redis may be down at start-up.
  static absl::StatusOr<std::shared_ptr<RedisClient>> Create(Config config);

  ~RedisClient();
  RedisClient(const RedisClient&) = delete;
  RedisClient& operator=(const RedisClient&) = delete;

  // Runs one command (its arguments, binary-safe) within |timeout| (the
  // config's when zero); retried on a fresh connection only when
  // |idempotent| (see Idempotent). Error replies from Redis are
  // FailedPrecondition errors quoting Redis's message.
  absl::StatusOr<RedisReply> Command(
      const std::vector<std::string>& args,
      absl::Duration timeout = absl::ZeroDuration(),
      Idempotent idempotent = Idempotent::kNo);
  // Command(args) within the config's timeout, |idempotent| as given.
  absl::StatusOr<RedisReply> Command(const std::vector<std::string>& args,
                                     Idempotent idempotent) {
    return Command(args, absl::ZeroDuration(), idempotent);
  }

  // Sends |commands| in one round trip on one connection and returns their
  // replies in order (error replies included, as kError replies). Fails as a
  // whole on a transport failure or timeout. |idempotent| says whether the
  // whole pipeline may run twice (see Idempotent).
  absl::StatusOr<std::vector<RedisReply>> Pipeline(
      const std::vector<std::vector<std::string>>& commands,
      absl::Duration timeout = absl::ZeroDuration(),
      Idempotent idempotent = Idempotent::kNo);
  // Pipeline(commands) within the config's timeout, |idempotent| as given.
  absl::StatusOr<std::vector<RedisReply>> Pipeline(
      const std::vector<std::vector<std::string>>& commands,
      Idempotent idempotent) {
    return Pipeline(commands, absl::ZeroDuration(), idempotent);
  }

  // Opens connections until |connections| are idle in the pool (within the
  // pool's bound), each within the config's timeout, so that the first calls
  // on a handshake's path need not connect. The first failure ends it.
  absl::Status Warm(size_t connections);

  // True while calls are being skipped.
  bool backing_off() const;

  // A copy of the counters.
  Metrics metrics() const;
  const Config& config() const { return config_; }
  // "host:port", or "MASTER_NAME via Sentinel", for messages.
  std::string address() const;

 private:
  // One pooled connection: a RedisLink and the primary it was made to.
  struct Link;
  // |nodes[0]| is the server (its host resolved), or the Sentinels' links'
  // options (their hosts resolved), made by Create.
  RedisClient(Config config, std::vector<RedisLink::Options> nodes);

  // Pool: an idle connection (|*reused| set), or a fresh one made within
  // |deadline|; Unavailable when the pool is full.
  absl::StatusOr<std::unique_ptr<Link>> Acquire(absl::Time deadline,
                                                bool* reused);
  // Returns |link| to the pool; null closes the one that was taken.
  void Release(std::unique_ptr<Link> link);
  // Connects to the server, or to the primary (discovering it as needed),
  // and logs in, by |deadline|.
  absl::StatusOr<std::unique_ptr<Link>> Connect(absl::Time deadline);
  // Opens a link to |options|' node, logs in and, with Sentinels, checks
  // that the node is a primary, by |deadline|; counts it.
  absl::StatusOr<std::unique_ptr<Link>> ConnectNode(
      const RedisLink::Options& options, uint64_t generation,
      absl::Time deadline);
  // With Sentinels: the known primary, or one asked of the Sentinels now;
  // |*generation| tells which.
  absl::StatusOr<RedisLink::Options> Primary(absl::Time deadline,
                                             uint64_t* generation);
  // With Sentinels: forgets the primary of |generation| (a connection to it
  // failed, or it is a replica now), so that the next connection asks.
  void ForgetPrimary(uint64_t generation);
  // One exchange on a connection of the pool; when |idempotent|, retried
  // once on a fresh connection when a reused one ends with no reply.
  absl::StatusOr<std::vector<RedisReply>> Exchange(
      const std::vector<std::vector<std::string>>& commands,
      absl::Time deadline, Idempotent idempotent);
  // Counts a call; Unavailable while backing off.
  absl::Status CheckBackoff();
  // Counts a call's outcome; |transport_failure| ones start a back-off
  // after failures_before_backoff in a row, and a success ends the series.
  void RecordResult(const absl::Status& status, bool transport_failure);
  bool sentinel() const { return !config_.endpoint.sentinels.empty(); }

  const Config config_;
  // The server, or the Sentinels (hosts resolved once by Create).
  const std::vector<RedisLink::Options> nodes_;
  mutable Mutex mu_;
  std::vector<std::unique_ptr<Link>> idle_ ABSL_GUARDED_BY(mu_);
  size_t open_ ABSL_GUARDED_BY(mu_) = 0;  // Idle and in use.
  int consecutive_failures_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Duration current_backoff_ ABSL_GUARDED_BY(mu_);
  absl::Time backoff_until_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  Metrics metrics_ ABSL_GUARDED_BY(mu_);
  // With Sentinels: the primary as last discovered ("host:port", empty
  // before any), whether it is still trusted, and a generation that grows
  // with every change of address (links of older ones are closed).
  std::string primary_ ABSL_GUARDED_BY(mu_);
  bool primary_known_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t generation_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace tlsession::fleet

#endif  // TLSESSION_FLEET_REDIS_CLIENT_H_
