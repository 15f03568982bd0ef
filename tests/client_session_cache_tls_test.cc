// The client session cache end to end over real TLS on 127.0.0.1: tls/'s
// Connection drives ConnectionSessions as promised (tickets held while open,
// given back on a clean end, nothing given back on a cut). The cache's own
// promises are tested without sockets in client_session_cache_test.cc, and
// ConnectionSessions's in connection_sessions_test.cc.
#include <sys/socket.h>

#include <memory>

#include "gtest/gtest.h"
#include "session/client_session_cache.h"
#include "testbed/tls_server.h"
#include "tests/tls_test_util.h"
#include "tls/connection.h"

namespace tlsession::testing {
namespace {

// ---------------------------------------------------------------------------
// End to end: tls/'s Connection drives ConnectionSessions as promised.

ContextOptions CachingClient(std::shared_ptr<ClientSessionCache> cache) {
  ContextOptions o = ClientOptions();
  o.session_cache = std::move(cache);
  return o;
}

// Exchanges one echo over |conn|.
absl::Status Echo(Connection& conn) {
  if (absl::Status s = conn.Write("ping"); !s.ok()) return s;
  char buf[4];
  size_t got = 0;
  while (got < sizeof(buf)) {
    absl::StatusOr<size_t> n = conn.Read(buf + got, sizeof(buf) - got);
    if (!n.ok()) return n.status();
    if (*n == 0) return absl::DataLossError("closed early");
    got += *n;
  }
  return absl::OkStatus();
}

// The server's tickets are held while the connection is open and given to
// the cache by a clean Shutdown; the next connection checks one out (it
// leaves the cache) and resumes.
TEST(EndToEnd, CleanShutdownGivesTicketsBackAndTheNextConnectionResumes) {
  auto server = TestTlsServer::Start(MustCreate(ServerOptions()));
  ASSERT_TRUE(server.ok()) << server.status();
  auto cache = std::make_shared<ClientSessionCache>();
  auto client = MustCreate(CachingClient(cache));
  {
    auto conn = Connection::Connect(client, "localhost", (*server)->port());
    ASSERT_TRUE(conn.ok()) << conn.status();
    EXPECT_EQ((*conn)->offered_origin(), SessionOrigin::kNone);
    ASSERT_TRUE(Echo(**conn).ok());
    ASSERT_TRUE((*conn)->WaitForSession(absl::Seconds(5)).ok());
    ASSERT_TRUE((*conn)->ProcessPendingMessages().ok());
    ASSERT_EQ((*conn)->sessions_received(), 2);
    EXPECT_EQ(cache->session_count(), 0u);  // Held, not cached.
    ASSERT_TRUE((*conn)->Shutdown().ok());
    EXPECT_TRUE((*conn)->closed_cleanly());
    EXPECT_EQ(cache->session_count(), 2u);
  }
  auto conn = Connection::Connect(client, "localhost", (*server)->port());
  ASSERT_TRUE(conn.ok()) << conn.status();
  EXPECT_EQ((*conn)->offered_origin(), SessionOrigin::kCache);
  EXPECT_TRUE((*conn)->session_reused());
  EXPECT_EQ(cache->session_count(), 1u);  // The offered ticket left.
  ASSERT_TRUE(Echo(**conn).ok());
  ASSERT_TRUE((*conn)->Shutdown().ok());
  const auto m = cache->metrics();
  EXPECT_EQ(m.misses, 1u);
  EXPECT_EQ(m.hits, 1u);
  EXPECT_EQ(cache->session_count(), 3u);  // And the second one's two.
}

// A connection that the peer cuts without close_notify, after its tickets
// arrived, gives nothing to the cache.
TEST(EndToEnd, ConnectionCutWithoutCloseNotifyGivesNothingBack) {
  auto server = TestTlsServer::Start(
      MustCreate(ServerOptions()), [](Connection& c) -> absl::Status {
        ::shutdown(c.fd(), SHUT_RDWR);  // Tickets were flushed already.
        return absl::OkStatus();
      });
  ASSERT_TRUE(server.ok()) << server.status();
  auto cache = std::make_shared<ClientSessionCache>();
  auto client = MustCreate(CachingClient(cache));
  {
    auto conn = Connection::Connect(client, "localhost", (*server)->port());
    ASSERT_TRUE(conn.ok()) << conn.status();
    ASSERT_TRUE((*conn)->WaitForSession(absl::Seconds(5)).ok());
    EXPECT_GE((*conn)->sessions_received(), 1);
    char buf[16];
    EXPECT_FALSE((*conn)->Read(buf, sizeof(buf)).ok());
    EXPECT_FALSE((*conn)->closed_cleanly());
    EXPECT_EQ((*conn)->state(), ConnectionState::kBroken);
  }
  EXPECT_EQ(cache->session_count(), 0u);
  EXPECT_EQ(cache->metrics().insertions, 0u);
}

}  // namespace
}  // namespace tlsession::testing
