// Building the fleet stores from what a user types (a Redis URL, a password
// file, a fleet key file), for tools and benchmarks:
// MakeSharedClientSessionCache for clients (README has an example),
// ApplyFleetServerConfig for servers, and the parsers of the tools'
// --session-store and --ticket-keys values. ARCHITECTURE.md, "The server
// side" ("A fleet"), says what a server gets.
#ifndef TLSESSION_FLEET_FLEET_SETUP_H_
#define TLSESSION_FLEET_FLEET_SETUP_H_

#include <cstddef>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "fleet/fleet_key.h"
#include "fleet/redis_client.h"
#include "fleet/redis_client_session_store.h"
#include "fleet/redis_server_session_store.h"
#include "fleet/ticket_key_sync.h"
#include "session/client_session_cache.h"
#include "tls/context.h"
#include "tls/context_options.h"

namespace tlsession::fleet {

// Returns true for "redis://...", "rediss://...", "redis-sentinel://..." and
// "rediss-sentinel://..." (what the --session-store and --ticket-keys flags
// take besides their keywords).
bool IsRedisUrl(absl::string_view value);

// Where sessions are kept: a server's sessions by ID, or a client's.
enum class SessionStoreMode {
  kMemory,  // In this process's memory (the default stores).
  kRedis,   // Shared through Redis (the fleet's stores).
};

// Where a server's ticket keys come from.
enum class TicketKeyMode {
  kLocal,  // Random keys of this process's own, rotated on a schedule.
  kOff,    // None: no tickets.
  kRedis,  // The fleet's keys, rotated through Redis (TicketKeySync).
};

// A session store choice: the mode and, with kRedis, the Redis URL
// (redis://[[USER]:PASSWORD@]HOST:PORT).
struct SessionStoreSetting {
  SessionStoreMode mode = SessionStoreMode::kMemory;
  std::string redis_url;
};

// A ticket key choice: the mode and, with kRedis, the Redis URL.
struct TicketKeySetting {
  TicketKeyMode mode = TicketKeyMode::kLocal;
  std::string redis_url;
};

// Parses a --session-store value: "memory", or a well-formed Redis URL.
// Returns InvalidArgument naming the flag otherwise; the message never
// repeats a URL's password.
absl::StatusOr<SessionStoreSetting> ParseSessionStoreSetting(
    absl::string_view value);

// Parses a --ticket-keys value: "local", "off", or a well-formed Redis URL.
// Returns InvalidArgument naming the flag otherwise, as
// ParseSessionStoreSetting does.
absl::StatusOr<TicketKeySetting> ParseTicketKeySetting(absl::string_view value);

// Reads a Redis password file: a private file (ReadKeyFile's checks), its
// first line without the line break.
absl::StatusOr<Secret> ReadRedisPasswordFile(const std::string& path);

// TLS to Redis (rediss:// URLs): the tools' --redis-cacert, --redis-cert
// and --redis-key.
struct RedisTlsFiles {
  // Trust roots (PEM) for Redis's certificate; empty: the system's.
  std::string ca_file;
  // A client certificate chain and its key (PEM), both or neither.
  std::string cert_file;
  std::string key_file;
  bool empty() const {
    return ca_file.empty() && cert_file.empty() && key_file.empty();
  }
};

// A client Context for Redis links over TLS: |files|' trust roots and
// client certificate, verification on, and a client session cache of its
// own so that each new link resumes (RedisClient::Metrics::tls_resumed).
// Errors name the file or flag at fault.
absl::StatusOr<std::shared_ptr<const Context>> MakeRedisTlsContext(
    const RedisTlsFiles& files);

// A RedisClient for |url| (redis[s]://[[USER]:PASSWORD@]HOST:PORT or
// redis[s]-sentinel://[[USER]:PASSWORD@]HOST:PORT[,...]/MASTER_NAME) with
// |timeout| per call. A non-empty |password_file| gives the password (it
// overrides one in the URL, which other users can see in `ps`). A TLS URL
// gets a Context from |tls| (MakeRedisTlsContext); |tls| set with a
// plaintext URL is an error.
absl::StatusOr<std::shared_ptr<RedisClient>> MakeRedisClient(
    absl::string_view url, const std::string& password_file,
    absl::Duration timeout, const RedisTlsFiles& tls = RedisTlsFiles());

struct SharedClientCacheOptions {
  std::string url;             // redis://[[USER]:PASSWORD@]HOST:PORT
  std::string password_file;   // Optional; see MakeRedisClient.
  RedisTlsFiles redis_tls;     // For rediss:// URLs; see MakeRedisClient.
  std::string fleet_key_file;  // Required: the same file on every client.
  // Clients are less pressed than servers: a slower Redis still helps.
  absl::Duration timeout = absl::Milliseconds(50);
  size_t max_sessions_per_key = 4;
  std::string namespace_prefix = "tlsession:";
};

struct SharedClientCache {
  std::shared_ptr<ClientSessionCache> cache;       // For ContextOptions.
  std::shared_ptr<RedisClientSessionStore> store;  // For its metrics.
};

// A ClientSessionCache over a RedisClientSessionStore, its digest key
// derived from the fleet key (so every process names peers alike).
absl::StatusOr<SharedClientCache> MakeSharedClientSessionCache(
    const SharedClientCacheOptions& options);

struct FleetServerConfig {
  SessionStoreSetting session_store;  // Default: memory.
  TicketKeySetting ticket_keys;       // Default: local.
  std::string fleet_key_file;         // Required with any Redis mode.
  std::string redis_password_file;    // Optional; see MakeRedisClient.
  RedisTlsFiles redis_tls;            // For rediss:// URLs; ditto.
  // The bound of a session lookup on the handshake's path.
  absl::Duration redis_timeout = absl::Milliseconds(5);
  // The in-process LRU in front of the Redis session store.
  size_t local_entries = 4096;
  TicketKeySync::Config ticket_sync;
  // kLocal: how this process's own keys rotate (24 h issuing, each key
  // decrypting for 48 h from when it started issuing).
  TicketKeySchedule local_ticket_keys;
};

// What a fleet server keeps alive beside its Context.
struct FleetServer {
  std::shared_ptr<RedisServerSessionStore> session_store;  // Null: memory.
  std::unique_ptr<TicketKeySync> ticket_sync;  // Null unless Redis keys.
  // The Redis client of |ticket_sync| (for its metrics); null with it.
  std::shared_ptr<RedisClient> ticket_redis;
};

// Sets |options|' session_store, ticket_keys, session_tickets and
// session_id_context from |config|: kMemory keeps the default in-process
// store; kLocal gives this process its own random ticket keys, rotating on
// config.local_ticket_keys (TicketKeyRing::SelfRotating); kOff turns
// tickets off. With Redis, the session-ID context comes from the fleet key so
// that every instance accepts every other's sessions. Returns what must
// outlive the Context, or an error naming the flag or file at fault.
absl::StatusOr<FleetServer> ApplyFleetServerConfig(
    const FleetServerConfig& config, ContextOptions* options);

}  // namespace tlsession::fleet

#endif  // TLSESSION_FLEET_FLEET_SETUP_H_
