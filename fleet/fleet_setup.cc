#include "fleet/fleet_setup.h"

#include <algorithm>
#include <initializer_list>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/private_file.h"
#include "base/redact_url.h"

namespace tlsession::fleet {

bool IsRedisUrl(absl::string_view value) { return HasRedisScheme(value); }

absl::StatusOr<Secret> ReadRedisPasswordFile(const std::string& path) {
  absl::StatusOr<Secret> file = ReadKeyFile(path, "Redis password file", 1);
  if (!file.ok()) return file.status();
  absl::string_view text = file->view();
  const size_t end = text.find_first_of("\r\n");
  std::string password(text.substr(0, end));
  if (password.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "Redis password file '", path, "' has an empty first line"));
  }
  return Secret(std::move(password));
}

absl::StatusOr<std::shared_ptr<const Context>> MakeRedisTlsContext(
    const RedisTlsFiles& files) {
  if (files.cert_file.empty() != files.key_file.empty()) {
    return absl::InvalidArgumentError(
        "--redis-cert and --redis-key go together (a client certificate "
        "and its key)");
  }
  ContextOptions options;
  options.role = Role::kClient;
  options.ca_file = files.ca_file;
  options.certificate_chain_file = files.cert_file;
  options.private_key_file = files.key_file;
  options.session_cache =
      std::make_shared<ClientSessionCache>(ClientSessionCache::Config());
  absl::StatusOr<std::shared_ptr<const Context>> context =
      Context::Create(std::move(options));
  if (!context.ok()) {
    return absl::Status(
        context.status().code(),
        absl::StrCat("TLS to Redis: ", context.status().message()));
  }
  return context;
}

absl::StatusOr<std::shared_ptr<RedisClient>> MakeRedisClient(
    absl::string_view url, const std::string& password_file,
    absl::Duration timeout, const RedisTlsFiles& tls) {
  absl::StatusOr<RedisEndpoint> endpoint = ParseRedisUrl(url);
  if (!endpoint.ok()) return endpoint.status();
  if (!password_file.empty()) {
    absl::StatusOr<Secret> password = ReadRedisPasswordFile(password_file);
    if (!password.ok()) return password.status();
    endpoint->password = *std::move(password);
  }
  RedisClient::Config config;
  if (endpoint->tls) {
    absl::StatusOr<std::shared_ptr<const Context>> context =
        MakeRedisTlsContext(tls);
    if (!context.ok()) return context.status();
    config.tls_context = *std::move(context);
  } else if (!tls.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--redis-cacert, --redis-cert and --redis-key need a TLS URL "
        "(rediss:// or rediss-sentinel://), got '",
        RedactUrl(url), "'"));
  }
  config.endpoint = *std::move(endpoint);
  config.timeout = timeout;
  return RedisClient::Create(std::move(config));
}

absl::StatusOr<SharedClientCache> MakeSharedClientSessionCache(
    const SharedClientCacheOptions& options) {
  if (options.fleet_key_file.empty()) {
    return absl::InvalidArgumentError(
        "a Redis session store needs a fleet key file (the same on every "
        "client): everything written to Redis is sealed under it");
  }
  absl::StatusOr<std::shared_ptr<const FleetKey>> key =
      FleetKey::FromFile(options.fleet_key_file, options.namespace_prefix);
  if (!key.ok()) return key.status();
  absl::StatusOr<std::shared_ptr<RedisClient>> redis = MakeRedisClient(
      options.url, options.password_file, options.timeout, options.redis_tls);
  if (!redis.ok()) return redis.status();
  RedisClientSessionStore::Config store_config;
  store_config.max_sessions_per_key = options.max_sessions_per_key;
  SharedClientCache out;
  out.store =
      std::make_shared<RedisClientSessionStore>(*redis, *key, store_config);
  ClientSessionCache::Config cache_config;
  cache_config.store = out.store;
  Secret digest = (*key)->ClientDigestKey();
  cache_config.digest_key = std::string(digest.view());
  out.cache = std::make_shared<ClientSessionCache>(std::move(cache_config));
  return out;
}

namespace {

// Checks that |value| (a value of |flag|, "redis://...") is a well-formed
// Redis URL. The error names the flag and quotes the URL redacted
// (ParseRedisUrl's message).
absl::Status CheckRedisUrl(absl::string_view flag, absl::string_view value) {
  absl::StatusOr<RedisEndpoint> endpoint = ParseRedisUrl(value);
  if (endpoint.ok()) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat(flag, ": ", endpoint.status().message()));
}

// The error for a value of |flag| that is neither one of |keywords| nor a
// Redis URL; it quotes the value as RedactUrl gives it (a mistyped
// scheme, "rediss://:PW@host", still holds a password).
absl::Status NotAMode(absl::string_view flag, absl::string_view value,
                      std::initializer_list<absl::string_view> keywords) {
  return absl::InvalidArgumentError(
      absl::StrCat(flag, " must be ", absl::StrJoin(keywords, ", "),
                   " or a Redis URL (redis[s]://[[USER]:PASSWORD@]HOST:PORT, "
                   "redis[s]-sentinel://...), got '",
                   RedactUrl(value), "'"));
}

// Sets |options|' ticket keys as |config| says when they need no Redis
// (kLocal: a ring rotating itself on the config's schedule).
absl::Status ApplyLocalTicketKeys(const FleetServerConfig& config,
                                  ContextOptions* options) {
  options->session_tickets = config.ticket_keys.mode != TicketKeyMode::kOff;
  if (config.ticket_keys.mode != TicketKeyMode::kLocal) {
    return absl::OkStatus();
  }
  absl::StatusOr<std::shared_ptr<TicketKeyRing>> ring =
      TicketKeyRing::SelfRotating(config.local_ticket_keys);
  if (!ring.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--ticket-key-rotation/--ticket-key-lifetime: ",
                     ring.status().message()));
  }
  options->ticket_keys = *std::move(ring);
  return absl::OkStatus();
}

// Starts TicketKeySync through Redis for |config| and hands its ring to
// |options|; |out| keeps it alive.
absl::Status StartTicketKeySync(const FleetServerConfig& config,
                                std::shared_ptr<const FleetKey> key,
                                ContextOptions* options, FleetServer* out) {
  // Off the handshake's path: a more patient timeout.
  absl::StatusOr<std::shared_ptr<RedisClient>> redis =
      MakeRedisClient(config.ticket_keys.redis_url, config.redis_password_file,
                      std::max(config.redis_timeout, absl::Milliseconds(200)),
                      config.redis_tls);
  if (!redis.ok()) return redis.status();
  out->ticket_redis = *redis;
  absl::StatusOr<std::unique_ptr<TicketKeySync>> sync =
      TicketKeySync::Start(*redis, std::move(key), config.ticket_sync);
  if (!sync.ok()) return sync.status();
  out->ticket_sync = *std::move(sync);
  options->ticket_keys = out->ticket_sync->ring();
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<SessionStoreSetting> ParseSessionStoreSetting(
    absl::string_view value) {
  constexpr absl::string_view kFlag = "--session-store";
  if (value == "memory") return SessionStoreSetting{};
  if (!IsRedisUrl(value)) return NotAMode(kFlag, value, {"memory"});
  if (absl::Status s = CheckRedisUrl(kFlag, value); !s.ok()) return s;
  return SessionStoreSetting{SessionStoreMode::kRedis, std::string(value)};
}

absl::StatusOr<TicketKeySetting> ParseTicketKeySetting(
    absl::string_view value) {
  constexpr absl::string_view kFlag = "--ticket-keys";
  if (value == "local") return TicketKeySetting{};
  if (value == "off") return TicketKeySetting{TicketKeyMode::kOff, ""};
  if (!IsRedisUrl(value)) return NotAMode(kFlag, value, {"local", "off"});
  if (absl::Status s = CheckRedisUrl(kFlag, value); !s.ok()) return s;
  return TicketKeySetting{TicketKeyMode::kRedis, std::string(value)};
}

absl::StatusOr<FleetServer> ApplyFleetServerConfig(
    const FleetServerConfig& config, ContextOptions* options) {
  FleetServer out;
  if (absl::Status s = ApplyLocalTicketKeys(config, options); !s.ok()) {
    return s;
  }
  const bool redis_sessions =
      config.session_store.mode == SessionStoreMode::kRedis;
  const bool redis_keys = config.ticket_keys.mode == TicketKeyMode::kRedis;
  if (!redis_sessions && !redis_keys) return out;
  if (config.fleet_key_file.empty()) {
    return absl::InvalidArgumentError(
        "--fleet-key is required with a Redis session store or ticket keys");
  }
  absl::StatusOr<std::shared_ptr<const FleetKey>> key =
      FleetKey::FromFile(config.fleet_key_file);
  if (!key.ok()) return key.status();
  options->session_id_context = (*key)->SessionIdContext();
  if (redis_sessions) {
    absl::StatusOr<std::shared_ptr<RedisClient>> redis = MakeRedisClient(
        config.session_store.redis_url, config.redis_password_file,
        config.redis_timeout, config.redis_tls);
    if (!redis.ok()) return redis.status();
    RedisServerSessionStore::Config store_config;
    store_config.local_entries = config.local_entries;
    out.session_store =
        std::make_shared<RedisServerSessionStore>(*redis, *key, store_config);
    options->session_store = out.session_store;
  }
  if (redis_keys) {
    if (absl::Status s = StartTicketKeySync(config, *key, options, &out);
        !s.ok()) {
      return s;
    }
  }
  return out;
}

}  // namespace tlsession::fleet
