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
#include "testbed/certs.h"
#include "testbed/tls_server.h"
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
               r.reused ? "true" : "false", absl::ToDoubleMilliseconds(took));
  if (absl::Status s = (*conn)->Shutdown(); !s.ok()) return s;
  return r;
}

// A client Context for |version| that verifies the demo server and fills
// |cache| itself.
absl::StatusOr<std::shared_ptr<const Context>> ClientContext(
    uint16_t version, std::shared_ptr<ClientSessionCache> cache) {
  ContextOptions options;
  options.ca_pem = testing::GetTestPki().ca.cert_pem;  // The demo server's.
  options.max_version = version;
  options.keylog_file = KeyLogFileFromEnvironment();
  options.session_cache = std::move(cache);
  return Context::Create(options);
}

// A full, a resumed (session passed by hand) and a cached handshake against
// a server of |version|; true when the last two resumed.
absl::StatusOr<bool> RunVersion(uint16_t version) {
  const testing::TestPki& pki = testing::GetTestPki();
  ContextOptions server_options;
  server_options.role = Role::kServer;
  server_options.certificate_chain_pem = pki.server.cert_pem;
  server_options.private_key_pem = pki.server.key_pem;
  server_options.max_version = version;
  auto server_ctx = Context::Create(server_options);
  if (!server_ctx.ok()) return server_ctx.status();
  auto server = testing::TestTlsServer::Start(*server_ctx);
  if (!server.ok()) return server.status();
  auto cache = std::make_shared<ClientSessionCache>();
  auto client = ClientContext(version, cache);
  if (!client.ok()) return client.status();
  const uint16_t port = (*server)->port();
  absl::PrintF("%s server on 127.0.0.1:%d\n",
               version == TLS1_3_VERSION ? "TLS 1.3" : "TLS 1.2", port);
  // A first connection warms up code paths; the next ones are measured.
  if (auto warm = Connection::Connect(*client, "localhost", port); warm.ok()) {
    (void)(*warm)->Shutdown();
  }
  cache->Clear();
  auto full = Handshake(*client, port, Session(), "full:");
  if (!full.ok()) return full.status();
  auto resumed = Handshake(*client, port, full->session, "resumed:");
  if (!resumed.ok()) return resumed.status();
  // No session passed by hand: the cache offers one.
  auto cached = Handshake(*client, port, Session(), "cached:");
  if (!cached.ok()) return cached.status();
  const ClientSessionCache::Metrics m = cache->metrics();
  absl::PrintF(
      "  cache: %d hits, %d misses, %d insertions, %d evictions, "
      "%d expirations, %d sessions held\n",
      m.hits, m.misses, m.insertions, m.evictions, m.expirations,
      cache->session_count().value_or(0));  // A memory store counts.
  absl::PrintF("  resumed handshake took %.1f%% of the full one\n\n",
               100.0 * absl::FDivDuration(resumed->took, full->took));
  return resumed->reused && cached->reused && !full->reused;
}

int Run() {
  bool all_resumed = true;
  for (uint16_t version : {TLS1_3_VERSION, TLS1_2_VERSION}) {
    absl::StatusOr<bool> resumed = RunVersion(version);
    if (!resumed.ok()) {
      absl::FPrintF(stderr, "demo: %s\n", resumed.status().ToString());
      return 1;
    }
    all_resumed = all_resumed && *resumed;
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
