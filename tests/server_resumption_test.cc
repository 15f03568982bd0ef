// Server-side resumption over real sockets on 127.0.0.1: the session-ID cache
// behind the ServerSessionStore interface, a fleet of servers sharing a store
// or a TicketKeyRing, and ticket key rotation. FTPS-style require-reuse
// (IsolateSessions() / ShareSessionsWith()) is session_isolation_test.cc's.
#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "session/server_session_store.h"
#include "session/ticket_keys.h"
#include "testbed/tls_server.h"
#include "tests/tls_test_util.h"
#include "tls/connection.h"
#include "tls/context.h"
#include "tls/socket.h"

namespace tlsession::testing {
namespace {

using ::testing::HasSubstr;

// A ServerSessionStore that forwards to an MemoryServerSessionStore and
// counts the calls the server Context makes. Called from server threads and
// read from the test thread, hence the atomics and the mutex.
class CountingStore : public ServerSessionStore {
 public:
  explicit CountingStore(MemoryServerSessionStore::Config config = {})
      : inner_(std::move(config)) {}

  void Put(absl::string_view session_id, std::string serialized_session,
           absl::Time expiry) override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      put_ids_.push_back(std::string(session_id));
    }
    ++puts_;
    inner_.Put(session_id, std::move(serialized_session), expiry);
  }

  std::optional<std::string> Get(absl::string_view session_id) override {
    ++gets_;
    std::optional<std::string> found = inner_.Get(session_id);
    if (found) ++hits_;
    return found;
  }

  void Remove(absl::string_view session_id) override {
    ++removes_;
    inner_.Remove(session_id);
  }

  int puts() const { return puts_; }
  int gets() const { return gets_; }
  int hits() const { return hits_; }
  int removes() const { return removes_; }
  std::vector<std::string> put_ids() const {
    std::lock_guard<std::mutex> lock(mu_);
    return put_ids_;
  }
  MemoryServerSessionStore& inner() { return inner_; }

 private:
  MemoryServerSessionStore inner_;
  std::atomic<int> puts_{0};
  std::atomic<int> gets_{0};
  std::atomic<int> hits_{0};
  std::atomic<int> removes_{0};
  mutable std::mutex mu_;
  std::vector<std::string> put_ids_;
};

// ---------------------------------------------------------------------------
// 1. The session-ID cache behind the storage interface.

TEST(SessionIdStore, CustomStoreIsUsedForTls12SessionIds) {
  auto store = std::make_shared<CountingStore>();
  ContextOptions o = ServerOptions(Resumption::kTls12SessionId);
  ASSERT_EQ(o.max_version, TLS1_2_VERSION);
  ASSERT_FALSE(o.session_tickets);
  o.session_store = store;
  auto server_ctx = MustCreate(o);
  EXPECT_EQ(server_ctx->session_store(), store.get());
  auto server = TestTlsServer::Start(server_ctx);
  ASSERT_TRUE(server.ok()) << server.status();
  auto client = MustCreate(ClientOptions());

  absl::StatusOr<ClientRun> first = RunClient(client, (*server)->port());
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_FALSE(first->reused);
  EXPECT_EQ(first->version, "TLSv1.2");
  EXPECT_FALSE(first->session.has_ticket());
  ASSERT_TRUE((*server)->WaitForServed(1));
  // The new session went into our store, under the ID the client got.
  EXPECT_EQ(store->puts(), 1);
  EXPECT_EQ(store->hits(), 0);
  std::vector<std::string> ids = store->put_ids();
  ASSERT_EQ(ids.size(), 1u);
  EXPECT_EQ(ids[0], first->session.id());
  EXPECT_EQ(store->inner().entry_count(), 1u);

  absl::StatusOr<ClientRun> second =
      RunClient(client, (*server)->port(), first->session);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_TRUE(second->reused);
  ASSERT_TRUE((*server)->WaitForServed(2));
  auto served = (*server)->served();
  ASSERT_EQ(served.size(), 2u);
  EXPECT_FALSE(served[0].session_reused);
  EXPECT_TRUE(served[1].session_reused);
  // The resumption was a Get hit in our store, and stored nothing new.
  EXPECT_GE(store->gets(), 1);
  EXPECT_EQ(store->hits(), 1);
  EXPECT_EQ(store->puts(), 1);
  EXPECT_EQ(store->inner().metrics().hits, 1u);
}

TEST(SessionIdStore, NothingResumesWithoutCacheOrTickets) {
  auto store = std::make_shared<CountingStore>();
  ContextOptions o = ServerOptions(Resumption::kTls12SessionId);
  o.session_id_cache = false;
  o.session_tickets = false;
  o.session_store = store;  // Ignored: the cache is off.
  auto server_ctx = MustCreate(o);
  EXPECT_EQ(server_ctx->session_store(), nullptr);
  auto server = TestTlsServer::Start(server_ctx);
  ASSERT_TRUE(server.ok()) << server.status();
  auto client = MustCreate(ClientOptions());

  // The server grants no resumable session at all: no ID, no ticket.
  absl::StatusOr<ClientRun> first = RunClient(client, (*server)->port());
  ASSERT_FALSE(first.ok());
  EXPECT_EQ(first.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(Msg(first.status()), HasSubstr("no resumable session"));

  // Whatever session the client holds, offering it never resumes.
  for (int i = 0; i < 3; ++i) {
    auto conn = ConnectLocal(client, (*server)->port());
    ASSERT_TRUE(conn.ok()) << conn.status();
    EXPECT_FALSE((*conn)->session_reused());
    Session s = (*conn)->session();
    EXPECT_FALSE(s.is_resumable());
    EXPECT_FALSE(s.has_ticket());
    ASSERT_TRUE((*conn)->Shutdown().ok());
    auto again = ConnectLocal(client, (*server)->port(), s);
    ASSERT_TRUE(again.ok()) << again.status();
    EXPECT_FALSE((*again)->session_reused());
    ASSERT_TRUE((*again)->Shutdown().ok());
  }
  ASSERT_TRUE((*server)->WaitForServed(6));
  for (const ServedConnection& c : (*server)->served()) {
    EXPECT_FALSE(c.session_reused);
  }
  EXPECT_EQ(store->puts(), 0);
  EXPECT_EQ(store->gets(), 0);
}

TEST(SessionIdStore, Tls13NothingResumesWithoutTickets) {
  // TLS 1.3 has no session IDs: with no tickets sent, nothing resumes.
  ContextOptions o = ServerOptions(Resumption::kTls13);
  o.session_id_cache = false;
  o.session_tickets = false;
  o.tls13_tickets = 0;
  auto server = TestTlsServer::Start(MustCreate(o));
  ASSERT_TRUE(server.ok()) << server.status();
  auto client = MustCreate(ClientOptions());
  auto conn = ConnectLocal(client, (*server)->port());
  ASSERT_TRUE(conn.ok()) << conn.status();
  EXPECT_EQ((*conn)->version(), TLS1_3_VERSION);
  absl::StatusOr<Session> s = (*conn)->WaitForSession(absl::Milliseconds(300));
  EXPECT_EQ(s.status().code(), absl::StatusCode::kDeadlineExceeded);
  Session held = (*conn)->session();
  EXPECT_FALSE(held.is_resumable());
  ASSERT_TRUE((*conn)->Shutdown().ok());
  auto again = ConnectLocal(client, (*server)->port(), held);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_FALSE((*again)->session_reused());
  ASSERT_TRUE((*again)->Shutdown().ok());
}

// The first client's session after two other clients' sessions were stored,
// with a store of |cache_size| entries. Returns whether it resumed, and
// checks on the way that the newest session always resumes.
void FirstClientResumesAfterTwoOthers(size_t cache_size, bool* resumed) {
  ContextOptions o = ServerOptions(Resumption::kTls12SessionId);
  o.session_cache_size = cache_size;
  auto server_ctx = MustCreate(o);
  ASSERT_NE(server_ctx->session_store(), nullptr);
  auto server = TestTlsServer::Start(server_ctx);
  ASSERT_TRUE(server.ok()) << server.status();
  const uint16_t port = (*server)->port();
  auto client1 = MustCreate(ClientOptions());
  auto client2 = MustCreate(ClientOptions());
  auto client3 = MustCreate(ClientOptions());

  auto s1 = RunClient(client1, port);
  ASSERT_TRUE(s1.ok()) << s1.status();
  auto s2 = RunClient(client2, port);
  ASSERT_TRUE(s2.ok()) << s2.status();
  auto s3 = RunClient(client3, port);
  ASSERT_TRUE(s3.ok()) << s3.status();
  EXPECT_FALSE(s1->reused || s2->reused || s3->reused);
  EXPECT_NE(s1->session.id(), s2->session.id());
  EXPECT_NE(s2->session.id(), s3->session.id());

  // The newest session is in the store whatever its size (a resumption stores
  // no new session, so this evicts nothing).
  auto r3 = RunClient(client3, port, s3->session);
  ASSERT_TRUE(r3.ok()) << r3.status();
  EXPECT_TRUE(r3->reused);

  auto r1 = RunClient(client1, port, s1->session);
  ASSERT_TRUE(r1.ok()) << r1.status();
  *resumed = r1->reused;
  ASSERT_TRUE((*server)->WaitForServed(5));
  auto served = (*server)->served();
  ASSERT_EQ(served.size(), 5u);
  EXPECT_TRUE(served[3].session_reused);
  EXPECT_EQ(served[4].session_reused, *resumed);
}

TEST(SessionIdStore, CacheSizeBoundsWhatResumes) {
  bool resumed = true;
  ASSERT_NO_FATAL_FAILURE(FirstClientResumesAfterTwoOthers(1, &resumed));
  EXPECT_FALSE(resumed) << "a 1-entry cache kept the oldest of 3 sessions";
  resumed = false;
  ASSERT_NO_FATAL_FAILURE(FirstClientResumesAfterTwoOthers(3, &resumed));
  EXPECT_TRUE(resumed) << "a 3-entry cache lost one of 3 sessions";
}

// ---------------------------------------------------------------------------
// 2. A fleet: two servers behind one name.

constexpr char kFleetContext[] = "fleet.example.com";

// Starts a server for |mode| with the fleet's session-ID context, |store|
// (when not null) and |ring| (when not null).
absl::StatusOr<std::unique_ptr<TestTlsServer>> StartFleetMember(
    Resumption mode, std::shared_ptr<ServerSessionStore> store,
    std::shared_ptr<TicketKeyRing> ring,
    const std::string& sid_ctx = kFleetContext) {
  ContextOptions o = ServerOptions(mode);
  o.session_id_context = sid_ctx;
  o.session_store = std::move(store);
  o.ticket_keys = std::move(ring);
  return TestTlsServer::Start(MustCreate(std::move(o)));
}

// Runs a full handshake on |a| and offers its session to |b|; returns
// whether |b| resumed it (as both the client and |b| saw it).
void ResumesAcrossServers(TestTlsServer& a, TestTlsServer& b,
                          const std::string& want_version, bool* resumed) {
  ASSERT_NE(a.port(), b.port());
  auto client = MustCreate(ClientOptions());
  auto first = RunClient(client, a.port());
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_FALSE(first->reused);
  EXPECT_EQ(first->version, want_version);
  ASSERT_TRUE(first->session.is_resumable());
  auto second = RunClient(client, b.port(), first->session);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(second->version, want_version);
  ASSERT_TRUE(b.WaitForServed(1));
  auto served = b.served();
  ASSERT_EQ(served.size(), 1u);
  EXPECT_TRUE(served[0].handshake.ok()) << served[0].handshake;
  EXPECT_EQ(served[0].session_reused, second->reused);
  *resumed = second->reused;
}

TEST(Fleet, SharedStoreResumesTls12SessionIdsAcrossServers) {
  auto store = std::make_shared<CountingStore>();
  auto a = StartFleetMember(Resumption::kTls12SessionId, store, nullptr);
  auto b = StartFleetMember(Resumption::kTls12SessionId, store, nullptr);
  ASSERT_TRUE(a.ok() && b.ok());
  bool resumed = false;
  ASSERT_NO_FATAL_FAILURE(ResumesAcrossServers(**a, **b, "TLSv1.2", &resumed));
  EXPECT_TRUE(resumed);
  EXPECT_EQ(store->puts(), 1);  // By A.
  EXPECT_EQ(store->hits(), 1);  // By B.
}

TEST(Fleet, SeparateStoresDoNotResumeTls12SessionIdsAcrossServers) {
  auto a =
      StartFleetMember(Resumption::kTls12SessionId,
                       std::make_shared<MemoryServerSessionStore>(), nullptr);
  auto b =
      StartFleetMember(Resumption::kTls12SessionId,
                       std::make_shared<MemoryServerSessionStore>(), nullptr);
  ASSERT_TRUE(a.ok() && b.ok());
  bool resumed = true;
  ASSERT_NO_FATAL_FAILURE(ResumesAcrossServers(**a, **b, "TLSv1.2", &resumed));
  EXPECT_FALSE(resumed);
}

class FleetTicketTest : public ::testing::TestWithParam<Resumption> {
 protected:
  std::string version() const {
    return GetParam() == Resumption::kTls13 ? "TLSv1.3" : "TLSv1.2";
  }
};

TEST_P(FleetTicketTest, SharedRingResumesAcrossServers) {
  auto ring = std::make_shared<TicketKeyRing>(TicketKey::Generate());
  auto a = StartFleetMember(GetParam(), nullptr, ring);
  auto b = StartFleetMember(GetParam(), nullptr, ring);
  ASSERT_TRUE(a.ok() && b.ok());
  bool resumed = false;
  ASSERT_NO_FATAL_FAILURE(ResumesAcrossServers(**a, **b, version(), &resumed));
  EXPECT_TRUE(resumed);
}

TEST_P(FleetTicketTest, OwnRingsDoNotResumeAcrossServers) {
  auto a =
      StartFleetMember(GetParam(), nullptr,
                       std::make_shared<TicketKeyRing>(TicketKey::Generate()));
  auto b =
      StartFleetMember(GetParam(), nullptr,
                       std::make_shared<TicketKeyRing>(TicketKey::Generate()));
  ASSERT_TRUE(a.ok() && b.ok());
  bool resumed = true;
  ASSERT_NO_FATAL_FAILURE(ResumesAcrossServers(**a, **b, version(), &resumed));
  EXPECT_FALSE(resumed);
}

TEST_P(FleetTicketTest, SharedRingButOtherSessionIdContextDoesNotResume) {
  auto ring = std::make_shared<TicketKeyRing>(TicketKey::Generate());
  auto a = StartFleetMember(GetParam(), nullptr, ring, "fleet-a");
  auto b = StartFleetMember(GetParam(), nullptr, ring, "fleet-b");
  ASSERT_TRUE(a.ok() && b.ok());
  bool resumed = true;
  ASSERT_NO_FATAL_FAILURE(ResumesAcrossServers(**a, **b, version(), &resumed));
  EXPECT_FALSE(resumed);
}

INSTANTIATE_TEST_SUITE_P(Tickets, FleetTicketTest,
                         ::testing::Values(Resumption::kTls12Ticket,
                                           Resumption::kTls13),
                         [](const auto& info) {
                           return ResumptionName(info.param);
                         });

// ---------------------------------------------------------------------------
// 3. Ticket key rotation over real sockets.

class RotationTest : public ::testing::TestWithParam<Resumption> {};

TEST_P(RotationTest, PreviousKeysDecryptUntilRotatedOut) {
  const TicketKey k0 = TicketKey::Generate();
  auto ring = std::make_shared<TicketKeyRing>(k0, /*max_previous=*/2);
  ContextOptions o = ServerOptions(GetParam());
  o.ticket_keys = ring;
  auto server = TestTlsServer::Start(MustCreate(o));
  ASSERT_TRUE(server.ok()) << server.status();
  const uint16_t port = (*server)->port();
  auto client = MustCreate(ClientOptions());

  // Two tickets under k0, each offered once (TLS 1.3 tickets are single-use).
  auto a = RunClient(client, port);
  ASSERT_TRUE(a.ok()) << a.status();
  auto b = RunClient(client, port);
  ASSERT_TRUE(b.ok()) << b.status();
  ASSERT_TRUE(a->session.has_ticket());
  ASSERT_TRUE(b->session.has_ticket());

  // After one rotation k0 is a previous key: its ticket still resumes, and
  // the server issues a fresh ticket under the new current key k1.
  ring->Rotate(TicketKey::Generate());
  auto a_resumed = RunClient(client, port, a->session);
  ASSERT_TRUE(a_resumed.ok()) << a_resumed.status();
  EXPECT_TRUE(a_resumed->reused);
  ASSERT_TRUE(a_resumed->session.has_ticket());
  EXPECT_NE(a_resumed->session, a->session) << "ticket was not renewed";

  // Two more rotations: previous keys are now k2 and k1; k0 is gone.
  ring->Rotate(TicketKey::Generate());
  ring->Rotate(TicketKey::Generate());
  bool is_current = true;
  EXPECT_FALSE(ring->Find(k0.name.data(), &is_current).has_value());
  auto b_late = RunClient(client, port, b->session);
  ASSERT_TRUE(b_late.ok()) << b_late.status();
  EXPECT_FALSE(b_late->reused);
  // The ticket renewed under k1 is still within the ring.
  auto a_late = RunClient(client, port, a_resumed->session);
  ASSERT_TRUE(a_late.ok()) << a_late.status();
  EXPECT_TRUE(a_late->reused);

  ASSERT_TRUE((*server)->WaitForServed(5));
  auto served = (*server)->served();
  ASSERT_EQ(served.size(), 5u);
  EXPECT_FALSE(served[0].session_reused);
  EXPECT_FALSE(served[1].session_reused);
  EXPECT_TRUE(served[2].session_reused);
  EXPECT_FALSE(served[3].session_reused);
  EXPECT_TRUE(served[4].session_reused);
}

INSTANTIATE_TEST_SUITE_P(Tickets, RotationTest,
                         ::testing::Values(Resumption::kTls12Ticket,
                                           Resumption::kTls13),
                         [](const auto& info) {
                           return ResumptionName(info.param);
                         });

}  // namespace
}  // namespace tlsession::testing
