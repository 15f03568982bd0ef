// ContextOptions: everything a Context is configured with. See context.h
// for the Context built from it, and context_identity.h for which fields
// decide the Context's identity (the one list of them).
#ifndef TLSESSION_TLS_CONTEXT_OPTIONS_H_
#define TLSESSION_TLS_CONTEXT_OPTIONS_H_

#include <openssl/ssl.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "base/coarse_clock.h"
#include "session/client_session_cache.h"
#include "session/server_session_store.h"
#include "session/ticket_keys.h"

namespace tlsession {

enum class Role { kClient, kServer };

// ECDHE key exchange with AEAD ciphers, for TLS 1.2. TLS 1.3's suites are
// all AEAD with (EC)DHE and are not configurable in BoringSSL.
inline constexpr absl::string_view kDefaultCipherList =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

// The most early data (0-RTT) bytes a server accepts on one connection:
// BoringSSL's fixed limit (kMaxEarlyDataAccepted), advertised in every
// ticket it issues with early data enabled and enforced when reading.
inline constexpr size_t kMaxEarlyDataBytes = 14336;

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
  // Each source is read whole when the Context is created; later changes
  // to the files need a new Context (whose identity then differs).
  std::string ca_file;  // PEM bundle.
  std::string ca_dir;   // A folder of PEM files (an OpenSSL hashed folder).
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
  // |session_store|, which tls/ hands BoringSSL's session objects
  // (ServerSessionStore::PutSession/GetSession): the default
  // MemoryServerSessionStore keeps the objects themselves, and a store
  // shared by a fleet of servers (fleet/'s Redis store) gets them serialized
  // through the bytes interface. When null, an MemoryServerSessionStore of
  // |session_cache_size| entries on |clock|.
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
  // ring's keys (and session_id_context). TicketKeyRing::SelfRotating makes
  // a ring that rotates itself on a schedule. When null, BoringSSL generates
  // and rotates its own keys every two days.
  std::shared_ptr<TicketKeyRing> ticket_keys;
  // Servers: the session-ID context. Empty means id(). Servers behind one
  // name that share ticket keys should set the same value. The SSL_CTX's
  // context is then a digest of it with the certificate, the client-
  // certificate mode and its trust roots (ServerSessionIdContext in
  // context_identity.h), so servers that differ in those never resume each
  // other's sessions. At most 32 bytes.
  std::string session_id_context;

  // 0-RTT early data (RFC 8446, 2.3), off by default on both sides.
  // Clients: Connection::HandshakeWithEarlyData sends its bytes as early
  // data when the offered session allows it (a TLS 1.3 ticket of a server
  // that enables early data, for this Context's identity, peer and ALPN);
  // plain Handshake() never sends early data. Servers: accept early data,
  // up to kMaxEarlyDataBytes, only from a ticket that the single-use check
  // (ServerSessionStore::ClaimEarlyData on |session_store|) proves unused;
  // when the check fails or cannot be made, early data is rejected and the
  // handshake resumes as usual. With session_id_cache off, the default
  // MemoryServerSessionStore is still made, for that check alone. Early
  // data can be replayed by anyone on the path to a server whose store
  // does not see the first use; see README's "0-RTT" section. Not part of
  // the identity.
  bool early_data = false;

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

  // The clock sessions live by: BoringSSL's own (when a session was made,
  // whether it has expired, a TLS 1.3 ticket's age, on either side), read
  // through every call a Connection makes, and the clock of the server
  // session store Context::Create() makes when |session_store| is null.
  // Called from every thread that runs a handshake, so it must be
  // thread-safe; must not be empty. Tests set a clock they move
  // (tests/testing/test_clock.h) to expire sessions without sleeping. I/O
  // timeouts always run on the real clock. Not part of the identity.
  //
  // Stores and caches made by the caller keep their own clocks: a client
  // whose whole view of time should move gives |session_cache| the same
  // function (ClientSessionCache::Config::clock), as a server does to a
  // |session_store| it makes (MemoryServerSessionStore::Config::clock).
  std::function<absl::Time()> clock = CoarseNow;
};

}  // namespace tlsession

#endif  // TLSESSION_TLS_CONTEXT_OPTIONS_H_
