// Small helpers shared by the socket-free tests of the client cache
// (client_session_cache_test.cc, client_session_store_test.cc,
// connection_sessions_test.cc).
#ifndef TLSESSION_TESTS_CLIENT_CACHE_TEST_UTIL_H_
#define TLSESSION_TESTS_CLIENT_CACHE_TEST_UTIL_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "session/client_session_cache.h"
#include "session/session.h"
#include "tests/testing/test_clock.h"

namespace tlsession::testing {

// Two context identities.
inline constexpr absl::string_view kCtx = "context A";
inline constexpr absl::string_view kOtherCtx = "context B";

// Returns the cache key of |host|:|port| with |alpn| under |context|.
inline ClientSessionCache::Key KeyFor(
    absl::string_view host = "ftp.example.org", uint16_t port = 990,
    std::vector<std::string> alpn = {}, absl::string_view context = kCtx) {
  return ClientSessionCache::Key{std::string(context), std::string(host), port,
                                 std::move(alpn)};
}

// Returns the configuration of a cache on |clock| with the given bounds.
inline ClientSessionCache::Config ConfigWith(const TestClock& clock,
                                             size_t max_entries = 1024,
                                             size_t per_key = 4) {
  ClientSessionCache::Config c;
  c.max_entries = max_entries;
  c.max_sessions_per_key = per_key;
  c.clock = clock.fn();
  return c;
}

// Returns the ids of |sessions|, to compare sessions in failure messages.
inline std::vector<std::string> Ids(const std::vector<Session>& sessions) {
  std::vector<std::string> ids;
  for (const Session& s : sessions) ids.push_back(s.id());
  return ids;
}

}  // namespace tlsession::testing

#endif  // TLSESSION_TESTS_CLIENT_CACHE_TEST_UTIL_H_
