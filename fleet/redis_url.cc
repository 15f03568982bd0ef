#include "fleet/redis_url.h"

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "base/redact_url.h"

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

absl::StatusOr<RedisEndpoint> ParseRedisUrl(absl::string_view url) {
  absl::StatusOr<RedisEndpoint> ep = ParseUnquoted(url);
  if (ep.ok()) return ep;
  return absl::InvalidArgumentError(absl::StrCat("Redis URL '", RedactUrl(url),
                                                 "': ", ep.status().message()));
}

}  // namespace tlsession::fleet
