// A start line for threads that a test means to race: each thread waits at
// it before the contended part, and none goes on until all have arrived.
// Without it, threads started one after another overlap only when the build
// is slow enough: in an optimized build the first thread often finishes
// before the last one starts, and the race under test never happens.
//
// Built on std::mutex and std::condition_variable, which ThreadSanitizer
// sees (Debian's Abseil, and so absl::Barrier, is not instrumented).
#ifndef TLSESSION_TESTS_TESTING_START_LINE_H_
#define TLSESSION_TESTS_TESTING_START_LINE_H_

#include <condition_variable>
#include <mutex>

namespace tlsession::testing {

class StartLine {
 public:
  // A line for |runners| threads.
  explicit StartLine(int runners) : waiting_(runners) {}
  StartLine(const StartLine&) = delete;
  StartLine& operator=(const StartLine&) = delete;

  // Blocks until all |runners| threads have called Wait().
  void Wait() {
    std::unique_lock<std::mutex> lock(mu_);
    if (--waiting_ <= 0) {
      all_here_.notify_all();
      return;
    }
    all_here_.wait(lock, [this] { return waiting_ <= 0; });
  }

 private:
  std::mutex mu_;
  std::condition_variable all_here_;
  int waiting_;  // Guarded by mu_.
};

}  // namespace tlsession::testing

#endif  // TLSESSION_TESTS_TESTING_START_LINE_H_
