// Where a Redis server is and how to log in, read from a Redis URL (the
// fleet tools' --session-store and --redis flags, fleet_setup.h): one server
// (redis://, rediss:// with TLS), or a primary found through Sentinels
// (redis-sentinel://, rediss-sentinel://).
#ifndef TLSESSION_FLEET_REDIS_URL_H_
#define TLSESSION_FLEET_REDIS_URL_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "base/secret.h"

namespace tlsession::fleet {

// One Redis node (a server or a Sentinel): a host name or IP literal, and a
// port.
struct RedisNode {
  std::string host;
  uint16_t port = 0;
};

// Where a Redis server is, and how to log in.
struct RedisEndpoint {
  // The server; with Sentinels, unused (the primary is discovered).
  std::string host = "127.0.0.1";
  uint16_t port = 6379;
  // TLS to every node (rediss://, rediss-sentinel://).
  bool tls = false;
  // Sentinels to ask for the primary of |master_name|, in order; empty for
  // a single server. The credentials below are the data nodes'; Sentinels
  // are asked without AUTH.
  std::vector<RedisNode> sentinels;
  std::string master_name;
  // An ACL user name (AUTH user password); empty logs in with the password
  // alone (requirepass, or the ACL user "default").
  std::string user;
  // Empty: no AUTH.
  Secret password;
};

// Parses "redis://[[USER]:PASSWORD@]HOST:PORT" (PORT defaults to 6379; HOST
// may be a bracketed IPv6 literal; USER and PASSWORD are percent-decoded),
// "rediss://..." alike with tls set, and
// "redis-sentinel://[[USER]:PASSWORD@]HOST:PORT[,HOST:PORT...]/MASTER_NAME"
// (PORT defaults to 26379; "rediss-sentinel://" with tls set).
// Anything else (another scheme, a path, a query, a bad port) is an
// InvalidArgument error quoting the URL only through RedactUrl
// (base/redact_url.h).
absl::StatusOr<RedisEndpoint> ParseRedisUrl(absl::string_view url);

// True when |url| starts with one of the four schemes ParseRedisUrl reads.
bool HasRedisScheme(absl::string_view url);

}  // namespace tlsession::fleet

#endif  // TLSESSION_FLEET_REDIS_URL_H_
