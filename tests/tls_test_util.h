// Small helpers shared by the tls/ tests.
#ifndef TLSESSION_TESTS_TLS_TEST_UTIL_H_
#define TLSESSION_TESTS_TLS_TEST_UTIL_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "testbed/certs.h"
#include "tls/connection.h"
#include "tls/context.h"

namespace tlsession::testing {

// A status message as std::string, for gMock matchers (Debian's Abseil has
// its own string_view, which gMock prints byte by byte).
inline std::string Msg(const absl::Status& s) {
  return std::string(s.message());
}

// The three ways a handshake can resume.
enum class Resumption { kTls12SessionId, kTls12Ticket, kTls13 };

inline std::string ResumptionName(Resumption r) {
  switch (r) {
    case Resumption::kTls12SessionId:
      return "tls12_sid";
    case Resumption::kTls12Ticket:
      return "tls12_ticket";
    case Resumption::kTls13:
      return "tls13";
  }
  return "?";
}

// Server options with the test PKI's localhost certificate, configured so
// that only |mode| can resume.
inline ContextOptions ServerOptions(Resumption mode = Resumption::kTls13,
                                    KeyType key_type = KeyType::kEcdsaP256) {
  const TestPki& pki = GetTestPki(key_type);
  ContextOptions o;
  o.role = Role::kServer;
  o.certificate_chain_pem = pki.server.cert_pem;
  o.private_key_pem = pki.server.key_pem;
  o.ca_pem = pki.ca.cert_pem;  // For client certificates, when required.
  o.io_timeout = absl::Seconds(10);
  if (mode != Resumption::kTls13) o.max_version = TLS1_2_VERSION;
  if (mode == Resumption::kTls12SessionId) o.session_tickets = false;
  if (mode == Resumption::kTls12Ticket) o.session_id_cache = false;
  return o;
}

// Client options trusting the test CA.
inline ContextOptions ClientOptions(KeyType key_type = KeyType::kEcdsaP256) {
  ContextOptions o;
  o.ca_pem = GetTestPki(key_type).ca.cert_pem;
  o.io_timeout = absl::Seconds(10);
  return o;
}

inline std::shared_ptr<const Context> MustCreate(ContextOptions o) {
  absl::StatusOr<std::shared_ptr<const Context>> c =
      Context::Create(std::move(o));
  if (!c.ok()) {
    fprintf(stderr, "Context::Create: %s\n", c.status().ToString().c_str());
    abort();
  }
  return *c;
}

// What one client connection saw.
struct ClientRun {
  bool reused = false;
  Session session;  // A resumable session for the next connection.
  std::string version;
};

// Connects to 127.0.0.1:|port| as "localhost" (or |host|), offers |offer|,
// waits for a resumable session, exchanges one echo and shuts down cleanly.
inline absl::StatusOr<ClientRun> RunClient(
    const std::shared_ptr<const Context>& ctx, uint16_t port,
    const Session& offer = Session(), const std::string& host = "localhost") {
  absl::StatusOr<OwnedFd> fd = ConnectTcp("127.0.0.1", port, absl::Seconds(10));
  if (!fd.ok()) return fd.status();
  auto conn = Connection::Create(ctx, std::move(*fd), host);
  if (!conn.ok()) return conn.status();
  if (!offer.empty()) {
    if (absl::Status s = (*conn)->set_session(offer); !s.ok()) return s;
  }
  if (absl::Status s = (*conn)->Handshake(); !s.ok()) return s;
  ClientRun run;
  run.reused = (*conn)->session_reused();
  run.version = (*conn)->version_name();
  absl::StatusOr<Session> session = (*conn)->WaitForSession(absl::Seconds(5));
  if (!session.ok()) return session.status();
  run.session = *session;
  if (absl::Status s = (*conn)->Write("ping"); !s.ok()) return s;
  char buf[4];
  size_t got = 0;
  while (got < sizeof(buf)) {
    absl::StatusOr<size_t> n = (*conn)->Read(buf + got, sizeof(buf) - got);
    if (!n.ok()) return n.status();
    if (*n == 0) return absl::DataLossError("echo server closed early");
    got += *n;
  }
  if (std::string(buf, 4) != "ping") return absl::DataLossError("bad echo");
  if (absl::Status s = (*conn)->Shutdown(); !s.ok()) return s;
  return run;
}

// Returns a client connection, owned by the caller, to 127.0.0.1:|port|
// verified as "localhost", offering |offer| when it is not empty, after its
// handshake (10 s timeouts).
inline absl::StatusOr<std::unique_ptr<Connection>> ConnectLocal(
    const std::shared_ptr<const Context>& ctx, uint16_t port,
    const Session& offer = Session()) {
  absl::StatusOr<OwnedFd> fd = ConnectTcp("127.0.0.1", port, absl::Seconds(10));
  if (!fd.ok()) return fd.status();
  absl::StatusOr<std::unique_ptr<Connection>> conn =
      Connection::Create(ctx, std::move(*fd), "localhost");
  if (!conn.ok()) return conn.status();
  (*conn)->set_timeout(absl::Seconds(10));
  if (!offer.empty()) {
    if (absl::Status s = (*conn)->set_session(offer); !s.ok()) return s;
  }
  if (absl::Status s = (*conn)->Handshake(); !s.ok()) return s;
  return conn;
}

}  // namespace tlsession::testing

#endif  // TLSESSION_TESTS_TLS_TEST_UTIL_H_
