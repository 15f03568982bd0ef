// RedisClient over redis-sentinel:// and rediss-sentinel:// against real
// processes on loopback (a primary, a replica, three Sentinels): it finds
// the primary, follows a failover (SIGKILL of the primary) with every call
// bounded by its timeout, is not held up by a hung Sentinel, and speaks TLS
// to the Sentinels and the data nodes, resuming its TLS sessions.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "fleet/fleet_setup.h"
#include "fleet/redis_client.h"
#include "testbed/certs.h"
#include "testbed/poll.h"
#include "testbed/redis_sentinel.h"
#include "testbed/redis_server.h"

namespace tlsession::fleet {
namespace {

using testing::PollUntil;
using testing::Scaled;
using testing::TestRedisSentinel;
using testing::TestRedisServer;

class RedisSentinelTest : public ::testing::Test {
 protected:
  void StartSet(bool tls) {
    TestRedisServer::Options p;
    p.tls = tls;
    auto primary = TestRedisServer::StartWith(p);
    ASSERT_TRUE(primary.ok()) << primary.status();
    primary_ = *std::move(primary);
    TestRedisServer::Options r = p;
    r.password = primary_->password();
    r.replica_of = primary_->port();
    auto replica = TestRedisServer::StartWith(r);
    ASSERT_TRUE(replica.ok()) << replica.status();
    replica_ = *std::move(replica);
    TestRedisSentinel::Options s;
    s.primary_port = primary_->port();
    s.password = primary_->password();
    s.tls = tls;
    for (int i = 0; i < 3; ++i) {
      auto sentinel = TestRedisSentinel::Start(s);
      ASSERT_TRUE(sentinel.ok()) << sentinel.status();
      sentinels_.push_back(*std::move(sentinel));
    }
    ASSERT_TRUE(PollUntil(
        [&] {
          for (auto& sentinel : sentinels_) {
            auto replicas = sentinel->HealthyReplicas();
            auto others = sentinel->OtherSentinels();
            if (!replicas.ok() || *replicas < 1 || !others.ok() ||
                *others < 2) {
              return false;
            }
          }
          return true;
        },
        absl::Now() + Scaled(absl::Seconds(60)), absl::Milliseconds(50)))
        << "the Sentinels did not find the replica and each other";
    url_ = testing::SentinelUrl(sentinels_, "mymaster", tls);
    url_.insert(url_.find("://") + 3,
                absl::StrCat(":", primary_->password(), "@"));
  }

  std::shared_ptr<RedisClient> Client(absl::Duration timeout, bool tls) {
    RedisTlsFiles files;
    if (tls) files.ca_file = testing::GetTestPki().ca_file();
    auto client = MakeRedisClient(url_, "", timeout, files);
    EXPECT_TRUE(client.ok()) << client.status();
    return client.ok() ? *client : nullptr;
  }

  std::unique_ptr<TestRedisServer> primary_, replica_;
  std::vector<std::unique_ptr<TestRedisSentinel>> sentinels_;
  std::string url_;
};

TEST_F(RedisSentinelTest, FollowsAFailoverWithEveryCallBounded) {
  StartSet(/*tls=*/false);
  constexpr absl::Duration kTimeout = absl::Milliseconds(200);
  auto client = Client(kTimeout, false);
  ASSERT_NE(client, nullptr);
  auto set = client->Command({"SET", "k", "before the failover"});
  ASSERT_TRUE(set.ok()) << set.status();
  EXPECT_EQ(client->metrics().discoveries, 1u);
  EXPECT_EQ(client->metrics().failovers, 0u);
  // The replica has the value (replication is asynchronous).
  ASSERT_TRUE(PollUntil(
      [&] {
        auto v = replica_->Command({"GET", "k"});
        return v.ok() && v->str == "before the failover";
      },
      absl::Now() + Scaled(absl::Seconds(10)), absl::Milliseconds(10)));
  primary_->Kill();
  // Calls go on, each within its timeout (plus a margin for the call's own
  // work), failing while there is no primary, until one on the promoted
  // replica succeeds.
  int calls = 0;
  const bool followed = PollUntil(
      [&] {
        const absl::Time start = absl::Now();
        auto reply = client->Command({"SET", "k2", "after"});
        EXPECT_LT(absl::Now() - start,
                  kTimeout + Scaled(absl::Milliseconds(200)))
            << (reply.ok() ? "ok" : reply.status().ToString());
        ++calls;
        return reply.ok();
      },
      absl::Now() + Scaled(absl::Seconds(60)), absl::Milliseconds(20));
  ASSERT_TRUE(followed) << "no call succeeded after the failover";
  EXPECT_EQ(client->metrics().failovers, 1u);
  // The Sentinels closed the replica's clients as they promoted it: a
  // pooled connection of the test's own client may be stale (ROLE and GET
  // may run again).
  auto role = replica_->client().Command({"ROLE"}, Idempotent::kYes);
  ASSERT_TRUE(role.ok()) << role.status();
  EXPECT_EQ(role->elements[0].str, "master");
  auto get = client->Command({"GET", "k"});
  ASSERT_TRUE(get.ok()) << get.status();
  EXPECT_EQ(get->str, "before the failover");  // Read from the new primary.
  auto get2 = replica_->client().Command({"GET", "k2"}, Idempotent::kYes);
  ASSERT_TRUE(get2.ok()) << get2.status();
  EXPECT_EQ(get2->str, "after");
}

TEST_F(RedisSentinelTest, AHungSentinelDoesNotTakeTheOthersTime) {
  StartSet(/*tls=*/false);
  sentinels_[0]->Pause();
  constexpr absl::Duration kTimeout = absl::Seconds(1);
  auto client = Client(kTimeout, false);
  ASSERT_NE(client, nullptr);
  const absl::Time start = absl::Now();
  auto ping = client->Command({"PING"});
  EXPECT_LT(absl::Now() - start, kTimeout + Scaled(absl::Milliseconds(200)));
  ASSERT_TRUE(ping.ok()) << ping.status();
  EXPECT_EQ(ping->str, "PONG");
  EXPECT_EQ(client->metrics().discoveries, 1u);
  sentinels_[0]->Resume();
}

TEST_F(RedisSentinelTest, TlsToTheSentinelsAndTheDataNodes) {
  StartSet(/*tls=*/true);
  ASSERT_EQ(url_.rfind("rediss-sentinel://", 0), 0u) << url_;
  auto client = Client(absl::Seconds(2), true);
  ASSERT_NE(client, nullptr);
  auto set = client->Command({"SET", "k", "v"});
  ASSERT_TRUE(set.ok()) << set.status();
  auto get = client->Command({"GET", "k"});
  ASSERT_TRUE(get.ok()) << get.status();
  EXPECT_EQ(get->str, "v");
  ASSERT_TRUE(client->Warm(3).ok());
  const RedisClient::Metrics m = client->metrics();
  EXPECT_EQ(m.discoveries, 1u);
  EXPECT_EQ(m.tls_handshakes, 3u);
  EXPECT_EQ(m.tls_resumed, 2u);  // Links after the first resume.
  // Without the CA, the Sentinels' certificate is refused.
  auto untrusting = MakeRedisClient(
      url_, "", absl::Seconds(1),
      RedisTlsFiles{testing::MakeTempDir() + "/missing-ca.pem", "", ""});
  EXPECT_FALSE(untrusting.ok());
}

}  // namespace
}  // namespace tlsession::fleet
