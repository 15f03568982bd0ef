// The fleet's session-ID context covers what decides resumption: four
// tls_echo_server processes share one real Redis (session store and ticket
// keys) and one fleet key; two ask for no client certificate, two require
// one (--client-auth required --client-ca). Under TLS 1.3 tickets and TLS
// 1.2 session IDs, with openssl s_client:
//  - identically configured instances resume each other's sessions;
//  - a session made on an instance that asked for no certificate is never
//    resumed on one that requires it: a full handshake asks for the
//    certificate (and a client without one is refused), and the other way
//    round.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "testbed/certs.h"
#include "testbed/poll.h"
#include "tests/fleet/fleet_harness.h"

namespace tlsession::testing {
namespace {

// The number of keys matching |pattern| in |redis|, once it reaches |n| or
// the deadline passes (the server writes TLS 1.2 sessions from a background
// thread, so the client may finish first).
size_t WaitForKeys(TestRedisServer& redis, const std::string& pattern,
                   size_t n) {
  size_t count = 0;
  PollUntil(
      [&] {
        absl::StatusOr<std::vector<std::string>> keys = redis.Keys(pattern);
        count = keys.ok() ? keys->size() : 0;
        return count >= n;
      },
      absl::Now() + Scaled(absl::Seconds(10)));
  return count;
}

struct Version {
  std::string name;
  std::vector<std::string> s_client;
};

class FleetClientAuthTest : public ::testing::TestWithParam<Version> {};

TEST_P(FleetClientAuthTest, ClientAuthModeDecidesWhoResumesWhat) {
  const Version& v = GetParam();
  const TestPki& pki = GetTestPki();
  auto fleet = FleetHarness::Start();
  ASSERT_TRUE(fleet.ok()) << fleet.status();
  // A patient Redis timeout: an instance's first GET also connects.
  const std::vector<std::string> shared = {"--session-store", "redis",
                                           "--ticket-keys",   "redis",
                                           "--redis-timeout", "500ms"};
  const std::vector<std::string> required = [&] {
    std::vector<std::string> out = shared;
    out.insert(out.end(),
               {"--client-auth", "required", "--client-ca", pki.ca_file()});
    return out;
  }();
  // 0 and 1 ask for no certificate; 2 and 3 require one.
  for (const std::vector<std::string>* flags :
       {&shared, &shared, &required, &required}) {
    auto index = (*fleet)->StartInstance(*flags);
    ASSERT_TRUE(index.ok()) << index.status();
  }
  const std::string dir = (*fleet)->dir();
  const std::vector<std::string> cert = {"-cert", pki.client_cert_file(),
                                         "-key", pki.client_key_file()};
  // Runs s_client against instance |i| with |extra|, logging to |name|.
  const auto run = [&](size_t i, std::vector<std::string> extra,
                       const std::string& name, const std::string& out = "") {
    extra.insert(extra.begin(), v.s_client.begin(), v.s_client.end());
    return SClientHandshake((*fleet)->port(i), extra,
                            absl::StrCat(dir, "/", name, ".log"), out);
  };
  const std::string plain = dir + "/plain.pem";
  const std::string with_cert = dir + "/with_cert.pem";
  auto a = run(0, {}, "full.plain", plain);
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_TRUE(a->new_session()) << a->output;
  auto b = run(2, cert, "full.cert", with_cert);
  ASSERT_TRUE(b.ok()) << b.status();
  ASSERT_TRUE(b->new_session()) << b->output;
  if (v.name == "Tls12SessionIds") {
    ASSERT_EQ(WaitForKeys((*fleet)->redis(), "tlsession:s:*", 2), 2u);
  }

  // Identically configured instances resume each other's sessions.
  auto same_plain = run(1, {"-sess_in", plain}, "same.plain");
  ASSERT_TRUE(same_plain.ok()) << same_plain.status();
  EXPECT_TRUE(same_plain->reused()) << same_plain->output;
  std::vector<std::string> offer_cert = cert;
  offer_cert.insert(offer_cert.end(), {"-sess_in", with_cert});
  auto same_cert = run(3, offer_cert, "same.cert");
  ASSERT_TRUE(same_cert.ok()) << same_cert.status();
  EXPECT_TRUE(same_cert->reused()) << same_cert->output;

  // A session made where no certificate was asked for, offered where one is
  // required: a full handshake that takes the client's certificate...
  std::vector<std::string> plain_with_cert = cert;
  plain_with_cert.insert(plain_with_cert.end(), {"-sess_in", plain});
  auto cross = run(3, plain_with_cert, "cross.cert");
  ASSERT_TRUE(cross.ok()) << cross.status();
  EXPECT_TRUE(cross->new_session()) << cross->output;
  EXPECT_TRUE(absl::StrContains(cross->output, "Verify return code: 0 (ok)"))
      << cross->output;
  // ...and no way in without one.
  auto no_cert = run(3, {"-sess_in", plain}, "cross.no_cert");
  ASSERT_TRUE(no_cert.ok()) << no_cert.status();
  EXPECT_FALSE(no_cert->reused()) << no_cert->output;
  PollUntil(
      [&] {
        return absl::StrContains((*fleet)->process(3).log(),
                                 "CERTIFICATE_REQUIRED") ||
               absl::StrContains((*fleet)->process(3).log(),
                                 "PEER_DID_NOT_RETURN_A_CERTIFICATE");
      },
      absl::Now() + Scaled(absl::Seconds(10)));
  EXPECT_TRUE(
      absl::StrContains((*fleet)->process(3).log(), "CERTIFICATE_REQUIRED") ||
      absl::StrContains((*fleet)->process(3).log(),
                        "PEER_DID_NOT_RETURN_A_CERTIFICATE"))
      << (*fleet)->process(3).log();

  // The other way round: a session with a client certificate does not
  // resume where none is asked for.
  auto back = run(1, {"-sess_in", with_cert}, "back.plain");
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_TRUE(back->new_session()) << back->output;
}

INSTANTIATE_TEST_SUITE_P(Versions, FleetClientAuthTest,
                         ::testing::Values(Version{"Tls13Tickets", {"-tls1_3"}},
                                           Version{"Tls12SessionIds",
                                                   {"-tls1_2", "-no_ticket"}}),
                         [](const ::testing::TestParamInfo<Version>& info) {
                           return info.param.name;
                         });

}  // namespace
}  // namespace tlsession::testing
