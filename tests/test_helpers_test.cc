// The test helpers the client cache's tests rely on, checked themselves:
// sessions built in memory (tests/testing/test_sessions.h) and the test
// clock (tests/testing/test_clock.h). No sockets.
#include <openssl/ssl.h>

#include <atomic>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "session/session.h"
#include "tests/testing/test_clock.h"
#include "tests/testing/test_sessions.h"

namespace tlsession::testing {
namespace {

// ---------------------------------------------------------------------------
// The helper itself: the sessions it builds are what the tests assume.

// MakeSession builds sessions with the version, single-use rule, times and
// identity asked for, which survive serialization.
TEST(TestSessions, BuiltAsSpecifiedAndSerializable) {
  const absl::Time t0 = NowSeconds();
  SessionSpec spec;
  spec.context_id = "ctx";
  spec.time = t0;
  spec.timeout = absl::Minutes(30);
  spec.ticket_lifetime_hint = absl::Minutes(20);
  Session ticket = MakeSession(spec);
  EXPECT_EQ(ticket.protocol_version(), TLS1_3_VERSION);
  EXPECT_TRUE(ticket.is_single_use());
  EXPECT_TRUE(ticket.is_resumable());
  EXPECT_TRUE(ticket.has_ticket());
  EXPECT_EQ(ticket.usable_until(), t0 + absl::Minutes(20));
  EXPECT_NE(MakeSession(spec), ticket);  // Each one distinct.

  Session tls12 = Tls12Session("ctx", t0);
  EXPECT_FALSE(tls12.is_single_use());
  EXPECT_TRUE(tls12.is_resumable());
  EXPECT_FALSE(tls12.has_ticket());
  EXPECT_EQ(tls12.usable_until(), t0 + absl::Hours(2));

  spec.resumable = false;
  EXPECT_FALSE(MakeSession(spec).is_resumable());

  auto bytes = ticket.ToBytes();
  ASSERT_TRUE(bytes.ok()) << bytes.status();
  bssl::UniquePtr<SSL_CTX> ctx(SSL_CTX_new(TLS_method()));
  auto back = Session::FromBytes(*bytes, ctx.get(), "ctx");
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, ticket);
  EXPECT_TRUE(back->is_single_use());
}

// TestClock moves only when advanced; its copies and its functions share
// one time, which outlives the clock they came from.
TEST(TestClockTest, MovesOnlyWhenAdvancedAndSharesItsTime) {
  const absl::Time start = absl::FromUnixSeconds(1700000000);
  std::function<absl::Time()> fn;
  {
    TestClock clock(start);
    TestClock copy = clock;
    fn = clock.fn();
    EXPECT_EQ(clock.Now(), start);
    copy.Advance(absl::Seconds(90));
    EXPECT_EQ(clock.Now(), start + absl::Seconds(90));
    EXPECT_EQ(fn(), start + absl::Seconds(90));
    clock.Advance(absl::ZeroDuration());
    EXPECT_EQ(copy.Now(), start + absl::Seconds(90));
  }
  EXPECT_EQ(fn(), start + absl::Seconds(90));
}

// Threads read a TestClock (directly and through fn()) while others advance
// it: no reading is lost or torn, and readings never go back (run under TSan
// by test.sh).
TEST(TestClockTest, ThreadSafe) {
  constexpr int kAdvances = 1000;
  TestClock clock(absl::UnixEpoch());
  const std::function<absl::Time()> fn = clock.fn();
  std::atomic<bool> done{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < 2; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kAdvances; ++i) clock.Advance(absl::Nanoseconds(3));
    });
  }
  std::atomic<bool> went_back{false};
  for (int t = 0; t < 2; ++t) {
    threads.emplace_back([&, t] {
      absl::Time last = absl::UnixEpoch();
      while (!done.load()) {
        const absl::Time now = t == 0 ? clock.Now() : fn();
        if (now < last) went_back = true;
        last = now;
      }
    });
  }
  threads[0].join();
  threads[1].join();
  done = true;
  for (size_t t = 2; t < threads.size(); ++t) threads[t].join();
  EXPECT_FALSE(went_back.load());
  EXPECT_EQ(fn(), absl::UnixEpoch() + absl::Nanoseconds(3 * 2 * kAdvances));
}

}  // namespace
}  // namespace tlsession::testing
