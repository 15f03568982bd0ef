#include "base/redact_url.h"

#include <string.h>

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace tlsession {
namespace {

constexpr size_t kNpos = absl::string_view::npos;

// True when |hostport| (text with no '@') reads as HOST or HOST:PORT before
// any '/', '?' or '#': HOST letters, digits, '.', '-', '_' or a bracketed
// IPv6 literal, PORT digits.
bool LooksLikeHostPort(absl::string_view hostport) {
  hostport = hostport.substr(0, hostport.find_first_of("/?#"));
  absl::string_view host = hostport, port;
  if (absl::StartsWith(hostport, "[")) {
    const size_t close = hostport.find(']');
    if (close == kNpos) return false;
    host = hostport.substr(1, close - 1);
    port = hostport.substr(close + 1);
    if (!port.empty() && !absl::ConsumePrefix(&port, ":")) return false;
    if (host.find_first_not_of("0123456789abcdefABCDEF:.") != kNpos) {
      return false;
    }
  } else {
    const size_t colon = hostport.find(':');
    host = hostport.substr(0, colon);
    if (colon != kNpos) {
      port = hostport.substr(colon + 1);
      if (port.empty()) return false;
    }
    for (char c : host) {
      if (!absl::ascii_isalnum(c) && c != '.' && c != '-' && c != '_') {
        return false;
      }
    }
  }
  return std::all_of(port.begin(), port.end(), absl::ascii_isdigit);
}

}  // namespace

UrlSecretRange FindUrlSecret(absl::string_view text) {
  const size_t at = text.rfind('@');
  const size_t scheme_end = text.find("://");
  size_t start = 0;
  if (scheme_end != kNpos && text.substr(0, scheme_end).find(':') == kNpos &&
      (at == kNpos || scheme_end < at)) {
    start = scheme_end + 3;
  }
  if (at != kNpos && at >= start) {
    const size_t colon = text.find(':', start);
    if (colon != kNpos && colon < at) return {colon + 1, at};
    return {start, at};
  }
  if (LooksLikeHostPort(text.substr(start))) return {};
  if (start > 0) return {start, text.size()};
  const size_t colon = text.find(':');
  if (colon == kNpos) return {};
  return {colon + 1, text.size()};
}

std::string RedactUrl(absl::string_view text) {
  const UrlSecretRange r = FindUrlSecret(text);
  if (r.begin == r.end) return std::string(text);
  return absl::StrCat(text.substr(0, r.begin), "***", text.substr(r.end));
}

void MaskUrlSecret(char* word) {
  const UrlSecretRange r = FindUrlSecret(word);
  memset(word + r.begin, '*', r.end - r.begin);
}

}  // namespace tlsession
