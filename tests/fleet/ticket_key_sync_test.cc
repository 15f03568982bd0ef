// TicketKeySync against a real redis-server, on a clock the test moves:
// one lease holder publishes, every process loads the same keys, a new key
// only decrypts before it issues, old keys decrypt through their grace and
// are then gone, Redis down keeps the keys, Redis emptied gets them back,
// tampered values are refused. Also TicketKeyRing::Replace.
#include "fleet/ticket_key_sync.h"

#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <string>

#include "absl/strings/match.h"
#include "absl/time/clock.h"
#include "fleet/fleet_key.h"
#include "fleet/redis_client.h"
#include "session/ticket_keys.h"
#include "testbed/certs.h"
#include "testbed/redis_server.h"
#include "testbed/tls_server.h"
#include "tls/connection.h"
#include "tls/context.h"

namespace tlsession::fleet {
namespace {

using testing::TestRedisServer;

constexpr absl::Duration kPeriod = absl::Seconds(10);
constexpr absl::Duration kLead = absl::Seconds(2);
constexpr absl::Duration kGrace = absl::Seconds(15);

// A clock the test moves; starts 100 ms into an epoch.
class FakeClock {
 public:
  FakeClock()
      : ms_(absl::ToUnixMillis(absl::FromUnixSeconds(1700000000)) + 100) {}
  absl::Time Now() const { return absl::FromUnixMillis(ms_.load()); }
  void Advance(absl::Duration d) { ms_ += absl::ToInt64Milliseconds(d); }
  std::function<absl::Time()> Fn() {
    return [this] { return Now(); };
  }

 private:
  std::atomic<int64_t> ms_;
};

std::shared_ptr<const FleetKey> TestFleetKey() {
  return *FleetKey::FromSecret(Secret(std::string(32, 'k')), "test:");
}

std::shared_ptr<RedisClient> ClientFor(const TestRedisServer& redis) {
  RedisClient::Config config;
  config.endpoint.port = redis.port();
  config.endpoint.password = Secret(std::string(redis.password()));
  config.timeout = absl::Milliseconds(300);
  config.backoff = absl::Milliseconds(1);  // Tests move fast.
  config.max_backoff = absl::Milliseconds(1);
  return *RedisClient::Create(std::move(config));
}

TicketKeySync::Config SyncConfig(FakeClock& clock) {
  TicketKeySync::Config c;
  c.rotation_period = kPeriod;
  c.publish_lead = kLead;
  c.grace = kGrace;
  c.sync_interval = absl::Milliseconds(500);
  c.lease = absl::Seconds(30);
  c.background = false;
  c.clock = clock.Fn();
  return c;
}

std::string Name(const TicketKey& key) {
  return std::string(reinterpret_cast<const char*>(key.name.data()), 16);
}

// Whether |ring| holds the key named |name|, and if so whether it issues.
enum class Held { kNo, kDecryptOnly, kIssuing };
Held Holds(const TicketKeyRing& ring, const std::string& name) {
  bool current = false;
  auto key = ring.Find(reinterpret_cast<const uint8_t*>(name.data()), &current);
  if (!key) return Held::kNo;
  return current ? Held::kIssuing : Held::kDecryptOnly;
}

class TicketKeySyncTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto redis = TestRedisServer::Start();
    ASSERT_TRUE(redis.ok()) << redis.status();
    redis_ = *std::move(redis);
    key_ = TestFleetKey();
  }
  std::unique_ptr<TicketKeySync> MustStart() {
    auto sync =
        TicketKeySync::Start(ClientFor(*redis_), key_, SyncConfig(clock_));
    EXPECT_TRUE(sync.ok()) << sync.status();
    return sync.ok() ? *std::move(sync) : nullptr;
  }

  FakeClock clock_;
  std::unique_ptr<TestRedisServer> redis_;
  std::shared_ptr<const FleetKey> key_;
};

TEST(TicketKeyRingTest, ReplaceSetsIssuingAndDecryptOnlyKeys) {
  TicketKey a = TicketKey::Generate(), b = TicketKey::Generate(),
            c = TicketKey::Generate();
  TicketKeyRing ring(a, /*max_previous=*/0);
  ring.Replace(b, {a, c});
  EXPECT_EQ(ring.size(), 3u);
  EXPECT_EQ(Name(ring.current()), Name(b));
  EXPECT_EQ(Holds(ring, Name(a)), Held::kDecryptOnly);
  EXPECT_EQ(Holds(ring, Name(c)), Held::kDecryptOnly);
  ring.Replace(c, {});
  EXPECT_EQ(Holds(ring, Name(a)), Held::kNo);
  EXPECT_EQ(Holds(ring, Name(c)), Held::kIssuing);
}

TEST_F(TicketKeySyncTest, OneHolderPublishesAndEveryProcessLoadsTheSameKeys) {
  auto a = MustStart();
  auto b = MustStart();
  ASSERT_TRUE(a && b);
  EXPECT_TRUE(a->metrics().holder);
  EXPECT_FALSE(b->metrics().holder);
  EXPECT_EQ(a->metrics().published, 2u);  // This epoch's and the next's.
  EXPECT_EQ(b->metrics().published, 0u);
  EXPECT_EQ(Name(a->ring()->current()), Name(b->ring()->current()));
  EXPECT_EQ(a->ring()->size(), 2u);
  EXPECT_EQ(b->ring()->size(), 2u);
  // In Redis: two sealed keys and the lease, under digest names only.
  auto keys = redis_->Keys("*");
  ASSERT_TRUE(keys.ok());
  EXPECT_EQ(keys->size(), 3u);
  for (const std::string& k : *keys) {
    EXPECT_TRUE(absl::StartsWith(k, "test:tk")) << k;
    auto value = redis_->Command({"GET", k});
    ASSERT_TRUE(value.ok());
    EXPECT_FALSE(absl::StrContains(value->str, Name(a->ring()->current())));
  }
}

TEST_F(TicketKeySyncTest, NewKeyDecryptsBeforeItIssuesAndOldKeyHasGrace) {
  auto a = MustStart();
  auto b = MustStart();
  ASSERT_TRUE(a && b);
  const std::string first = Name(a->ring()->current());
  // The next epoch's key is already in both rings, decrypt-only.
  ASSERT_EQ(b->ring()->size(), 2u);
  clock_.Advance(kPeriod - absl::Milliseconds(200));  // Just before the end.
  ASSERT_TRUE(a->SyncNow().ok());
  ASSERT_TRUE(b->SyncNow().ok());
  EXPECT_EQ(Name(a->ring()->current()), first);
  EXPECT_EQ(Name(b->ring()->current()), first);
  clock_.Advance(absl::Milliseconds(300));  // Into the next epoch.
  ASSERT_TRUE(a->SyncNow().ok());
  ASSERT_TRUE(b->SyncNow().ok());
  const std::string next = Name(a->ring()->current());
  EXPECT_NE(next, first);
  EXPECT_EQ(Name(b->ring()->current()), next);
  // The old key still decrypts (renewing tickets) through its grace.
  EXPECT_EQ(Holds(*a->ring(), first), Held::kDecryptOnly);
  EXPECT_EQ(Holds(*b->ring(), first), Held::kDecryptOnly);
  clock_.Advance(kLead + kGrace - absl::Seconds(1));
  ASSERT_TRUE(b->SyncNow().ok());
  EXPECT_EQ(Holds(*b->ring(), first), Held::kDecryptOnly);
  clock_.Advance(absl::Seconds(2));
  ASSERT_TRUE(b->SyncNow().ok());
  EXPECT_EQ(Holds(*b->ring(), first), Held::kNo);  // Dropped and wiped.
}

TEST_F(TicketKeySyncTest, AKeyPublishedLateOnlyDecryptsForTheLead) {
  auto a = MustStart();
  ASSERT_NE(a, nullptr);
  const std::string first = Name(a->ring()->current());
  // Redis loses everything; the clock is well into the next epoch.
  ASSERT_TRUE(redis_->Command({"FLUSHALL"}).ok());
  clock_.Advance(kPeriod * 3);
  // A process that never saw the old keys starts now; the holder is gone.
  a.reset();
  auto b = MustStart();
  ASSERT_NE(b, nullptr);
  EXPECT_TRUE(b->metrics().holder);
  auto c = MustStart();
  ASSERT_NE(c, nullptr);
  // b published a new key for this epoch: both issue it (nothing else is
  // ready at a cold start).
  EXPECT_EQ(Name(b->ring()->current()), Name(c->ring()->current()));
  EXPECT_NE(Name(c->ring()->current()), first);
}

TEST_F(TicketKeySyncTest, LeasePassesToAnotherProcessWhenTheHolderGoes) {
  auto a = MustStart();
  auto b = MustStart();
  ASSERT_TRUE(a && b);
  ASSERT_TRUE(a->metrics().holder);
  a.reset();
  // The lease would expire after its PX; the test expires it now.
  auto lease = redis_->Keys("test:tk-lease*");
  ASSERT_TRUE(lease.ok());
  ASSERT_EQ(lease->size(), 1u);
  ASSERT_TRUE(redis_->Command({"DEL", (*lease)[0]}).ok());
  clock_.Advance(kPeriod);
  ASSERT_TRUE(b->SyncNow().ok());
  EXPECT_TRUE(b->metrics().holder);
  EXPECT_EQ(b->metrics().published, 1u);  // The epoch after the new one.
}

TEST_F(TicketKeySyncTest, RedisDownKeepsTheKeysAndRedisEmptiedGetsThemBack) {
  auto a = MustStart();
  auto b = MustStart();
  ASSERT_TRUE(a && b);
  clock_.Advance(kPeriod);
  ASSERT_TRUE(a->SyncNow().ok());  // Publishes the key after next.
  ASSERT_TRUE(b->SyncNow().ok());
  redis_->Kill();
  // Keys loaded before the outage still take their turn...
  clock_.Advance(kPeriod);
  EXPECT_FALSE(a->SyncNow().ok());
  EXPECT_FALSE(b->SyncNow().ok());
  const std::string issuing = Name(a->ring()->current());
  EXPECT_EQ(Name(b->ring()->current()), issuing);
  // ...and the last one goes on issuing past its epoch.
  clock_.Advance(kPeriod * 2);
  EXPECT_FALSE(a->SyncNow().ok());
  EXPECT_FALSE(b->SyncNow().ok());
  EXPECT_EQ(Name(a->ring()->current()), issuing);
  EXPECT_EQ(Name(b->ring()->current()), issuing);
  EXPECT_GE(b->metrics().sync_failures, 2u);
  // Redis comes back empty: the holder publishes keys for this epoch and
  // the next; they only decrypt for the lead, so nobody changes keys yet.
  ASSERT_TRUE(redis_->Restart().ok());
  ASSERT_TRUE(a->SyncNow().ok());
  ASSERT_TRUE(b->SyncNow().ok());
  EXPECT_TRUE(a->metrics().holder);
  EXPECT_EQ(Name(a->ring()->current()), issuing);
  EXPECT_EQ(Name(b->ring()->current()), issuing);
  EXPECT_EQ(b->ring()->size(), 3u);
  clock_.Advance(kLead);
  ASSERT_TRUE(a->SyncNow().ok());
  ASSERT_TRUE(b->SyncNow().ok());
  const std::string fresh = Name(a->ring()->current());
  EXPECT_NE(fresh, issuing);
  EXPECT_EQ(Name(b->ring()->current()), fresh);
  EXPECT_EQ(Holds(*b->ring(), issuing), Held::kDecryptOnly);
  // A process that starts now loads it too.
  auto c = MustStart();
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(Holds(*c->ring(), fresh), Held::kIssuing);
}

TEST_F(TicketKeySyncTest, StartsWithALocalKeyWhenRedisIsDown) {
  redis_->Kill();
  auto a = MustStart();
  ASSERT_NE(a, nullptr);
  EXPECT_TRUE(a->metrics().issuing_local);
  const std::string local = Name(a->ring()->current());
  ASSERT_TRUE(redis_->Restart().ok());
  auto b = MustStart();  // Holder: publishes the fleet's keys.
  ASSERT_NE(b, nullptr);
  // They decrypt at once and issue after the lead.
  ASSERT_TRUE(a->SyncNow().ok());
  EXPECT_TRUE(a->metrics().issuing_local);
  EXPECT_EQ(Holds(*a->ring(), Name(b->ring()->current())), Held::kDecryptOnly);
  clock_.Advance(kLead);
  ASSERT_TRUE(a->SyncNow().ok());
  ASSERT_TRUE(b->SyncNow().ok());
  EXPECT_FALSE(a->metrics().issuing_local);
  EXPECT_EQ(Name(a->ring()->current()), Name(b->ring()->current()));
  // Tickets issued under the local key still decrypt through the grace.
  EXPECT_EQ(Holds(*a->ring(), local), Held::kDecryptOnly);
}

TEST_F(TicketKeySyncTest, TamperedOrMovedKeysAreRefused) {
  auto a = MustStart();
  ASSERT_NE(a, nullptr);
  auto keys = redis_->Keys("test:tk:*");
  ASSERT_TRUE(keys.ok());
  ASSERT_EQ(keys->size(), 2u);
  // Flip one bit of the first; move the second's value over it... and the
  // first's (original) over the second.
  auto v0 = redis_->Command({"GET", (*keys)[0]});
  auto v1 = redis_->Command({"GET", (*keys)[1]});
  ASSERT_TRUE(v0.ok() && v1.ok());
  std::string flipped = v0->str;
  flipped[flipped.size() / 2] ^= 0x01;
  ASSERT_TRUE(redis_->Command({"SET", (*keys)[0], v1->str}).ok());
  ASSERT_TRUE(redis_->Command({"SET", (*keys)[1], flipped}).ok());
  auto b = MustStart();
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->metrics().rejected, 2u);
  EXPECT_TRUE(b->metrics().issuing_local);  // Loaded nothing; no crash.
  EXPECT_EQ(Holds(*b->ring(), Name(a->ring()->current())), Held::kNo);
}

// Whether a ticket that a server issuing under |x| gives a client resumes
// on a server issuing under |y| (real handshakes on loopback).
bool ResumesAcross(std::shared_ptr<TicketKeyRing> x,
                   std::shared_ptr<TicketKeyRing> y) {
  const testing::TestPki& pki = testing::GetTestPki();
  auto server = [&](std::shared_ptr<TicketKeyRing> ring) {
    ContextOptions o;
    o.role = Role::kServer;
    o.certificate_chain_pem = pki.server.cert_pem;
    o.private_key_pem = pki.server.key_pem;
    o.session_id_context = "ticket-key-sync-test";
    o.ticket_keys = std::move(ring);
    auto ctx = Context::Create(std::move(o));
    EXPECT_TRUE(ctx.ok()) << ctx.status();
    auto s = testing::TestTlsServer::Start(*ctx);
    EXPECT_TRUE(s.ok()) << s.status();
    return *std::move(s);
  };
  auto sx = server(std::move(x));
  auto sy = server(std::move(y));
  ContextOptions o;
  o.ca_pem = pki.ca.cert_pem;
  auto client = *Context::Create(std::move(o));
  auto first = Connection::Connect(client, "localhost", sx->port());
  EXPECT_TRUE(first.ok()) << first.status();
  if (!first.ok()) return false;
  auto session = (*first)->WaitForSession(absl::Seconds(5));
  EXPECT_TRUE(session.ok()) << session.status();
  EXPECT_TRUE((*first)->Shutdown().ok());
  if (!session.ok()) return false;
  auto second = Connection::Connect(client, "localhost", sy->port(), *session);
  EXPECT_TRUE(second.ok()) << second.status();
  if (!second.ok()) return false;
  const bool reused = (*second)->session_reused();
  EXPECT_TRUE((*second)->Shutdown().ok());
  return reused;
}

// Issue 20's third repro: a garbage value over an epoch's key (SET ...
// KEEPTTL, as a corrupted write would leave it) is not a key. A process that
// starts after it cannot load that epoch; within one sync interval (one
// round each) the holder replaces it and both issue and accept under the
// same key: X's tickets resume on Y.
class CorruptKeyTest : public TicketKeySyncTest,
                       public ::testing::WithParamInterface<int> {};

TEST_P(CorruptKeyTest, IsReplacedAndTheFleetConverges) {
  const int64_t offset = GetParam();  // 0: this epoch's key; 1: the next.
  auto x = MustStart();
  ASSERT_NE(x, nullptr);
  ASSERT_TRUE(x->metrics().holder);
  const int64_t epoch =
      absl::ToUnixMillis(clock_.Now()) / absl::ToInt64Milliseconds(kPeriod);
  const std::string name = key_->KeyName("tk", absl::StrCat(epoch + offset));
  ASSERT_TRUE(redis_->Command({"SET", name, "garbage", "KEEPTTL"}).ok());
  auto y = MustStart();
  ASSERT_NE(y, nullptr);
  EXPECT_EQ(y->metrics().rejected, 1u);
  // The epoch whose key was corrupted starts issuing (for the next one).
  clock_.Advance(offset * kPeriod);
  const absl::Duration interval = SyncConfig(clock_).sync_interval;
  clock_.Advance(interval);
  ASSERT_TRUE(x->SyncNow().ok());
  ASSERT_TRUE(y->SyncNow().ok());
  EXPECT_EQ(x->metrics().replaced, 1u);
  EXPECT_EQ(x->metrics().issuing_epoch, epoch + offset);
  EXPECT_EQ(y->metrics().issuing_epoch, epoch + offset);
  EXPECT_EQ(Name(x->ring()->current()), Name(y->ring()->current()));
  auto value = redis_->Command({"GET", name});
  ASSERT_TRUE(value.ok());
  EXPECT_NE(value->str, "garbage");
  EXPECT_TRUE(ResumesAcross(x->ring(), y->ring()));
  EXPECT_TRUE(ResumesAcross(y->ring(), x->ring()));
}

INSTANTIATE_TEST_SUITE_P(ThisAndNextEpoch, CorruptKeyTest,
                         ::testing::Values(0, 1));

}  // namespace
}  // namespace tlsession::fleet
