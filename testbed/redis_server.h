// A real redis-server for tests and benchmarks: started on a free loopback
// port in a fresh temporary folder, persistence off (no RDB snapshots, no
// AOF), a random password (requirepass, from a 0600 config file, never on
// the command line), killed at the end (and its folder removed, outside
// 'bazel test'). It can be killed (SIGKILL), hung (SIGSTOP) and resumed
// (SIGCONT), and started again on the same port. It may serve TLS only
// (the test PKI's server certificate, optionally requiring a client
// certificate) and replicate another (replicaof).
#ifndef TLSESSION_TESTBED_REDIS_SERVER_H_
#define TLSESSION_TESTBED_REDIS_SERVER_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "fleet/fleet_setup.h"
#include "fleet/redis_client.h"
#include "testbed/server_process.h"

namespace tlsession::testing {

class TestRedisServer {
 public:
  struct Options {
    // Lines appended to its config file.
    std::vector<std::string> extra_config;
    // TLS only (tls-port, port 0), with GetTestPki()'s server certificate;
    // clients must present one of its client certificates when
    // |require_client_cert| (tls-auth-clients yes).
    bool tls = false;
    bool require_client_cert = false;
    // The password (requirepass and masterauth); empty picks a random one.
    std::string password;
    // A replica of the server on this loopback port (replicaof), when set.
    uint16_t replica_of = 0;
  };

  // Starts /usr/bin/redis-server on a free loopback port (ServerProcess)
  // and waits until it logs "Ready to accept connections". |extra_config|
  // lines are appended to its config file. Errors quote its log.
  static absl::StatusOr<std::unique_ptr<TestRedisServer>> Start(
      const std::vector<std::string>& extra_config = {});
  // Start() with all of |options|.
  static absl::StatusOr<std::unique_ptr<TestRedisServer>> StartWith(
      Options options);
  ~TestRedisServer();

  uint16_t port() const { return port_; }
  const std::string& password() const { return password_; }
  // redis://:PASSWORD@127.0.0.1:PORT (rediss:// for a TLS server).
  std::string url() const;
  // redis://127.0.0.1:PORT (the password is in password_file()).
  std::string url_without_password() const;
  // A TLS server's: trust roots and the client certificate that
  // MakeRedisTlsContext takes (fleet_setup.h); all empty otherwise.
  fleet::RedisTlsFiles tls_files() const;
  // A file (mode 0600) holding the password.
  std::string password_file() const { return dir_ + "/redis.password"; }
  const std::string& dir() const { return dir_; }

  // SIGKILL; the port is free again. Idempotent.
  void Kill();
  // SIGSTOP / SIGCONT: Redis hangs, holding its connections, then goes on.
  void Pause();
  void Resume();
  // Starts redis-server again on the same port (after Kill), empty, and
  // waits until it is ready; fails when another process took the port.
  absl::Status Restart();

  // A client (1 s timeout, no back-off to speak of) for the test's own
  // commands: checks and tampering.
  fleet::RedisClient& client() { return *client_; }
  // Runs one command; error replies are errors.
  absl::StatusOr<fleet::RedisReply> Command(
      const std::vector<std::string>& args);
  // INFO |section| as name -> value.
  absl::StatusOr<std::map<std::string, std::string>> Info(
      const std::string& section);
  // The number of calls of |command| (lower case, e.g. "get") since the last
  // CONFIG RESETSTAT, from INFO commandstats.
  absl::StatusOr<uint64_t> CommandCalls(const std::string& command);
  // Every key matching |pattern| (KEYS: tests only).
  absl::StatusOr<std::vector<std::string>> Keys(const std::string& pattern);

 private:
  TestRedisServer() = default;
  // How to start redis-server in dir_ with password_ and extra_config_: each
  // attempt writes redis.conf for its port. Each call logs to a new file
  // (redis.0.log, redis.1.log after a restart, ...).
  ServerSpec Spec();

  std::string dir_;
  std::string password_;
  Options options_;
  uint16_t port_ = 0;
  std::unique_ptr<ServerProcess> process_;
  std::shared_ptr<fleet::RedisClient> client_;
  int launches_ = 0;
};

}  // namespace tlsession::testing

#endif  // TLSESSION_TESTBED_REDIS_SERVER_H_
