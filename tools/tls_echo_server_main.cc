// tls_echo_server: a TLS server that echoes what it receives, for running a
// fleet of instances that resume each other's sessions through Redis.
//
//   tls_echo_server --port 8443 --cert server.pem --key server.key
//       --session-store redis://127.0.0.1:6379
//       --ticket-keys redis://127.0.0.1:6379
//       --redis-password-file redis.password --fleet-key fleet.key
//   (one command line)
//
// --session-store memory|redis://[[USER]:PASSWORD@]HOST:PORT
//     where TLS 1.2 session IDs are kept (default memory: this process).
//     Any Redis URL may be rediss:// (TLS), redis-sentinel://HOST:PORT[,...]
//     /MASTER_NAME or rediss-sentinel://... (the primary found through
//     Sentinel); --redis-cacert FILE, --redis-cert FILE, --redis-key FILE
//     configure TLS to Redis.
// --ticket-keys local|off|redis://...
//     local: random ticket keys of this process's own, a new one issuing
//     every --ticket-key-rotation (24h), each decrypting for
//     --ticket-key-lifetime (48h) from when it started issuing; off: no
//     tickets;
//     redis: the fleet's keys, rotated through Redis (TicketKeySync).
// --fleet-key FILE: required with Redis (0600, 32 bytes or more): every
//     value written to Redis is sealed under it.
// --early-data: accept TLS 1.3 0-RTT early data (echoed like any data),
//     each ticket's at most once: the single-use check runs in the session
//     store (this process's memory, or Redis with --session-store redis://).
// --client-auth none|required, --client-ca FILE: ask for a client
//     certificate chaining to FILE's CAs and fail without one. The fleet's
//     session-ID context covers both (and the certificate), so a session
//     made where no certificate was asked for never resumes here.
// --metrics-address ADDRESS:PORT: serves the counters in Prometheus's text
//     format on GET http://ADDRESS:PORT/metrics (PORT 0: any free port).
// Prints "metrics on ADDRESS:PORT" (with --metrics-address), then
// "listening on ADDRESS:PORT" once it accepts connections, one line per
// connection on stderr, and its counters on SIGUSR1 and at exit (SIGTERM,
// SIGINT).
#include <signal.h>
#include <stdio.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "base/flags.h"
#include "fleet/echo_server.h"
#include "fleet/fleet_setup.h"
#include "fleet/metrics_endpoint.h"
#include "fleet/metrics_text.h"
#include "tls/context.h"
#include "tls/socket.h"

namespace tlsession::fleet {
namespace {

// Everything the command line sets.
struct Flags {
  std::string address = "127.0.0.1";
  int port = 0;
  std::string cert, key;
  uint16_t max_version = TLS1_3_VERSION;
  absl::Duration session_timeout = absl::Hours(2);
  std::string name;
  std::string metrics_address;  // Empty: no metrics endpoint.
  bool early_data = false;
  std::string client_auth = "none";  // none | required
  std::string client_ca;             // Trust roots for client certificates.
  // --session-store and --ticket-keys as typed; ParseModeFlags turns them
  // into fleet's enums.
  std::string session_store = "memory";
  std::string ticket_keys = "local";
  FleetServerConfig fleet;
};

std::vector<CliFlag> FlagTable(Flags* f) {
  TicketKeySync::Config& t = f->fleet.ticket_sync;
  std::vector<CliFlag> table = {
      {"--address", "address to listen on (127.0.0.1)", SetString(&f->address)},
      {"--port", "port to listen on (0: any free port)", SetInt(&f->port)},
      {"--cert", "certificate chain file (PEM, leaf first)",
       SetString(&f->cert)},
      {"--key", "private key file (PEM)", SetString(&f->key)},
      {"--max-version", "highest TLS version: 1.2 or 1.3 (1.3)",
       SetTlsVersion(&f->max_version)},
      {"--session-store", "memory | redis://[[USER]:PASSWORD@]HOST:PORT",
       SetString(&f->session_store)},
      {"--ticket-keys", "local | off | redis://[[USER]:PASSWORD@]HOST:PORT",
       SetString(&f->ticket_keys)},
      {"--fleet-key", "fleet key file, 0600 (required with Redis)",
       SetString(&f->fleet.fleet_key_file)},
      {"--redis-password-file", "the Redis password (overrides the URL's)",
       SetString(&f->fleet.redis_password_file)},
      {"--redis-cacert", "rediss://: CA certificates (PEM) for Redis",
       SetString(&f->fleet.redis_tls.ca_file)},
      {"--redis-cert", "rediss://: client certificate (PEM) for Redis",
       SetString(&f->fleet.redis_tls.cert_file)},
      {"--redis-key", "rediss://: the client certificate's key (PEM)",
       SetString(&f->fleet.redis_tls.key_file)},
      {"--redis-timeout", "bound of a session lookup in Redis (5ms)",
       SetDuration(&f->fleet.redis_timeout)},
      {"--session-timeout", "how long sessions and tickets resume (2h)",
       SetDuration(&f->session_timeout)},
      {"--ticket-key-rotation",
       "local ticket keys: each key issues this long (24h)",
       SetDuration(&f->fleet.local_ticket_keys.rotation)},
      {"--ticket-key-lifetime",
       "local ticket keys: each decrypts this long from its first issue (48h)",
       SetDuration(&f->fleet.local_ticket_keys.lifetime)},
      {"--ticket-rotation", "Redis ticket keys: each key issues this long (1h)",
       SetDuration(&t.rotation_period)},
      {"--ticket-lead", "Redis ticket keys: a new key only decrypts first (1m)",
       SetDuration(&t.publish_lead)},
      {"--ticket-grace", "Redis ticket keys: an old key still decrypts (2h)",
       SetDuration(&t.grace)},
      {"--ticket-sync", "Redis ticket keys: how often to read them (10s)",
       SetDuration(&t.sync_interval)},
      {"--name", "a name for this instance in its output", SetString(&f->name)},
      {"--client-auth", "none | required: client certificates (none)",
       SetString(&f->client_auth)},
      {"--client-ca", "CA certificates (PEM) client certificates must chain to",
       SetString(&f->client_ca)},
      {"--metrics-address",
       "serve Prometheus metrics on http://ADDRESS:PORT/metrics",
       SetString(&f->metrics_address)},
      CliSwitch("--early-data", {},
                "accept 0-RTT early data, each ticket's once (single-use "
                "check in the session store)",
                &f->early_data),
  };
  // Their Redis URLs may hold a password: masked in argv once read.
  for (CliFlag& f : table) {
    if (f.name == "--session-store" || f.name == "--ticket-keys")
      f.url_secret = true;
  }
  return table;
}

// Sets |f|'s fleet modes from the --session-store and --ticket-keys values;
// returns the parse error that names the flag at fault.
absl::Status ParseModeFlags(Flags& f) {
  absl::StatusOr<SessionStoreSetting> store =
      ParseSessionStoreSetting(f.session_store);
  if (!store.ok()) return store.status();
  absl::StatusOr<TicketKeySetting> keys = ParseTicketKeySetting(f.ticket_keys);
  if (!keys.ok()) return keys.status();
  f.fleet.session_store = *std::move(store);
  f.fleet.ticket_keys = *std::move(keys);
  if (f.early_data && f.fleet.ticket_keys.mode == TicketKeyMode::kRedis &&
      f.fleet.session_store.mode == SessionStoreMode::kMemory) {
    fprintf(stderr,
            "tls_echo_server: warning: --early-data with fleet ticket keys "
            "but --session-store memory: a ticket's early data replayed to "
            "another instance is accepted there too (use --session-store "
            "redis://...)\n");
  }
  return absl::OkStatus();
}

absl::StatusOr<ContextOptions> BaseOptions(const Flags& f) {
  ContextOptions o;
  o.role = Role::kServer;
  o.certificate_chain_file = f.cert;
  o.private_key_file = f.key;
  if (o.certificate_chain_file.empty() || o.private_key_file.empty()) {
    return absl::InvalidArgumentError("--cert and --key are required");
  }
  o.max_version = f.max_version;
  o.session_timeout = f.session_timeout;
  o.early_data = f.early_data;
  if (f.client_auth == "required") {
    if (f.client_ca.empty()) {
      return absl::InvalidArgumentError(
          "--client-auth required needs --client-ca FILE");
    }
    o.require_client_certificate = true;
    o.ca_file = f.client_ca;
  } else if (f.client_auth != "none") {
    return absl::InvalidArgumentError("--client-auth must be none or required");
  }
  if (f.port < 0 || f.port > 65535) {
    return absl::InvalidArgumentError("--port must be 0 to 65535");
  }
  return o;
}

std::string Stats(const std::string& name, const EchoServer& server,
                  const FleetServer& fleet) {
  const EchoServer::Metrics e = server.metrics();
  std::string out =
      absl::StrCat(name, "stats: handshakes=", e.handshakes,
                   " resumed=", e.resumed, " failed=", e.handshake_failures,
                   " probes=", e.probes, " early_data=", e.early_data);
  if (fleet.session_store) {
    const RedisServerSessionStore::Metrics m = fleet.session_store->metrics();
    absl::StrAppend(&out, " store: hits=", m.hits, " local_hits=", m.local_hits,
                    " misses=", m.misses, " errors=", m.errors,
                    " rejected=", m.rejected, " timeouts=", m.timeouts,
                    " skipped=", m.skipped, " redis_gets=", m.redis_gets,
                    " writes=", m.writes, " write_failures=", m.write_failures,
                    " dropped_writes=", m.dropped_writes,
                    " early_data_claims=", m.early_data_claims,
                    " early_data_replays=", m.early_data_replays,
                    " early_data_failures=", m.early_data_failures);
    const RedisClient::Metrics r = fleet.session_store->redis().metrics();
    absl::StrAppend(&out, " redis: redis_connects=", r.connects,
                    " redis_tls_handshakes=", r.tls_handshakes,
                    " redis_tls_resumed=", r.tls_resumed,
                    " redis_discoveries=", r.discoveries,
                    " redis_failovers=", r.failovers);
  }
  if (fleet.ticket_sync) {
    const TicketKeySync::Metrics t = fleet.ticket_sync->metrics();
    absl::StrAppend(&out, " tickets: syncs=", t.syncs,
                    " sync_failures=", t.sync_failures,
                    " published=", t.published, " rejected=", t.rejected,
                    " holder=", t.holder, " keys=", t.keys,
                    " epoch=", t.issuing_epoch, " local_key=", t.issuing_local);
  }
  return out;
}

// Starts the metrics endpoint that --metrics-address asks for on |server|
// and |fleet| (which must outlive it) and prints where it listens; null
// without the flag.
absl::StatusOr<std::unique_ptr<MetricsEndpoint>> StartMetrics(
    const Flags& flags, const EchoServer& server, const FleetServer& fleet) {
  if (flags.metrics_address.empty()) return nullptr;
  const absl::string_view text = flags.metrics_address;
  const size_t colon = text.rfind(':');
  int port = -1;
  if (colon == absl::string_view::npos ||
      !absl::SimpleAtoi(text.substr(colon + 1), &port) || port < 0 ||
      port > 65535) {
    return absl::InvalidArgumentError(
        "--metrics-address must be ADDRESS:PORT (PORT 0 to 65535)");
  }
  absl::string_view host = text.substr(0, colon);
  if (absl::ConsumePrefix(&host, "[")) absl::ConsumeSuffix(&host, "]");
  absl::StatusOr<TcpListener> listener =
      TcpListener::Listen(host, static_cast<uint16_t>(port), 16);
  if (!listener.ok()) {
    return absl::Status(
        listener.status().code(),
        absl::StrCat("--metrics-address: ", listener.status().message()));
  }
  auto endpoint = MetricsEndpoint::Start(
      *std::move(listener),
      [&server, &fleet] {
        return FleetMetricsText(SnapshotFleetMetrics(server, fleet));
      },
      MetricsEndpoint::Options());
  if (endpoint.ok()) {
    printf("%smetrics on %s:%u\n",
           flags.name.empty() ? "" : absl::StrCat(flags.name, ": ").c_str(),
           std::string(text.substr(0, colon)).c_str(), (*endpoint)->port());
  }
  return endpoint;
}

int Run(Flags& flags) {
  flags.fleet.ticket_sync.lease = 3 * flags.fleet.ticket_sync.sync_interval;
  absl::StatusOr<ContextOptions> options = BaseOptions(flags);
  if (!options.ok()) {
    fprintf(stderr, "tls_echo_server: %s\n",
            std::string(options.status().message()).c_str());
    return 2;
  }
  // Signals are taken by sigwait below, never by the threads started next.
  sigset_t signals;
  sigemptyset(&signals);
  for (int s : {SIGTERM, SIGINT, SIGUSR1}) sigaddset(&signals, s);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  absl::StatusOr<FleetServer> fleet =
      ApplyFleetServerConfig(flags.fleet, &*options);
  absl::StatusOr<std::shared_ptr<const Context>> context =
      fleet.ok()
          ? Context::Create(*std::move(options))
          : absl::StatusOr<std::shared_ptr<const Context>>(fleet.status());
  absl::StatusOr<TcpListener> listener =
      context.ok() ? TcpListener::Listen(flags.address,
                                         static_cast<uint16_t>(flags.port), 512)
                   : absl::StatusOr<TcpListener>(context.status());
  if (!listener.ok()) {
    fprintf(stderr, "tls_echo_server: %s\n",
            std::string(listener.status().message()).c_str());
    return 1;
  }
  const std::string name =
      flags.name.empty() ? "" : absl::StrCat(flags.name, ": ");
  EchoServer::Options server_options;
  server_options.log = [name](const std::string& line) {
    fprintf(stderr, "%s%s\n", name.c_str(), line.c_str());
  };
  auto server =
      EchoServer::Start(*context, *std::move(listener), server_options);
  if (!server.ok()) {
    fprintf(stderr, "tls_echo_server: %s\n",
            std::string(server.status().message()).c_str());
    return 1;
  }
  absl::StatusOr<std::unique_ptr<MetricsEndpoint>> metrics =
      StartMetrics(flags, **server, *fleet);
  if (!metrics.ok()) {
    fprintf(stderr, "tls_echo_server: %s\n",
            std::string(metrics.status().message()).c_str());
    return 1;
  }
  printf("%slistening on %s:%u\n", name.c_str(), flags.address.c_str(),
         (*server)->port());
  fflush(stdout);
  for (;;) {
    int sig = 0;
    if (sigwait(&signals, &sig) != 0) continue;
    fprintf(stderr, "%s\n", Stats(name, **server, *fleet).c_str());
    if (sig != SIGUSR1) break;
  }
  if (*metrics) (*metrics)->Stop();
  (*server)->Stop();
  return 0;
}

}  // namespace
}  // namespace tlsession::fleet

int main(int argc, char** argv) {
  tlsession::fleet::Flags flags;
  const auto table = tlsession::fleet::FlagTable(&flags);
  if (std::optional<int> code = tlsession::ParseCliOrExitCode(
          argc, argv, table, "tls_echo_server",
          "tls_echo_server --cert FILE --key FILE [FLAGS]")) {
    return *code;
  }
  if (absl::Status s = tlsession::fleet::ParseModeFlags(flags); !s.ok()) {
    fprintf(stderr, "tls_echo_server: %s\n", std::string(s.message()).c_str());
    return 2;
  }
  return tlsession::fleet::Run(flags);
}
