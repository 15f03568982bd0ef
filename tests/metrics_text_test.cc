// The Prometheus text of base/prometheus_text.h and of a fleet server's
// counters (fleet/metrics_text.h), and the HTTP responses of the metrics
// endpoint (MetricsHttpResponse), as exact text. No sockets.
#include <gtest/gtest.h>

#include <string>

#include "absl/strings/match.h"
#include "base/prometheus_text.h"
#include "fleet/metrics_endpoint.h"
#include "fleet/metrics_text.h"

namespace tlsession {
namespace {

TEST(PrometheusTextTest, FamiliesGetHelpAndTypeOnceAndLabelsAreEscaped) {
  PrometheusText text;
  text.Counter("a_total", "Line one\nback\\slash", 3, {{"k", "v"}});
  text.Counter("a_total", "ignored", 4, {{"k", "q\"uote\\\n"}});
  text.Gauge("g", "A gauge.", -2);
  EXPECT_EQ(text.text(),
            "# HELP a_total Line one\\nback\\\\slash\n"
            "# TYPE a_total counter\n"
            "a_total{k=\"v\"} 3\n"
            "a_total{k=\"q\\\"uote\\\\\\n\"} 4\n"
            "# HELP g A gauge.\n"
            "# TYPE g gauge\n"
            "g -2\n");
}

TEST(FleetMetricsTextTest, ServerOnly) {
  fleet::FleetMetricsSnapshot s;
  s.server.accepted = 5;
  s.server.handshakes = 4;
  s.server.resumed = 1;
  s.server.handshake_failures = 1;
  s.server.probes = 0;
  EXPECT_EQ(fleet::FleetMetricsText(s),
            "# HELP tlsession_connections_accepted_total TCP connections "
            "accepted.\n"
            "# TYPE tlsession_connections_accepted_total counter\n"
            "tlsession_connections_accepted_total 5\n"
            "# HELP tlsession_handshakes_total TLS handshakes completed.\n"
            "# TYPE tlsession_handshakes_total counter\n"
            "tlsession_handshakes_total 4\n"
            "# HELP tlsession_resumed_handshakes_total TLS handshakes "
            "completed that resumed a session.\n"
            "# TYPE tlsession_resumed_handshakes_total counter\n"
            "tlsession_resumed_handshakes_total 1\n"
            "# HELP tlsession_handshake_failures_total TLS handshakes that "
            "failed.\n"
            "# TYPE tlsession_handshake_failures_total counter\n"
            "tlsession_handshake_failures_total 1\n"
            "# HELP tlsession_probes_total Connections closed before sending "
            "a byte (health checks).\n"
            "# TYPE tlsession_probes_total counter\n"
            "tlsession_probes_total 0\n"
            "# HELP tlsession_early_data_accepted_total TLS handshakes that "
            "accepted 0-RTT early data.\n"
            "# TYPE tlsession_early_data_accepted_total counter\n"
            "tlsession_early_data_accepted_total 0\n");
}

TEST(FleetMetricsTextTest, StoreKeysAndRedisClients) {
  fleet::FleetMetricsSnapshot s;
  fleet::RedisServerSessionStore::Metrics store;
  store.hits = 7;
  store.misses = 2;
  store.timeouts = 1;
  store.rejected = 3;
  store.early_data_claims = 6;
  store.early_data_replays = 1;
  s.session_store = store;
  fleet::TicketKeySync::Metrics keys;
  keys.published = 2;
  keys.rejected = 1;
  keys.replaced = 1;
  keys.ring_changes = 5;
  keys.issuing_epoch = 1234;
  keys.holder = true;
  keys.keys = 3;
  s.ticket_keys = keys;
  fleet::RedisClient::Metrics a, b;
  a.calls = 10;
  a.timeouts = 1;
  a.failovers = 2;
  a.tls_resumed = 4;
  b.calls = 20;
  s.redis = {{"session_store", a}, {"ticket_keys", b}};
  const std::string text = fleet::FleetMetricsText(s);
  for (const char* line : {
           "tlsession_session_store_hits_total 7\n",
           "tlsession_session_store_misses_total 2\n",
           "tlsession_session_store_timeouts_total 1\n",
           "tlsession_session_store_rejected_total 3\n",
           "tlsession_early_data_claims_total 6\n",
           "tlsession_early_data_replays_total 1\n",
           "tlsession_early_data_check_failures_total 0\n",
           "tlsession_ticket_key_published_total 2\n",
           "tlsession_ticket_key_rejected_total 1\n",
           "tlsession_ticket_key_replaced_total 1\n",
           "tlsession_ticket_key_loads_total 5\n",
           "# TYPE tlsession_ticket_key_epoch gauge\n"
           "tlsession_ticket_key_epoch 1234\n",
           "tlsession_ticket_key_holder 1\n",
           "tlsession_ticket_key_issuing_local 0\n",
           "tlsession_ticket_keys 3\n",
           "# TYPE tlsession_redis_calls_total counter\n"
           "tlsession_redis_calls_total{client=\"session_store\"} 10\n"
           "tlsession_redis_calls_total{client=\"ticket_keys\"} 20\n",
           "tlsession_redis_timeouts_total{client=\"session_store\"} 1\n",
           "tlsession_redis_failovers_total{client=\"session_store\"} 2\n",
           "tlsession_redis_tls_resumed_total{client=\"session_store\"} 4\n",
       }) {
    EXPECT_TRUE(absl::StrContains(text, line)) << line << "\nin:\n" << text;
  }
  // Every sample line is "name[{labels}] value", after its family's HELP
  // and TYPE.
  EXPECT_FALSE(absl::StrContains(text, "\n\n"));
}

TEST(MetricsHttpResponseTest, MetricsOtherPathsMethodsAndGarbage) {
  const auto render = [] { return std::string("x_total 1\n"); };
  EXPECT_EQ(fleet::MetricsHttpResponse(
                "GET /metrics HTTP/1.1\r\nHost: a\r\n\r\n", render),
            "HTTP/1.1 200 OK\r\n"
            "Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
            "Content-Length: 10\r\n"
            "Connection: close\r\n\r\n"
            "x_total 1\n");
  EXPECT_TRUE(absl::StartsWith(
      fleet::MetricsHttpResponse("GET /metrics?x=1 HTTP/1.0\n\n", render),
      "HTTP/1.1 200 OK\r\n"));
  const std::string head =
      fleet::MetricsHttpResponse("HEAD /metrics HTTP/1.1\r\n\r\n", render);
  EXPECT_TRUE(absl::StartsWith(head, "HTTP/1.1 200 OK\r\n"));
  EXPECT_TRUE(absl::EndsWith(head, "\r\n\r\n")) << head;
  EXPECT_EQ(fleet::MetricsHttpResponse("GET /other HTTP/1.1\r\n\r\n", render),
            "HTTP/1.1 404 Not Found\r\n"
            "Content-Type: text/plain; charset=utf-8\r\n"
            "Content-Length: 14\r\n"
            "Connection: close\r\n\r\n"
            "404 Not Found\n");
  EXPECT_TRUE(absl::StartsWith(
      fleet::MetricsHttpResponse("POST /metrics HTTP/1.1\r\n\r\n", render),
      "HTTP/1.1 405 Method Not Allowed\r\n"));
  for (const char* bad : {"", "GET\r\n\r\n", "GET /metrics\r\n\r\n",
                          "GET metrics HTTP/1.1\r\n\r\n",
                          "GET /metrics HTTP/2\r\n\r\n", "\x16\x03\x01"}) {
    EXPECT_TRUE(absl::StartsWith(fleet::MetricsHttpResponse(bad, render),
                                 "HTTP/1.1 400 Bad Request\r\n"))
        << bad;
  }
}

}  // namespace
}  // namespace tlsession
