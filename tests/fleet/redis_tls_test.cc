// Redis over this library's own TLS (rediss://), against a real redis-server
// serving TLS only: fleet servers share sessions through it, its links
// resume their own TLS sessions from the client cache (counted), a wrong CA
// is a clear error while handshakes go on (fail-open), and a server that
// requires client certificates accepts --redis-cert/--redis-key's.
#include <gtest/gtest.h>
#include <openssl/rand.h>
#include <sys/stat.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "fleet/fleet_setup.h"
#include "fleet/redis_client.h"
#include "testbed/certs.h"
#include "testbed/poll.h"
#include "testbed/redis_server.h"
#include "testbed/tls_server.h"
#include "tls/connection.h"
#include "tls/context.h"

namespace tlsession::fleet {
namespace {

using testing::GetTestPki;
using testing::Scaled;
using testing::TestPki;
using testing::TestRedisServer;
using testing::TestTlsServer;

// A fresh fleet key file (0600) in a new folder.
std::string FleetKeyFile() {
  const std::string path = testing::MakeTempDir() + "/fleet.key";
  std::string key(32, '\0');
  RAND_bytes(reinterpret_cast<uint8_t*>(&key[0]), key.size());
  testing::WriteFileOrDie(path, key);
  chmod(path.c_str(), 0600);
  return path;
}

// Trust roots that did not sign the test server's certificate.
std::string OtherCaFile() {
  testing::CertOptions o;
  o.common_name = "another CA";
  o.is_ca = true;
  absl::StatusOr<testing::CertAndKey> ca = testing::MakeCertificate(o, nullptr);
  EXPECT_TRUE(ca.ok()) << ca.status();
  const std::string path = testing::MakeTempDir() + "/other-ca.pem";
  testing::WriteFileOrDie(path, ca->cert_pem);
  return path;
}

// One TLS 1.2 fleet server sharing session IDs through |url| over TLS.
struct FleetInstance {
  FleetServer fleet;
  std::unique_ptr<TestTlsServer> server;
};

FleetInstance StartInstance(const std::string& url, const RedisTlsFiles& tls,
                            const std::string& fleet_key_file) {
  FleetServerConfig config;
  config.session_store = {SessionStoreMode::kRedis, url};
  config.ticket_keys = {TicketKeyMode::kOff, ""};
  config.fleet_key_file = fleet_key_file;
  config.redis_tls = tls;
  config.redis_timeout = absl::Milliseconds(500);
  ContextOptions o;
  o.role = Role::kServer;
  o.certificate_chain_pem = GetTestPki().server.cert_pem;
  o.private_key_pem = GetTestPki().server.key_pem;
  o.max_version = TLS1_2_VERSION;
  FleetInstance out;
  absl::StatusOr<FleetServer> fleet = ApplyFleetServerConfig(config, &o);
  EXPECT_TRUE(fleet.ok()) << fleet.status();
  if (!fleet.ok()) return out;
  out.fleet = *std::move(fleet);
  absl::StatusOr<std::shared_ptr<const Context>> context =
      Context::Create(std::move(o));
  EXPECT_TRUE(context.ok()) << context.status();
  absl::StatusOr<std::unique_ptr<TestTlsServer>> server =
      TestTlsServer::Start(*context);
  EXPECT_TRUE(server.ok()) << server.status();
  if (server.ok()) out.server = *std::move(server);
  return out;
}

std::shared_ptr<const Context> ClientContext() {
  ContextOptions o;
  o.ca_pem = GetTestPki().ca.cert_pem;
  o.max_version = TLS1_2_VERSION;
  o.io_timeout = absl::Seconds(10);
  return *Context::Create(std::move(o));
}

class RedisTlsTest : public ::testing::Test {
 protected:
  void StartRedis(bool require_client_cert) {
    TestRedisServer::Options o;
    o.tls = true;
    o.require_client_cert = require_client_cert;
    auto redis = TestRedisServer::StartWith(o);
    ASSERT_TRUE(redis.ok()) << redis.status();
    redis_ = *std::move(redis);
  }
  std::unique_ptr<TestRedisServer> redis_;
};

TEST_F(RedisTlsTest, FleetServersShareSessionsThroughRedisOverTls) {
  StartRedis(/*require_client_cert=*/false);
  ASSERT_TRUE(absl::StartsWith(redis_->url(), "rediss://"));
  RedisTlsFiles tls;
  tls.ca_file = GetTestPki().ca_file();
  const std::string key_file = FleetKeyFile();
  FleetInstance a = StartInstance(redis_->url(), tls, key_file);
  FleetInstance b = StartInstance(redis_->url(), tls, key_file);
  ASSERT_NE(a.server, nullptr);
  ASSERT_NE(b.server, nullptr);
  auto client = ClientContext();
  auto full = Connection::Connect(client, "localhost", a.server->port());
  ASSERT_TRUE(full.ok()) << full.status();
  EXPECT_FALSE((*full)->session_reused());
  const Session session = (*full)->session();
  ASSERT_TRUE((*full)->Shutdown().ok());
  ASSERT_TRUE(a.fleet.session_store->WaitForWrites(Scaled(absl::Seconds(5))));
  auto again =
      Connection::Connect(client, "localhost", b.server->port(), session);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_TRUE((*again)->session_reused()) << "b found a's session in Redis";
  const RedisClient::Metrics m = b.fleet.session_store->redis().metrics();
  EXPECT_GE(m.tls_handshakes, 1u);
  EXPECT_EQ(m.errors, 0u);
  EXPECT_GE(b.fleet.session_store->metrics().hits, 1u);
}

TEST_F(RedisTlsTest, RedisLinksResumeTheirTlsSessionsFromTheClientCache) {
  StartRedis(/*require_client_cert=*/false);
  RedisTlsFiles tls;
  tls.ca_file = GetTestPki().ca_file();
  auto client = MakeRedisClient(redis_->url(), "", absl::Seconds(2), tls);
  ASSERT_TRUE(client.ok()) << client.status();
  // One link, a full handshake; its tickets reach the cache with AUTH's
  // reply. Then two more links, opened one after the other, resume.
  ASSERT_TRUE((*client)->Warm(1).ok());
  EXPECT_EQ((*client)->metrics().tls_handshakes, 1u);
  EXPECT_EQ((*client)->metrics().tls_resumed, 0u);
  ASSERT_TRUE((*client)->Warm(3).ok());
  EXPECT_EQ((*client)->metrics().tls_handshakes, 3u);
  EXPECT_EQ((*client)->metrics().tls_resumed, 2u);
  auto set = (*client)->Command({"SET", "k", "v"});
  ASSERT_TRUE(set.ok()) << set.status();
  auto get = (*client)->Command({"GET", "k"});
  ASSERT_TRUE(get.ok()) << get.status();
  EXPECT_EQ(get->str, "v");
  // The cache is the library's own: its counters saw the lookups.
  const auto& cache = (*client)->config().tls_context->options().session_cache;
  ASSERT_NE(cache, nullptr);
  EXPECT_EQ(cache->metrics().hits, 2u);
}

TEST_F(RedisTlsTest, WrongCaIsAClearErrorAndHandshakesGoOn) {
  StartRedis(/*require_client_cert=*/false);
  RedisTlsFiles tls;
  tls.ca_file = OtherCaFile();
  auto client = MakeRedisClient(redis_->url(), "", absl::Seconds(2), tls);
  ASSERT_TRUE(client.ok()) << client.status();
  auto ping = (*client)->Command({"PING"});
  ASSERT_FALSE(ping.ok());
  EXPECT_TRUE(absl::StrContains(ping.status().message(), "TLS handshake"))
      << ping.status();
  EXPECT_TRUE(absl::StrContains(absl::AsciiStrToLower(ping.status().message()),
                                "certificate"))
      << ping.status();
  EXPECT_FALSE(absl::StrContains(ping.status().message(), redis_->password()));
  // Fail-open: a fleet server over that Redis still completes handshakes.
  FleetInstance a = StartInstance(redis_->url(), tls, FleetKeyFile());
  ASSERT_NE(a.server, nullptr);
  auto client_context = ClientContext();
  for (int i = 0; i < 3; ++i) {
    auto conn =
        Connection::Connect(client_context, "localhost", a.server->port());
    ASSERT_TRUE(conn.ok()) << conn.status();
    EXPECT_TRUE((*conn)->Shutdown().ok());
  }
  EXPECT_EQ(a.fleet.session_store->redis().metrics().ok, 0u);
}

TEST_F(RedisTlsTest, ServerRequiringClientCertificatesAcceptsOurs) {
  StartRedis(/*require_client_cert=*/true);
  const TestPki& pki = GetTestPki();
  RedisTlsFiles with_cert{pki.ca_file(), pki.client_cert_file(),
                          pki.client_key_file()};
  auto client = MakeRedisClient(redis_->url(), "", absl::Seconds(2), with_cert);
  ASSERT_TRUE(client.ok()) << client.status();
  auto ping = (*client)->Command({"PING"});
  ASSERT_TRUE(ping.ok()) << ping.status();
  EXPECT_EQ(ping->str, "PONG");

  RedisTlsFiles without_cert{pki.ca_file(), "", ""};
  auto refused =
      MakeRedisClient(redis_->url(), "", absl::Seconds(2), without_cert);
  ASSERT_TRUE(refused.ok()) << refused.status();
  auto no = (*refused)->Command({"PING"});
  EXPECT_FALSE(no.ok());
}

TEST(RedisTlsSetupTest, TlsFilesNeedATlsUrlAndCertGoesWithKey) {
  RedisTlsFiles tls;
  tls.ca_file = GetTestPki().ca_file();
  auto plain =
      MakeRedisClient("redis://:pw@127.0.0.1:6379", "", absl::Seconds(1), tls);
  ASSERT_FALSE(plain.ok());
  EXPECT_TRUE(absl::StrContains(plain.status().message(), "--redis-cacert"));
  EXPECT_FALSE(absl::StrContains(plain.status().message(), "pw"));
  RedisTlsFiles half{"", GetTestPki().client_cert_file(), ""};
  auto bad = MakeRedisTlsContext(half);
  ASSERT_FALSE(bad.ok());
  EXPECT_TRUE(absl::StrContains(bad.status().message(), "--redis-key"));
}

}  // namespace
}  // namespace tlsession::fleet
