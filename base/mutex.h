// A std::mutex carrying Abseil's thread-safety attributes: visible to
// ThreadSanitizer (Debian's Abseil is built without TSan, so absl::Mutex is
// not), and annotated for clang's -Wthread-safety (an error in the clang
// builds: --config=asan and --config=tsan, .bazelrc's clang_checks).
#ifndef TLSESSION_BASE_MUTEX_H_
#define TLSESSION_BASE_MUTEX_H_

#include <mutex>

#include "absl/base/thread_annotations.h"

namespace tlsession {

class ABSL_LOCKABLE Mutex {
 public:
  void Lock() ABSL_EXCLUSIVE_LOCK_FUNCTION() { mu_.lock(); }
  void Unlock() ABSL_UNLOCK_FUNCTION() { mu_.unlock(); }

 private:
  std::mutex mu_;
};

class ABSL_SCOPED_LOCKABLE MutexLock {
 public:
  explicit MutexLock(Mutex* mu) ABSL_EXCLUSIVE_LOCK_FUNCTION(mu) : mu_(mu) {
    mu_->Lock();
  }
  ~MutexLock() ABSL_UNLOCK_FUNCTION() { mu_->Unlock(); }
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

 private:
  Mutex* const mu_;
};

}  // namespace tlsession

#endif  // TLSESSION_BASE_MUTEX_H_
