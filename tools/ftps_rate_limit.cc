#include "tools/ftps_rate_limit.h"

#include <algorithm>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"

namespace tlsession::ftp {

std::optional<uint64_t> ParseRate(absl::string_view text) {
  double unit = 1;
  if (!text.empty()) {
    switch (absl::ascii_tolower(text.back())) {
      case 'k':
        unit = 1024.0;
        break;
      case 'm':
        unit = 1024.0 * 1024;
        break;
      case 'g':
        unit = 1024.0 * 1024 * 1024;
        break;
    }
    if (unit != 1) text.remove_suffix(1);
  }
  double value = 0;
  if (text.empty() || !absl::SimpleAtod(text, &value) || !(value > 0)) {
    return std::nullopt;
  }
  const double rate = value * unit;
  if (rate < 1 || rate > 1024.0 * 1024 * 1024 * 1024) return std::nullopt;
  return static_cast<uint64_t>(rate);
}

TokenBucket::TokenBucket(uint64_t rate, uint64_t burst,
                         std::function<absl::Time()> clock)
    : rate_(static_cast<double>(rate)),
      burst_(static_cast<double>(burst)),
      clock_(std::move(clock)),
      tokens_(burst_),
      last_(clock_()) {}

absl::Duration TokenBucket::Take(uint64_t n) {
  const absl::Time now = clock_();
  MutexLock lock(&mu_);
  if (now > last_) {
    tokens_ =
        std::min(burst_, tokens_ + rate_ * absl::ToDoubleSeconds(now - last_));
    last_ = now;
  }
  tokens_ -= static_cast<double>(n);
  if (tokens_ >= 0) return absl::ZeroDuration();
  return absl::Seconds(-tokens_ / rate_);
}

}  // namespace tlsession::ftp
