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
#include "testbed/certs.h"
#include "testbed/server_process.h"

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
  Options options;
  options.extra_config = extra_config;
  return StartWith(std::move(options));
}

absl::StatusOr<std::unique_ptr<TestRedisServer>> TestRedisServer::StartWith(
    Options options) {
  std::unique_ptr<TestRedisServer> server(new TestRedisServer());
  server->dir_ = MakeTempDir();
  server->password_ =
      options.password.empty() ? RandomHex(16) : options.password;
  server->options_ = std::move(options);
  WriteFileOrDie(server->password_file(), server->password_ + "\n");
  chmod(server->password_file().c_str(), 0600);
  // ServerProcess retries on another port when the one picked free was
  // taken before redis-server bound it (tests run in parallel).
  absl::StatusOr<std::unique_ptr<ServerProcess>> process =
      ServerProcess::Start(server->Spec());
  if (!process.ok()) return process.status();
  server->port_ = (*process)->port();
  server->process_ = *std::move(process);

  fleet::RedisClient::Config client;
  client.endpoint.port = server->port_;
  if (server->options_.tls) {
    absl::StatusOr<std::shared_ptr<const Context>> tls =
        fleet::MakeRedisTlsContext(server->tls_files());
    if (!tls.ok()) return tls.status();
    client.endpoint.tls = true;
    client.tls_context = *std::move(tls);
  }
  client.endpoint.password = Secret(std::string(server->password_));
  client.timeout = absl::Seconds(1);
  client.failures_before_backoff = std::numeric_limits<int>::max();
  absl::StatusOr<std::shared_ptr<fleet::RedisClient>> c =
      fleet::RedisClient::Create(std::move(client));
  if (!c.ok()) return c.status();
  server->client_ = *std::move(c);
  return server;
}

ServerSpec TestRedisServer::Spec() {
  ServerSpec spec;
  spec.name = "redis-server";
  spec.log_path = absl::StrCat(dir_, "/redis.", launches_++, ".log");
  // Logged (at notice level) once its listening sockets are open.
  spec.ready_line = "Ready to accept connections";
  spec.timeout = absl::Seconds(10);
  spec.command =
      [dir = dir_, password = password_, options = options_](
          uint16_t port) -> absl::StatusOr<std::vector<std::string>> {
    std::string config = absl::StrCat(
        "bind 127.0.0.1\nprotected-mode yes\n",
        "save \"\"\nappendonly no\ndaemonize no\nloglevel notice\n",
        "logfile \"\"\ndir ", dir, "\nrequirepass ", password, "\nmasterauth ",
        password, "\n");
    if (options.tls) {
      const TestPki& pki = GetTestPki();
      absl::StrAppend(&config, "port 0\ntls-port ", port, "\ntls-cert-file ",
                      pki.server_cert_file(), "\ntls-key-file ",
                      pki.server_key_file(), "\ntls-ca-cert-file ",
                      pki.ca_file(), "\ntls-auth-clients ",
                      options.require_client_cert ? "yes" : "no",
                      "\ntls-replication yes\n");
    } else {
      absl::StrAppend(&config, "port ", port, "\n");
    }
    if (options.replica_of != 0) {
      absl::StrAppend(&config, "replicaof 127.0.0.1 ", options.replica_of,
                      "\n");
    }
    for (const std::string& line : options.extra_config) {
      absl::StrAppend(&config, line, "\n");
    }
    WriteFileOrDie(dir + "/redis.conf", config);
    chmod((dir + "/redis.conf").c_str(), 0600);
    return std::vector<std::string>{kRedisServer, dir + "/redis.conf"};
  };
  return spec;
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
  return absl::StrCat(options_.tls ? "rediss" : "redis", "://:", password_,
                      "@127.0.0.1:", port_);
}

std::string TestRedisServer::url_without_password() const {
  return absl::StrCat(options_.tls ? "rediss" : "redis",
                      "://127.0.0.1:", port_);
}

fleet::RedisTlsFiles TestRedisServer::tls_files() const {
  if (!options_.tls) return fleet::RedisTlsFiles();
  const TestPki& pki = GetTestPki();
  return fleet::RedisTlsFiles{pki.ca_file(), pki.client_cert_file(),
                              pki.client_key_file()};
}

void TestRedisServer::Kill() {
  if (process_ != nullptr) process_->child().Kill();
}

void TestRedisServer::Pause() {
  if (process_ != nullptr) kill(process_->child().pid(), SIGSTOP);
}

void TestRedisServer::Resume() {
  if (process_ != nullptr) kill(process_->child().pid(), SIGCONT);
}

absl::Status TestRedisServer::Restart() {
  Kill();
  absl::StatusOr<std::unique_ptr<ServerProcess>> process =
      ServerProcess::StartOnPort(Spec(), port_);
  if (!process.ok()) return process.status();
  process_ = *std::move(process);
  return absl::OkStatus();
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
