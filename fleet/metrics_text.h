// A fleet server's counters as Prometheus text (base/prometheus_text.h):
// what `tls_echo_server --metrics-address` serves on GET /metrics.
#ifndef TLSESSION_FLEET_METRICS_TEXT_H_
#define TLSESSION_FLEET_METRICS_TEXT_H_

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "fleet/echo_server.h"
#include "fleet/fleet_setup.h"
#include "fleet/redis_client.h"
#include "fleet/redis_server_session_store.h"
#include "fleet/ticket_key_sync.h"

namespace tlsession::fleet {

// The counters of one scrape. A part left empty (no Redis session store, no
// Redis ticket keys) is left out of the text.
struct FleetMetricsSnapshot {
  EchoServer::Metrics server;
  std::optional<RedisServerSessionStore::Metrics> session_store;
  std::optional<TicketKeySync::Metrics> ticket_keys;
  // Each RedisClient's counters by what it serves ("session_store",
  // "ticket_keys"): the value of the samples' "client" label.
  std::vector<std::pair<std::string, RedisClient::Metrics>> redis;
};

// Reads the counters of |server| and of what |fleet| keeps (its store, its
// key sync and their Redis clients). Thread-safe as their metrics() are.
FleetMetricsSnapshot SnapshotFleetMetrics(const EchoServer& server,
                                          const FleetServer& fleet);

// |snapshot| in Prometheus's text format: every metric named "tlsession_*",
// counters ending in "_total", each family with its HELP and TYPE lines.
std::string FleetMetricsText(const FleetMetricsSnapshot& snapshot);

}  // namespace tlsession::fleet

#endif  // TLSESSION_FLEET_METRICS_TEXT_H_
