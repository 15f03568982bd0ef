// Client sessions made in memory, with no handshake and no socket, for the
// session layer's unit tests (the way Chromium tests its session cache). The
// clock the tests move, and NowSeconds(), are in test_clock.h (included).
//
// A session is built as BoringSSL's own serialization (the SSL_SESSION
// ASN.1 structure of ssl/ssl_asn1.cc) and parsed with
// SSL_SESSION_from_bytes, so every field a cache or a file looks at can be
// chosen (version, ticket, ID, session-ID context, time, timeout, ticket
// lifetime hint, peer certificate) and the result serializes like a real
// one. MakeSession checks the result through the Session accessors and
// aborts the test binary when BoringSSL disagrees with the spec.
#ifndef TLSESSION_TESTS_TESTING_TEST_SESSIONS_H_
#define TLSESSION_TESTS_TESTING_TEST_SESSIONS_H_

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "session/session.h"
#include "tests/testing/test_clock.h"

namespace tlsession::testing {

struct SessionSpec {
  // TLS1_3_VERSION makes a single-use ticket; TLS1_2_VERSION a reusable
  // session (by ID, or by ticket when |tls12_ticket|).
  uint16_t version = TLS1_3_VERSION;
  // The Context identity the session belongs to (its session-ID context).
  std::string context_id = "test context";
  // When it was established, and for how long it may be resumed.
  absl::Time time = NowSeconds();
  absl::Duration timeout = absl::Hours(2);
  // The server's ticket lifetime hint; zero for none.
  absl::Duration ticket_lifetime_hint = absl::ZeroDuration();
  // TLS 1.2 only: a ticket session rather than a session-ID one.
  bool tls12_ticket = false;
  // False: neither a session ID nor a ticket, so not resumable (like a TLS
  // 1.3 session read before the server's tickets arrive).
  bool resumable = true;
  // The peer's leaf certificate, when the session should carry one.
  const X509* peer = nullptr;
  // The master secret; random (32 bytes for TLS 1.3, 48 for 1.2) if empty.
  std::string secret;
};

// Builds the session |spec| describes; each call a distinct one (its own
// random ticket or session ID). Aborts when BoringSSL refuses it.
Session MakeSession(const SessionSpec& spec);

// Shorthands: a TLS 1.3 ticket and a TLS 1.2 session-ID session of
// |context_id|, established at |time| (now by default).
Session Tls13Ticket(absl::string_view context_id,
                    absl::Time time = NowSeconds());
Session Tls12Session(absl::string_view context_id,
                     absl::Time time = NowSeconds());

}  // namespace tlsession::testing

#endif  // TLSESSION_TESTS_TESTING_TEST_SESSIONS_H_
