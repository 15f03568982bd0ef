// Prometheus's text exposition format (version 0.0.4): "# HELP", "# TYPE",
// then one "name{label="value",...} value" line per sample. A writer that
// knows nothing of what it counts.
#ifndef TLSESSION_BASE_PROMETHEUS_TEXT_H_
#define TLSESSION_BASE_PROMETHEUS_TEXT_H_

#include <cstdint>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"

namespace tlsession {

// The Content-Type of a scrape's reply in this format.
inline constexpr absl::string_view kPrometheusTextContentType =
    "text/plain; version=0.0.4; charset=utf-8";

// A label: its name ([a-zA-Z_][a-zA-Z0-9_]*) and its value (any text:
// escaped as the format says).
using PrometheusLabel = std::pair<std::string, std::string>;

// Builds one scrape's text. A family (a metric name) gets its "# HELP" and
// "# TYPE" lines with its first sample; its samples must be added together
// (the format wants a family's lines contiguous), with labels telling them
// apart. Not thread-safe; one per scrape.
class PrometheusText {
 public:
  // Adds a sample of the counter |name| (a value that only grows; by
  // convention |name| ends in "_total").
  void Counter(absl::string_view name, absl::string_view help, uint64_t value,
               const std::vector<PrometheusLabel>& labels = {});

  // Adds a sample of the gauge |name| (a value that goes up and down).
  void Gauge(absl::string_view name, absl::string_view help, int64_t value,
             const std::vector<PrometheusLabel>& labels = {});

  // The text so far, every line ending in "\n".
  const std::string& text() const { return text_; }

 private:
  // Appends |name|'s HELP and TYPE lines unless they are already there, then
  // the sample line.
  void Add(absl::string_view name, absl::string_view type,
           absl::string_view help, const std::vector<PrometheusLabel>& labels,
           absl::string_view value);

  std::string text_;
  std::set<std::string, std::less<>> families_;
};

}  // namespace tlsession

#endif  // TLSESSION_BASE_PROMETHEUS_TEXT_H_
