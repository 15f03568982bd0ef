#include "fleet/redis_url.h"

#include <algorithm>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace tlsession::fleet {
namespace {

// The value of the hex digit |c|, or -1.
int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  c = absl::ascii_tolower(c);
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// Percent-decodes |in| into |out|; false on a bad escape.
bool PercentDecode(absl::string_view in, std::string* out) {
  out->clear();
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      out->push_back(in[i]);
      continue;
    }
    if (i + 2 >= in.size()) return false;
    const int hi = HexValue(in[i + 1]);
    const int lo = HexValue(in[i + 2]);
    if (hi < 0 || lo < 0) return false;
    out->push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  return true;
}

// Splits "HOST:PORT" or "[V6]:PORT" (PORT optional) into |ep|.
absl::Status ParseHostPort(absl::string_view hostport, RedisEndpoint* ep) {
  absl::string_view host = hostport, port;
  if (absl::StartsWith(hostport, "[")) {
    const size_t close = hostport.find(']');
    if (close == absl::string_view::npos) {
      return absl::InvalidArgumentError("unterminated '[' in host");
    }
    host = hostport.substr(1, close - 1);
    absl::string_view after = hostport.substr(close + 1);
    if (!after.empty() && !absl::ConsumePrefix(&after, ":")) {
      return absl::InvalidArgumentError("junk after ']'");
    }
    port = after;
  } else if (const size_t colon = hostport.rfind(':');
             colon != absl::string_view::npos) {
    host = hostport.substr(0, colon);
    port = hostport.substr(colon + 1);
  }
  if (host.empty() ||
      absl::StrContains(host, ":") != absl::StartsWith(hostport, "[")) {
    // ParseRedisUrl quotes the URL only redacted: a mistyped one may hold
    // a password in any part.
    return absl::InvalidArgumentError("bad host (HOST:PORT, or [IPV6]:PORT)");
  }
  ep->host = std::string(host);
  if (port.empty()) return absl::OkStatus();
  int value = 0;
  if (!absl::SimpleAtoi(port, &value) || value < 1 || value > 65535) {
    return absl::InvalidArgumentError("bad port (1 to 65535)");
  }
  ep->port = static_cast<uint16_t>(value);
  return absl::OkStatus();
}

// True when |hostport| (text after "://" with no '@') reads as HOST or
// HOST:PORT, HOST letters, digits, '.', '-', '_' or a bracketed IPv6
// literal, PORT digits, before any '/', '?' or '#'.
bool LooksLikeHostPort(absl::string_view hostport) {
  hostport = hostport.substr(0, hostport.find_first_of("/?#"));
  absl::string_view host = hostport, port;
  if (absl::StartsWith(hostport, "[")) {
    const size_t close = hostport.find(']');
    if (close == absl::string_view::npos) return false;
    host = hostport.substr(1, close - 1);
    port = hostport.substr(close + 1);
    if (!port.empty() && !absl::ConsumePrefix(&port, ":")) return false;
    if (host.find_first_not_of("0123456789abcdefABCDEF:.") !=
        absl::string_view::npos) {
      return false;
    }
  } else {
    const size_t colon = hostport.find(':');
    host = hostport.substr(0, colon);
    if (colon != absl::string_view::npos) port = hostport.substr(colon + 1);
    for (char c : host) {
      if (!absl::ascii_isalnum(c) && c != '.' && c != '-' && c != '_') {
        return false;
      }
    }
    if (colon != absl::string_view::npos && port.empty()) return false;
  }
  return std::all_of(port.begin(), port.end(), absl::ascii_isdigit);
}

// ParseRedisUrl without the URL in its errors.
absl::StatusOr<RedisEndpoint> ParseUnquoted(absl::string_view url) {
  absl::string_view rest = url;
  if (!absl::ConsumePrefix(&rest, "redis://")) {
    return absl::InvalidArgumentError(
        "not of the form redis://[[USER]:PASSWORD@]HOST:PORT");
  }
  RedisEndpoint ep;
  const size_t at = rest.rfind('@');
  if (at != absl::string_view::npos) {
    const absl::string_view userinfo = rest.substr(0, at);
    rest.remove_prefix(at + 1);
    const size_t colon = userinfo.find(':');
    std::string password;
    if (colon == absl::string_view::npos ||
        !PercentDecode(userinfo.substr(0, colon), &ep.user) ||
        !PercentDecode(userinfo.substr(colon + 1), &password)) {
      Secret::Wipe(password);
      // Never quote the credentials.
      return absl::InvalidArgumentError(
          "credentials must be [USER]:PASSWORD@ (percent-encoded)");
    }
    ep.password = Secret(std::move(password));
  }
  if (rest.find_first_of("/?#@") != absl::string_view::npos) {
    return absl::InvalidArgumentError(
        "no path, query or fragment allowed after HOST:PORT");
  }
  if (absl::Status s = ParseHostPort(rest, &ep); !s.ok()) return s;
  return ep;
}

}  // namespace

std::string RedactRedisUrl(absl::string_view url) {
  const size_t last_at = url.rfind('@');
  const size_t scheme_end = url.find("://");
  const size_t start =
      scheme_end != absl::string_view::npos &&
              (last_at == absl::string_view::npos || scheme_end < last_at)
          ? scheme_end + 3
          : 0;
  const absl::string_view prefix = url.substr(0, start);
  const absl::string_view rest = url.substr(start);
  if (last_at == absl::string_view::npos) {
    return LooksLikeHostPort(rest) ? std::string(url)
                                   : absl::StrCat(prefix, "***");
  }
  const absl::string_view userinfo = url.substr(start, last_at - start);
  const size_t colon = userinfo.find(':');
  const absl::string_view user = colon == absl::string_view::npos
                                     ? absl::string_view()
                                     : userinfo.substr(0, colon + 1);
  return absl::StrCat(prefix, user, "***", url.substr(last_at));
}

absl::StatusOr<RedisEndpoint> ParseRedisUrl(absl::string_view url) {
  absl::StatusOr<RedisEndpoint> ep = ParseUnquoted(url);
  if (ep.ok()) return ep;
  return absl::InvalidArgumentError(absl::StrCat(
      "Redis URL '", RedactRedisUrl(url), "': ", ep.status().message()));
}

}  // namespace tlsession::fleet
