// RedisClient against a real redis-server: commands, AUTH, the per-call
// deadline when Redis hangs (SIGSTOP) or dies (SIGKILL), back-off, reconnects
// after a restart, bounded replies; and the Redis URL parser.
#include "fleet/redis_client.h"

#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "testbed/poll.h"
#include "testbed/redis_server.h"
#include "tests/fleet/reply_dropping_proxy.h"
#include "tests/testing/start_line.h"

namespace tlsession::fleet {
namespace {

using testing::PollUntil;
using testing::Scaled;
using testing::TestRedisServer;

// A generous bound over the call's timeout: a correctness bound (the call
// does not wait for Redis), not a speed measurement. The timeout runs on the
// wall clock in any build; the margin, for the call's own work, stretches
// with the build (testbed/poll.h).
absl::Duration Margin() { return Scaled(absl::Milliseconds(200)); }

std::unique_ptr<TestRedisServer> MustStartRedis() {
  auto redis = TestRedisServer::Start();
  EXPECT_TRUE(redis.ok()) << redis.status();
  return redis.ok() ? *std::move(redis) : nullptr;
}

std::shared_ptr<RedisClient> MustClient(const TestRedisServer& redis,
                                        absl::Duration timeout,
                                        bool with_password = true) {
  RedisClient::Config config;
  config.endpoint.port = redis.port();
  if (with_password)
    config.endpoint.password = Secret(std::string(redis.password()));
  config.timeout = timeout;
  // The calls a test expects skipped must all fall within the back-off.
  config.backoff = Scaled(absl::Milliseconds(300));
  config.max_backoff = Scaled(absl::Milliseconds(600));
  auto client = RedisClient::Create(std::move(config));
  EXPECT_TRUE(client.ok()) << client.status();
  return client.ok() ? *client : nullptr;
}

TEST(RedisUrlTest, ParsesHostPortAndCredentials) {
  auto a = ParseRedisUrl("redis://:s3cr%40t@10.0.0.7:6380");
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->host, "10.0.0.7");
  EXPECT_EQ(a->port, 6380);
  EXPECT_EQ(a->user, "");
  EXPECT_EQ(a->password.view(), "s3cr@t");

  auto b = ParseRedisUrl("redis://fleet:pw@cache.example:7000");
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(b->user, "fleet");
  EXPECT_EQ(b->password.view(), "pw");
  EXPECT_EQ(b->host, "cache.example");

  auto c = ParseRedisUrl("redis://[::1]:6379");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->host, "::1");
  EXPECT_TRUE(c->password.empty());

  auto d = ParseRedisUrl("redis://localhost");
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->port, 6379);
}

TEST(RedisUrlTest, RefusesBadUrlsWithoutQuotingThePassword) {
  for (const char* bad :
       {"http://h:1", "redis://", "redis://h:0", "redis://h:70000",
        "redis://h:1/0", "redis://h:1?x=1", "redis://pw-only@h:1",
        "redis://:bad%zzescape@h:1", "redis://::1:6379", "redis://[::1:6379",
        "redis://h:port"}) {
    auto r = ParseRedisUrl(bad);
    EXPECT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().message().find("escape"), std::string::npos) << bad;
    EXPECT_EQ(r.status().message().find("pw-only"), std::string::npos) << bad;
  }
}

TEST(RedisRepliesTest, ParsesRepliesAndRefusesHostileOnes) {
  auto ok = ParseRedisReplies(
      "*3\r\n$3\r\nfoo\r\n:42\r\n*2\r\n+OK\r\n-ERR x\r\n$-1\r\n$2\r\nab");
  ASSERT_TRUE(ok.ok()) << ok.status();
  ASSERT_EQ(ok->size(), 2u);  // The truncated third is left out.
  EXPECT_EQ((*ok)[0].elements[0].str, "foo");
  EXPECT_EQ((*ok)[0].elements[1].integer, 42);
  EXPECT_EQ((*ok)[0].elements[2].elements[1].type, RedisReply::Type::kError);
  EXPECT_TRUE((*ok)[1].is_nil());
  // An array that names two billion elements is refused, not allocated.
  auto huge = ParseRedisReplies("*2000000000\r\n:1\r\n");
  EXPECT_EQ(huge.status().code(), absl::StatusCode::kDataLoss);
  auto negative = ParseRedisReplies("*-7\r\n");
  EXPECT_FALSE(negative.ok());
  // Nesting beyond hiredis's bound, and garbage, are protocol errors.
  std::string deep;
  for (int i = 0; i < 20; ++i) deep += "*1\r\n";
  deep += ":1\r\n";
  EXPECT_FALSE(ParseRedisReplies(deep).ok());
  EXPECT_FALSE(ParseRedisReplies("?what\r\n").ok());
}

// Nested "*65536" headers with no element make hiredis allocate each level's
// slots at once; the reader charges them to its budget and refuses the reply,
// naming the bound, before its objects reach it.
TEST(RedisRepliesTest, NestedArrayHeadersStayWithinTheBudget) {
  // Three levels of 65,536 slots fit in 16 MiB, the fourth does not.
  constexpr size_t kBudget = 16 << 20;
  std::string nested;
  for (int i = 0; i < 8; ++i) nested += "*65536\r\n";
  ResetRedisReplyPeakBytes();
  auto r = ParseRedisReplies(nested, kBudget);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(r.status().message().find("bound of 16777216 bytes"),
            std::string::npos)
      << r.status();
  EXPECT_GT(RedisReplyPeakBytes(), 0u);
  EXPECT_LE(RedisReplyPeakBytes(), kBudget);
  // Under the default 1 MiB budget not even the first level is allocated.
  ResetRedisReplyPeakBytes();
  EXPECT_FALSE(ParseRedisReplies(nested).ok());
  EXPECT_EQ(RedisReplyPeakBytes(), 0u);
  // Wide rather than deep: the same budget bounds a reply of many arrays.
  ResetRedisReplyPeakBytes();
  std::string many = "*65536\r\n";
  for (int i = 0; i < 64; ++i) {
    many += "*4096\r\n";
    for (int j = 0; j < 4096; ++j) many += ":1\r\n";
  }
  EXPECT_FALSE(ParseRedisReplies(many, kBudget).ok());
  EXPECT_LE(RedisReplyPeakBytes(), kBudget);
  // A reply within the budget parses.
  auto small = ParseRedisReplies("*2\r\n*1\r\n:1\r\n$2\r\nab\r\n", 4096);
  ASSERT_TRUE(small.ok()) << small.status();
  EXPECT_EQ((*small)[0].elements[1].str, "ab");
  // Strings are charged too.
  EXPECT_FALSE(
      ParseRedisReplies("$100\r\n" + std::string(100, 'x') + "\r\n", 100).ok());
}

TEST(RedisClientTest, CommandsPipelinesAndBinaryValues) {
  auto redis = MustStartRedis();
  ASSERT_NE(redis, nullptr);
  auto client = MustClient(*redis, absl::Seconds(1));
  ASSERT_NE(client, nullptr);
  const std::string binary("a\0b\r\n$3\r\nc", 11);
  auto set = client->Command({"SET", "k", binary});
  ASSERT_TRUE(set.ok()) << set.status();
  EXPECT_EQ(set->type, RedisReply::Type::kStatus);
  auto get = client->Command({"GET", "k"});
  ASSERT_TRUE(get.ok()) << get.status();
  EXPECT_EQ(get->str, binary);
  auto nil = client->Command({"GET", "missing"});
  ASSERT_TRUE(nil.ok());
  EXPECT_TRUE(nil->is_nil());

  auto replies = client->Pipeline(
      {{"RPUSH", "l", "x", "y"}, {"LPOP", "l"}, {"LPOP", "k"}, {"LLEN", "l"}});
  ASSERT_TRUE(replies.ok()) << replies.status();
  ASSERT_EQ(replies->size(), 4u);
  EXPECT_EQ((*replies)[0].integer, 2);
  EXPECT_EQ((*replies)[1].str, "x");
  EXPECT_EQ((*replies)[2].type, RedisReply::Type::kError);  // WRONGTYPE.
  EXPECT_EQ((*replies)[3].integer, 1);

  auto wrong = client->Command({"LPOP", "k"});
  EXPECT_EQ(wrong.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(RedisOutcomeOf(wrong.status()), RedisOutcome::kError);
  // An error reply is Redis answering: it never starts a back-off.
  for (int i = 0; i < 5; ++i) (void)client->Command({"LPOP", "k"});
  EXPECT_FALSE(client->backing_off());
  EXPECT_TRUE(client->Command({"PING"}).ok());
}

TEST(RedisClientTest, WrongOrMissingPasswordIsAnError) {
  auto redis = MustStartRedis();
  ASSERT_NE(redis, nullptr);
  RedisClient::Config config;
  config.endpoint.port = redis->port();
  config.endpoint.password = Secret(std::string("not the password"));
  config.timeout = absl::Seconds(1);
  auto client = RedisClient::Create(std::move(config));
  ASSERT_TRUE(client.ok());
  auto r = (*client)->Command({"PING"});
  EXPECT_EQ(r.status().code(), absl::StatusCode::kPermissionDenied)
      << r.status();
  EXPECT_EQ(r.status().message().find("not the password"), std::string::npos);

  auto anonymous = MustClient(*redis, absl::Seconds(1), false);
  auto noauth = anonymous->Command({"GET", "k"});
  EXPECT_EQ(RedisOutcomeOf(noauth.status()), RedisOutcome::kError)
      << noauth.status();
}

TEST(RedisClientTest, HungRedisTimesOutWithinTheBoundThenRecovers) {
  auto redis = MustStartRedis();
  ASSERT_NE(redis, nullptr);
  const absl::Duration timeout = absl::Milliseconds(50);
  auto client = MustClient(*redis, timeout);
  ASSERT_TRUE(client->Command({"SET", "k", "v"}).ok());
  redis->Pause();
  for (int i = 0; i < 6; ++i) {
    const absl::Time start = absl::Now();
    auto r = client->Command({"GET", "k"});
    const absl::Duration took = absl::Now() - start;
    EXPECT_FALSE(r.ok());
    EXPECT_LT(took, timeout + Margin()) << "call " << i;
    if (i < 3) {
      EXPECT_EQ(RedisOutcomeOf(r.status()), RedisOutcome::kTimeout)
          << r.status();
    } else {
      // Three consecutive failures: skipped without touching the network.
      EXPECT_EQ(RedisOutcomeOf(r.status()), RedisOutcome::kSkipped)
          << r.status();
    }
  }
  EXPECT_TRUE(client->backing_off());
  redis->Resume();
  // After the back-off, the next call probes and succeeds.
  absl::StatusOr<RedisReply> r;
  PollUntil(
      [&] {
        r = client->Command({"GET", "k"});
        return r.ok();
      },
      absl::Now() + Scaled(absl::Seconds(5)), absl::Milliseconds(50));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->str, "v");
  const RedisClient::Metrics m = client->metrics();
  EXPECT_GE(m.timeouts, 3u);
  EXPECT_GE(m.skipped, 3u);
  EXPECT_GE(m.backoffs, 1u);
}

TEST(RedisClientTest, KilledRedisFailsFastAndRestartReconnects) {
  auto redis = MustStartRedis();
  ASSERT_NE(redis, nullptr);
  const absl::Duration timeout = absl::Milliseconds(50);
  auto client = MustClient(*redis, timeout);
  ASSERT_TRUE(client->Command({"SET", "k", "v"}).ok());
  redis->Kill();
  const absl::Time start = absl::Now();
  auto r = client->Command({"GET", "k"});
  EXPECT_EQ(RedisOutcomeOf(r.status()), RedisOutcome::kError) << r.status();
  EXPECT_LT(absl::Now() - start, timeout + Margin());
  ASSERT_TRUE(redis->Restart().ok());
  // The restarted Redis is empty (no persistence); the pooled connection is
  // dead and the client reconnects by itself.
  absl::StatusOr<RedisReply> again;
  PollUntil(
      [&] {
        again = client->Command({"GET", "k"});
        return again.ok();
      },
      absl::Now() + Scaled(absl::Seconds(5)), absl::Milliseconds(50));
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_TRUE(again->is_nil());
}

TEST(RedisClientTest, StalePooledConnectionIsRetriedOnce) {
  auto redis = MustStartRedis();
  ASSERT_NE(redis, nullptr);
  auto client = MustClient(*redis, absl::Seconds(1));
  ASSERT_TRUE(client->Command({"PING"}).ok());
  // Redis closes every client connection; ours sits idle in the pool.
  ASSERT_TRUE(
      redis->Command({"CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes"})
          .ok());
  auto r = client->Command({"PING"}, Idempotent::kYes);
  EXPECT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(client->metrics().errors, 0u);
  // Not so a call that is not idempotent: it may have run.
  ASSERT_TRUE(
      redis->Command({"CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes"})
          .ok());
  auto incr = client->Command({"INCR", "n"});
  EXPECT_EQ(incr.status().code(), absl::StatusCode::kAborted) << incr.status();
}

// A command runs and its reply is lost (a proxy forwards it and closes the
// connection instead of replying): a call not marked idempotent fails rather
// than run again, so INCR (like LPUSH of a ticket) takes effect once.
TEST(RedisClientTest, LostReplyIsNotRetriedUnlessIdempotent) {
  auto redis = MustStartRedis();
  ASSERT_NE(redis, nullptr);
  auto proxy = testing::ReplyDroppingProxy::Start(redis->port());
  ASSERT_TRUE(proxy.ok()) << proxy.status();
  RedisClient::Config config;
  config.endpoint.port = (*proxy)->port();
  config.endpoint.password = Secret(std::string(redis->password()));
  config.timeout = absl::Seconds(2);
  auto client = RedisClient::Create(std::move(config));
  ASSERT_TRUE(client.ok()) << client.status();
  ASSERT_TRUE((*client)->Command({"PING"}).ok());  // A pooled connection.
  (*proxy)->DropReplyTo("INCR");
  auto incr = (*client)->Command({"INCR", "counter"});
  EXPECT_EQ(incr.status().code(), absl::StatusCode::kAborted) << incr.status();
  EXPECT_EQ((*proxy)->dropped(), 1);
  auto counter = redis->Command({"GET", "counter"});
  ASSERT_TRUE(counter.ok()) << counter.status();
  EXPECT_EQ(counter->str, "1");  // Ran once, not retried.
  // An idempotent call whose reply is lost is retried, and answers.
  ASSERT_TRUE((*client)->Command({"PING"}).ok());
  (*proxy)->DropReplyTo("counter");
  auto get = (*client)->Command({"GET", "counter"}, Idempotent::kYes);
  ASSERT_TRUE(get.ok()) << get.status();
  EXPECT_EQ(get->str, "1");
  EXPECT_EQ((*proxy)->dropped(), 2);
}

TEST(RedisClientTest, OversizedReplyIsAnError) {
  auto redis = MustStartRedis();
  ASSERT_NE(redis, nullptr);
  RedisClient::Config config;
  config.endpoint.port = redis->port();
  config.endpoint.password = Secret(std::string(redis->password()));
  config.timeout = absl::Seconds(2);
  config.max_reply_bytes = 64 * 1024;
  auto client = RedisClient::Create(std::move(config));
  ASSERT_TRUE(client.ok());
  ASSERT_TRUE(redis->Command({"SET", "big", std::string(200000, 'x')}).ok());
  auto r = (*client)->Command({"GET", "big"});
  EXPECT_EQ(r.status().code(), absl::StatusCode::kDataLoss) << r.status();
  EXPECT_TRUE((*client)->Command({"PING"}).ok());
}

TEST(RedisClientTest, ManyThreadsShareTheBoundedPool) {
  auto redis = MustStartRedis();
  ASSERT_NE(redis, nullptr);
  RedisClient::Config config;
  config.endpoint.port = redis->port();
  config.endpoint.password = Secret(std::string(redis->password()));
  config.timeout = absl::Seconds(2);
  config.max_connections = 4;
  auto client = RedisClient::Create(std::move(config));
  ASSERT_TRUE(client.ok());
  std::atomic<int> ok{0}, skipped{0}, other{0};
  testing::StartLine start(8);  // All call at once, in any build.
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      start.Wait();
      for (int i = 0; i < 100; ++i) {
        auto r = (*client)->Command({"INCR", absl::StrCat("n", t)});
        switch (RedisOutcomeOf(r.status())) {
          case RedisOutcome::kOk:
            ++ok;
            break;
          case RedisOutcome::kSkipped:
            ++skipped;
            break;
          default:
            ++other;
            break;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(other.load(), 0);
  EXPECT_EQ(ok + skipped, 800);
  EXPECT_GT(ok.load(), 0);
  EXPECT_LE((*client)->metrics().connects, 4u);
}

}  // namespace
}  // namespace tlsession::fleet
