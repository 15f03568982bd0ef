// Where a Redis server is and how to log in, read from a redis:// URL (the
// fleet tools' --session-store and --redis flags, fleet_setup.h).
#ifndef TLSESSION_FLEET_REDIS_URL_H_
#define TLSESSION_FLEET_REDIS_URL_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "base/secret.h"

namespace tlsession::fleet {

// Where a Redis server is, and how to log in.
struct RedisEndpoint {
  std::string host = "127.0.0.1";
  uint16_t port = 6379;
  // An ACL user name (AUTH user password); empty logs in with the password
  // alone (requirepass, or the ACL user "default").
  std::string user;
  // Empty: no AUTH.
  Secret password;
};

// Parses "redis://[[USER]:PASSWORD@]HOST:PORT" (PORT defaults to 6379; HOST
// may be a bracketed IPv6 literal; USER and PASSWORD are percent-decoded).
// Anything else (another scheme, a path, a query, a bad port) is an
// InvalidArgument error quoting the URL only through RedactUrl
// (base/redact_url.h).
absl::StatusOr<RedisEndpoint> ParseRedisUrl(absl::string_view url);

}  // namespace tlsession::fleet

#endif  // TLSESSION_FLEET_REDIS_URL_H_
