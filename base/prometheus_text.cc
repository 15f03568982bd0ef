#include "base/prometheus_text.h"

#include "absl/strings/str_cat.h"

namespace tlsession {
namespace {

// |text| with '\\' and line feeds escaped (and '"' when |quote|), as HELP
// text and label values must be.
std::string Escape(absl::string_view text, bool quote) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '"' && quote) {
      out += "\\\"";
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace

void PrometheusText::Counter(absl::string_view name, absl::string_view help,
                             uint64_t value,
                             const std::vector<PrometheusLabel>& labels) {
  Add(name, "counter", help, labels, absl::StrCat(value));
}

void PrometheusText::Gauge(absl::string_view name, absl::string_view help,
                           int64_t value,
                           const std::vector<PrometheusLabel>& labels) {
  Add(name, "gauge", help, labels, absl::StrCat(value));
}

void PrometheusText::Add(absl::string_view name, absl::string_view type,
                         absl::string_view help,
                         const std::vector<PrometheusLabel>& labels,
                         absl::string_view value) {
  if (families_.insert(std::string(name)).second) {
    absl::StrAppend(&text_, "# HELP ", name, " ", Escape(help, false), "\n",
                    "# TYPE ", name, " ", type, "\n");
  }
  text_.append(name.data(), name.size());
  if (!labels.empty()) {
    text_ += '{';
    for (size_t i = 0; i < labels.size(); ++i) {
      absl::StrAppend(&text_, i == 0 ? "" : ",", labels[i].first, "=\"",
                      Escape(labels[i].second, true), "\"");
    }
    text_ += '}';
  }
  absl::StrAppend(&text_, " ", value, "\n");
}

}  // namespace tlsession
