// Two client processes (tls_fleet_client) sharing the Redis client session
// store against one server that records, from the ClientHellos it
// receives, every ticket presented: no ticket is presented twice, and the
// clients do resume with each other's tickets.
#include <sys/wait.h>

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "testbed/certs.h"
#include "testbed/subprocess.h"
#include "testbed/tls_server.h"
#include "tests/fleet/fleet_harness.h"
#include "tests/testing/client_hello_recorder.h"
#include "tls/context.h"

namespace tlsession::testing {
namespace {

constexpr int kConnectionsPerClient = 12;

TEST(FleetClientStoreTest, TwoProcessesNeverPresentATicketTwice) {
  auto fleet = FleetHarness::Start();  // Redis and the fleet key file.
  ASSERT_TRUE(fleet.ok()) << fleet.status();
  const TestPki& pki = GetTestPki();
  ContextOptions o;
  o.role = Role::kServer;
  o.certificate_chain_pem = pki.server.cert_pem;
  o.private_key_pem = pki.server.key_pem;
  o.tls13_tickets = 2;
  auto context = Context::Create(std::move(o));
  ASSERT_TRUE(context.ok());
  ClientHelloRecorder recorder;
  recorder.Install(*context);
  auto server = TestTlsServer::Start(*context);
  ASSERT_TRUE(server.ok()) << server.status();

  const std::string dir = (*fleet)->dir();
  std::vector<std::unique_ptr<ChildProcess>> clients;
  for (int c = 0; c < 2; ++c) {
    auto child = ChildProcess::Spawn(
        {RunfilesBinary("tools/tls_fleet_client"), "--connect",
         absl::StrCat("127.0.0.1:", (*server)->port()), "--servername",
         "localhost", "--ca", pki.ca_file(), "--count",
         absl::StrCat(kConnectionsPerClient), "--session-store",
         (*fleet)->redis().url_without_password(), "--redis-password-file",
         (*fleet)->redis().password_file(), "--fleet-key",
         (*fleet)->fleet_key_file(), "--redis-timeout", "1s"},
        absl::StrCat(dir, "/client", c, ".log"), /*stdin_pipe=*/false);
    ASSERT_TRUE(child.ok()) << child.status();
    clients.push_back(*std::move(child));
  }
  int resumed = 0;
  for (auto& c : clients) {
    auto status = c->Wait(absl::Seconds(120));
    ASSERT_TRUE(status.ok()) << status.status();
    EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << c->log();
    for (absl::string_view line : absl::StrSplit(c->log(), '\n')) {
      resumed += absl::EndsWith(line, " resumed");
    }
  }
  ASSERT_TRUE((*server)->WaitForServed(2 * kConnectionsPerClient));

  const std::vector<std::string> tickets = recorder.tickets_offered();
  std::map<std::string, int> seen;
  for (const std::string& t : tickets) ++seen[t];
  for (const auto& [ticket, n] : seen) {
    EXPECT_EQ(n, 1) << "a ticket was presented " << n << " times";
  }
  // Both processes drew from the shared store: all but the very first
  // connections (one per process at most, if both started on an empty
  // store) offered a ticket, and they resumed.
  EXPECT_GE(tickets.size(), static_cast<size_t>(2 * kConnectionsPerClient - 2));
  EXPECT_EQ(resumed, static_cast<int>(tickets.size()))
      << clients[0]->log() << clients[1]->log();
  for (const ServedConnection& s : (*server)->served()) {
    EXPECT_TRUE(s.handshake.ok()) << s.handshake;
  }
}

}  // namespace
}  // namespace tlsession::testing
