// MutexLockable: base/mutex.h's Mutex seen as a BasicLockable, so that a
// std::condition_variable_any can wait on it (a thread that holds the Mutex
// through a MutexLock waits with a MutexLockable over the same Mutex). The
// waits stay visible to ThreadSanitizer: condition_variable_any is built on
// pthreads.
#ifndef TLSESSION_BASE_LOCKABLE_H_
#define TLSESSION_BASE_LOCKABLE_H_

#include "absl/base/thread_annotations.h"
#include "base/mutex.h"

namespace tlsession {

struct MutexLockable {
  Mutex* mu;
  void lock() ABSL_NO_THREAD_SAFETY_ANALYSIS { mu->Lock(); }
  void unlock() ABSL_NO_THREAD_SAFETY_ANALYSIS { mu->Unlock(); }
};

}  // namespace tlsession

#endif  // TLSESSION_BASE_LOCKABLE_H_
