// --limit-rate for the ftps tool: the rate's syntax and a token bucket that
// says how long a transfer must wait to keep under it.
#ifndef TLSESSION_TOOLS_FTPS_RATE_LIMIT_H_
#define TLSESSION_TOOLS_FTPS_RATE_LIMIT_H_

#include <cstdint>
#include <functional>
#include <optional>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "base/mutex.h"

namespace tlsession::ftp {

// Bytes per second from "500k", "2M", "1.5G" or "300" (k, M, G: powers of
// 1024, either case); nullopt for anything else, zero or above 1 TiB/s.
std::optional<uint64_t> ParseRate(absl::string_view text);

// A token bucket of |rate| bytes per second holding at most |burst| bytes,
// full at first. Thread-safe: parallel transfers share one. Times come
// from |clock| (tests inject one).
class TokenBucket {
 public:
  TokenBucket(uint64_t rate, uint64_t burst, std::function<absl::Time()> clock);

  // Takes |n| bytes that just moved; returns how long the caller should
  // wait before moving more (zero while within the budget). The debt is
  // counted at once, so callers that wait as told keep to the rate.
  absl::Duration Take(uint64_t n);

 private:
  const double rate_;
  const double burst_;
  const std::function<absl::Time()> clock_;
  Mutex mu_;
  double tokens_;  // Negative: bytes owed.
  absl::Time last_;
};

}  // namespace tlsession::ftp

#endif  // TLSESSION_TOOLS_FTPS_RATE_LIMIT_H_
