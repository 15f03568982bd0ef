// Session ticket keys that can be set, shared and rotated.
//
// A server encrypts the tickets it issues under its current key; servers
// behind one name that share their keys can resume each other's tickets.
// Rotating makes a fresh key current and keeps a few previous keys, so that
// tickets issued shortly before a rotation still resume (and are renewed under
// the new key).
//
// TicketKeyCallback is the BoringSSL glue that tls/ installs with
// SSL_CTX_set_tlsext_ticket_key_cb: tickets are AES-256-CBC encrypted and
// HMAC-SHA256 authenticated, as BoringSSL does with its own keys.
#ifndef TLSESSION_SESSION_TICKET_KEYS_H_
#define TLSESSION_SESSION_TICKET_KEYS_H_

#include <openssl/cipher.h>
#include <openssl/hmac.h>
#include <openssl/mem.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "base/coarse_clock.h"
#include "base/mutex.h"

namespace tlsession {

// One ticket key. The name is public (it prefixes every ticket so the key can
// be found again); the HMAC and AES keys are secrets.
struct TicketKey {
  // The length of ToBytes(): name, then HMAC key, then AES key.
  static constexpr size_t kSerializedSize = 16 + 32 + 32;

  std::array<uint8_t, 16> name;
  std::array<uint8_t, 32> hmac_key;
  std::array<uint8_t, 32> aes_key;

  // Every copy of a key wipes its secrets when it is dropped (rotated out of
  // a ring, or a copy handed to a callback going out of scope).
  ~TicketKey() {
    OPENSSL_cleanse(hmac_key.data(), hmac_key.size());
    OPENSSL_cleanse(aes_key.data(), aes_key.size());
  }

  // A key with a random name and random secrets, from RAND_bytes.
  static TicketKey Generate();

  // Parses the kSerializedSize bytes made by ToBytes(); any other length is
  // an InvalidArgument error.
  static absl::StatusOr<TicketKey> FromBytes(absl::string_view bytes);

  // The key as kSerializedSize bytes: name, HMAC key, AES key. Secrets
  // included: treat the bytes as a private key.
  std::string ToBytes() const;
};

// How a ring that rotates itself (TicketKeyRing::SelfRotating) does it:
// each key issues tickets for |rotation| from when it started issuing, and
// decrypts them for |lifetime| from that same start (so for lifetime -
// rotation after it stopped issuing; with the defaults, 24 h of issuing and
// a 24 h grace). A key past its lifetime is dropped and wiped.
struct TicketKeySchedule {
  absl::Duration rotation = absl::Hours(24);
  absl::Duration lifetime = absl::Hours(48);  // At least |rotation|.
  // Read at each ticket issued or opened; tests move their own.
  std::function<absl::Time()> clock = [] { return CoarseNow(); };
};

// A current ticket key and up to max_previous previous ones. Thread-safe.
class TicketKeyRing {
 public:
  // A ring with a fresh random key that rotates itself on |schedule| (see
  // TicketKeySchedule) whenever it is used: no thread, no timer. An
  // InvalidArgument error when the rotation is not positive or the lifetime
  // shorter than the rotation. Rotate and Replace also work on it (the keys
  // they add start their schedule then).
  static absl::StatusOr<std::shared_ptr<TicketKeyRing>> SelfRotating(
      TicketKeySchedule schedule);

  // A ring whose current key is |current|, keeping at most |max_previous|
  // previous keys after rotations.
  explicit TicketKeyRing(TicketKey current, size_t max_previous = 2);
  TicketKeyRing(const TicketKeyRing&) = delete;
  TicketKeyRing& operator=(const TicketKeyRing&) = delete;

  // Makes |new_current| the current key and the old current key the newest
  // previous key, forgetting the oldest previous keys beyond max_previous.
  void Rotate(TicketKey new_current);

  // Replaces every key at once: |current| issues tickets; |decrypt_only|
  // keys (a key published ahead of its turn to issue, keys in their grace
  // period) only decrypt, and tickets they decrypt are renewed under
  // |current|. Keys no longer held are wiped. max_previous does not bound
  // |decrypt_only|. For rings kept in step with a fleet (fleet/).
  void Replace(TicketKey current, std::vector<TicketKey> decrypt_only);

  // A copy of the current key (after rotating, for a self-rotating ring).
  TicketKey current() const;

  // The number of keys held, the current one included.
  size_t size() const;

  // A copy of the current or a previous key named |name| (16 bytes), or
  // nullopt when no key has that name. When found and |is_current| is not
  // null, sets |*is_current| to whether it is the current key.
  std::optional<TicketKey> Find(const uint8_t name[16], bool* is_current) const;

 private:
  // Self-rotating only: rotates and drops keys as the schedule says at the
  // clock's now.
  void FollowSchedule() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const size_t max_previous_;
  const std::optional<TicketKeySchedule> schedule_;
  mutable Mutex mu_;
  mutable TicketKey current_ ABSL_GUARDED_BY(mu_);
  // Newest first.
  mutable std::deque<TicketKey> previous_ ABSL_GUARDED_BY(mu_);
  // When each key started issuing (self-rotating only): current_'s, and
  // previous_'s in the same order.
  mutable absl::Time current_since_ ABSL_GUARDED_BY(mu_);
  mutable std::deque<absl::Time> previous_since_ ABSL_GUARDED_BY(mu_);

  // Made by SelfRotating.
  TicketKeyRing(TicketKey current, TicketKeySchedule schedule);
};

// Implements the callback contract of SSL_CTX_set_tlsext_ticket_key_cb (see
// ssl.h) over |ring|; tls/ calls it from its registered callback.
//
// When |encrypt| is one: writes the current key's 16-byte name to |key_name|
// and a random 16-byte IV to |iv|, sets |cipher_ctx| up to encrypt with
// AES-256-CBC under the current key and |hmac_ctx| for HMAC-SHA256, and
// returns 1; -1 on an internal error.
//
// When |encrypt| is zero: finds the key named by the 16 bytes at |key_name|
// and sets |cipher_ctx| up to decrypt with it and the 16-byte |iv|, and
// |hmac_ctx| for HMAC-SHA256. Returns 0 when no key has that name (the ticket
// is ignored and a full handshake follows), 1 for the current key, 2 for a
// previous key (so that BoringSSL renews the ticket under the current key),
// and -1 on an internal error.
int TicketKeyCallback(TicketKeyRing& ring, uint8_t* key_name, uint8_t* iv,
                      EVP_CIPHER_CTX* cipher_ctx, HMAC_CTX* hmac_ctx,
                      int encrypt);

}  // namespace tlsession

#endif  // TLSESSION_SESSION_TICKET_KEYS_H_
