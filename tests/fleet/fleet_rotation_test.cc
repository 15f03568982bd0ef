// Ticket keys rotated every two seconds through Redis while clients resume
// continuously across three tls_echo_server processes (TLS 1.3 tickets,
// each connection offering the ticket the previous one got, on the next
// instance): zero failed handshakes, and (decrypt-only first) every ticket
// resumes on every instance. Tickets issued before a rotation still resume
// during the grace period, and no longer after it. The load runs until every
// instance has rotated twice (their stats say when), not for a fixed time.
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "testbed/certs.h"
#include "testbed/poll.h"
#include "tests/fleet/fleet_harness.h"
#include "tls/connection.h"
#include "tls/context.h"

namespace tlsession::testing {
namespace {

constexpr absl::Duration kRotation = absl::Seconds(2);
constexpr absl::Duration kLead = absl::Milliseconds(800);

// How long a key keeps decrypting after it stopped issuing: the test offers
// a pre-rotation ticket within it, after the first rotation and whatever
// time the build's speed adds, so it stretches with the build
// (testbed/poll.h).
absl::Duration Grace() { return Scaled(absl::Seconds(5)); }

// How long the test waits for a rotation that the wall clock makes due:
// one rotation period and lead, plus the instances' lag.
absl::Duration RotationDue() {
  return kRotation + kLead + Scaled(absl::Seconds(2));
}

std::string Ms(absl::Duration d) {
  return absl::StrCat(absl::ToInt64Milliseconds(d), "ms");
}

std::vector<std::string> InstanceFlags() {
  return {"--session-store",   "memory",      "--ticket-keys",  "redis",
          "--ticket-rotation", Ms(kRotation), "--ticket-lead",  Ms(kLead),
          "--ticket-sync",     "200ms",       "--ticket-grace", Ms(Grace())};
}

struct Outcome {
  bool ok = false;
  bool resumed = false;
  Session ticket;
  std::string error;
};

// One connection to |port| offering |offer|; keeps the server's ticket.
Outcome Connect(const std::shared_ptr<const Context>& client, uint16_t port,
                const Session& offer) {
  Outcome o;
  auto conn = Connection::Connect(client, "localhost", port, offer);
  if (!conn.ok()) {
    o.error = std::string(conn.status().message());
    return o;
  }
  auto ticket = (*conn)->WaitForSession(Scaled(absl::Seconds(5)));
  absl::Status end = (*conn)->Shutdown();
  if (!ticket.ok() || !end.ok()) {
    o.error =
        std::string(!ticket.ok() ? ticket.status().message() : end.message());
    return o;
  }
  o.ok = true;
  o.resumed = (*conn)->session_reused();
  o.ticket = *ticket;
  return o;
}

// Two tickets from instance 1, both under the key of the epoch returned:
// tries again when a rotation fell between them.
absl::StatusOr<uint64_t> EarlyTickets(
    FleetHarness& fleet, const std::shared_ptr<const Context>& client,
    std::vector<Session>* early) {
  for (int attempt = 0; attempt < 3; ++attempt) {
    auto before = fleet.Stats(0);
    if (!before.ok()) return before.status();
    early->clear();
    for (int i = 0; i < 2; ++i) {
      Outcome first = Connect(client, fleet.port(0), Session());
      if (!first.ok) return absl::UnavailableError(first.error);
      early->push_back(first.ticket);
    }
    auto after = fleet.Stats(0);
    if (!after.ok()) return after.status();
    if ((*after)["epoch"] == (*before)["epoch"]) return (*after)["epoch"];
  }
  return absl::DeadlineExceededError("a rotation fell between every pair");
}

// Waits until every instance issues under |epoch| or a later one (which
// only their stats tell: polled).
bool AllReachEpoch(FleetHarness& fleet, uint64_t epoch, absl::Time deadline) {
  return PollUntil(
      [&] {
        for (size_t i = 0; i < fleet.size(); ++i) {
          auto stats = fleet.Stats(i);
          if (!stats.ok() || (*stats)["epoch"] < epoch) return false;
        }
        return true;
      },
      deadline, absl::Milliseconds(50));
}

// Two clients, round-robin over the instances, each connection offering
// the previous connection's ticket, from construction until Stop() (and at
// least kMinEach connections each, so the counts never depend on how fast
// the build is).
class Load {
 public:
  static constexpr int kMinEach = 10;

  Load(std::shared_ptr<const Context> client, FleetHarness& fleet)
      : client_(std::move(client)), fleet_(fleet) {
    for (int offset : {0, 1}) {
      threads_.emplace_back([this, offset] { Run(offset); });
    }
  }
  ~Load() { Stop(); }

  void Stop() {
    stop_ = true;
    for (std::thread& t : threads_) {
      if (t.joinable()) t.join();
    }
  }

  std::atomic<int> total{0}, resumed{0}, failed{0};
  std::string first_error() {
    std::lock_guard<std::mutex> lock(mu_);
    return errors_.empty() ? "" : errors_[0];
  }

 private:
  void Run(int offset) {
    Session ticket;
    for (int n = 0; n < kMinEach || !stop_; ++n) {
      Outcome r = Connect(client_, fleet_.port((n + offset) % 3), ticket);
      ++total;
      if (!r.ok) {
        ++failed;
        std::lock_guard<std::mutex> lock(mu_);
        errors_.push_back(r.error);
        ticket = Session();
        continue;
      }
      resumed += r.resumed;
      ticket = r.ticket;
      // Continuous, but leaving the shared machine some breath.
      absl::SleepFor(absl::Milliseconds(5));
    }
  }

  const std::shared_ptr<const Context> client_;
  FleetHarness& fleet_;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::vector<std::string> errors_;  // Guarded by mu_.
  std::vector<std::thread> threads_;
};

TEST(FleetRotationTest, RotationUnderLoad) {
  auto fleet = FleetHarness::Start();
  ASSERT_TRUE(fleet.ok()) << fleet.status();
  FleetHarness& f = **fleet;
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(f.StartInstance(InstanceFlags()).ok());
  }
  ContextOptions o;
  o.ca_pem = GetTestPki().ca.cert_pem;
  o.io_timeout = absl::Seconds(10);
  auto client = *Context::Create(std::move(o));

  // Tickets from before any rotation.
  std::vector<Session> early;
  absl::StatusOr<uint64_t> epoch0 = EarlyTickets(f, client, &early);
  ASSERT_TRUE(epoch0.ok()) << epoch0.status();
  const absl::Time issued = absl::Now();

  // Load through the first rotation, until every instance has made it.
  Load load(client, f);
  ASSERT_TRUE(AllReachEpoch(f, *epoch0 + 1, issued + RotationDue()))
      << "no rotation happened";
  const absl::Time rotated = absl::Now();  // The early key issues no more.

  // A pre-rotation ticket resumes on another instance: its key issues no
  // more but still decrypts.
  ASSERT_LT(absl::Now() - issued, Grace());
  Outcome old = Connect(client, f.port(1), early[0]);
  EXPECT_TRUE(old.ok) << old.error;
  EXPECT_TRUE(old.resumed) << "a pre-rotation ticket did not resume";

  // And through a second rotation.
  EXPECT_TRUE(AllReachEpoch(f, *epoch0 + 2, rotated + RotationDue()));
  load.Stop();
  EXPECT_EQ(load.failed.load(), 0) << load.first_error();
  // The first connection of each client is full; every other one resumes,
  // whichever instance it lands on.
  EXPECT_EQ(load.resumed.load(), load.total.load() - 2 - load.failed.load())
      << load.resumed << " of " << load.total << " resumed";

  // Past the grace, the early key is gone everywhere: a full handshake. It
  // decrypts until a lead past the end of its epoch (at the latest when
  // every instance had moved on) plus the grace; the instances' clocks are
  // the wall clock, so the test waits for that time itself.
  absl::SleepFor(rotated + kLead + Grace() + Scaled(absl::Milliseconds(1500)) -
                 absl::Now());
  Outcome late = Connect(client, f.port(2), early[1]);
  EXPECT_TRUE(late.ok) << late.error;
  EXPECT_FALSE(late.resumed) << "a key outlived its grace";
  for (size_t i = 0; i < 3; ++i) {
    auto stats = f.Stats(i);
    ASSERT_TRUE(stats.ok());
    EXPECT_EQ((*stats)["failed"], 0u) << f.process(i).log();
    EXPECT_EQ((*stats)["sync_failures"], 0u) << f.process(i).log();
  }
}

}  // namespace
}  // namespace tlsession::testing
