// TestClock: a clock that moves only when a test moves it, so that tests
// expire sessions by advancing time instead of sleeping through it.
//
// Give its function (fn()) to every clock the code under test reads:
//
//   TestClock clock;
//   ContextOptions options = ...;
//   options.clock = clock.fn();          // BoringSSL, the default server store
//   ClientSessionCache::Config config;
//   config.clock = clock.fn();           // a client's cache
//   options.session_cache = std::make_shared<ClientSessionCache>(config);
//   ...
//   clock.Advance(absl::Hours(3));       // every session made above expired
//
// Thread-safe: Now(), Advance() and the functions fn() returns may be called
// from any number of threads (servers read the clock on their own threads).
// Copies of a TestClock, and the functions, share one time, which outlives
// the TestClock they came from.
#ifndef TLSESSION_TESTS_TESTING_TEST_CLOCK_H_
#define TLSESSION_TESTS_TESTING_TEST_CLOCK_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>

#include "absl/time/time.h"

namespace tlsession::testing {

// NowSeconds returns the real current time, truncated to whole seconds (the
// resolution of SSL_SESSION's times).
absl::Time NowSeconds();

class TestClock {
 public:
  // Makes a clock that reads |start| until it is advanced. The default,
  // whole seconds, makes session expiry exact: BoringSSL compares whole
  // seconds.
  explicit TestClock(absl::Time start = NowSeconds());

  // Now returns the clock's current reading.
  absl::Time Now() const;

  // Advance moves the clock forward by |d|. |d| must not be negative
  // (BoringSSL assumes that its clock never goes back): a negative |d|
  // aborts the test binary.
  void Advance(absl::Duration d);

  // fn returns a function that reads this clock, for
  // ContextOptions::clock, ClientSessionCache::Config::clock and
  // MemoryServerSessionStore::Config::clock. It keeps the clock's time
  // alive: it may outlive this TestClock.
  std::function<absl::Time()> fn() const;

 private:
  // Nanoseconds since the Unix epoch, shared by copies and by fn().
  std::shared_ptr<std::atomic<int64_t>> now_;
};

}  // namespace tlsession::testing

#endif  // TLSESSION_TESTS_TESTING_TEST_CLOCK_H_
