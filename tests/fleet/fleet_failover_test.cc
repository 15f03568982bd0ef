// Sentinel failover under load: a primary redis-server, a replica of it,
// three Sentinels, and two tls_echo_server processes sharing TLS 1.2 session
// IDs through redis-sentinel://. Handshakes run without pause while the
// test SIGKILLs the primary: every handshake completes (fail-open), the
// Sentinels promote the replica, and fleet-wide resumption comes back by
// itself within 10 s of the promotion (the time is printed: see
// docs/benchmarks.md for the figure over a run).
#include <gtest/gtest.h>

#include <atomic>
#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "testbed/certs.h"
#include "testbed/poll.h"
#include "testbed/redis_sentinel.h"
#include "testbed/redis_server.h"
#include "tests/fleet/fleet_harness.h"
#include "tls/connection.h"
#include "tls/context.h"

namespace tlsession::testing {
namespace {

constexpr absl::Duration kRedisTimeout = absl::Milliseconds(50);

// The bound on one handshake: the Redis timeout (a lookup) plus a generous
// margin for the handshake's own work; not a speed measurement.
absl::Duration Bound() {
  return 2 * kRedisTimeout + Scaled(absl::Milliseconds(500));
}

class FleetFailoverTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto fleet = FleetHarness::Start();
    ASSERT_TRUE(fleet.ok()) << fleet.status();
    fleet_ = *std::move(fleet);
    TestRedisServer::Options r;
    r.password = fleet_->redis().password();
    r.replica_of = fleet_->redis().port();
    auto replica = TestRedisServer::StartWith(r);
    ASSERT_TRUE(replica.ok()) << replica.status();
    replica_ = *std::move(replica);
    TestRedisSentinel::Options s;
    s.primary_port = fleet_->redis().port();
    s.password = fleet_->redis().password();
    for (int i = 0; i < 3; ++i) {
      auto sentinel = TestRedisSentinel::Start(s);
      ASSERT_TRUE(sentinel.ok()) << sentinel.status();
      sentinels_.push_back(*std::move(sentinel));
    }
    // A failover needs every Sentinel to know the replica (healthy) and the
    // other two (the quorum); they learn both by themselves, in seconds.
    const bool ready = PollUntil(
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
        absl::Now() + Scaled(absl::Seconds(60)), absl::Milliseconds(50));
    ASSERT_TRUE(ready) << "the Sentinels did not find the replica and "
                          "each other";
    const std::vector<std::string> flags = {
        "--session-store",
        SentinelUrl(sentinels_),
        "--ticket-keys",
        "off",
        "--max-version",
        "1.2",
        "--redis-timeout",
        absl::StrCat(absl::ToInt64Milliseconds(kRedisTimeout), "ms")};
    ASSERT_TRUE(fleet_->StartInstance(flags).ok());
    ASSERT_TRUE(fleet_->StartInstance(flags).ok());
    ContextOptions o;
    o.ca_pem = GetTestPki().ca.cert_pem;
    o.max_version = TLS1_2_VERSION;
    o.io_timeout = absl::Seconds(10);
    client_ = *Context::Create(std::move(o));
  }

  // One round: a full handshake on instance 1, then its session offered to
  // instance 2. Both must complete within Bound(); returns whether 2
  // resumed (it does once 1's write reached the primary 2 reads).
  bool Round() {
    auto full = Connection::Connect(client_, "localhost", fleet_->port(0));
    EXPECT_TRUE(full.ok()) << full.status();
    if (!full.ok()) return false;
    const Session session = (*full)->session();
    (void)(*full)->Shutdown();
    bool resumed = false;
    // A few offers: the write to Redis is asynchronous.
    for (int i = 0; i < 5 && !resumed; ++i) {
      const absl::Time start = absl::Now();
      auto again =
          Connection::Connect(client_, "localhost", fleet_->port(1), session);
      EXPECT_TRUE(again.ok()) << again.status();
      EXPECT_LT(absl::Now() - start, Bound()) << "resumption attempt";
      if (!again.ok()) return false;
      resumed = (*again)->session_reused();
      (void)(*again)->Shutdown();
    }
    ++rounds_;
    return resumed;
  }

  std::unique_ptr<FleetHarness> fleet_;
  std::unique_ptr<TestRedisServer> replica_;
  std::vector<std::unique_ptr<TestRedisSentinel>> sentinels_;
  std::shared_ptr<const Context> client_;
  int rounds_ = 0;
};

TEST_F(FleetFailoverTest,
       HandshakesNeverFailAndResumptionReturnsAfterPromotion) {
  ASSERT_TRUE(PollUntil([&] { return Round(); },
                        absl::Now() + Scaled(absl::Seconds(20)),
                        absl::ZeroDuration()))
      << "no resumption through the Sentinels' primary before the kill";
  // The promotion, seen from the replica itself (ROLE), on a thread of its
  // own while handshakes go on.
  std::atomic<int64_t> promoted_ns{0};
  std::atomic<bool> stop{false};
  std::thread watcher([&] {
    PollUntil(
        [&] {
          if (stop.load()) return true;
          auto role = replica_->Command({"ROLE"});
          if (!role.ok() || role->elements.empty() ||
              role->elements[0].str != "master") {
            return false;
          }
          promoted_ns = absl::ToUnixNanos(absl::Now());
          return true;
        },
        absl::Now() + Scaled(absl::Seconds(90)), absl::Milliseconds(5));
  });
  fleet_->redis().Kill();
  const absl::Time killed = absl::Now();
  // Rounds without pause until one whose full handshake began after the
  // promotion resumes.
  absl::Time first_resumed = absl::InfiniteFuture();
  const absl::Time give_up = absl::Now() + Scaled(absl::Seconds(90));
  while (absl::Now() < give_up && !HasFailure()) {
    const absl::Time start = absl::Now();
    const bool resumed = Round();
    const int64_t p = promoted_ns.load();
    if (resumed && p != 0 && start > absl::FromUnixNanos(p)) {
      first_resumed = absl::Now();
      break;
    }
  }
  stop = true;
  watcher.join();
  ASSERT_NE(promoted_ns.load(), 0) << "the Sentinels promoted no replica";
  ASSERT_NE(first_resumed, absl::InfiniteFuture())
      << "resumption did not come back after the promotion";
  const absl::Time promoted = absl::FromUnixNanos(promoted_ns.load());
  const absl::Duration recovery = first_resumed - promoted;
  std::cout << "failover: kill to promotion "
            << absl::FormatDuration(promoted - killed)
            << ", promotion to first resumed handshake "
            << absl::FormatDuration(recovery) << " (" << rounds_
            << " rounds, every handshake completed)" << std::endl;
  EXPECT_LT(recovery, Scaled(absl::Seconds(10)));
  for (size_t i = 0; i < fleet_->size(); ++i) {
    auto stats = fleet_->Stats(i);
    ASSERT_TRUE(stats.ok()) << stats.status();
    EXPECT_GE((*stats)["redis_failovers"], 1u) << "instance " << i + 1;
  }
}

}  // namespace
}  // namespace tlsession::testing
