// Connection's state machine (tls/connection.h): the transition table, and
// an invalid change reached through the public API, which is an error in
// every build mode (it used to be an assert, ignored under -c opt). The
// public path: a connection that broke on a failed write then reads the
// peer's close_notify, which would end it cleanly; kBroken never becomes
// kClosed, so Read() and ProcessPendingMessages() fail with
// FailedPrecondition naming both states, and no session reaches the cache.
// Over a BIO pair, in memory: no socket.
#include <openssl/bio.h>
#include <openssl/ssl.h>

#include <memory>
#include <set>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "session/client_session_cache.h"
#include "tests/tls_test_util.h"

namespace tlsession::testing {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using S = ConnectionState;

constexpr S kStates[] = {S::kNew, S::kHandshaking, S::kOpen, S::kClosed,
                         S::kBroken};

// Every change the table allows, and only those; the error names both
// states.
TEST(ConnectionStateTest, TransitionTable) {
  const std::set<std::pair<S, S>> forward = {
      {S::kNew, S::kHandshaking},    {S::kHandshaking, S::kOpen},
      {S::kOpen, S::kClosed},        {S::kNew, S::kBroken},
      {S::kHandshaking, S::kBroken}, {S::kOpen, S::kBroken}};
  for (S from : kStates) {
    for (S to : kStates) {
      const absl::Status s = CheckConnectionStateChange(from, to);
      const bool allowed = from == to || forward.count({from, to}) > 0;
      EXPECT_EQ(s.ok(), allowed)
          << ConnectionStateName(from) << " -> " << ConnectionStateName(to);
      if (allowed) continue;
      EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
      EXPECT_THAT(Msg(s),
                  AllOf(HasSubstr(std::string(ConnectionStateName(from))),
                        HasSubstr(std::string(ConnectionStateName(to)))));
    }
  }
  EXPECT_EQ(ConnectionStateName(S::kBroken), "kBroken");
}

// A client and a server over a BIO pair, handshake done; the client has a
// cache.
struct BioPair {
  std::shared_ptr<ClientSessionCache> cache;
  std::unique_ptr<Connection> client, server;
  BIO* client_bio = nullptr;  // Owned by the client's SSL.
};

BioPair Handshaken() {
  BioPair p;
  p.cache = std::make_shared<ClientSessionCache>();
  ContextOptions client_options = ClientOptions();
  client_options.session_cache = p.cache;
  BIO* s = nullptr;
  EXPECT_TRUE(BIO_new_bio_pair(&p.client_bio, 0, &s, 0));
  p.client = *Connection::CreateOverBio(MustCreate(client_options),
                                        bssl::UniquePtr<BIO>(p.client_bio),
                                        "localhost");
  p.server = *Connection::CreateOverBio(MustCreate(ServerOptions()),
                                        bssl::UniquePtr<BIO>(s), "");
  bool client_done = false, server_done = false;
  for (int i = 0; i < 20 && !(client_done && server_done); ++i) {
    client_done = *p.client->HandshakeStep();
    server_done = *p.server->HandshakeStep();
  }
  EXPECT_TRUE(client_done && server_done);
  return p;
}

TEST(ConnectionStateTest, CloseNotifyAfterABreakIsAnError) {
  for (bool by_read : {true, false}) {
    BioPair p = Handshaken();
    ASSERT_EQ(p.client->state(), S::kOpen);
    // The server's tickets and close_notify wait in the pair for the client.
    ASSERT_EQ(SSL_shutdown(p.server->ssl()), 0);
    // The client's writes now fail: the connection breaks.
    ASSERT_EQ(BIO_shutdown_wr(p.client_bio), 1);
    EXPECT_EQ(p.client->Write("x").code(), absl::StatusCode::kUnavailable);
    ASSERT_EQ(p.client->state(), S::kBroken);

    char byte;
    const absl::Status ended = by_read ? p.client->Read(&byte, 1).status()
                                       : p.client->ProcessPendingMessages();
    EXPECT_EQ(ended.code(), absl::StatusCode::kFailedPrecondition) << ended;
    EXPECT_THAT(Msg(ended), AllOf(HasSubstr("from kBroken to kClosed"),
                                  HasSubstr("localhost")));
    EXPECT_EQ(p.client->state(), S::kBroken);
    EXPECT_FALSE(p.client->closed_cleanly());
    EXPECT_EQ(p.cache->session_count(), 0u);
  }
}

// The same ends cleanly when nothing broke: the sessions go to the cache.
TEST(ConnectionStateTest, CloseNotifyOnAnOpenConnectionEndsIt) {
  BioPair p = Handshaken();
  ASSERT_EQ(SSL_shutdown(p.server->ssl()), 0);
  char byte;
  absl::StatusOr<size_t> n = p.client->Read(&byte, 1);
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(*n, 0u);
  EXPECT_EQ(p.client->state(), S::kClosed);
  EXPECT_GT(p.cache->session_count(), 0u);
}

}  // namespace
}  // namespace tlsession::testing
