// fleet_setup.h's modes without Redis: the --session-store and --ticket-keys
// values parse into enums (keywords, well-formed Redis URLs), anything else
// is refused naming the flag and never repeating a URL's password, and
// ApplyFleetServerConfig's local modes set a server's ticket keys.
#include "fleet/fleet_setup.h"
#include "base/redact_url.h"

#include <gtest/gtest.h>

#include <string>

#include "absl/strings/match.h"
#include "tls/context_options.h"

namespace tlsession::fleet {
namespace {

TEST(FleetSetupTest, SessionStoreValuesParse) {
  absl::StatusOr<SessionStoreSetting> memory =
      ParseSessionStoreSetting("memory");
  ASSERT_TRUE(memory.ok()) << memory.status();
  EXPECT_EQ(memory->mode, SessionStoreMode::kMemory);
  EXPECT_EQ(memory->redis_url, "");
  absl::StatusOr<SessionStoreSetting> redis =
      ParseSessionStoreSetting("redis://:pw@127.0.0.1:6379");
  ASSERT_TRUE(redis.ok()) << redis.status();
  EXPECT_EQ(redis->mode, SessionStoreMode::kRedis);
  EXPECT_EQ(redis->redis_url, "redis://:pw@127.0.0.1:6379");
}

TEST(FleetSetupTest, TicketKeyValuesParse) {
  EXPECT_EQ(ParseTicketKeySetting("local")->mode, TicketKeyMode::kLocal);
  EXPECT_EQ(ParseTicketKeySetting("off")->mode, TicketKeyMode::kOff);
  absl::StatusOr<TicketKeySetting> redis =
      ParseTicketKeySetting("redis://127.0.0.1:6379");
  ASSERT_TRUE(redis.ok()) << redis.status();
  EXPECT_EQ(redis->mode, TicketKeyMode::kRedis);
  EXPECT_EQ(redis->redis_url, "redis://127.0.0.1:6379");
}

// Each refusal names its flag; a malformed URL's password is not repeated.
TEST(FleetSetupTest, OtherValuesAreRefused) {
  for (const char* bad : {"", "Memory", "local", "memcached://h:1",
                          "redis://:hunter2@127.0.0.1:1/db"}) {
    absl::StatusOr<SessionStoreSetting> s = ParseSessionStoreSetting(bad);
    ASSERT_FALSE(s.ok()) << bad;
    EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_TRUE(absl::StartsWith(s.status().message(), "--session-store"))
        << s.status();
    EXPECT_FALSE(absl::StrContains(s.status().message(), "hunter2"));
  }
  for (const char* bad : {"", "memory", "OFF", "redis://:hunter2@h:1/db"}) {
    absl::StatusOr<TicketKeySetting> s = ParseTicketKeySetting(bad);
    ASSERT_FALSE(s.ok()) << bad;
    EXPECT_TRUE(absl::StartsWith(s.status().message(), "--ticket-keys"))
        << s.status();
    EXPECT_FALSE(absl::StrContains(s.status().message(), "hunter2"));
  }
}

// Issue 20 item 5: a mistyped scheme, a URL without '@' and a bad port are
// refused quoting the URL redacted, never its password.
TEST(FleetSetupTest, UrlErrorsAreRedacted) {
  for (const char* bad :
       {"redis+tls://:hunter2@127.0.0.1:6379", "redis://:hunter2:6379",
        "redis-sentinel://:hunter2@h:1", "rediss-sentinel://:hunter2@h:1,/m",
        "redis://:hunter2@127.0.0.1:70000", "redis:/:hunter2@h:1",
        "redis://u:hunter2@h:port"}) {
    absl::StatusOr<SessionStoreSetting> s = ParseSessionStoreSetting(bad);
    ASSERT_FALSE(s.ok()) << bad;
    EXPECT_FALSE(absl::StrContains(s.status().message(), "hunter2"))
        << s.status();
    EXPECT_TRUE(absl::StrContains(s.status().message(), "***")) << s.status();
    absl::StatusOr<TicketKeySetting> t = ParseTicketKeySetting(bad);
    ASSERT_FALSE(t.ok()) << bad;
    EXPECT_FALSE(absl::StrContains(t.status().message(), "hunter2"))
        << t.status();
  }
  absl::StatusOr<SessionStoreSetting> port =
      ParseSessionStoreSetting("redis://user:hunter2@h:70000");
  EXPECT_TRUE(absl::StrContains(port.status().message(),
                                "'redis://user:***@h:70000': bad port"))
      << port.status();
}

// Issue 20: TLS and Sentinel URL forms.
TEST(FleetSetupTest, ParsesTlsAndSentinelUrls) {
  absl::StatusOr<RedisEndpoint> tls =
      ParseRedisUrl("rediss://u:p%40w@cache.example:6380");
  ASSERT_TRUE(tls.ok()) << tls.status();
  EXPECT_TRUE(tls->tls);
  EXPECT_EQ(tls->host, "cache.example");
  EXPECT_EQ(tls->port, 6380);
  EXPECT_EQ(tls->user, "u");
  EXPECT_EQ(tls->password.view(), "p@w");
  EXPECT_TRUE(tls->sentinels.empty());
  absl::StatusOr<RedisEndpoint> s = ParseRedisUrl(
      "redis-sentinel://:pw@10.0.0.1:26379,[::1]:26380,sentinel.example/"
      "mymaster");
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_FALSE(s->tls);
  EXPECT_EQ(s->master_name, "mymaster");
  ASSERT_EQ(s->sentinels.size(), 3u);
  EXPECT_EQ(s->sentinels[0].host, "10.0.0.1");
  EXPECT_EQ(s->sentinels[1].host, "::1");
  EXPECT_EQ(s->sentinels[1].port, 26380);
  EXPECT_EQ(s->sentinels[2].port, 26379);  // Sentinel's default port.
  EXPECT_EQ(s->password.view(), "pw");
  absl::StatusOr<RedisEndpoint> st = ParseRedisUrl("rediss-sentinel://h:1/m");
  ASSERT_TRUE(st.ok()) << st.status();
  EXPECT_TRUE(st->tls);
  for (const char* bad : {"redis-sentinel://h:1", "redis-sentinel://h:1/",
                          "redis-sentinel:///m", "redis-sentinel://h:1,,h:2/m",
                          "redis-sentinel://h:0/m", "rediss://h:1/0"}) {
    EXPECT_FALSE(ParseRedisUrl(bad).ok()) << bad;
  }
  EXPECT_TRUE(IsRedisUrl("rediss-sentinel://h:1/m"));
  EXPECT_TRUE(ParseSessionStoreSetting("rediss://h:1").ok());
  EXPECT_TRUE(ParseTicketKeySetting("redis-sentinel://h:1,h:2/m").ok());
  EXPECT_EQ(RedactUrl("redis-sentinel://u:pw@h:1,h:2/m"),
            "redis-sentinel://u:***@h:1,h:2/m");
}

// Without Redis: kLocal gives the server a ticket key ring of its own, kOff
// turns tickets off; neither needs a fleet key or keeps anything alive.
TEST(FleetSetupTest, LocalModesNeedNoRedis) {
  FleetServerConfig config;
  ContextOptions local;
  absl::StatusOr<FleetServer> a = ApplyFleetServerConfig(config, &local);
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_TRUE(local.session_tickets);
  EXPECT_NE(local.ticket_keys, nullptr);
  EXPECT_EQ(local.session_store, nullptr);
  EXPECT_EQ(a->session_store, nullptr);
  EXPECT_EQ(a->ticket_sync, nullptr);

  config.ticket_keys.mode = TicketKeyMode::kOff;
  ContextOptions off;
  ASSERT_TRUE(ApplyFleetServerConfig(config, &off).ok());
  EXPECT_FALSE(off.session_tickets);
  EXPECT_EQ(off.ticket_keys, nullptr);

  config.session_store = {SessionStoreMode::kRedis, "redis://127.0.0.1:1"};
  ContextOptions redis;
  absl::StatusOr<FleetServer> c = ApplyFleetServerConfig(config, &redis);
  ASSERT_FALSE(c.ok());
  EXPECT_TRUE(absl::StrContains(c.status().message(), "--fleet-key"))
      << c.status();
}

// kLocal's keys rotate on config.local_ticket_keys (the flags
// --ticket-key-rotation and --ticket-key-lifetime); a schedule that cannot
// work is refused, naming the flags.
TEST(FleetSetupTest, LocalTicketKeysRotateOnTheConfiguredSchedule) {
  absl::Time now = absl::FromUnixSeconds(1700000000);
  FleetServerConfig config;
  config.local_ticket_keys.rotation = absl::Hours(6);
  config.local_ticket_keys.lifetime = absl::Hours(12);
  config.local_ticket_keys.clock = [&now] { return now; };
  ContextOptions local;
  ASSERT_TRUE(ApplyFleetServerConfig(config, &local).ok());
  ASSERT_NE(local.ticket_keys, nullptr);
  const TicketKey first = local.ticket_keys->current();
  now += absl::Hours(6);
  const TicketKey second = local.ticket_keys->current();
  EXPECT_NE(std::string(first.name.begin(), first.name.end()),
            std::string(second.name.begin(), second.name.end()));
  EXPECT_TRUE(local.ticket_keys->Find(first.name.data(), nullptr));
  now += absl::Hours(6);
  EXPECT_FALSE(local.ticket_keys->Find(first.name.data(), nullptr));

  config.local_ticket_keys.lifetime = absl::Hours(1);
  ContextOptions refused;
  absl::StatusOr<FleetServer> r = ApplyFleetServerConfig(config, &refused);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(absl::StrContains(r.status().message(), "--ticket-key-lifetime"))
      << r.status();
}

}  // namespace
}  // namespace tlsession::fleet
