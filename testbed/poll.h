// Waiting for a condition in tests, benchmarks and demos, and time bounds
// that scale with the build.
//
// PollUntil replaces hand-written sleep loops: it asks a condition until it
// holds or a deadline passes. Use it only for state that nothing announces
// (a key appearing in Redis, a store's counter). A server's readiness is its
// own word, a line it prints or a listening socket it holds (ServerProcess
// in testbed/server_process.h watches for them with PollUntil), never a TCP
// probe that another process on the port could answer.
#ifndef TLSESSION_TESTBED_POLL_H_
#define TLSESSION_TESTBED_POLL_H_

#include <functional>

#include "absl/time/time.h"

namespace tlsession::testing {

// Calls |condition| until it returns true or |deadline| has passed, sleeping
// |interval| between calls. Returns true as soon as the condition holds
// (also on the first call), false when the deadline passed first. The
// condition is called at least once.
bool PollUntil(const std::function<bool()>& condition, absl::Time deadline,
               absl::Duration interval = absl::Milliseconds(5));

// The factor by which a test's upper time bound is stretched in this build:
// the value of $TLSESSION_TIME_SCALE (the sanitizer configurations in
// .bazelrc set it; CMake's Release build and plain Bazel leave it unset),
// or 1 when it is unset or not a number of at least 1.
double TimeScale();

// |bound| * TimeScale(): an upper bound on how long something may take,
// which holds under sanitizers as it does in an optimized build.
absl::Duration Scaled(absl::Duration bound);

}  // namespace tlsession::testing

#endif  // TLSESSION_TESTBED_POLL_H_
