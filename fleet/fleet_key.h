// FleetKey: the one secret a fleet of servers (or of clients) shares, read
// from a private key file. It seals what the fleet stores write to Redis
// (AES-256-GCM, the Redis name as associated data) and makes their names
// (keyed digests), so that Redis is never trusted with a secret. Key file
// rules and limits: ARCHITECTURE.md, "The fleet: Redis layout and single
// use". Immutable after construction; thread-safe.
#ifndef TLSESSION_FLEET_FLEET_KEY_H_
#define TLSESSION_FLEET_FLEET_KEY_H_

#include <openssl/aead.h>

#include <cstddef>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "base/secret.h"

namespace tlsession::fleet {

class FleetKey {
 public:
  // The shortest key file accepted.
  static constexpr size_t kMinKeyBytes = 32;
  // Seal's overhead: a format byte, a 12-byte nonce and a 16-byte tag.
  static constexpr size_t kSealOverhead = 1 + 12 + 16;

  // Reads |path| (checked as a private key file) and derives the fleet's
  // keys. |namespace_prefix| starts every Redis key name ("tlsession:" by
  // default): fleets that share one Redis use different prefixes or keys.
  static absl::StatusOr<std::shared_ptr<const FleetKey>> FromFile(
      const std::string& path,
      absl::string_view namespace_prefix = "tlsession:");

  // The same from key material in memory (at least kMinKeyBytes).
  static absl::StatusOr<std::shared_ptr<const FleetKey>> FromSecret(
      const Secret& material,
      absl::string_view namespace_prefix = "tlsession:");

  ~FleetKey();
  FleetKey(const FleetKey&) = delete;
  FleetKey& operator=(const FleetKey&) = delete;

  // The Redis key name for |id| of kind |kind| ("s" server session, "tk"
  // ticket key, ...): prefix, kind, ':', a 128-bit HMAC of kind and id in
  // hex inside {} (a Redis Cluster hash tag: names that differ only in
  // |suffix|, like a client key's ticket list and session, share a slot),
  // then |suffix|.
  std::string KeyName(absl::string_view kind, absl::string_view id,
                      absl::string_view suffix = "") const;

  // Seals |plaintext| for storage under the Redis key |key_name|.
  std::string Seal(absl::string_view key_name,
                   absl::string_view plaintext) const;

  // Opens a value read from |key_name|. DataLoss when it is not a sealed
  // value of this fleet key stored under that name (tampered, truncated,
  // moved, or sealed under another key).
  absl::StatusOr<Secret> Open(absl::string_view key_name,
                              absl::string_view sealed) const;

  // A 32-byte key for ClientSessionCache::Config::digest_key, the same in
  // every process of the fleet, so that they all name a peer alike.
  Secret ClientDigestKey() const;

  // A 32-byte session-ID context for servers that share sessions (TLS 1.2
  // session IDs and tickets are bound to it; see
  // ContextOptions::session_id_context).
  std::string SessionIdContext() const;

  // What every Redis key name starts with.
  const std::string& prefix() const { return prefix_; }

 private:
  // Made by FromSecret.
  FleetKey() = default;

  std::string prefix_;
  Secret name_key_;
  Secret digest_key_;
  Secret sid_context_;
  bssl::ScopedEVP_AEAD_CTX aead_;
};

}  // namespace tlsession::fleet

#endif  // TLSESSION_FLEET_FLEET_KEY_H_
