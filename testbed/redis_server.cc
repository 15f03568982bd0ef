#include "testbed/redis_server.h"

#include <openssl/rand.h>
#include <signal.h>
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <limits>
#include <system_error>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "testbed/certs.h"

namespace tlsession::testing {
namespace {

constexpr char kRedisServer[] = "/usr/bin/redis-server";

std::string RandomHex(size_t bytes) {
  std::string raw(bytes, '\0');
  RAND_bytes(reinterpret_cast<uint8_t*>(&raw[0]), raw.size());
  return absl::BytesToHexString(raw);
}

}  // namespace

absl::StatusOr<std::unique_ptr<TestRedisServer>> TestRedisServer::Start(
    const std::vector<std::string>& extra_config) {
  // A port picked free can be taken before redis-server binds it (tests run
  // in parallel, other users share the machine): try a few.
  absl::Status last;
  for (int attempt = 0; attempt < 5; ++attempt) {
    absl::StatusOr<std::unique_ptr<TestRedisServer>> server =
        StartOnFreePort(extra_config);
    if (server.ok()) return server;
    last = server.status();
  }
  return last;
}

absl::StatusOr<std::unique_ptr<TestRedisServer>>
TestRedisServer::StartOnFreePort(const std::vector<std::string>& extra_config) {
  std::unique_ptr<TestRedisServer> server(new TestRedisServer());
  server->dir_ = MakeTempDir();
  server->password_ = RandomHex(16);
  absl::StatusOr<uint16_t> port = PickFreePort();
  if (!port.ok()) return port.status();
  server->port_ = *port;
  std::string config = absl::StrCat(
      "port ", server->port_, "\nbind 127.0.0.1\nprotected-mode yes\n",
      "save \"\"\nappendonly no\ndaemonize no\nloglevel warning\n",
      "logfile \"\"\ndir ", server->dir_, "\nrequirepass ", server->password_,
      "\n");
  for (const std::string& line : extra_config) absl::StrAppend(&config, line, "\n");
  WriteFileOrDie(server->dir_ + "/redis.conf", config);
  chmod((server->dir_ + "/redis.conf").c_str(), 0600);
  WriteFileOrDie(server->password_file(), server->password_ + "\n");
  chmod(server->password_file().c_str(), 0600);

  fleet::RedisClient::Config client;
  client.endpoint.port = server->port_;
  client.endpoint.password = Secret(std::string(server->password_));
  client.timeout = absl::Seconds(1);
  client.failures_before_backoff = std::numeric_limits<int>::max();
  absl::StatusOr<std::shared_ptr<fleet::RedisClient>> c =
      fleet::RedisClient::Create(std::move(client));
  if (!c.ok()) return c.status();
  server->client_ = *std::move(c);
  if (absl::Status s = server->Launch(); !s.ok()) return s;
  return server;
}

absl::Status TestRedisServer::Launch() {
  const std::string log = absl::StrCat(dir_, "/redis.", launches_++, ".log");
  auto process = ChildProcess::Spawn({kRedisServer, dir_ + "/redis.conf"}, log,
                                     /*stdin_pipe=*/false);
  if (!process.ok()) return process.status();
  process_ = *std::move(process);
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  absl::Status last;
  while (absl::Now() < deadline) {
    if (!process_->Running()) {
      return absl::UnavailableError(absl::StrCat(
          "redis-server exited at start; its log:\n", process_->log()));
    }
    absl::StatusOr<fleet::RedisReply> pong = Command({"PING"});
    if (pong.ok()) return absl::OkStatus();
    last = pong.status();
    absl::SleepFor(absl::Milliseconds(20));
  }
  return absl::DeadlineExceededError(absl::StrCat(
      "redis-server did not answer PING within 10s (", last.ToString(),
      "); its log:\n", process_->log()));
}

TestRedisServer::~TestRedisServer() {
  Kill();
  // Outside a test (a benchmark run), leave no password file behind; under
  // 'bazel test' the folder stays with the test's logs.
  if (getenv("TEST_TMPDIR") == nullptr && !dir_.empty()) {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
}

std::string TestRedisServer::url() const {
  return absl::StrCat("redis://:", password_, "@127.0.0.1:", port_);
}

std::string TestRedisServer::url_without_password() const {
  return absl::StrCat("redis://127.0.0.1:", port_);
}

void TestRedisServer::Kill() {
  if (process_ != nullptr) process_->Kill();
}

void TestRedisServer::Pause() {
  if (process_ != nullptr) kill(process_->pid(), SIGSTOP);
}

void TestRedisServer::Resume() {
  if (process_ != nullptr) kill(process_->pid(), SIGCONT);
}

absl::Status TestRedisServer::Restart() {
  Kill();
  return Launch();
}

absl::StatusOr<fleet::RedisReply> TestRedisServer::Command(
    const std::vector<std::string>& args) {
  return client_->Command(args);
}

absl::StatusOr<std::map<std::string, std::string>> TestRedisServer::Info(
    const std::string& section) {
  absl::StatusOr<fleet::RedisReply> reply = Command({"INFO", section});
  if (!reply.ok()) return reply.status();
  std::map<std::string, std::string> out;
  for (absl::string_view line : absl::StrSplit(reply->str, '\n')) {
    line = absl::StripTrailingAsciiWhitespace(line);
    if (line.empty() || line[0] == '#') continue;
    std::pair<std::string, std::string> kv =
        absl::StrSplit(line, absl::MaxSplits(':', 1));
    out[kv.first] = kv.second;
  }
  return out;
}

absl::StatusOr<uint64_t> TestRedisServer::CommandCalls(
    const std::string& command) {
  absl::StatusOr<std::map<std::string, std::string>> info =
      Info("commandstats");
  if (!info.ok()) return info.status();
  auto it = info->find("cmdstat_" + command);
  if (it == info->end()) return 0;
  // "calls=12,usec=...,..."
  for (absl::string_view field : absl::StrSplit(it->second, ',')) {
    if (absl::ConsumePrefix(&field, "calls=")) {
      uint64_t calls = 0;
      if (absl::SimpleAtoi(field, &calls)) return calls;
    }
  }
  return absl::DataLossError(absl::StrCat("bad commandstats: ", it->second));
}

absl::StatusOr<std::vector<std::string>> TestRedisServer::Keys(
    const std::string& pattern) {
  absl::StatusOr<fleet::RedisReply> reply = Command({"KEYS", pattern});
  if (!reply.ok()) return reply.status();
  std::vector<std::string> keys;
  for (const fleet::RedisReply& e : reply->elements) keys.push_back(e.str);
  return keys;
}

}  // namespace tlsession::testing
