#include "testbed/openssl_client.h"

#include <memory>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "testbed/poll.h"
#include "testbed/subprocess.h"

namespace tlsession::testing {
namespace {

constexpr char kOpenssl[] = "/usr/bin/openssl";

}  // namespace

bool SClientRun::new_session() const {
  return absl::StrContains(output, "\nNew, TLSv1.");
}

bool SClientRun::reused() const {
  return absl::StrContains(output, "\nReused, TLSv1.");
}

bool HasHandshakeSummary(const std::string& output) {
  return absl::StrContains(output, "\nNew, ") ||
         absl::StrContains(output, "\nReused, ");
}

absl::StatusOr<SClientRun> RunSClient(
    uint16_t port, const TestPki& pki, const std::vector<std::string>& extra,
    const std::string& log_path,
    const std::function<bool(const std::string& output)>& ready) {
  std::vector<std::string> argv = {kOpenssl,
                                   "s_client",
                                   "-connect",
                                   absl::StrCat("127.0.0.1:", port),
                                   "-CAfile",
                                   pki.ca_file(),
                                   "-verify_return_error",
                                   "-servername",
                                   "localhost",
                                   "-verify_hostname",
                                   "localhost"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  absl::StatusOr<std::unique_ptr<ChildProcess>> child =
      ChildProcess::Spawn(argv, log_path, /*stdin_pipe=*/true);
  if (!child.ok()) return child.status();
  ChildProcess& c = **child;
  // Until it is ready, or exited early (the caller checks its output).
  const absl::Duration limit = Scaled(absl::Seconds(15));
  if (!PollUntil([&] { return ready(c.log()) || !c.Running(); },
                 absl::Now() + limit, absl::Milliseconds(10))) {
    return absl::DeadlineExceededError(
        absl::StrCat("'", c.command(), "' did not get ready within ",
                     absl::FormatDuration(limit), "; its output:\n", c.log()));
  }
  c.CloseStdin();
  absl::StatusOr<int> status = c.Wait(Scaled(absl::Seconds(10)));
  if (!status.ok()) return status.status();
  SClientRun run;
  run.wait_status = *status;
  run.output = c.log();
  return run;
}

}  // namespace tlsession::testing
