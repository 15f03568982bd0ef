// RedisServerSessionStore against a real redis-server: sessions cross
// instances, values are sealed under digest names with the session's
// expiry, tampered or moved values are misses, and a hung Redis costs each
// lookup at most the timeout, then nothing (back-off), then recovers.
#include "fleet/redis_server_session_store.h"

#include <gtest/gtest.h>

#include <unistd.h>

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/time/clock.h"
#include "fleet/fleet_key.h"
#include "fleet/redis_client.h"
#include "testbed/poll.h"
#include "testbed/redis_server.h"
#include "tls/socket.h"

namespace tlsession::fleet {
namespace {

using testing::PollUntil;
using testing::Scaled;
using testing::TestRedisServer;

// A margin over a call's timeout for its own work: the timeout runs on the
// wall clock in any build, the work stretches with it (testbed/poll.h).
absl::Duration Margin() { return Scaled(absl::Milliseconds(200)); }

// The bound on the background writer's catching up.
absl::Duration WriteWait() { return Scaled(absl::Seconds(5)); }

std::shared_ptr<RedisClient> ClientFor(const TestRedisServer& redis,
                                       absl::Duration timeout) {
  RedisClient::Config config;
  config.endpoint.port = redis.port();
  config.endpoint.password = Secret(std::string(redis.password()));
  config.timeout = timeout;
  // The lookups a test expects skipped must all fall within the back-off.
  config.backoff = Scaled(absl::Milliseconds(300));
  config.max_backoff = Scaled(absl::Milliseconds(300));
  return *RedisClient::Create(std::move(config));
}

class RedisServerSessionStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto redis = TestRedisServer::Start();
    ASSERT_TRUE(redis.ok()) << redis.status();
    redis_ = *std::move(redis);
    key_ = *FleetKey::FromSecret(Secret(std::string(40, 'f')));
  }
  // One "instance": its own client, LRU and writer.
  std::unique_ptr<RedisServerSessionStore> Instance(
      absl::Duration timeout = absl::Milliseconds(500)) {
    return std::make_unique<RedisServerSessionStore>(
        ClientFor(*redis_, timeout), key_);
  }

  std::unique_ptr<TestRedisServer> redis_;
  std::shared_ptr<const FleetKey> key_;
};

TEST_F(RedisServerSessionStoreTest, SessionMadeOnOneInstanceResumesOnAnother) {
  auto a = Instance();
  auto b = Instance();
  const std::string id = "session-id-0123456789abcdef";
  const std::string session = "serialized session with its master secret";
  a->Put(id, session, absl::Now() + absl::Minutes(10));
  ASSERT_TRUE(a->WaitForWrites(WriteWait()));
  EXPECT_EQ(a->Get(id), session);  // From a's own LRU...
  EXPECT_EQ(a->metrics().local_hits, 1u);
  EXPECT_EQ(a->metrics().redis_gets, 0u);
  EXPECT_EQ(b->Get(id), session);  // ...from Redis, one GET...
  EXPECT_EQ(b->metrics().redis_gets, 1u);
  EXPECT_EQ(b->Get(id), session);  // ...then from b's LRU.
  EXPECT_EQ(b->metrics().redis_gets, 1u);
  EXPECT_EQ(b->metrics().hits, 2u);
  EXPECT_EQ(b->Get("another id"), std::nullopt);
  EXPECT_EQ(b->metrics().misses, 1u);
}

TEST_F(RedisServerSessionStoreTest, RedisHoldsOnlySealedValuesUnderDigests) {
  auto a = Instance();
  const std::string id = "visible-session-id";
  const std::string session = "MASTER-SECRET-BYTES";
  const absl::Time expiry = absl::Now() + absl::Seconds(90);
  a->Put(id, session, expiry);
  ASSERT_TRUE(a->WaitForWrites(WriteWait()));
  auto keys = redis_->Keys("*");
  ASSERT_TRUE(keys.ok());
  ASSERT_EQ(keys->size(), 1u);
  const std::string& name = (*keys)[0];
  EXPECT_EQ(name, a->KeyNameFor(id));
  EXPECT_FALSE(absl::StrContains(name, id));
  EXPECT_FALSE(absl::StrContains(name, absl::BytesToHexString(id)));
  auto value = redis_->Command({"GET", name});
  ASSERT_TRUE(value.ok());
  EXPECT_FALSE(absl::StrContains(value->str, session));
  EXPECT_EQ(value->str.size(), FleetKey::kSealOverhead + 8 + session.size());
  // SET ... PX: Redis drops it when the session expires.
  auto pttl = redis_->Command({"PTTL", name});
  ASSERT_TRUE(pttl.ok());
  EXPECT_GT(pttl->integer, 80000);
  EXPECT_LE(pttl->integer, 90000);
}

TEST_F(RedisServerSessionStoreTest, TamperedMovedOrForeignValuesAreMisses) {
  auto a = Instance();
  const absl::Time expiry = absl::Now() + absl::Minutes(5);
  a->Put("id-1", "session one", expiry);
  a->Put("id-2", "session two", expiry);
  ASSERT_TRUE(a->WaitForWrites(WriteWait()));
  const std::string n1 = a->KeyNameFor("id-1");
  const std::string n2 = a->KeyNameFor("id-2");
  auto v1 = redis_->Command({"GET", n1});
  ASSERT_TRUE(v1.ok());
  // id-2's name now holds id-1's (valid) value: moved.
  ASSERT_TRUE(redis_->Command({"SET", n2, v1->str}).ok());
  // id-1's value with one bit flipped, in every position class.
  std::string flipped = v1->str;
  flipped[flipped.size() - 1] ^= 0x80;
  ASSERT_TRUE(redis_->Command({"SET", n1, flipped}).ok());
  // Garbage and an empty value under other names.
  ASSERT_TRUE(redis_->Command({"SET", a->KeyNameFor("id-3"), "garbage"}).ok());
  ASSERT_TRUE(redis_->Command({"SET", a->KeyNameFor("id-4"), ""}).ok());
  auto b = Instance();
  for (const char* id : {"id-1", "id-2", "id-3", "id-4"}) {
    EXPECT_EQ(b->Get(id), std::nullopt) << id;
  }
  EXPECT_EQ(b->metrics().rejected, 4u);
  EXPECT_EQ(b->metrics().hits, 0u);
  // Under another fleet key, nothing opens either.
  auto other = std::make_unique<RedisServerSessionStore>(
      ClientFor(*redis_, absl::Seconds(1)),
      *FleetKey::FromSecret(Secret(std::string(40, 'g'))));
  a->Put("id-5", "session five", expiry);
  ASSERT_TRUE(a->WaitForWrites(WriteWait()));
  ASSERT_TRUE(redis_
                  ->Command({"RENAME", a->KeyNameFor("id-5"),
                             other->KeyNameFor("id-5")})
                  .ok());
  EXPECT_EQ(other->Get("id-5"), std::nullopt);
  EXPECT_EQ(other->metrics().rejected, 1u);
}

TEST_F(RedisServerSessionStoreTest, RemoveAndExpiry) {
  auto a = Instance();
  auto b = Instance();
  a->Put("gone", "s", absl::Now() + absl::Minutes(5));
  a->Put("expired", "s", absl::Now() - absl::Seconds(1));
  ASSERT_TRUE(a->WaitForWrites(WriteWait()));
  EXPECT_EQ(b->Get("gone"), "s");
  a->Remove("gone");
  ASSERT_TRUE(a->WaitForWrites(WriteWait()));
  auto c = Instance();  // b's LRU still has it; a fresh instance does not.
  EXPECT_EQ(c->Get("gone"), std::nullopt);
  EXPECT_EQ(c->Get("expired"), std::nullopt);
  EXPECT_EQ(a->Get("expired"), std::nullopt);
  auto keys = redis_->Keys("*");
  ASSERT_TRUE(keys.ok());
  EXPECT_TRUE(keys->empty());
}

TEST_F(RedisServerSessionStoreTest, HungRedisCostsAtMostTheTimeoutThenNothing) {
  const absl::Duration timeout = absl::Milliseconds(40);
  auto a = Instance();
  auto b = Instance(timeout);
  for (int i = 0; i < 20; ++i) {
    a->Put("id" + std::to_string(i), "s", absl::Now() + absl::Minutes(5));
  }
  ASSERT_TRUE(a->WaitForWrites(WriteWait()));
  redis_->Pause();
  for (int i = 0; i < 10; ++i) {
    const absl::Time start = absl::Now();
    EXPECT_EQ(b->Get("id" + std::to_string(i)), std::nullopt);
    EXPECT_LT(absl::Now() - start, timeout + Margin()) << "lookup " << i;
  }
  // A few time out (three failures in a row, counting the store's own
  // warm-up connection if it was still connecting), then the back-off skips.
  const RedisServerSessionStore::Metrics m = b->metrics();
  EXPECT_GE(m.timeouts, 1u);
  EXPECT_LE(m.timeouts, 3u);
  EXPECT_EQ(m.timeouts + m.skipped, 10u);
  // Puts while Redis hangs never block the caller.
  const absl::Time start = absl::Now();
  for (int i = 0; i < 100; ++i) {
    b->Put("new" + std::to_string(i), "s", absl::Now() + absl::Minutes(5));
  }
  EXPECT_LT(absl::Now() - start, Margin());
  redis_->Resume();
  // Resumption comes back by itself once the back-off ends.
  std::optional<std::string> got;
  PollUntil(
      [&] {
        got = b->Get("id15");
        return got.has_value();
      },
      absl::Now() + Scaled(absl::Seconds(5)), absl::Milliseconds(50));
  EXPECT_EQ(got, "s");
}

TEST_F(RedisServerSessionStoreTest, KilledRedisIsAMissAndARestartRecovers) {
  auto a = Instance(absl::Milliseconds(40));
  a->Put("before", "s", absl::Now() + absl::Minutes(5));
  ASSERT_TRUE(a->WaitForWrites(WriteWait()));
  redis_->Kill();
  auto b = Instance(absl::Milliseconds(40));
  const absl::Time start = absl::Now();
  EXPECT_EQ(b->Get("before"), std::nullopt);
  EXPECT_LT(absl::Now() - start, absl::Milliseconds(40) + Margin());
  EXPECT_GE(b->metrics().errors + b->metrics().skipped, 1u);
  ASSERT_TRUE(redis_->Restart().ok());
  // Everything was lost (no persistence); new sessions cross again.
  // Once the instances' clients are past their back-off and reconnected,
  // which nothing announces: polled.
  std::optional<std::string> got;
  PollUntil(
      [&] {
        a->Put("after", "s2", absl::Now() + absl::Minutes(5));
        a->WaitForWrites(Scaled(absl::Seconds(1)));
        got = b->Get("after");
        return got.has_value();
      },
      absl::Now() + Scaled(absl::Seconds(5)), absl::Milliseconds(50));
  EXPECT_EQ(got, "s2");
}

// 0-RTT's single-use check: SET NX PX of the digest's name. One instance's
// claim is seen by every other; the claim expires with the ticket.
TEST_F(RedisServerSessionStoreTest,
       AnEarlyDataClaimSucceedsOnceAcrossInstances) {
  auto a = Instance();
  auto b = Instance();
  const std::string digest(32, 'd');
  const absl::Time expiry = absl::Now() + absl::Seconds(90);
  EXPECT_TRUE(a->ClaimEarlyData(digest, expiry).ok());
  EXPECT_EQ(a->ClaimEarlyData(digest, expiry).code(),
            absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(b->ClaimEarlyData(digest, expiry).code(),
            absl::StatusCode::kAlreadyExists);
  EXPECT_TRUE(b->ClaimEarlyData(std::string(32, 'e'), expiry).ok());
  EXPECT_EQ(a->metrics().early_data_claims, 1u);
  EXPECT_EQ(a->metrics().early_data_replays, 1u);
  EXPECT_EQ(b->metrics().early_data_replays, 1u);
  auto pttl = redis_->Command({"PTTL", a->ClaimNameFor(digest)});
  ASSERT_TRUE(pttl.ok());
  EXPECT_GT(pttl->integer, 80000);
  EXPECT_LE(pttl->integer, 90000);
  EXPECT_FALSE(absl::StrContains(a->ClaimNameFor(digest), digest));
}

TEST_F(RedisServerSessionStoreTest, AnEarlyDataClaimFailsClosedWhenRedisDoes) {
  auto a = Instance(absl::Milliseconds(100));
  const absl::Time expiry = absl::Now() + absl::Seconds(90);
  redis_->Pause();
  const absl::Time start = absl::Now();
  absl::Status hung = a->ClaimEarlyData("hung digest", expiry);
  EXPECT_LT(absl::Now() - start, absl::Milliseconds(100) + Margin());
  redis_->Resume();
  EXPECT_FALSE(hung.ok());
  EXPECT_NE(hung.code(), absl::StatusCode::kAlreadyExists);
  redis_->Kill();
  absl::Status down = a->ClaimEarlyData("down digest", expiry);
  EXPECT_FALSE(down.ok());
  EXPECT_NE(down.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(a->metrics().early_data_failures, 2u);
  EXPECT_EQ(a->metrics().early_data_claims, 0u);
}

// A peer on Redis's port that answers every request with |reply|: what a
// confused proxy or another service would say.
class WrongAnswerServer {
 public:
  explicit WrongAnswerServer(std::string reply)
      : listener_(*TcpListener::Listen("127.0.0.1", 0)),
        reply_(std::move(reply)),
        thread_([this] { Run(); }) {}
  ~WrongAnswerServer() {
    stop_ = true;
    thread_.join();
  }
  uint16_t port() const { return listener_.port(); }

 private:
  void Run() {
    while (!stop_) {
      absl::StatusOr<OwnedFd> fd = listener_.Accept(absl::Milliseconds(20));
      if (!fd.ok()) continue;
      char buf[4096];
      while (!stop_ && read(fd->get(), buf, sizeof(buf)) > 0) {
        if (write(fd->get(), reply_.data(), reply_.size()) < 0) break;
      }
    }
  }
  TcpListener listener_;
  const std::string reply_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

TEST(RedisEarlyDataClaimTest, AnyAnswerButOkOrNilRejects) {
  auto key = *FleetKey::FromSecret(Secret(std::string(40, 'f')));
  for (const std::string reply :
       {"+QUEUED\r\n", ":1\r\n", "$2\r\nOK\r\n", "-ERR no\r\n", "*1\r\n+OK\r\n",
        "?garbage\r\n"}) {
    WrongAnswerServer peer(reply);
    RedisClient::Config config;
    config.endpoint.port = peer.port();
    config.timeout = Scaled(absl::Seconds(1));
    auto redis = RedisClient::Create(std::move(config));
    ASSERT_TRUE(redis.ok()) << redis.status();
    RedisServerSessionStore store(*redis, key);
    absl::Status claim =
        store.ClaimEarlyData("digest", absl::Now() + absl::Minutes(1));
    EXPECT_FALSE(claim.ok()) << absl::CEscape(reply);
    EXPECT_NE(claim.code(), absl::StatusCode::kAlreadyExists)
        << absl::CEscape(reply);
  }
}

}  // namespace
}  // namespace tlsession::fleet
