// 0-RTT across a fleet: three tls_echo_server processes (--early-data
// --session-store redis --ticket-keys redis) on one real redis-server, and
// `openssl s_client -sess_in S -early_data FILE`. The same ticket's early
// data replayed to the same instance or to another one is rejected (and the
// handshake still resumes); a fresh ticket's early data is accepted on any
// instance; with Redis down or hung, early data is rejected and the
// handshake resumes.
#include <sys/wait.h>

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "testbed/certs.h"
#include "testbed/poll.h"
#include "testbed/subprocess.h"
#include "tests/fleet/fleet_harness.h"

namespace tlsession::testing {
namespace {

const std::vector<std::string>& FleetFlags() {
  static const auto* flags = new std::vector<std::string>{
      "--session-store", "redis",           "--ticket-keys", "redis",
      "--early-data",    "--redis-timeout", "50ms"};
  return *flags;
}

class FleetEarlyDataTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto fleet = FleetHarness::Start();
    ASSERT_TRUE(fleet.ok()) << fleet.status();
    fleet_ = *std::move(fleet);
    for (int i = 0; i < 3; ++i) {
      auto index = fleet_->StartInstance(FleetFlags());
      ASSERT_TRUE(index.ok()) << index.status();
    }
    early_file_ = fleet_->dir() + "/early.txt";
    WriteFileOrDie(early_file_, "GET /idempotent\n");
  }

  // A full handshake on instance |i|; its first ticket goes to |sess|.
  void FreshTicket(size_t i, const std::string& sess) {
    auto run = SClientHandshake(fleet_->port(i), {},
                                absl::StrCat(sess, ".new.log"), sess);
    ASSERT_TRUE(run.ok()) << run.status();
    ASSERT_TRUE(run->new_session()) << run->output;
  }

  // Offers |sess| with early data to instance |i|; the run's output.
  std::string Early(size_t i, const std::string& sess) {
    auto run = RunSClient(fleet_->port(i), GetTestPki(),
                          {"-sess_in", sess, "-early_data", early_file_},
                          absl::StrCat(sess, ".", ++runs_, ".log"),
                          [](const std::string& output) {
                            return HasHandshakeSummary(output) &&
                                   absl::StrContains(output, "Early data was");
                          });
    EXPECT_TRUE(run.ok()) << run.status();
    return run.ok() ? run->output : "";
  }

  std::unique_ptr<FleetHarness> fleet_;
  std::string early_file_;
  int runs_ = 0;
};

bool Accepted(const std::string& output) {
  return absl::StrContains(output, "Early data was accepted") &&
         absl::StrContains(output, "\nReused, TLSv1.3");
}
bool RejectedButResumed(const std::string& output) {
  return absl::StrContains(output, "Early data was rejected") &&
         absl::StrContains(output, "\nReused, TLSv1.3");
}

TEST_F(FleetEarlyDataTest, AReplayIsRejectedOnEveryInstance) {
  const std::string sess = fleet_->dir() + "/s.pem";
  FreshTicket(0, sess);
  const std::string first = Early(1, sess);
  EXPECT_TRUE(Accepted(first)) << first;
  for (size_t i : {1, 0, 2}) {  // The same instance, then the others.
    const std::string replay = Early(i, sess);
    EXPECT_TRUE(RejectedButResumed(replay)) << "instance " << i << "\n"
                                            << replay;
  }
  auto keys = fleet_->redis().Keys("tlsession:ed:*");
  ASSERT_TRUE(keys.ok()) << keys.status();
  EXPECT_EQ(keys->size(), 1u) << "one claim per ticket";
  auto pttl = fleet_->redis().Command({"PTTL", (*keys)[0]});
  ASSERT_TRUE(pttl.ok());
  EXPECT_GT(pttl->integer, 0) << "a claim lives as long as its ticket";
  EXPECT_LE(pttl->integer, 2 * 3600 * 1000);
}

TEST_F(FleetEarlyDataTest, AFreshTicketIsAcceptedOnAnyInstance) {
  for (size_t from = 0; from < 3; ++from) {
    for (size_t to = 0; to < 3; ++to) {
      const std::string sess =
          absl::StrCat(fleet_->dir(), "/s", from, to, ".pem");
      FreshTicket(from, sess);
      const std::string run = Early(to, sess);
      EXPECT_TRUE(Accepted(run)) << from << " -> " << to << "\n" << run;
    }
  }
}

TEST_F(FleetEarlyDataTest, RedisDownOrHungRejectsEarlyDataButResumes) {
  const std::string hung = fleet_->dir() + "/hung.pem";
  const std::string down = fleet_->dir() + "/down.pem";
  FreshTicket(0, hung);
  FreshTicket(0, down);
  fleet_->redis().Pause();  // SIGSTOP: every claim times out.
  const std::string while_hung = Early(1, hung);
  fleet_->redis().Resume();
  EXPECT_TRUE(RejectedButResumed(while_hung)) << while_hung;
  fleet_->redis().Kill();
  const std::string while_down = Early(2, down);
  EXPECT_TRUE(RejectedButResumed(while_down)) << while_down;
  auto stats = fleet_->Stats(2);
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_GE((*stats)["early_data_failures"], 1u);
  EXPECT_EQ((*stats)["early_data"], 0u);
}

// examples/resume_client HOST PORT CA_FILE --early-data against instance
// |i|: its exit status and output.
std::pair<int, std::string> ResumeClient(FleetHarness& fleet, size_t i,
                                         const std::string& log) {
  auto child = ChildProcess::Spawn(
      {RunfilesBinary("examples/resume_client"), "localhost",
       absl::StrCat(fleet.port(i)), GetTestPki().ca_file(), "--early-data"},
      log, /*stdin_pipe=*/false);
  if (!child.ok()) return {-1, std::string(child.status().message())};
  absl::StatusOr<int> status = (*child)->Wait(Scaled(absl::Seconds(20)));
  if (!status.ok()) return {-1, std::string(status.status().message())};
  return {*status, (*child)->log()};
}

TEST_F(FleetEarlyDataTest, ResumeClientSendsItsSecondRequestAsEarlyData) {
  const std::string request = "GET / HTTP/1.0\r\nHost: localhost\r\n\r\n";
  auto [status, output] =
      ResumeClient(*fleet_, 0, fleet_->dir() + "/resume_client.1.log");
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << output;
  EXPECT_EQ(output, "early data: accepted\n" + request);

  fleet_->redis().Kill();  // No single-use check: rejected, sent once.
  auto [status2, output2] =
      ResumeClient(*fleet_, 1, fleet_->dir() + "/resume_client.2.log");
  EXPECT_TRUE(WIFEXITED(status2) && WEXITSTATUS(status2) == 0) << output2;
  EXPECT_EQ(output2, "early data: rejected (peer_declined)\n" + request);
}

}  // namespace
}  // namespace tlsession::testing
