// The tools over rediss://: tls_echo_server and tls_fleet_client processes
// with --redis-cacert, --redis-cert and --redis-key against a real
// redis-server that serves TLS only and requires client certificates.
// Sessions cross instances through it, and the stats line counts the
// Redis links' TLS handshakes.
#include <sys/wait.h>

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "testbed/certs.h"
#include "testbed/poll.h"
#include "testbed/redis_server.h"
#include "testbed/subprocess.h"
#include "testbed/tls_server.h"
#include "tests/fleet/fleet_harness.h"
#include "tls/connection.h"
#include "tls/context.h"

namespace tlsession::testing {
namespace {

class FleetToolsTlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto fleet = FleetHarness::Start();
    ASSERT_TRUE(fleet.ok()) << fleet.status();
    fleet_ = *std::move(fleet);
    // The harness passes its Redis's password file: same password.
    TestRedisServer::Options o;
    o.tls = true;
    o.require_client_cert = true;
    o.password = fleet_->redis().password();
    auto redis = TestRedisServer::StartWith(o);
    ASSERT_TRUE(redis.ok()) << redis.status();
    tls_redis_ = *std::move(redis);
  }
  // --redis-cacert, --redis-cert, --redis-key for the TLS Redis.
  std::vector<std::string> TlsFlags() const {
    const TestPki& pki = GetTestPki();
    return {"--redis-cacert",       pki.ca_file(), "--redis-cert",
            pki.client_cert_file(), "--redis-key", pki.client_key_file()};
  }
  std::unique_ptr<FleetHarness> fleet_;
  std::unique_ptr<TestRedisServer> tls_redis_;
};

TEST_F(FleetToolsTlsTest, EchoServersShareSessionsThroughRediss) {
  std::vector<std::string> flags = {
      "--session-store", tls_redis_->url_without_password(),
      "--ticket-keys",   "off",
      "--max-version",   "1.2",
      "--redis-timeout", "1s"};
  for (const std::string& f : TlsFlags()) flags.push_back(f);
  ASSERT_TRUE(fleet_->StartInstance(flags).ok());
  ASSERT_TRUE(fleet_->StartInstance(flags).ok());
  ContextOptions o;
  o.ca_pem = GetTestPki().ca.cert_pem;
  o.max_version = TLS1_2_VERSION;
  o.io_timeout = absl::Seconds(10);
  auto client = *Context::Create(std::move(o));
  auto full = Connection::Connect(client, "localhost", fleet_->port(0));
  ASSERT_TRUE(full.ok()) << full.status();
  const Session session = (*full)->session();
  ASSERT_TRUE((*full)->Shutdown().ok());
  // Instance 1 writes the session in the background: offer it to
  // instance 2 until it resumes (nothing announces the write).
  const bool resumed = PollUntil(
      [&] {
        auto again =
            Connection::Connect(client, "localhost", fleet_->port(1), session);
        EXPECT_TRUE(again.ok()) << again.status();
        return again.ok() && (*again)->session_reused();
      },
      absl::Now() + Scaled(absl::Seconds(10)), absl::Milliseconds(20));
  EXPECT_TRUE(resumed) << fleet_->process(0).log() << fleet_->process(1).log();
  for (size_t i = 0; i < 2; ++i) {
    auto stats = fleet_->Stats(i);
    ASSERT_TRUE(stats.ok()) << stats.status();
    EXPECT_GE((*stats)["redis_tls_handshakes"], 1u) << "instance " << i + 1;
    EXPECT_EQ((*stats)["errors"], 0u) << "instance " << i + 1;
  }
}

TEST_F(FleetToolsTlsTest, FleetClientKeepsItsTicketsInRediss) {
  const TestPki& pki = GetTestPki();
  ContextOptions o;
  o.role = Role::kServer;
  o.certificate_chain_pem = pki.server.cert_pem;
  o.private_key_pem = pki.server.key_pem;
  auto server = TestTlsServer::Start(*Context::Create(std::move(o)));
  ASSERT_TRUE(server.ok()) << server.status();
  std::vector<std::string> argv = {
      RunfilesBinary("tools/tls_fleet_client"),
      "--connect",
      absl::StrCat("127.0.0.1:", (*server)->port()),
      "--servername",
      "localhost",
      "--ca",
      pki.ca_file(),
      "--count",
      "4",
      "--session-store",
      tls_redis_->url_without_password(),
      "--redis-password-file",
      tls_redis_->password_file(),
      "--fleet-key",
      fleet_->fleet_key_file(),
      "--redis-timeout",
      "1s"};
  for (const std::string& f : TlsFlags()) argv.push_back(f);
  auto child = ChildProcess::Spawn(argv, fleet_->dir() + "/client.log",
                                   /*stdin_pipe=*/false);
  ASSERT_TRUE(child.ok()) << child.status();
  auto status = (*child)->Wait(absl::Seconds(120));
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0)
      << (*child)->log();
  int resumed = 0;
  for (absl::string_view line : absl::StrSplit((*child)->log(), '\n')) {
    resumed += absl::EndsWith(line, " resumed");
  }
  // The first connection has nothing to offer; each later one takes the
  // ticket the one before left in Redis.
  EXPECT_EQ(resumed, 3) << (*child)->log();
  auto keys = tls_redis_->Keys("*");
  ASSERT_TRUE(keys.ok()) << keys.status();
  EXPECT_FALSE(keys->empty());
}

}  // namespace
}  // namespace tlsession::testing
