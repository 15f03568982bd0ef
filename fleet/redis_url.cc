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
  out->reserve(in.size());  // Never grows: no copy of a password is freed.
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

// The schemes ParseRedisUrl reads: name, TLS, Sentinel.
struct Scheme {
  absl::string_view prefix;
  bool tls;
  bool sentinel;
};
constexpr Scheme kSchemes[] = {
    {"redis://", false, false},
    {"rediss://", true, false},
    {"redis-sentinel://", false, true},
    {"rediss-sentinel://", true, true},
};

// Takes "[USER]:PASSWORD@" off the front of |*rest| into |ep|, if present.
absl::Status ParseCredentials(absl::string_view* rest, RedisEndpoint* ep) {
  const size_t at = rest->rfind('@');
  if (at == absl::string_view::npos) return absl::OkStatus();
  const absl::string_view userinfo = rest->substr(0, at);
  rest->remove_prefix(at + 1);
  const size_t colon = userinfo.find(':');
  std::string password;
  if (colon == absl::string_view::npos ||
      !PercentDecode(userinfo.substr(0, colon), &ep->user) ||
      !PercentDecode(userinfo.substr(colon + 1), &password)) {
    Secret::Wipe(password);
    // Never quote the credentials.
    return absl::InvalidArgumentError(
        "credentials must be [USER]:PASSWORD@ (percent-encoded)");
  }
  ep->password = Secret(std::move(password));
  return absl::OkStatus();
}

// Reads "HOST:PORT[,HOST:PORT...]/MASTER_NAME" into |ep|'s Sentinels.
absl::Status ParseSentinels(absl::string_view rest, RedisEndpoint* ep) {
  const size_t slash = rest.find('/');
  if (slash == absl::string_view::npos) {
    return absl::InvalidArgumentError("no /MASTER_NAME after the Sentinels");
  }
  ep->master_name = std::string(rest.substr(slash + 1));
  if (ep->master_name.empty() ||
      ep->master_name.find_first_of("/?#@, ") != std::string::npos) {
    return absl::InvalidArgumentError("bad MASTER_NAME");
  }
  absl::string_view list = rest.substr(0, slash);
  for (;;) {
    const size_t comma = list.find(',');
    RedisEndpoint node;
    node.port = 26379;
    if (absl::Status s = ParseHostPort(list.substr(0, comma), &node); !s.ok()) {
      return s;
    }
    ep->sentinels.push_back(RedisNode{node.host, node.port});
    if (comma == absl::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return absl::OkStatus();
}

// ParseRedisUrl without the URL in its errors.
absl::StatusOr<RedisEndpoint> ParseUnquoted(absl::string_view url) {
  absl::string_view rest = url;
  const Scheme* scheme = nullptr;
  for (const Scheme& s : kSchemes) {
    if (absl::ConsumePrefix(&rest, s.prefix)) {
      scheme = &s;
      break;
    }
  }
  if (scheme == nullptr) {
    return absl::InvalidArgumentError(
        "not of the form redis[s]://[[USER]:PASSWORD@]HOST:PORT or "
        "redis[s]-sentinel://[[USER]:PASSWORD@]HOST:PORT[,HOST:PORT...]/"
        "MASTER_NAME");
  }
  RedisEndpoint ep;
  ep.tls = scheme->tls;
  if (absl::Status s = ParseCredentials(&rest, &ep); !s.ok()) return s;
  if (scheme->sentinel) {
    if (absl::Status s = ParseSentinels(rest, &ep); !s.ok()) return s;
    return ep;
  }
  if (rest.find_first_of("/?#@") != absl::string_view::npos) {
    return absl::InvalidArgumentError(
        "no path, query or fragment allowed after HOST:PORT");
  }
  if (absl::Status s = ParseHostPort(rest, &ep); !s.ok()) return s;
  return ep;
}

}  // namespace

bool HasRedisScheme(absl::string_view url) {
  for (const Scheme& s : kSchemes) {
    if (absl::StartsWith(url, s.prefix)) return true;
  }
  return false;
}

absl::StatusOr<RedisEndpoint> ParseRedisUrl(absl::string_view url) {
  absl::StatusOr<RedisEndpoint> ep = ParseUnquoted(url);
  if (ep.ok()) return ep;
  return absl::InvalidArgumentError(absl::StrCat("Redis URL '", RedactUrl(url),
                                                 "': ", ep.status().message()));
}

}  // namespace tlsession::fleet
