// ConnectionSessions (session/connection_sessions.h): one connection's
// sessions from offer to end (checkout once, held until a clean end, leases,
// detached and explicit offers), over a cache on a test clock and sessions
// built in memory. No sockets.
#include <memory>

#include "gtest/gtest.h"
#include "session/client_session_cache.h"
#include "session/connection_sessions.h"
#include "session/session_lease.h"
#include "tests/client_cache_test_util.h"
#include "tests/testing/test_clock.h"
#include "tests/testing/test_sessions.h"

namespace tlsession::testing {
namespace {

// ---------------------------------------------------------------------------
// ConnectionSessions: one connection's sessions from offer to end.

class ConnectionSessionsTest : public ::testing::Test {
 protected:
  ConnectionSessionsTest()
      : cache_(std::make_shared<ClientSessionCache>(ConfigWith(clock_))) {}
  TestClock clock_;
  std::shared_ptr<ClientSessionCache> cache_;
};

// With nothing set, the offer is checked out of the cache once (a ticket
// leaves it for good), however often the offer is asked for.
TEST_F(ConnectionSessionsTest, OfferIsCheckedOutOfTheCacheOnce) {
  const Session t1 = Tls13Ticket(kCtx), t2 = Tls13Ticket(kCtx);
  ASSERT_TRUE(cache_->Insert(KeyFor(), t1).ok());
  ASSERT_TRUE(cache_->Insert(KeyFor(), t2).ok());
  ConnectionSessions conn(cache_, KeyFor());
  EXPECT_EQ(conn.origin(), SessionOrigin::kNone);
  EXPECT_EQ(conn.ChooseOffer(), t2);
  EXPECT_EQ(conn.ChooseOffer(), t2);
  EXPECT_EQ(conn.origin(), SessionOrigin::kCache);
  EXPECT_EQ(conn.offered(), t2);
  EXPECT_EQ(cache_->session_count(), 1u);
  EXPECT_EQ(cache_->metrics().hits, 1u);
  // A miss offers nothing.
  ConnectionSessions other(cache_, KeyFor("elsewhere"));
  EXPECT_TRUE(other.ChooseOffer().empty());
  EXPECT_EQ(other.origin(), SessionOrigin::kNone);
}

// Received sessions are held, not cached, while the connection is open; a
// clean end gives the resumable ones to the cache, once.
TEST_F(ConnectionSessionsTest, HeldUntilEndCleanly) {
  ConnectionSessions conn(cache_, KeyFor());
  (void)conn.ChooseOffer();
  SessionSpec early;
  early.context_id = std::string(kCtx);
  early.resumable = false;  // As read right after a TLS 1.3 handshake.
  conn.Received(MakeSession(early));
  const Session t1 = Tls13Ticket(kCtx), t2 = Tls13Ticket(kCtx);
  conn.Received(t1);
  conn.Received(t2);
  EXPECT_EQ(conn.received_count(), 3);
  EXPECT_EQ(conn.latest(), t2);
  EXPECT_EQ(cache_->session_count(), 0u);
  EXPECT_EQ(conn.end(), SessionsEnd::kOpen);
  conn.EndCleanly();
  EXPECT_EQ(conn.end(), SessionsEnd::kGivenBack);
  EXPECT_EQ(cache_->session_count(), 2u);
  conn.EndCleanly();
  conn.EndUncleanly();               // Too late to drop anything.
  conn.Received(Tls13Ticket(kCtx));  // After the end: not held.
  EXPECT_EQ(conn.end(), SessionsEnd::kGivenBack);
  EXPECT_EQ(cache_->metrics().insertions, 2u);
  EXPECT_EQ(cache_->Lookup(KeyFor()), t2);
  EXPECT_EQ(cache_->Lookup(KeyFor()), t1);
}

// A long-lived connection's protocol vouches for what it received so far
// (GiveBackHeld, as fleet/'s Redis links do after a reply): those sessions
// go to the cache now; later ones are held until the end as before, and an
// unclean end drops only them.
TEST_F(ConnectionSessionsTest, GiveBackHeldCachesWhatWasReceivedSoFar) {
  ConnectionSessions conn(cache_, KeyFor());
  (void)conn.ChooseOffer();
  const Session t1 = Tls13Ticket(kCtx), t2 = Tls13Ticket(kCtx);
  conn.Received(t1);
  conn.GiveBackHeld();
  EXPECT_EQ(cache_->session_count(), 1u);
  EXPECT_EQ(conn.end(), SessionsEnd::kOpen);
  conn.GiveBackHeld();  // Nothing new: nothing more.
  EXPECT_EQ(cache_->session_count(), 1u);
  conn.Received(t2);
  conn.EndUncleanly();
  EXPECT_EQ(cache_->session_count(), 1u);  // t2 was dropped.
  conn.GiveBackHeld();                     // After the end: nothing.
  EXPECT_EQ(cache_->session_count(), 1u);
}

// Any other end drops what was held: EndUncleanly, then a later EndCleanly
// gives nothing; the destructor of an open connection's sessions too.
TEST_F(ConnectionSessionsTest, UncleanEndAndDestructorDrop) {
  {
    ConnectionSessions conn(cache_, KeyFor());
    conn.Received(Tls13Ticket(kCtx));
    conn.EndUncleanly();
    EXPECT_EQ(conn.end(), SessionsEnd::kDropped);
    conn.EndCleanly();
    EXPECT_EQ(conn.end(), SessionsEnd::kDropped);
  }
  {
    ConnectionSessions conn(cache_, KeyFor());
    conn.Received(Tls12Session(kCtx));
    conn.Received(Tls13Ticket(kCtx));
  }
  EXPECT_EQ(cache_->session_count(), 0u);
  EXPECT_EQ(cache_->metrics().insertions, 0u);
}

// A lease takes the newest held ticket out: it is never given back to the
// cache (it will be used), and the other tickets are.
TEST_F(ConnectionSessionsTest, LeasedTicketIsNeverGivenBack) {
  ConnectionSessions conn(cache_, KeyFor());
  (void)conn.ChooseOffer();
  const Session t1 = Tls13Ticket(kCtx), t2 = Tls13Ticket(kCtx);
  conn.Received(t1);
  conn.Received(t2);
  SessionLease lease = conn.Lease(/*resumed=*/false);
  EXPECT_EQ(lease.session(), t2);
  EXPECT_TRUE(lease.exclusive());
  conn.EndCleanly();
  EXPECT_EQ(cache_->session_count(), 1u);
  EXPECT_EQ(cache_->Lookup(KeyFor()), t1);
  EXPECT_TRUE(cache_->Lookup(KeyFor()).empty());
}

// A resumed TLS 1.3 connection's one ticket goes to its lease; a ticket
// adopted from a connection that offered the lease (an FTPS data
// connection's) takes its place, reaching the cache only on a clean end.
TEST_F(ConnectionSessionsTest, AdoptedTicketReachesTheCacheOnACleanEnd) {
  ConnectionSessions conn(cache_, KeyFor());
  (void)conn.ChooseOffer();
  conn.Received(Tls13Ticket(kCtx));
  SessionLease lease = conn.Lease(/*resumed=*/true);
  ASSERT_FALSE(lease.empty());
  const Session from_data = Tls13Ticket(kCtx);
  SessionSpec not_resumable;
  not_resumable.context_id = std::string(kCtx);
  not_resumable.resumable = false;
  EXPECT_FALSE(conn.Adopt(MakeSession(not_resumable)));
  EXPECT_TRUE(conn.Adopt(from_data));
  conn.EndCleanly();
  EXPECT_EQ(cache_->Lookup(KeyFor()), from_data);
  EXPECT_FALSE(conn.Adopt(Tls13Ticket(kCtx)));  // Ended: nothing more held.

  ConnectionSessions cut(cache_, KeyFor());
  (void)cut.ChooseOffer();
  EXPECT_TRUE(cut.Adopt(Tls13Ticket(kCtx)));
  cut.EndUncleanly();
  EXPECT_TRUE(cache_->Lookup(KeyFor()).empty());

  ConnectionSessions detached(cache_, KeyFor());
  detached.Detach();
  EXPECT_FALSE(detached.Adopt(Tls13Ticket(kCtx)));
}

// Under TLS 1.2, a resumed connection leases the session it offered (servers
// compare data connections' offers with it); the lease is a shared copy.
TEST_F(ConnectionSessionsTest, ResumedTls12LeasesTheOfferedSession) {
  const Session s = Tls12Session(kCtx);
  ASSERT_TRUE(cache_->Insert(KeyFor(), s).ok());
  ConnectionSessions conn(cache_, KeyFor());
  ASSERT_EQ(conn.ChooseOffer(), s);
  conn.Received(Tls12Session(kCtx));  // A renewed session.
  SessionLease lease = conn.Lease(/*resumed=*/true);
  EXPECT_EQ(lease.session(), s);
  EXPECT_FALSE(lease.exclusive());
  // Not resumed: the newest held, which stays held (reusable).
  const Session fresh = conn.latest();
  SessionLease fresh_lease = conn.Lease(/*resumed=*/false);
  EXPECT_EQ(fresh_lease.session(), fresh);
  conn.EndCleanly();
  EXPECT_EQ(cache_->Lookup(KeyFor()), fresh);
}

// Nothing held (no ticket yet, or only non-resumable sessions): a lease on
// nothing.
TEST_F(ConnectionSessionsTest, LeaseOnNothing) {
  ConnectionSessions conn(cache_, KeyFor());
  SessionSpec early;
  early.context_id = std::string(kCtx);
  early.resumable = false;
  conn.Received(MakeSession(early));
  SessionLease lease = conn.Lease(/*resumed=*/false);
  EXPECT_TRUE(lease.empty());
  EXPECT_FALSE(lease.exclusive());
  EXPECT_TRUE(SessionLease().empty());
}

// A connection that offers a leased session takes nothing from the cache
// and gives nothing back, even when it ends cleanly.
TEST_F(ConnectionSessionsTest, SetLeasedTakesAndGivesNothing) {
  ASSERT_TRUE(cache_->Insert(KeyFor(), Tls13Ticket(kCtx)).ok());
  const Session leased = Tls13Ticket(kCtx);
  SessionLease lease(leased);
  ConnectionSessions conn(cache_, KeyFor());
  conn.SetLeased(lease);
  EXPECT_EQ(conn.ChooseOffer(), leased);
  EXPECT_EQ(conn.origin(), SessionOrigin::kLease);
  conn.Received(Tls13Ticket(kCtx));
  conn.EndCleanly();
  EXPECT_EQ(cache_->session_count(), 1u);
  const auto m = cache_->metrics();
  EXPECT_EQ(m.hits + m.misses, 0u);
  EXPECT_EQ(m.insertions, 1u);  // The test's own.
}

// A detached connection takes nothing from the cache and gives nothing back.
TEST_F(ConnectionSessionsTest, DetachTakesAndGivesNothing) {
  ASSERT_TRUE(cache_->Insert(KeyFor(), Tls13Ticket(kCtx)).ok());
  ConnectionSessions conn(cache_, KeyFor());
  conn.Detach();
  EXPECT_TRUE(conn.ChooseOffer().empty());
  EXPECT_EQ(conn.origin(), SessionOrigin::kNone);
  conn.Received(Tls13Ticket(kCtx));
  conn.EndCleanly();
  EXPECT_EQ(cache_->session_count(), 1u);
  EXPECT_EQ(cache_->metrics().hits + cache_->metrics().misses, 0u);
}

// An explicit session (even an empty one, meaning "offer nothing") is
// offered instead of the cache's: the cache is not touched before the
// handshake; what the connection receives still goes back on a clean end.
TEST_F(ConnectionSessionsTest, ExplicitSessionTakesNothingFromTheCache) {
  const Session cached = Tls13Ticket(kCtx);
  ASSERT_TRUE(cache_->Insert(KeyFor(), cached).ok());
  {
    ConnectionSessions conn(cache_, KeyFor());
    conn.SetExplicit(Session());
    EXPECT_TRUE(conn.ChooseOffer().empty());
    EXPECT_EQ(conn.origin(), SessionOrigin::kExplicit);
  }
  const Session mine = Tls12Session(kCtx);
  ConnectionSessions conn(cache_, KeyFor());
  conn.SetExplicit(mine);
  EXPECT_EQ(conn.ChooseOffer(), mine);
  EXPECT_EQ(cache_->session_count(), 1u);
  EXPECT_EQ(cache_->metrics().hits + cache_->metrics().misses, 0u);
  const Session received = Tls13Ticket(kCtx);
  conn.Received(received);
  conn.EndCleanly();
  EXPECT_EQ(cache_->Lookup(KeyFor()), received);
  EXPECT_EQ(cache_->Lookup(KeyFor()), cached);
}

// Without a cache, nothing is offered and nothing is kept, and nothing
// breaks.
TEST(ConnectionSessionsNoCache, WorksWithoutACache) {
  ConnectionSessions conn(nullptr, KeyFor());
  EXPECT_TRUE(conn.ChooseOffer().empty());
  conn.Received(Tls13Ticket(kCtx));
  EXPECT_EQ(conn.received_count(), 1);
  EXPECT_FALSE(conn.Lease(false).empty());
  conn.EndCleanly();
  EXPECT_EQ(conn.end(), SessionsEnd::kGivenBack);
}

}  // namespace
}  // namespace tlsession::testing
