// A fleet for process-level tests: one real redis-server and real
// tls_echo_server processes (the binary from the test's runfiles), a fleet
// key file, the test PKI; and `openssl s_client` runs against them.
#ifndef TLSESSION_TESTS_FLEET_FLEET_HARNESS_H_
#define TLSESSION_TESTS_FLEET_FLEET_HARNESS_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "testbed/openssl_client.h"
#include "testbed/redis_server.h"
#include "testbed/server_process.h"
#include "testbed/subprocess.h"

namespace tlsession::testing {

// A binary of this workspace from the test's runfiles
// ("tools/tls_echo_server").
std::string RunfilesBinary(const std::string& workspace_path);

class FleetHarness {
 public:
  // Starts Redis; writes the fleet key file (0600) in a fresh folder.
  static absl::StatusOr<std::unique_ptr<FleetHarness>> Start();

  // Starts one tls_echo_server (through ServerProcess: on a free port, ready
  // once it prints "listening on 127.0.0.1:PORT") with the test PKI's server
  // certificate, the Redis password file and fleet key, and |flags| (for
  // example {"--session-store", "redis", "--ticket-keys", "off"}: the word
  // "redis" is replaced by this Redis's URL). Returns its index, or an error
  // quoting its command and output.
  absl::StatusOr<size_t> StartInstance(const std::vector<std::string>& flags);

  uint16_t port(size_t i) const { return instances_[i]->port(); }
  ChildProcess& process(size_t i) { return instances_[i]->child(); }
  size_t size() const { return instances_.size(); }

  // Asks instance |i| for its counters (SIGUSR1) and parses its stats line:
  // "handshakes", "resumed", "hits", "timeouts", "skipped", ...
  absl::StatusOr<std::map<std::string, uint64_t>> Stats(size_t i);

  TestRedisServer& redis() { return *redis_; }
  const std::string& fleet_key_file() const { return fleet_key_file_; }
  const std::string& dir() const { return dir_; }

 private:
  FleetHarness() = default;

  std::unique_ptr<TestRedisServer> redis_;
  std::string dir_;
  std::string fleet_key_file_;
  std::vector<std::unique_ptr<ServerProcess>> instances_;
};

// RunSClient (testbed/openssl_client.h) with the test PKI against
// 127.0.0.1:|port|, until its handshake summary ("New, " or "Reused, ") and,
// when |sess_out| is not empty, the whole session it writes there
// ("-sess_out |sess_out|" is added to |extra|).
absl::StatusOr<SClientRun> SClientHandshake(
    uint16_t port, const std::vector<std::string>& extra,
    const std::string& log_path, const std::string& sess_out = "");

}  // namespace tlsession::testing

#endif  // TLSESSION_TESTS_FLEET_FLEET_HARNESS_H_
