// Ticket keys rotated every two seconds through Redis while clients resume
// continuously across three tls_echo_server processes (TLS 1.3 tickets,
// each connection offering the ticket the previous one got, on the next
// instance): zero failed handshakes, and (decrypt-only first) every ticket
// resumes on every instance. Tickets issued before a rotation still resume
// during the grace period, and no longer after it.
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "tests/fleet/fleet_harness.h"
#include "testbed/certs.h"
#include "tls/connection.h"
#include "tls/context.h"

namespace tlsession::testing {
namespace {

constexpr absl::Duration kRotation = absl::Seconds(2);
constexpr absl::Duration kLead = absl::Milliseconds(800);
constexpr absl::Duration kGrace = absl::Seconds(5);

std::string Ms(absl::Duration d) {
  return absl::StrCat(absl::ToInt64Milliseconds(d), "ms");
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
  auto ticket = (*conn)->WaitForSession(absl::Seconds(5));
  absl::Status end = (*conn)->Shutdown();
  if (!ticket.ok() || !end.ok()) {
    o.error = std::string(!ticket.ok() ? ticket.status().message()
                                       : end.message());
    return o;
  }
  o.ok = true;
  o.resumed = (*conn)->session_reused();
  o.ticket = *ticket;
  return o;
}

TEST(FleetRotationTest, RotationUnderLoad) {
  auto fleet = FleetHarness::Start();
  ASSERT_TRUE(fleet.ok()) << fleet.status();
  const std::vector<std::string> flags = {
      "--session-store", "memory", "--ticket-keys", "redis",
      "--ticket-rotation", Ms(kRotation), "--ticket-lead", Ms(kLead),
      "--ticket-sync", "200ms", "--ticket-grace", Ms(kGrace)};
  for (int i = 0; i < 3; ++i) ASSERT_TRUE((*fleet)->StartInstance(flags).ok());
  ContextOptions o;
  o.ca_pem = GetTestPki().ca.cert_pem;
  o.io_timeout = absl::Seconds(10);
  auto client = *Context::Create(std::move(o));

  // Tickets from before any rotation.
  std::vector<Session> early;
  for (int i = 0; i < 2; ++i) {
    Outcome first = Connect(client, (*fleet)->port(0), Session());
    ASSERT_TRUE(first.ok) << first.error;
    early.push_back(first.ticket);
  }
  const absl::Time issued = absl::Now();
  auto epoch0 = (*fleet)->Stats(0);
  ASSERT_TRUE(epoch0.ok());

  // Two clients, round-robin over the instances, each connection offering
  // the previous connection's ticket, through several rotations.
  std::atomic<int> total{0}, resumed{0}, failed{0};
  std::mutex mu;
  std::vector<std::string> errors;
  auto load = [&](absl::Duration length, int offset) {
    Session ticket;
    const absl::Time end = absl::Now() + length;
    for (int n = offset; absl::Now() < end; ++n) {
      Outcome r = Connect(client, (*fleet)->port(n % 3), ticket);
      ++total;
      if (!r.ok) {
        ++failed;
        std::lock_guard<std::mutex> lock(mu);
        errors.push_back(r.error);
        ticket = Session();
        continue;
      }
      resumed += r.resumed;
      ticket = r.ticket;
      // Continuous, but leaving the shared machine some breath.
      absl::SleepFor(absl::Milliseconds(5));
    }
  };
  auto run_load = [&](absl::Duration length) {
    std::thread a(load, length, 0), b(load, length, 1);
    a.join();
    b.join();
  };
  run_load(kRotation + kLead + absl::Milliseconds(500));
  auto epoch1 = (*fleet)->Stats(0);
  ASSERT_TRUE(epoch1.ok());
  EXPECT_GT((*epoch1)["epoch"], (*epoch0)["epoch"]) << "no rotation happened";

  // A pre-rotation ticket resumes on another instance: its key issues no
  // more but still decrypts.
  ASSERT_LT(absl::Now() - issued, kGrace);
  Outcome old = Connect(client, (*fleet)->port(1), early[0]);
  EXPECT_TRUE(old.ok) << old.error;
  EXPECT_TRUE(old.resumed) << "a pre-rotation ticket did not resume";

  run_load(kRotation * 2);
  EXPECT_EQ(failed.load(), 0) << (errors.empty() ? "" : errors[0]);
  // The first connection of each client of each run is full; every other
  // one resumes, whichever instance it lands on.
  EXPECT_GE(total.load(), 20);
  EXPECT_EQ(resumed.load(), total.load() - 4 - failed.load())
      << resumed << " of " << total << " resumed";
  auto last = (*fleet)->Stats(2);
  ASSERT_TRUE(last.ok());
  EXPECT_GE((*last)["epoch"], (*epoch0)["epoch"] + 2);

  // Past the grace, the early key is gone everywhere: a full handshake.
  const absl::Time gone = issued + kRotation + kLead + kGrace +
                          absl::Milliseconds(1500);
  if (absl::Now() < gone) absl::SleepFor(gone - absl::Now());
  Outcome late = Connect(client, (*fleet)->port(2), early[1]);
  EXPECT_TRUE(late.ok) << late.error;
  EXPECT_FALSE(late.resumed) << "a key outlived its grace";
  for (size_t i = 0; i < 3; ++i) {
    auto stats = (*fleet)->Stats(i);
    ASSERT_TRUE(stats.ok());
    EXPECT_EQ((*stats)["failed"], 0u) << (*fleet)->process(i).log();
    EXPECT_EQ((*stats)["sync_failures"], 0u) << (*fleet)->process(i).log();
  }
}

}  // namespace
}  // namespace tlsession::testing
