#include "testbed/poll.h"

#include <stdlib.h>

#include <algorithm>

#include "absl/strings/numbers.h"
#include "absl/time/clock.h"

namespace tlsession::testing {

bool PollUntil(const std::function<bool()>& condition, absl::Time deadline,
               absl::Duration interval) {
  while (true) {
    if (condition()) return true;
    const absl::Time now = absl::Now();
    if (now >= deadline) return false;
    absl::SleepFor(std::min(interval, deadline - now));
  }
}

double TimeScale() {
  const char* value = getenv("TLSESSION_TIME_SCALE");
  double scale = 1;
  if (value == nullptr || !absl::SimpleAtod(value, &scale) || !(scale >= 1)) {
    return 1;
  }
  return scale;
}

absl::Duration Scaled(absl::Duration bound) { return bound * TimeScale(); }

}  // namespace tlsession::testing
