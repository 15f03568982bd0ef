#include "fleet/metrics_text.h"

#include <cstdint>

#include "base/prometheus_text.h"

namespace tlsession::fleet {
namespace {

// One counter of a Metrics struct |M|: adding a counter to the scrape is
// adding a row to a table below.
template <typename M>
struct CounterRow {
  const char* name;
  const char* help;
  uint64_t M::*field;
};

using Server = EchoServer::Metrics;
constexpr CounterRow<Server> kServerCounters[] = {
    {"tlsession_connections_accepted_total", "TCP connections accepted.",
     &Server::accepted},
    {"tlsession_handshakes_total", "TLS handshakes completed.",
     &Server::handshakes},
    {"tlsession_resumed_handshakes_total",
     "TLS handshakes completed that resumed a session.", &Server::resumed},
    {"tlsession_handshake_failures_total", "TLS handshakes that failed.",
     &Server::handshake_failures},
    {"tlsession_probes_total",
     "Connections closed before sending a byte (health checks).",
     &Server::probes},
    {"tlsession_early_data_accepted_total",
     "TLS handshakes that accepted 0-RTT early data.", &Server::early_data},
};

using Store = RedisServerSessionStore::Metrics;
constexpr CounterRow<Store> kStoreCounters[] = {
    {"tlsession_session_store_hits_total",
     "Session-ID lookups answered with a session.", &Store::hits},
    {"tlsession_session_store_local_hits_total",
     "Session-ID lookups answered from the in-process cache.",
     &Store::local_hits},
    {"tlsession_session_store_misses_total",
     "Session-ID lookups Redis had no session for.", &Store::misses},
    {"tlsession_session_store_errors_total", "Session-ID lookups that failed.",
     &Store::errors},
    {"tlsession_session_store_rejected_total",
     "Values from Redis that did not open or parse.", &Store::rejected},
    {"tlsession_session_store_timeouts_total",
     "Session-ID lookups that ran out of time.", &Store::timeouts},
    {"tlsession_session_store_skipped_total",
     "Session-ID lookups not sent (back-off, pool full).", &Store::skipped},
    {"tlsession_session_store_redis_gets_total",
     "GETs sent to Redis on the handshake's path.", &Store::redis_gets},
    {"tlsession_session_store_writes_total", "SETs and DELs written.",
     &Store::writes},
    {"tlsession_session_store_write_failures_total", "Writes that failed.",
     &Store::write_failures},
    {"tlsession_session_store_dropped_writes_total",
     "Writes dropped (queue full or expired).", &Store::dropped_writes},
    {"tlsession_early_data_claims_total",
     "0-RTT single-use checks that proved a ticket unused.",
     &Store::early_data_claims},
    {"tlsession_early_data_replays_total",
     "0-RTT single-use checks that found the ticket used (replays).",
     &Store::early_data_replays},
    {"tlsession_early_data_check_failures_total",
     "0-RTT single-use checks that could not be made (early data rejected).",
     &Store::early_data_failures},
};

using Keys = TicketKeySync::Metrics;
constexpr CounterRow<Keys> kTicketKeyCounters[] = {
    {"tlsession_ticket_key_syncs_total",
     "Rounds that read the fleet's ticket keys from Redis.", &Keys::syncs},
    {"tlsession_ticket_key_sync_failures_total",
     "Rounds that could not read them.", &Keys::sync_failures},
    {"tlsession_ticket_key_published_total",
     "Ticket keys this process published.", &Keys::published},
    {"tlsession_ticket_key_rejected_total",
     "Ticket-key values in Redis that did not open.", &Keys::rejected},
    {"tlsession_ticket_key_replaced_total",
     "Of those, replaced by this process as lease holder.", &Keys::replaced},
    {"tlsession_ticket_key_loads_total",
     "Times the ring's keys changed (keys loaded or dropped).",
     &Keys::ring_changes},
};

using Redis = RedisClient::Metrics;
constexpr CounterRow<Redis> kRedisCounters[] = {
    {"tlsession_redis_calls_total", "Redis calls (commands and pipelines).",
     &Redis::calls},
    {"tlsession_redis_ok_total", "Redis calls that got their replies.",
     &Redis::ok},
    {"tlsession_redis_skipped_total", "Redis calls not attempted (back-off).",
     &Redis::skipped},
    {"tlsession_redis_timeouts_total", "Redis calls that ran out of time.",
     &Redis::timeouts},
    {"tlsession_redis_errors_total", "Redis calls that failed otherwise.",
     &Redis::errors},
    {"tlsession_redis_connects_total", "Connections to Redis opened.",
     &Redis::connects},
    {"tlsession_redis_backoffs_total", "Back-off periods started.",
     &Redis::backoffs},
    {"tlsession_redis_round_trips_total", "Request/reply exchanges.",
     &Redis::round_trips},
    {"tlsession_redis_tls_handshakes_total",
     "TLS connections to Redis opened (rediss://).", &Redis::tls_handshakes},
    {"tlsession_redis_tls_resumed_total",
     "TLS connections to Redis that resumed a session.", &Redis::tls_resumed},
    {"tlsession_redis_discoveries_total", "Primaries learnt from a Sentinel.",
     &Redis::discoveries},
    {"tlsession_redis_failovers_total",
     "Primaries learnt from a Sentinel at a new address.", &Redis::failovers},
};

// Adds every row of |rows| read from |metrics|.
template <typename M, size_t N>
void AddCounters(const CounterRow<M> (&rows)[N], const M& metrics,
                 PrometheusText* out) {
  for (const CounterRow<M>& row : rows) {
    out->Counter(row.name, row.help, metrics.*row.field);
  }
}

// Adds every row of kRedisCounters, one sample per client of |redis|.
void AddRedisCounters(
    const std::vector<std::pair<std::string, RedisClient::Metrics>>& redis,
    PrometheusText* out) {
  for (const CounterRow<Redis>& row : kRedisCounters) {
    for (const auto& [client, metrics] : redis) {
      out->Counter(row.name, row.help, metrics.*row.field,
                   {{"client", client}});
    }
  }
}

// The gauges of the ticket-key sync.
void AddTicketKeyGauges(const Keys& keys, PrometheusText* out) {
  out->Gauge("tlsession_ticket_key_epoch",
             "The epoch of the key that issues tickets.", keys.issuing_epoch);
  out->Gauge("tlsession_ticket_key_issuing_local",
             "1 while tickets are issued under a local fallback key.",
             keys.issuing_local ? 1 : 0);
  out->Gauge("tlsession_ticket_key_holder",
             "1 while this process holds the publishing lease.",
             keys.holder ? 1 : 0);
  out->Gauge("tlsession_ticket_keys", "Keys in the ring.",
             static_cast<int64_t>(keys.keys));
}

}  // namespace

FleetMetricsSnapshot SnapshotFleetMetrics(const EchoServer& server,
                                          const FleetServer& fleet) {
  FleetMetricsSnapshot out;
  out.server = server.metrics();
  if (fleet.session_store) {
    out.session_store = fleet.session_store->metrics();
    out.redis.emplace_back("session_store",
                           fleet.session_store->redis().metrics());
  }
  if (fleet.ticket_sync) {
    out.ticket_keys = fleet.ticket_sync->metrics();
    if (fleet.ticket_redis) {
      out.redis.emplace_back("ticket_keys", fleet.ticket_redis->metrics());
    }
  }
  return out;
}

std::string FleetMetricsText(const FleetMetricsSnapshot& snapshot) {
  PrometheusText out;
  AddCounters(kServerCounters, snapshot.server, &out);
  if (snapshot.session_store) {
    AddCounters(kStoreCounters, *snapshot.session_store, &out);
  }
  if (snapshot.ticket_keys) {
    AddCounters(kTicketKeyCounters, *snapshot.ticket_keys, &out);
    AddTicketKeyGauges(*snapshot.ticket_keys, &out);
  }
  AddRedisCounters(snapshot.redis, &out);
  return out.text();
}

}  // namespace tlsession::fleet
