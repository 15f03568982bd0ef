// tls_echo_server --metrics-address, end to end: a real redis-server, a
// real tls_echo_server with the fleet's Redis session store and ticket keys,
// openssl s_client making full and resumed handshakes (TLS 1.3 tickets, TLS
// 1.2 session IDs), and curl scraping GET /metrics. The counters in the
// scrape are the handshakes made; other paths get 404; a client that holds
// the metrics port open without a word delays no TLS handshake.
#include <gtest/gtest.h>

#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "testbed/poll.h"
#include "testbed/subprocess.h"
#include "tests/fleet/fleet_harness.h"
#include "tls/socket.h"

namespace tlsession::testing {
namespace {

// The metrics port that instance |name| printed ("NAME: metrics on
// 127.0.0.1:PORT"), or 0.
uint16_t MetricsPort(const std::string& log, const std::string& name) {
  const std::string prefix = absl::StrCat(name, ": metrics on 127.0.0.1:");
  const size_t at = log.find(prefix);
  if (at == std::string::npos) return 0;
  const size_t begin = at + prefix.size();
  int port = 0;
  if (!absl::SimpleAtoi(log.substr(begin, log.find('\n', begin) - begin),
                        &port)) {
    return 0;
  }
  return static_cast<uint16_t>(port);
}

// What curl printed for http://127.0.0.1:|port||path| (with the status code
// on the last line, after "\nstatus="), or an error.
absl::StatusOr<std::string> Curl(uint16_t port, const std::string& path,
                                 const std::string& log_path) {
  auto curl = ChildProcess::Spawn(
      {"/usr/bin/curl", "-sS", "--max-time", "20", "-w",
       "\nstatus=%{http_code}", absl::StrCat("http://127.0.0.1:", port, path)},
      log_path, /*stdin_pipe=*/false);
  if (!curl.ok()) return curl.status();
  absl::StatusOr<int> status = (*curl)->Wait(Scaled(absl::Seconds(30)));
  if (!status.ok()) return status.status();
  if (*status != 0) {
    return absl::InternalError(absl::StrCat(
        "curl: ", DescribeWaitStatus(*status), "\n", (*curl)->log()));
  }
  return (*curl)->log();
}

// The unlabelled samples and the labelled ones (name{labels}) of a scrape.
std::map<std::string, int64_t> Samples(const std::string& scrape) {
  std::map<std::string, int64_t> out;
  for (absl::string_view line : absl::StrSplit(scrape, '\n')) {
    if (line.empty() || line[0] == '#') continue;
    const size_t space = line.rfind(' ');
    int64_t value = 0;
    if (space != absl::string_view::npos &&
        absl::SimpleAtoi(line.substr(space + 1), &value)) {
      out[std::string(line.substr(0, space))] = value;
    }
  }
  return out;
}

TEST(MetricsEndpointTest, ScrapeShowsTheHandshakesStoreAndTicketKeys) {
  auto fleet = FleetHarness::Start();
  ASSERT_TRUE(fleet.ok()) << fleet.status();
  auto index =
      (*fleet)->StartInstance({"--session-store", "redis", "--ticket-keys",
                               "redis", "--metrics-address", "127.0.0.1:0"});
  ASSERT_TRUE(index.ok()) << index.status();
  const uint16_t metrics =
      MetricsPort((*fleet)->process(*index).log(), "instance1");
  ASSERT_NE(metrics, 0) << (*fleet)->process(*index).log();
  const std::string dir = (*fleet)->dir();
  const uint16_t tls = (*fleet)->port(*index);

  // A client that connects to the metrics port and says nothing: the TLS
  // server goes on.
  absl::StatusOr<OwnedFd> silent =
      ConnectTcp("127.0.0.1", metrics, absl::Seconds(5));
  ASSERT_TRUE(silent.ok()) << silent.status();

  for (const std::vector<std::string>& version :
       {std::vector<std::string>{"-tls1_3"},
        std::vector<std::string>{"-tls1_2", "-no_ticket"}}) {
    const std::string sess = absl::StrCat(dir, "/", version[0], ".pem");
    auto full =
        SClientHandshake(tls, version, absl::StrCat(sess, ".full.log"), sess);
    ASSERT_TRUE(full.ok()) << full.status();
    ASSERT_TRUE(full->new_session()) << full->output;
    std::vector<std::string> offer = version;
    offer.insert(offer.end(), {"-sess_in", sess});
    auto resumed =
        SClientHandshake(tls, offer, absl::StrCat(sess, ".resumed.log"));
    ASSERT_TRUE(resumed.ok()) << resumed.status();
    ASSERT_TRUE(resumed->reused()) << resumed->output;
  }

  // The server counts a handshake once it has read the client's Finished,
  // which may be after s_client printed its summary: scrape until it did.
  std::string scrape;
  std::map<std::string, int64_t> samples;
  int scrapes = 0;
  PollUntil(
      [&] {
        absl::StatusOr<std::string> got =
            Curl(metrics, "/metrics",
                 absl::StrCat(dir, "/curl.", ++scrapes, ".log"));
        if (!got.ok()) return false;
        scrape = *got;
        samples = Samples(scrape);
        return samples["tlsession_handshakes_total"] >= 4;
      },
      absl::Now() + Scaled(absl::Seconds(10)));
  std::cout << "The scrape:\n" << scrape << "\n";
  EXPECT_TRUE(absl::StrContains(scrape, "status=200")) << scrape;
  EXPECT_TRUE(absl::StrContains(
      scrape,
      "# HELP tlsession_handshakes_total TLS handshakes completed.\n"
      "# TYPE tlsession_handshakes_total counter\n"))
      << scrape;
  EXPECT_EQ(samples["tlsession_handshakes_total"], 4) << scrape;
  EXPECT_EQ(samples["tlsession_resumed_handshakes_total"], 2) << scrape;
  EXPECT_EQ(samples["tlsession_handshake_failures_total"], 0) << scrape;
  // The TLS 1.2 session ID went through the Redis store.
  EXPECT_GE(samples["tlsession_session_store_hits_total"], 1) << scrape;
  EXPECT_GE(samples["tlsession_session_store_writes_total"], 1) << scrape;
  EXPECT_EQ(samples["tlsession_session_store_rejected_total"], 0) << scrape;
  EXPECT_EQ(samples.count("tlsession_session_store_timeouts_total"), 1u);
  // The one instance holds the lease and published the epoch's key.
  EXPECT_GT(samples["tlsession_ticket_key_epoch"], 0) << scrape;
  EXPECT_GE(samples["tlsession_ticket_key_published_total"], 1) << scrape;
  EXPECT_EQ(samples["tlsession_ticket_key_issuing_local"], 0) << scrape;
  EXPECT_GE(samples["tlsession_redis_calls_total{client=\"session_store\"}"], 1)
      << scrape;
  EXPECT_GE(samples["tlsession_redis_calls_total{client=\"ticket_keys\"}"], 1)
      << scrape;

  absl::StatusOr<std::string> other =
      Curl(metrics, "/other", absl::StrCat(dir, "/curl.other.log"));
  ASSERT_TRUE(other.ok()) << other.status();
  EXPECT_TRUE(absl::EndsWith(*other, "status=404")) << *other;
}

}  // namespace
}  // namespace tlsession::testing
