// Three tls_echo_server processes and one Redis: a session that
// `openssl s_client -sess_out` got from instance 1 resumes (`-sess_in`) on
// instances 2 and 3, under TLS 1.2 session IDs (-no_ticket, the Redis
// session store), TLS 1.2 tickets and TLS 1.3 (the fleet's ticket keys).
// The control, each instance on its own (--session-store memory
// --ticket-keys local), does not resume on the other instances. Tampered
// values in Redis give full handshakes, never a crash; bad flags and key
// files are refused.
#include <sys/stat.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "testbed/certs.h"
#include "testbed/poll.h"
#include "testbed/subprocess.h"
#include "tests/fleet/fleet_harness.h"

namespace tlsession::testing {
namespace {

// Waits until Redis holds at least |n| keys matching |pattern|: a server
// stores a TLS 1.2 session after its Finished, by a background writer, so
// the client may be done first.
std::vector<std::string> WaitForKeys(TestRedisServer& redis,
                                     const std::string& pattern, size_t n) {
  std::vector<std::string> keys;
  PollUntil(
      [&] {
        absl::StatusOr<std::vector<std::string>> now = redis.Keys(pattern);
        keys = now.ok() ? *std::move(now) : std::vector<std::string>();
        return keys.size() >= n;
      },
      absl::Now() + Scaled(absl::Seconds(10)));
  return keys;
}

struct Case {
  std::string name;
  std::vector<std::string> s_client;  // Version and ticket flags.
  std::vector<std::string> server;    // Store and ticket-key flags.
  bool shared;                        // Resumes across instances.
};

class FleetResumptionTest : public ::testing::TestWithParam<Case> {};

TEST_P(FleetResumptionTest, SessionFromInstanceOneResumesOnTwoAndThree) {
  const Case& c = GetParam();
  auto fleet = FleetHarness::Start();
  ASSERT_TRUE(fleet.ok()) << fleet.status();
  for (int i = 0; i < 3; ++i) {
    auto index = (*fleet)->StartInstance(c.server);
    ASSERT_TRUE(index.ok()) << index.status();
  }
  const std::string dir = (*fleet)->dir();
  const std::string sess = dir + "/session.pem";
  auto first = SClientHandshake((*fleet)->port(0), c.s_client,
                                dir + "/s_client.1.log", sess);
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_TRUE(first->new_session()) << first->output;
  EXPECT_TRUE(absl::StrContains(first->output, "Verify return code: 0 (ok)"))
      << first->output;
  const bool session_id = std::find(c.s_client.begin(), c.s_client.end(),
                                    "-no_ticket") != c.s_client.end();
  if (c.shared && session_id && c.server[1] == "redis") {
    EXPECT_EQ(WaitForKeys((*fleet)->redis(), "tlsession:s:*", 1).size(), 1u);
  }

  std::vector<std::string> offer = c.s_client;
  offer.push_back("-sess_in");
  offer.push_back(sess);
  for (size_t i : {1, 2}) {
    auto run = SClientHandshake((*fleet)->port(i), offer,
                                absl::StrCat(dir, "/s_client.", i + 1, ".log"));
    ASSERT_TRUE(run.ok()) << run.status();
    EXPECT_TRUE(WIFEXITED(run->wait_status) &&
                WEXITSTATUS(run->wait_status) == 0)
        << run->output;
    EXPECT_EQ(run->reused(), c.shared) << "instance " << i + 1 << ":\n"
                                       << run->output;
    EXPECT_EQ(run->new_session(), !c.shared) << run->output;
  }
  // The session itself is good: its own instance resumes it in every case.
  auto own =
      SClientHandshake((*fleet)->port(0), offer, dir + "/s_client.own.log");
  ASSERT_TRUE(own.ok()) << own.status();
  EXPECT_TRUE(own->reused()) << own->output;
  for (size_t i = 0; i < 3; ++i) {
    auto stats = (*fleet)->Stats(i);
    ASSERT_TRUE(stats.ok()) << stats.status();
    EXPECT_EQ((*stats)["failed"], 0u) << (*fleet)->process(i).log();
  }
}

const std::vector<std::string> kSid = {"-tls1_2", "-no_ticket"};
const std::vector<std::string> kTicket12 = {"-tls1_2"};
const std::vector<std::string> kTls13 = {"-tls1_3"};
const std::vector<std::string> kControl = {"--session-store", "memory",
                                           "--ticket-keys", "local"};

INSTANTIATE_TEST_SUITE_P(
    Fleet, FleetResumptionTest,
    ::testing::Values(
        // Session IDs through the Redis session store (tickets off).
        Case{"tls12_sid",
             kSid,
             {"--session-store", "redis", "--ticket-keys", "off",
              "--redis-timeout", "500ms"},
             true},
        // Tickets under the fleet's ticket keys (the session store in
        // memory, so only the keys can make it resume).
        Case{"tls12_ticket",
             kTicket12,
             {"--session-store", "memory", "--ticket-keys", "redis"},
             true},
        Case{"tls13",
             kTls13,
             {"--session-store", "memory", "--ticket-keys", "redis"},
             true},
        // Both shared, as the demo runs.
        Case{"tls13_both",
             kTls13,
             {"--session-store", "redis", "--ticket-keys", "redis",
              "--redis-timeout", "500ms"},
             true},
        Case{"control_tls12_sid", kSid, kControl, false},
        Case{"control_tls12_ticket", kTicket12, kControl, false},
        Case{"control_tls13", kTls13, kControl, false}),
    [](const ::testing::TestParamInfo<Case>& info) { return info.param.name; });

// Flips one byte of |name|'s value in Redis.
void FlipByte(TestRedisServer& redis, const std::string& name, size_t at) {
  auto value = redis.Command({"GET", name});
  ASSERT_TRUE(value.ok()) << value.status();
  ASSERT_TRUE(value->is_string());
  std::string v = value->str;
  v[at % v.size()] ^= 0x01;
  ASSERT_TRUE(redis.Command({"SET", name, v}).ok());
}

TEST(FleetTamperTest, TamperedOrMovedSessionsGiveFullHandshakes) {
  auto fleet = FleetHarness::Start();
  ASSERT_TRUE(fleet.ok()) << fleet.status();
  const std::vector<std::string> flags = {"--session-store", "redis",
                                          "--ticket-keys",   "off",
                                          "--redis-timeout", "500ms"};
  ASSERT_TRUE((*fleet)->StartInstance(flags).ok());
  ASSERT_TRUE((*fleet)->StartInstance(flags).ok());
  TestRedisServer& redis = (*fleet)->redis();
  const std::string dir = (*fleet)->dir();
  // Two sessions from instance 1; their two names in Redis.
  const std::string s1 = dir + "/s1.pem", s2 = dir + "/s2.pem";
  ASSERT_TRUE(
      SClientHandshake((*fleet)->port(0), kSid, dir + "/a.log", s1).ok());
  std::vector<std::string> names = WaitForKeys(redis, "tlsession:s:*", 1);
  ASSERT_EQ(names.size(), 1u);
  const std::string n1 = names[0];
  ASSERT_TRUE(
      SClientHandshake((*fleet)->port(0), kSid, dir + "/b.log", s2).ok());
  names = WaitForKeys(redis, "tlsession:s:*", 2);
  ASSERT_EQ(names.size(), 2u);
  const std::string n2 = names[0] == n1 ? names[1] : names[0];
  // Session 1: one byte flipped. Session 2's name: session 1's (intact)
  // value moved there first.
  auto v1 = redis.Command({"GET", n1});
  ASSERT_TRUE(v1.ok());
  ASSERT_TRUE(redis.Command({"SET", n2, v1->str}).ok());
  FlipByte(redis, n1, 40);
  for (const std::string& sess : {s1, s2}) {
    std::vector<std::string> offer = kSid;
    offer.push_back("-sess_in");
    offer.push_back(sess);
    auto run = SClientHandshake((*fleet)->port(1), offer, sess + ".log");
    ASSERT_TRUE(run.ok()) << run.status();
    EXPECT_TRUE(run->new_session()) << run->output;
    EXPECT_TRUE(WIFEXITED(run->wait_status) &&
                WEXITSTATUS(run->wait_status) == 0)
        << run->output;
  }
  EXPECT_TRUE((*fleet)->process(1).Running()) << (*fleet)->process(1).log();
  auto stats = (*fleet)->Stats(1);
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_EQ((*stats)["rejected"], 2u) << (*fleet)->process(1).log();
  EXPECT_EQ((*stats)["failed"], 0u) << (*fleet)->process(1).log();
}

TEST(FleetTamperTest, TamperedTicketKeysAreNotLoaded) {
  auto fleet = FleetHarness::Start();
  ASSERT_TRUE(fleet.ok()) << fleet.status();
  const std::vector<std::string> flags = {"--session-store", "memory",
                                          "--ticket-keys", "redis"};
  ASSERT_TRUE((*fleet)->StartInstance(flags).ok());
  auto names = (*fleet)->redis().Keys("tlsession:tk:*");
  ASSERT_TRUE(names.ok());
  ASSERT_EQ(names->size(), 2u);
  for (size_t i = 0; i < names->size(); ++i) {
    FlipByte((*fleet)->redis(), (*names)[i], 7 * i + 3);
  }
  // A new instance refuses them: it issues under a key of its own, and a
  // ticket from instance 1 gives a full handshake there, never a crash.
  ASSERT_TRUE((*fleet)->StartInstance(flags).ok());
  const std::string dir = (*fleet)->dir();
  const std::string sess = dir + "/t.pem";
  ASSERT_TRUE(
      SClientHandshake((*fleet)->port(0), kTls13, dir + "/t1.log", sess).ok());
  std::vector<std::string> offer = kTls13;
  offer.push_back("-sess_in");
  offer.push_back(sess);
  auto run = SClientHandshake((*fleet)->port(1), offer, dir + "/t2.log");
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_TRUE(run->new_session()) << run->output;
  auto stats = (*fleet)->Stats(1);
  ASSERT_TRUE(stats.ok());
  // Refused (at every sync), never loaded.
  EXPECT_GE((*stats)["rejected"], 2u) << (*fleet)->process(1).log();
  EXPECT_EQ((*stats)["local_key"], 1u);
}

// tls_echo_server refuses what it cannot use, naming it.
absl::StatusOr<std::string> RunServerExpectingExit(
    const std::vector<std::string>& args, int* exit_code) {
  std::vector<std::string> argv = {RunfilesBinary("tools/tls_echo_server")};
  argv.insert(argv.end(), args.begin(), args.end());
  const std::string log = MakeTempDir() + "/server.log";
  auto child = ChildProcess::Spawn(argv, log, false);
  if (!child.ok()) return child.status();
  auto status = (*child)->Wait(Scaled(absl::Seconds(20)));
  if (!status.ok()) return status.status();
  *exit_code = WIFEXITED(*status) ? WEXITSTATUS(*status) : -1;
  return (*child)->log();
}

TEST(FleetFlagsTest, BadFlagsAndKeyFilesAreRefused) {
  const TestPki& pki = GetTestPki();
  const std::string dir = MakeTempDir();
  const std::string loose_key = dir + "/fleet.key";
  WriteFileOrDie(loose_key, std::string(32, 'x'));
  chmod(loose_key.c_str(), 0644);
  const std::string short_key = dir + "/short.key";
  WriteFileOrDie(short_key, "too short");
  chmod(short_key.c_str(), 0600);
  const std::vector<std::string> cert = {"--cert", pki.server_cert_file(),
                                         "--key", pki.server_key_file()};
  struct Bad {
    std::vector<std::string> args;
    std::string message;
  };
  const std::vector<Bad> bad = {
      {{"--no-such-flag"}, "unknown flag --no-such-flag"},
      {{"--port"}, "--port needs a value"},
      {{"--max-version", "1.1"},
       "bad value for --max-version (highest TLS version: 1.2 or 1.3"},
      {{"--session-store", "memcached://h:1"}, "--session-store must be"},
      {{"--session-store", "redis://127.0.0.1:1"}, "--fleet-key is required"},
      {{"--session-store", "redis://127.0.0.1:1", "--fleet-key", loose_key},
       "fleet key file"},
      {{"--ticket-keys", "redis://127.0.0.1:1", "--fleet-key", short_key},
       "fleet key file"},
      {{"--session-store", "redis://:hunter2@127.0.0.1:1/db"},
       "no path, query or fragment"},
  };
  for (const Bad& b : bad) {
    std::vector<std::string> args = cert;
    args.insert(args.end(), b.args.begin(), b.args.end());
    int code = 0;
    auto log = RunServerExpectingExit(args, &code);
    ASSERT_TRUE(log.ok()) << log.status();
    EXPECT_NE(code, 0) << *log;
    EXPECT_TRUE(absl::StrContains(*log, b.message)) << *log;
    EXPECT_FALSE(absl::StrContains(*log, "hunter2")) << *log;
  }
}

}  // namespace
}  // namespace tlsession::testing
