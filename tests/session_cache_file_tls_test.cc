// The session cache file end to end over real TLS on 127.0.0.1: a client
// restarted with its file resumes. The file's own promises are tested
// without sockets in session_cache_file_test.cc.
#include <openssl/rand.h>

#include <memory>
#include <string>

#include "gtest/gtest.h"
#include "session/client_session_cache.h"
#include "session/session_cache_file.h"
#include "testbed/tls_server.h"
#include "tests/testing/files.h"
#include "tests/tls_test_util.h"
#include "tls/connection.h"

namespace tlsession::testing {
namespace {

// ---------------------------------------------------------------------------
// End to end over real TLS.

std::shared_ptr<const Context> CachingClient(
    std::shared_ptr<ClientSessionCache> cache) {
  ContextOptions o = ClientOptions();
  o.session_cache = std::move(cache);
  return MustCreate(o);
}

std::shared_ptr<ClientSessionCache> SharedCacheFor(
    const SessionCacheFile& file) {
  ClientSessionCache::Config c;
  c.digest_key = file.digest_key();
  return std::make_shared<ClientSessionCache>(c);
}

// What one connection through a Context with a cache did.
struct Outcome {
  SessionOrigin origin = SessionOrigin::kNone;
  bool session_reused = false;
};

absl::StatusOr<Outcome> ConnectOnce(const std::shared_ptr<const Context>& ctx,
                                    uint16_t port) {
  auto conn = Connection::Connect(ctx, "localhost", port);
  if (!conn.ok()) return conn.status();
  Outcome o;
  o.origin = (*conn)->offered_origin();
  o.session_reused = (*conn)->session_reused();
  if (absl::Status s = (*conn)->Shutdown(); !s.ok()) return s;
  return o;
}

class PersistenceTest
    : public ::testing::TestWithParam<std::tuple<Resumption, bool>> {};

// A client restarted with a fresh cache and Context resumes from the file
// (plain or encrypted), and a second process loading the same file after it
// gets none of its TLS 1.3 tickets.
TEST_P(PersistenceTest, RestartedClientResumesFromTheFile) {
  const auto [mode, encrypted] = GetParam();
  auto server = TestTlsServer::Start(MustCreate(ServerOptions(mode)));
  ASSERT_TRUE(server.ok()) << server.status();
  const uint16_t port = (*server)->port();
  const std::string dir = MakeTempDir();
  const std::string path = dir + "/sessions";
  std::string key_file;
  if (encrypted) {
    key_file = dir + "/key";
    std::string key(32, '\0');
    ASSERT_EQ(RAND_bytes(reinterpret_cast<uint8_t*>(&key[0]), key.size()), 1);
    ASSERT_TRUE(WritePrivateFile(key_file, key));
  }
  auto opened = SessionCacheFile::Open(path, key_file);
  ASSERT_TRUE(opened.ok()) << opened.status();
  SessionCacheFile file = *std::move(opened);

  // First process: one full handshake, sessions cached, cache saved.
  auto cache = SharedCacheFor(file);
  auto client = CachingClient(cache);
  auto first = RunClient(client, port);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_FALSE(first->reused);
  const size_t saved = cache->session_count().value_or(0);
  ASSERT_GT(saved, 0u);
  ASSERT_TRUE(file.Save(*cache).ok());

  // A fresh cache that loads nothing does not resume: the file is what
  // makes the difference below.
  auto cold = ConnectOnce(CachingClient(SharedCacheFor(file)), port);
  ASSERT_TRUE(cold.ok()) << cold.status();
  EXPECT_EQ(cold->origin, SessionOrigin::kNone);
  EXPECT_FALSE(cold->session_reused);

  // "Restarted" process: fresh cache, fresh Context, same options.
  auto reopened_or = SessionCacheFile::Open(path, key_file);
  ASSERT_TRUE(reopened_or.ok()) << reopened_or.status();
  SessionCacheFile reopened = *std::move(reopened_or);
  auto restarted_cache = SharedCacheFor(reopened);
  auto restarted = CachingClient(restarted_cache);
  ASSERT_EQ(restarted->id(), client->id());
  auto loaded = reopened.Load(*restarted_cache);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(*loaded, saved);

  // Another process loading now: the tickets are gone from the file.
  auto other_cache = SharedCacheFor(reopened);
  auto other_loaded = reopened.Load(*other_cache);
  ASSERT_TRUE(other_loaded.ok()) << other_loaded.status();
  EXPECT_EQ(*other_loaded, mode == Resumption::kTls13 ? 0u : saved);

  auto resumed = ConnectOnce(restarted, port);
  ASSERT_TRUE(resumed.ok()) << resumed.status();
  EXPECT_EQ(resumed->origin, SessionOrigin::kCache);
  EXPECT_TRUE(resumed->session_reused);
  EXPECT_EQ(restarted_cache->metrics().hits, 1u);

  ASSERT_TRUE((*server)->WaitForServed(3));
  auto served = (*server)->served();
  ASSERT_EQ(served.size(), 3u);
  EXPECT_FALSE(served[0].session_reused);
  EXPECT_FALSE(served[1].session_reused);
  EXPECT_TRUE(served[2].session_reused);
}

INSTANTIATE_TEST_SUITE_P(
    Modes, PersistenceTest,
    ::testing::Combine(::testing::Values(Resumption::kTls13,
                                         Resumption::kTls12SessionId,
                                         Resumption::kTls12Ticket),
                       ::testing::Bool()),
    [](const auto& info) {
      return ResumptionName(std::get<0>(info.param)) +
             (std::get<1>(info.param) ? "_encrypted" : "_plain");
    });

}  // namespace
}  // namespace tlsession::testing
