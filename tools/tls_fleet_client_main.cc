// tls_fleet_client: connects to a TLS echo server --count times, each time
// offering a session from its session cache (in memory, or the fleet's
// Redis client store shared with other processes), sends a line, reads the
// echo and ends cleanly (close_notify), so the server's new sessions go back
// to the cache. Prints one line per connection: "connection 3: TLSv1.3
// resumed". Exits 1 when a connection failed.
//
//   tls_fleet_client --connect 127.0.0.1:8443 --servername localhost
//       --ca ca.pem --count 10 --session-store redis://127.0.0.1:6379
//       --redis-password-file redis.password --fleet-key fleet.key
//   (one command line)
#include <stdio.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "base/flags.h"
#include "fleet/fleet_setup.h"
#include "tls/connection.h"
#include "tls/context.h"

namespace tlsession::fleet {
namespace {

struct Flags {
  std::string connect;  // HOST:PORT
  std::string servername;
  std::string ca;
  int count = 1;
  uint16_t max_version = TLS1_3_VERSION;
  std::string session_store = "memory";
  std::string fleet_key;
  std::string redis_password_file;
  RedisTlsFiles redis_tls;
  absl::Duration redis_timeout = absl::Milliseconds(50);
  std::string message = "ping";
};

std::vector<CliFlag> FlagTable(Flags* f) {
  std::vector<CliFlag> table = {
      {"--connect", "HOST:PORT of the server", SetString(&f->connect)},
      {"--servername", "name to send (SNI) and verify (default: HOST)",
       SetString(&f->servername)},
      {"--ca", "trust the CA certificates in this PEM file", SetString(&f->ca)},
      {"--count", "connections to make, one after the other (1)",
       SetInt(&f->count)},
      {"--max-version", "highest TLS version: 1.2 or 1.3 (1.3)",
       SetTlsVersion(&f->max_version)},
      {"--session-store", "memory | redis://[[USER]:PASSWORD@]HOST:PORT",
       SetString(&f->session_store)},
      {"--fleet-key", "fleet key file, 0600 (required with Redis)",
       SetString(&f->fleet_key)},
      {"--redis-password-file", "the Redis password (overrides the URL's)",
       SetString(&f->redis_password_file)},
      {"--redis-cacert", "rediss://: CA certificates (PEM) for Redis",
       SetString(&f->redis_tls.ca_file)},
      {"--redis-cert", "rediss://: client certificate (PEM) for Redis",
       SetString(&f->redis_tls.cert_file)},
      {"--redis-key", "rediss://: the client certificate's key (PEM)",
       SetString(&f->redis_tls.key_file)},
      {"--redis-timeout", "bound of each Redis call (50ms)",
       SetDuration(&f->redis_timeout)},
      {"--message", "the line to send (ping)", SetString(&f->message)},
  };
  // Their Redis URLs may hold a password: masked in argv once read.
  for (CliFlag& f : table) {
    if (f.name == "--session-store") f.url_secret = true;
  }
  return table;
}

absl::StatusOr<ContextOptions> Options(const Flags& f) {
  ContextOptions o;
  o.ca_file = f.ca;
  o.max_version = f.max_version;
  o.io_timeout = absl::Seconds(10);
  absl::StatusOr<SessionStoreSetting> store =
      ParseSessionStoreSetting(f.session_store);
  if (!store.ok()) return store.status();
  if (store->mode == SessionStoreMode::kMemory) {
    o.session_cache = std::make_shared<ClientSessionCache>();
    return o;
  }
  SharedClientCacheOptions shared;
  shared.url = store->redis_url;
  shared.password_file = f.redis_password_file;
  shared.redis_tls = f.redis_tls;
  shared.fleet_key_file = f.fleet_key;
  shared.timeout = f.redis_timeout;
  absl::StatusOr<SharedClientCache> cache =
      MakeSharedClientSessionCache(shared);
  if (!cache.ok()) return cache.status();
  o.session_cache = cache->cache;
  return o;
}

// One connection: handshake, the server's tickets, one echo, a clean end.
absl::StatusOr<std::string> OneConnection(
    const std::shared_ptr<const Context>& context, const std::string& host,
    uint16_t port, const std::string& servername, const std::string& line) {
  absl::StatusOr<OwnedFd> fd = ConnectTcp(host, port, absl::Seconds(10));
  if (!fd.ok()) return fd.status();
  auto conn = Connection::Create(context, *std::move(fd), servername);
  if (!conn.ok()) return conn.status();
  if (absl::Status s = (*conn)->Handshake(); !s.ok()) return s;
  // TLS 1.3 tickets arrive after the handshake; wait for one.
  (void)(*conn)->WaitForSession(absl::Seconds(2));
  if (absl::Status s = (*conn)->Write(line + "\n"); !s.ok()) return s;
  std::string echo;
  char buf[256];
  while (echo.size() < line.size() + 1) {
    absl::StatusOr<size_t> n = (*conn)->Read(buf, sizeof(buf));
    if (!n.ok()) return n.status();
    if (*n == 0) return absl::DataLossError("the server closed early");
    echo.append(buf, *n);
  }
  if (echo != line + "\n") return absl::DataLossError("bad echo");
  (void)(*conn)->ProcessPendingMessages();  // Later tickets, if any.
  if (absl::Status s = (*conn)->Shutdown(); !s.ok()) return s;
  return absl::StrCat((*conn)->version_name(), " ",
                      (*conn)->session_reused() ? "resumed" : "full");
}

int Run(const Flags& f) {
  const size_t colon = f.connect.rfind(':');
  int port = 0;
  if (colon == std::string::npos ||
      !absl::SimpleAtoi(f.connect.substr(colon + 1), &port) || port < 1 ||
      port > 65535) {
    fprintf(stderr, "tls_fleet_client: --connect HOST:PORT is required\n");
    return 2;
  }
  const std::string host = f.connect.substr(0, colon);
  absl::StatusOr<ContextOptions> options = Options(f);
  absl::StatusOr<std::shared_ptr<const Context>> context =
      options.ok()
          ? Context::Create(*std::move(options))
          : absl::StatusOr<std::shared_ptr<const Context>>(options.status());
  if (!context.ok()) {
    fprintf(stderr, "tls_fleet_client: %s\n",
            std::string(context.status().message()).c_str());
    return 2;
  }
  int failures = 0;
  for (int i = 1; i <= f.count; ++i) {
    absl::StatusOr<std::string> result =
        OneConnection(*context, host, static_cast<uint16_t>(port),
                      f.servername.empty() ? host : f.servername, f.message);
    printf("connection %d: %s\n", i,
           result.ok()
               ? result->c_str()
               : absl::StrCat("FAILED: ", result.status().message()).c_str());
    fflush(stdout);
    failures += !result.ok();
  }
  return failures == 0 ? 0 : 1;
}

}  // namespace
}  // namespace tlsession::fleet

int main(int argc, char** argv) {
  tlsession::fleet::Flags flags;
  const auto table = tlsession::fleet::FlagTable(&flags);
  if (std::optional<int> code = tlsession::ParseCliOrExitCode(
          argc, argv, table, "tls_fleet_client",
          "tls_fleet_client --connect HOST:PORT [FLAGS]")) {
    return *code;
  }
  return tlsession::fleet::Run(flags);
}
