// A real Redis Sentinel (redis-server --sentinel) for tests and benchmarks,
// watching a TestRedisServer primary on loopback under a master name, with
// short failure detection (down-after-milliseconds, failover-timeout) so
// that a failover takes seconds. Its config file is written in a fresh
// temporary folder (Sentinel rewrites it as it learns); killed at the end.
#ifndef TLSESSION_TESTBED_REDIS_SENTINEL_H_
#define TLSESSION_TESTBED_REDIS_SENTINEL_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "fleet/redis_client.h"
#include "fleet/redis_reply.h"
#include "testbed/server_process.h"

namespace tlsession::testing {

class TestRedisSentinel {
 public:
  struct Options {
    std::string master_name = "mymaster";
    uint16_t primary_port = 0;  // The primary on 127.0.0.1.
    std::string password;       // The data nodes' (auth-pass).
    int quorum = 2;
    absl::Duration down_after = absl::Seconds(1);
    absl::Duration failover_timeout = absl::Seconds(3);
    // TLS only, to clients and to the nodes it watches (the primary and
    // replica must serve TLS too: TestRedisServer::Options::tls), with
    // GetTestPki()'s server certificate.
    bool tls = false;
  };

  // Starts a Sentinel on a free loopback port (ServerProcess) and waits
  // until it logs that it monitors the master. Errors quote its log.
  static absl::StatusOr<std::unique_ptr<TestRedisSentinel>> Start(
      const Options& options);
  ~TestRedisSentinel();

  uint16_t port() const { return port_; }
  // SIGSTOP / SIGCONT: the Sentinel hangs, holding its connections.
  void Pause();
  void Resume();
  // Runs one command on this Sentinel (SENTINEL ..., no AUTH); error
  // replies are errors.
  absl::StatusOr<fleet::RedisReply> Command(
      const std::vector<std::string>& args);
  // The number of replicas this Sentinel knows in a healthy state, and of
  // the other Sentinels it knows.
  absl::StatusOr<int> HealthyReplicas();
  absl::StatusOr<int> OtherSentinels();
  // The log so far (its "+switch-master" lines, for example).
  std::string log() const;

 private:
  TestRedisSentinel() = default;
  std::string dir_;
  Options options_;
  uint16_t port_ = 0;
  std::unique_ptr<ServerProcess> process_;
  std::shared_ptr<fleet::RedisClient> client_;
};

// "redis-sentinel://127.0.0.1:P1,127.0.0.1:P2,.../MASTER_NAME" for
// |sentinels| ("rediss-sentinel://" with |tls|; without credentials: give
// the password in a file).
std::string SentinelUrl(
    const std::vector<std::unique_ptr<TestRedisSentinel>>& sentinels,
    const std::string& master_name = "mymaster", bool tls = false);

}  // namespace tlsession::testing

#endif  // TLSESSION_TESTBED_REDIS_SENTINEL_H_
