#include "tests/fleet/fleet_harness.h"

#include <openssl/rand.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "testbed/certs.h"
#include "testbed/poll.h"

namespace tlsession::testing {
namespace {

// The last line of |log| that contains "stats:", or "".
std::string LastStatsLine(const std::string& log) {
  const size_t at = log.rfind("stats:");
  if (at == std::string::npos) return "";
  const size_t end = log.find('\n', at);
  return log.substr(at,
                    end == std::string::npos ? std::string::npos : end - at);
}

// How many stats lines |log| holds.
size_t CountStats(const std::string& log) {
  size_t n = 0;
  for (size_t at = log.find("stats:"); at != std::string::npos;
       at = log.find("stats:", at + 1)) {
    ++n;
  }
  return n;
}

}  // namespace

std::string RunfilesBinary(const std::string& workspace_path) {
  if (access(workspace_path.c_str(), X_OK) == 0) {
    char cwd[4096];
    if (getcwd(cwd, sizeof(cwd)) != nullptr) {
      return absl::StrCat(cwd, "/", workspace_path);
    }
  }
  const char* srcdir = getenv("TEST_SRCDIR");
  return absl::StrCat(srcdir ? srcdir : ".", "/tlsession/", workspace_path);
}

absl::StatusOr<std::unique_ptr<FleetHarness>> FleetHarness::Start() {
  std::unique_ptr<FleetHarness> h(new FleetHarness());
  auto redis = TestRedisServer::Start();
  if (!redis.ok()) return redis.status();
  h->redis_ = *std::move(redis);
  h->dir_ = MakeTempDir();
  h->fleet_key_file_ = h->dir_ + "/fleet.key";
  std::string key(32, '\0');
  RAND_bytes(reinterpret_cast<uint8_t*>(&key[0]), key.size());
  WriteFileOrDie(h->fleet_key_file_, key);
  chmod(h->fleet_key_file_.c_str(), 0600);
  return h;
}

absl::StatusOr<size_t> FleetHarness::StartInstance(
    const std::vector<std::string>& flags) {
  const size_t index = instances_.size();
  const std::string name = absl::StrCat("instance", index + 1);
  ServerSpec spec;
  spec.name = "tls_echo_server";
  spec.log_path = absl::StrCat(dir_, "/", name, ".log");
  // Its own word that it bound the port, printed once it accepts.
  spec.ready_line = "listening on 127.0.0.1:{port}";
  spec.timeout = absl::Seconds(20);
  spec.command =
      [this, name,
       flags](uint16_t port) -> absl::StatusOr<std::vector<std::string>> {
    const TestPki& pki = GetTestPki();
    std::vector<std::string> argv = {RunfilesBinary("tools/tls_echo_server"),
                                     "--port",
                                     absl::StrCat(port),
                                     "--cert",
                                     pki.server_cert_file(),
                                     "--key",
                                     pki.server_key_file(),
                                     "--fleet-key",
                                     fleet_key_file_,
                                     "--redis-password-file",
                                     redis_->password_file(),
                                     "--name",
                                     name};
    for (const std::string& f : flags) {
      argv.push_back(f == "redis" ? redis_->url_without_password() : f);
    }
    return argv;
  };
  absl::StatusOr<std::unique_ptr<ServerProcess>> process =
      ServerProcess::Start(spec);
  if (!process.ok()) return process.status();
  instances_.push_back(std::move(*process));
  return index;
}

absl::StatusOr<std::map<std::string, uint64_t>> FleetHarness::Stats(size_t i) {
  ChildProcess& p = process(i);
  const size_t before = CountStats(p.log());
  kill(p.pid(), SIGUSR1);
  std::string line;
  PollUntil(
      [&] {
        const std::string log = p.log();
        if (CountStats(log) <= before ||
            log.find('\n', log.rfind("stats:")) == std::string::npos) {
          return false;  // Not yet, or not the whole line yet.
        }
        line = LastStatsLine(log);
        return true;
      },
      absl::Now() + Scaled(absl::Seconds(10)), absl::Milliseconds(10));
  if (line.empty()) {
    return absl::DeadlineExceededError(
        absl::StrCat("no stats from instance ", i + 1, ":\n", p.log()));
  }
  std::map<std::string, uint64_t> out;
  for (absl::string_view field : absl::StrSplit(line, ' ')) {
    std::pair<std::string, std::string> kv =
        absl::StrSplit(field, absl::MaxSplits('=', 1));
    uint64_t value = 0;
    if (!kv.second.empty() && absl::SimpleAtoi(kv.second, &value)) {
      out[kv.first] = value;
    }
  }
  return out;
}

absl::StatusOr<SClientRun> SClientHandshake(
    uint16_t port, const std::vector<std::string>& extra,
    const std::string& log_path, const std::string& sess_out) {
  std::vector<std::string> args = extra;
  if (!sess_out.empty()) {
    args.push_back("-sess_out");
    args.push_back(sess_out);
  }
  return RunSClient(
      port, GetTestPki(), args, log_path, [&](const std::string& output) {
        return HasHandshakeSummary(output) &&
               (sess_out.empty() ||
                absl::StrContains(ReadFileOrEmpty(sess_out),
                                  "-----END SSL SESSION PARAMETERS-----"));
      });
}

}  // namespace tlsession::testing
