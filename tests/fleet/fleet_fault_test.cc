// Redis killed (SIGKILL) and hung (SIGSTOP) in the middle of a run of
// handshakes against two tls_echo_server processes sharing TLS 1.2 session
// IDs through Redis: every handshake completes (as a full one), none waits
// longer than the Redis timeout plus a margin, no error reaches the client,
// and resumption comes back by itself once Redis does.
#include <gtest/gtest.h>

#include <atomic>
#include <functional>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "fleet/fleet_key.h"
#include "testbed/certs.h"
#include "testbed/poll.h"
#include "tests/fleet/fleet_harness.h"
#include "tls/connection.h"
#include "tls/context.h"

namespace tlsession::testing {
namespace {

// The instances' --redis-timeout, and the bound every handshake must meet:
// the timeout plus a generous margin for the handshake itself (a
// correctness bound: no handshake waits on a dead Redis, not a speed
// measurement). The timeout runs on the wall clock in any build; the
// margin, for the handshake's work, stretches with it (testbed/poll.h).
constexpr absl::Duration kRedisTimeout = absl::Milliseconds(50);
absl::Duration Bound() {
  return kRedisTimeout + Scaled(absl::Milliseconds(200));
}

class FleetFaultTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto fleet = FleetHarness::Start();
    ASSERT_TRUE(fleet.ok()) << fleet.status();
    fleet_ = *std::move(fleet);
    const std::vector<std::string> flags = {
        "--session-store",
        "redis",
        "--ticket-keys",
        "off",
        "--max-version",
        "1.2",
        "--redis-timeout",
        absl::StrCat(absl::ToInt64Milliseconds(kRedisTimeout), "ms")};
    ASSERT_TRUE(fleet_->StartInstance(flags).ok());
    ASSERT_TRUE(fleet_->StartInstance(flags).ok());
    auto key = fleet::FleetKey::FromFile(fleet_->fleet_key_file());
    ASSERT_TRUE(key.ok()) << key.status();
    key_ = *key;
    ContextOptions o;
    o.ca_pem = GetTestPki().ca.cert_pem;
    o.max_version = TLS1_2_VERSION;
    o.io_timeout = absl::Seconds(10);
    client_ = *Context::Create(std::move(o));
  }

  // One handshake with instance |i| offering |offer|; records its time.
  struct Result {
    bool ok = false;
    bool resumed = false;
    absl::Duration took;
    Session session;
    std::string error;
  };
  Result Handshake(size_t i, const Session& offer) {
    Result r;
    const absl::Time start = absl::Now();
    auto conn =
        Connection::Connect(client_, "localhost", fleet_->port(i), offer);
    r.took = absl::Now() - start;
    if (!conn.ok()) {
      r.error = std::string(conn.status().message());
      return r;
    }
    r.ok = true;
    r.resumed = (*conn)->session_reused();
    r.session = (*conn)->session();
    (void)(*conn)->Shutdown();
    return r;
  }

  // Waits until instance 1's background writer stored |session| in Redis
  // (which nothing announces: polled).
  bool WaitStored(const Session& session) {
    const std::string name = key_->KeyName("s", session.id());
    return PollUntil(
        [&] {
          auto exists = fleet_->redis().Command({"EXISTS", name});
          return exists.ok() && exists->integer == 1;
        },
        absl::Now() + Scaled(absl::Seconds(2)), absl::Milliseconds(2));
  }

  // A full handshake on instance 1, then a resumption attempt on instance
  // 2; both must complete within Bound(). Returns whether 2 resumed.
  bool Round(bool wait_stored) {
    Result full = Handshake(0, Session());
    EXPECT_TRUE(full.ok) << full.error;
    EXPECT_LT(full.took, Bound()) << "full handshake";
    if (!full.ok) return false;
    if (wait_stored) WaitStored(full.session);
    Result again = Handshake(1, full.session);
    EXPECT_TRUE(again.ok) << again.error;
    EXPECT_LT(again.took, Bound()) << "resumption attempt";
    ++rounds_;
    return again.ok && again.resumed;
  }

  // Rounds until instance 2 resumes again (the back-off ends by itself).
  void ExpectResumptionReturns() {
    const bool resumed = PollUntil([&] { return Round(/*wait_stored=*/true); },
                                   absl::Now() + Scaled(absl::Seconds(20)),
                                   absl::Milliseconds(100));
    EXPECT_TRUE(resumed) << "resumption did not come back";
    for (int i = 0; i < 3; ++i) EXPECT_TRUE(Round(true)) << "round " << i;
  }

  // Runs rounds while |fault| happens on another thread: |n| / 2 rounds
  // before it is set off, then rounds on until it has happened and |n| have
  // run, so that it strikes in the middle of the run in any build (a fixed
  // delay fell after the last round in a fast build, or before the first in
  // a slow one). Then |n| rounds with the fault in place: none resumes.
  void RoundsDuring(int n, const std::function<void()>& fault) {
    std::promise<void> set_off;
    std::atomic<bool> struck{false};
    std::thread t([&fault, &struck, go = set_off.get_future()] {
      go.wait();
      fault();
      struck = true;
    });
    for (int i = 0; i < n || !struck; ++i) {
      if (i == n / 2) set_off.set_value();
      Round(/*wait_stored=*/false);
    }
    t.join();
    for (int i = 0; i < n; ++i) EXPECT_FALSE(Round(false)) << "round " << i;
  }

  std::unique_ptr<FleetHarness> fleet_;
  std::shared_ptr<const fleet::FleetKey> key_;
  std::shared_ptr<const Context> client_;
  int rounds_ = 0;
};

TEST_F(FleetFaultTest, HungRedisThenKilledRedis) {
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(Round(true)) << "healthy " << i;

  // SIGSTOP in the middle of a run: Redis holds its connections and never
  // answers; every lookup gives up at the timeout, then the back-off skips.
  RoundsDuring(10, [&] { fleet_->redis().Pause(); });
  fleet_->redis().Resume();
  ExpectResumptionReturns();

  // SIGKILL in the middle of a run: connections are refused at once.
  RoundsDuring(10, [&] { fleet_->redis().Kill(); });
  ASSERT_TRUE(fleet_->redis().Restart().ok());  // Empty, same port.
  ExpectResumptionReturns();

  auto stats = fleet_->Stats(1);
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_EQ((*stats)["failed"], 0u) << fleet_->process(1).log();
  EXPECT_GE((*stats)["timeouts"], 1u) << fleet_->process(1).log();
  EXPECT_GE((*stats)["skipped"], 1u) << fleet_->process(1).log();
  EXPECT_GE((*stats)["errors"], 1u) << fleet_->process(1).log();
  EXPECT_EQ((*stats)["handshakes"], static_cast<uint64_t>(rounds_));
  auto first = fleet_->Stats(0);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ((*first)["failed"], 0u) << fleet_->process(0).log();
}

}  // namespace
}  // namespace tlsession::testing
