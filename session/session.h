// Session: a TLS session that a client can offer to resume a connection.
//
// A Session is an immutable, reference-counted value over BoringSSL's
// SSL_SESSION, in the spirit of CPython's ssl.SSLSession. Copies share the
// same underlying SSL_SESSION (BoringSSL's reference count is atomic and an
// established SSL_SESSION is never modified), so a Session may be copied and
// read from any number of threads.
//
// A Session is bound to the identity of the Context that made it (an opaque
// byte string that tls/ derives from the Context's whole configuration and
// stores as the SSL_SESSION's session-ID context). tls/ refuses to offer a
// Session to a Context with another identity, and FromBytes refuses bytes made
// under another identity. This layer knows nothing of sockets or of tls/.
#ifndef TLSESSION_SESSION_SESSION_H_
#define TLSESSION_SESSION_SESSION_H_

#include <openssl/ssl.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

#if !defined(OPENSSL_IS_BORINGSSL)
// @boringssl//:ssl puts its include directory ahead of /usr/include, where
// OpenSSL 3's headers live: reaching them means a dependency is missing.
#error "tlsession needs BoringSSL's headers (@boringssl//:ssl), not OpenSSL's"
#endif

namespace tlsession {

class Session {
 public:
  // An empty session: what a connection reports before its handshake.
  Session() = default;

  // Wraps |session|, taking ownership of the caller's reference. A null
  // |session| gives an empty Session.
  explicit Session(bssl::UniquePtr<SSL_SESSION> session);

  Session(const Session& other);
  Session& operator=(const Session& other);
  Session(Session&&) noexcept = default;
  Session& operator=(Session&&) noexcept = default;
  ~Session() = default;

  // True when this holds no session.
  bool empty() const { return session_ == nullptr; }
  explicit operator bool() const { return !empty(); }

  // The session ID bytes. Under TLS 1.3, and for TLS 1.2 tickets, servers do
  // not assign IDs: BoringSSL synthesizes one per ticket (a digest of the
  // ticket), so each ticket of a connection has a distinct id(). Empty for an
  // empty Session.
  std::string id() const;

  // When the session was established, and how long after that it may be
  // resumed (the lifetime the peer granted, capped by BoringSSL).
  absl::Time time() const;
  absl::Duration timeout() const;
  // time() + timeout().
  absl::Time expiry() const;

  // The server's ticket lifetime hint (zero when there is no ticket or the
  // server gave no hint).
  absl::Duration ticket_lifetime_hint() const;
  bool has_ticket() const;

  // The protocol version, e.g. TLS1_3_VERSION (0x0304); zero when empty.
  uint16_t protocol_version() const;

  // True when a client may offer this session to resume. A TLS 1.3 session
  // taken right after the handshake, before the server's tickets arrive, is
  // not resumable.
  bool is_resumable() const;

  // True for TLS 1.3 sessions, whose tickets must be used at most once
  // (RFC 8446, appendix C.4).
  bool is_single_use() const;

  // The opaque identity of the Context that made this session.
  std::string context_id() const;
  // Whether context_id() is |context_id|, without copying it.
  bool BelongsTo(absl::string_view context_id) const {
    return context_id_view() == context_id;
  }

  // The peer's leaf certificate's notAfter time, or absl::InfiniteFuture()
  // when the session holds no peer certificate.
  absl::Time peer_certificate_expiry() const;

  // The first moment this session may no longer be offered: the earliest of
  // expiry(), time() + ticket_lifetime_hint() (when there is a hint) and
  // peer_certificate_expiry() (resuming skips verification, so a session
  // must not outlive its certificate). InfinitePast() when empty. The one
  // rule every cache, store and file applies.
  absl::Time usable_until() const;
  bool IsUsableAt(absl::Time now) const { return now < usable_until(); }

  // The underlying SSL_SESSION; the caller does not take ownership. Null when
  // empty.
  SSL_SESSION* get() const { return session_.get(); }

  // Equality and hashing compare the context identity and id(). Two reads of
  // one connection's session compare equal; under TLS 1.3 two tickets of the
  // same connection do not (each has its own synthesized id). Whether a
  // handshake resumed is told by Connection::session_reused(), never by
  // comparing Sessions.
  friend bool operator==(const Session& a, const Session& b);
  friend bool operator!=(const Session& a, const Session& b) {
    return !(a == b);
  }
  template <typename H>
  friend H AbslHashValue(H h, const Session& s) {
    return H::combine(std::move(h), s.context_id_view(), s.id());
  }

  // Serializes the session, secrets included: treat the bytes as a key.
  absl::StatusOr<std::string> ToBytes() const;

  // Parses bytes made by ToBytes(). |ctx| is the SSL_CTX of the Context that
  // will use the session and |context_id| its identity; bytes made under
  // another identity, foreign or corrupted bytes give an error, never a crash.
  static absl::StatusOr<Session> FromBytes(absl::string_view bytes,
                                           const SSL_CTX* ctx,
                                           absl::string_view context_id);

  // Like FromBytes, without checking the context identity: for stores that
  // check it themselves when they hand a session out (ClientSessionCache).
  static absl::StatusOr<Session> ParseUnchecked(absl::string_view bytes,
                                                const SSL_CTX* ctx);

 private:
  // context_id()'s bytes, inside the SSL_SESSION: valid while this Session
  // holds it.
  absl::string_view context_id_view() const;

  bssl::UniquePtr<SSL_SESSION> session_;
};

}  // namespace tlsession

#endif  // TLSESSION_SESSION_SESSION_H_
