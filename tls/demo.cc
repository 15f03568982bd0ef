// The demo: a TLS server and client on loopback, both built with tlsession.
// For TLS 1.3 and TLS 1.2 it makes a full handshake, then a resumed one with
// the first connection's session, then a third through the session cache,
// and prints each with session_reused and
// the time each took. Exits non-zero if a resumption did not happen.
//
// Honours SSLKEYLOGFILE for Wireshark, as curl and browsers do.
#include <cstdio>

#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "tests/testing/certs.h"
#include "tests/testing/tls_server.h"
#include "tls/connection.h"
#include "tls/context.h"

namespace tlsession {
namespace {

struct Result {
  bool reused = false;
  absl::Duration took;
  Session session;
};

absl::StatusOr<Result> Handshake(const std::shared_ptr<const Context>& client,
                                 uint16_t port, const Session& offer,
                                 const char* label) {
  const absl::Time start = absl::Now();
  auto conn = Connection::Connect(client, "localhost", port, offer);
  const absl::Duration took = absl::Now() - start;
  if (!conn.ok()) return conn.status();
  Result r;
  r.reused = (*conn)->session_reused();
  r.took = took;
  auto session = (*conn)->WaitForSession(absl::Seconds(5));
  if (!session.ok()) return session.status();
  r.session = *session;
  absl::PrintF("  %-9s %s %-44s session_reused=%-5s %8.3f ms\n", label,
               (*conn)->version_name(), (*conn)->cipher_name(),
               r.reused ? "true" : "false",
               absl::ToDoubleMilliseconds(took));
  if (absl::Status s = (*conn)->Shutdown(); !s.ok()) return s;
  return r;
}

int Run() {
  const testing::TestPki& pki = testing::GetTestPki();
  bool all_resumed = true;
  for (uint16_t version : {TLS1_3_VERSION, TLS1_2_VERSION}) {
    ContextOptions server_options;
    server_options.role = Role::kServer;
    server_options.certificate_chain_pem = pki.server.cert_pem;
    server_options.private_key_pem = pki.server.key_pem;
    server_options.max_version = version;
    auto server_ctx = Context::Create(server_options);
    if (!server_ctx.ok()) {
      absl::FPrintF(stderr, "server context: %s\n",
                    server_ctx.status().ToString());
      return 1;
    }
    auto server = testing::TestTlsServer::Start(*server_ctx);
    if (!server.ok()) {
      absl::FPrintF(stderr, "server: %s\n", server.status().ToString());
      return 1;
    }
    ContextOptions client_options;
    client_options.ca_pem = pki.ca.cert_pem;  // Verify the demo server.
    client_options.max_version = version;
    client_options.keylog_file = KeyLogFileFromEnvironment();
    // A session cache: connections made from this context look it up and
    // fill it themselves.
    auto cache = std::make_shared<ClientSessionCache>();
    client_options.session_cache = cache;
    auto client = Context::Create(client_options);
    if (!client.ok()) {
      absl::FPrintF(stderr, "client context: %s\n",
                    client.status().ToString());
      return 1;
    }
    absl::PrintF("%s server on 127.0.0.1:%d\n",
                 version == TLS1_3_VERSION ? "TLS 1.3" : "TLS 1.2",
                 (*server)->port());
    // A first connection warms up code paths; the next ones are measured.
    if (auto warm = Connection::Connect(*client, "localhost", (*server)->port());
        warm.ok()) {
      (void)(*warm)->Shutdown();
    }
    cache->Flush();
    auto full = Handshake(*client, (*server)->port(), Session(), "full:");
    if (!full.ok()) {
      absl::FPrintF(stderr, "full handshake: %s\n", full.status().ToString());
      return 1;
    }
    auto resumed =
        Handshake(*client, (*server)->port(), full->session, "resumed:");
    if (!resumed.ok()) {
      absl::FPrintF(stderr, "resumed handshake: %s\n",
                    resumed.status().ToString());
      return 1;
    }
    // No session passed by hand: the cache offers one.
    auto cached = Handshake(*client, (*server)->port(), Session(), "cached:");
    if (!cached.ok()) {
      absl::FPrintF(stderr, "cached handshake: %s\n",
                    cached.status().ToString());
      return 1;
    }
    const ClientSessionCache::Metrics m = cache->metrics();
    absl::PrintF(
        "  cache: %d hits, %d misses, %d insertions, %d evictions, "
        "%d expirations, %d sessions held\n",
        m.hits, m.misses, m.insertions, m.evictions, m.expirations,
        cache->session_count());
    all_resumed = all_resumed && resumed->reused && cached->reused &&
                  !full->reused;
    absl::PrintF("  resumed handshake took %.1f%% of the full one\n\n",
                 100.0 * absl::FDivDuration(resumed->took, full->took));
  }
  if (!all_resumed) {
    absl::FPrintF(stderr, "a second handshake did not resume\n");
    return 1;
  }
  absl::PrintF("OK: every second handshake resumed the first's session\n");
  return 0;
}

}  // namespace
}  // namespace tlsession

int main() { return tlsession::Run(); }
