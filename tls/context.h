// Context: the frozen configuration that TLS connections are made from.
//
// Build a ContextOptions, then Context::Create() it. A Context never changes
// after that: its whole configuration (role, versions, ciphers, groups, ALPN,
// trust roots, verification mode, own certificate and key) is digested into
// id(), the identity that sessions made under it carry. A session is only
// ever offered to a Context with the same identity, so a changed
// configuration can never resume a session made under the old one.
//
// Secure defaults: TLS 1.2 minimum and 1.3 maximum, ECDHE key exchange with
// AEAD ciphers only, the system trust store, certificate chain and host name
// verification on. Turning verification off takes the explicitly named
// insecure_skip_verify option and prints a warning on stderr.
//
// A Context is immutable and may be shared by any number of threads.
#ifndef TLSESSION_TLS_CONTEXT_H_
#define TLSESSION_TLS_CONTEXT_H_

#include <openssl/ssl.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "session/client_session_cache.h"
#include "session/server_session_store.h"
#include "session/session.h"
#include "session/ticket_keys.h"

namespace tlsession {

enum class Role { kClient, kServer };

// ECDHE key exchange with AEAD ciphers, for TLS 1.2. TLS 1.3's suites are
// all AEAD with (EC)DHE and are not configurable in BoringSSL.
inline constexpr absl::string_view kDefaultCipherList =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

inline constexpr absl::string_view kSystemTrustStore =
    "/etc/ssl/certs/ca-certificates.crt";

struct ContextOptions {
  Role role = Role::kClient;

  // Protocol versions, e.g. TLS1_2_VERSION, TLS1_3_VERSION.
  uint16_t min_version = TLS1_2_VERSION;
  uint16_t max_version = TLS1_3_VERSION;
  // TLS 1.2 cipher suites, in OpenSSL's cipher-list syntax; every entry must
  // be known (BoringSSL's strict parsing).
  std::string cipher_list = std::string(kDefaultCipherList);
  // Key exchange groups.
  std::string groups = "X25519:P-256:P-384";
  // ALPN protocols in preference order ("h2", "ftp", ...). A client offers
  // them; a server picks the first of its own that the client offers.
  std::vector<std::string> alpn_protocols;

  // Trust roots for verifying the peer. When all three are empty, the system
  // store kSystemTrustStore is used.
  std::string ca_file;  // PEM bundle.
  std::string ca_dir;   // OpenSSL hashed directory.
  std::string ca_pem;   // PEM certificates in memory.

  // Clients: skip certificate chain and host name verification. Anyone on the
  // path can then impersonate the server. Named so it is never set by
  // accident; Create() prints a warning on stderr when it is set.
  bool insecure_skip_verify = false;

  // This side's certificate chain (leaf first) and private key: required for
  // a server, optional client certificate for a client. From files or PEM.
  std::string certificate_chain_file;
  std::string private_key_file;
  std::string certificate_chain_pem;
  std::string private_key_pem;

  // Servers: ask for a client certificate and fail without a valid one.
  bool require_client_certificate = false;

  // Servers: stateful resumption by session ID. Sessions are kept in
  // |session_store| (serialized, so a store shared by a fleet of servers can
  // plug in); when it is null, an InMemoryServerSessionStore of
  // |session_cache_size| entries.
  bool session_id_cache = true;
  size_t session_cache_size = 20480;
  std::shared_ptr<ServerSessionStore> session_store;
  // Servers: how long a session may be resumed (TLS 1.2 and 1.3).
  absl::Duration session_timeout = absl::Hours(2);
  // Servers: stateless resumption with session tickets, and how many TLS 1.3
  // tickets to send after each handshake.
  bool session_tickets = true;
  size_t tls13_tickets = 2;
  // Servers: ticket encryption keys. The ring's current key issues tickets
  // and its previous keys still decrypt (such tickets are renewed); rotate it
  // at any time with TicketKeyRing::Rotate. Servers behind one name share a
  // ring's keys (and session_id_context). When null, BoringSSL generates and
  // rotates its own keys every two days.
  std::shared_ptr<TicketKeyRing> ticket_keys;
  // Servers: the session-ID context. Empty means id(). Servers behind one
  // name that share ticket keys should set the same value.
  std::string session_id_context;

  // Clients: a cache that every connection made from this Context looks up
  // before its handshake and fills with the sessions it receives, so that
  // new connections to a peer resume with no code at the call site. May be
  // shared by several Contexts and threads; keyed by the Context's identity,
  // host, port and ALPN list. Not part of the identity.
  std::shared_ptr<ClientSessionCache> session_cache;

  // Appends NSS key-log lines (for Wireshark) to this file when not empty.
  // See KeyLogFileFromEnvironment().
  std::string keylog_file;

  // Default timeout for each blocking operation of a Connection.
  absl::Duration io_timeout = absl::Seconds(30);
};

// The value of $SSLKEYLOGFILE, or "" when unset: what curl and browsers
// honour. Tools set ContextOptions::keylog_file from it.
std::string KeyLogFileFromEnvironment();

class Context {
 public:
  // Validates |options| and builds a frozen Context. Errors name the option
  // and BoringSSL's reason (for example an unreadable CA file).
  static absl::StatusOr<std::shared_ptr<const Context>> Create(
      ContextOptions options);

  ~Context();
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;

  Role role() const { return options_.role; }
  const ContextOptions& options() const { return options_; }

  // The 32-byte identity of this configuration: a SHA-256 over every option
  // that decides whom a connection trusts or is. Equal configurations give
  // equal identities, across processes too, which is what lets a persisted
  // session resume after a restart.
  const std::string& id() const { return id_; }

  // The BoringSSL context; owned by this Context.
  SSL_CTX* ssl_ctx() const { return ctx_.get(); }

  // Parses a Session serialized with Session::ToBytes() for use with this
  // Context. Fails on foreign, corrupted or other-context bytes.
  absl::StatusOr<Session> SessionFromBytes(absl::string_view bytes) const;

  // The Context that owns |ctx|, or null. For BoringSSL callbacks.
  static const Context* FromSslCtx(const SSL_CTX* ctx);

  // Servers: the session-ID store in use (null when session_id_cache is off).
  ServerSessionStore* session_store() const {
    return options_.session_store.get();
  }

 private:
  class KeyLog;
  Context(ContextOptions options, bssl::UniquePtr<SSL_CTX> ctx, std::string id,
          std::unique_ptr<KeyLog> keylog);
  static void KeyLogCallback(const SSL* ssl, const char* line);

  const ContextOptions options_;
  const bssl::UniquePtr<SSL_CTX> ctx_;
  const std::string id_;
  const std::unique_ptr<KeyLog> keylog_;
};

}  // namespace tlsession

#endif  // TLSESSION_TLS_CONTEXT_H_
