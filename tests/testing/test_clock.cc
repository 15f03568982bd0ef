#include "tests/testing/test_clock.h"

#include <cstdio>
#include <cstdlib>

#include "absl/time/clock.h"

namespace tlsession::testing {

absl::Time NowSeconds() {
  return absl::FromUnixSeconds(absl::ToUnixSeconds(absl::Now()));
}

TestClock::TestClock(absl::Time start)
    : now_(std::make_shared<std::atomic<int64_t>>(absl::ToUnixNanos(start))) {}

absl::Time TestClock::Now() const { return absl::FromUnixNanos(now_->load()); }

void TestClock::Advance(absl::Duration d) {
  if (d < absl::ZeroDuration()) {
    fprintf(stderr, "TestClock::Advance(%s): a clock never goes back\n",
            absl::FormatDuration(d).c_str());
    abort();
  }
  now_->fetch_add(absl::ToInt64Nanoseconds(d));
}

std::function<absl::Time()> TestClock::fn() const {
  std::shared_ptr<std::atomic<int64_t>> now = now_;
  return [now] { return absl::FromUnixNanos(now->load()); };
}

}  // namespace tlsession::testing
