// Shared by the session fuzzers and make_seeds, so that the checked-in seeds
// match what the fuzzers expect.
#ifndef TLSESSION_TESTS_FUZZ_FUZZ_COMMON_H_
#define TLSESSION_TESTS_FUZZ_FUZZ_COMMON_H_

#include "absl/strings/string_view.h"
#include "tls/context.h"

namespace tlsession::fuzz {

// The client Context of the session seeds and of session_fuzzer. Skipping
// verification keeps its identity free of any trust store (the test CA is
// made afresh in every process), so the seeds pass Context's identity check.
inline ContextOptions FuzzClientOptions() {
  ContextOptions o;
  o.insecure_skip_verify = true;
  o.io_timeout = absl::Seconds(10);
  return o;
}

// The key file of the encrypted cache-file seeds: exactly 32 bytes. A test
// key, not a secret.
inline constexpr absl::string_view kCacheKeyFileContents =
    "tlsession-fuzz-cache-key-32bytes";
static_assert(kCacheKeyFileContents.size() == 32, "key files hold 32 bytes");

}  // namespace tlsession::fuzz

#endif  // TLSESSION_TESTS_FUZZ_FUZZ_COMMON_H_
