#include "testbed/redis_sentinel.h"

#include <signal.h>
#include <sys/stat.h>

#include <limits>
#include <utility>

#include "absl/strings/str_cat.h"
#include "fleet/fleet_setup.h"
#include "testbed/certs.h"

namespace tlsession::testing {
namespace {

// The value of field |name| in one entry of a SENTINEL replicas/sentinels
// reply (a flat array of names and values); "" when absent.
std::string Field(const fleet::RedisReply& entry, const std::string& name) {
  for (size_t i = 0; i + 1 < entry.elements.size(); i += 2) {
    if (entry.elements[i].str == name) return entry.elements[i + 1].str;
  }
  return "";
}

}  // namespace

absl::StatusOr<std::unique_ptr<TestRedisSentinel>> TestRedisSentinel::Start(
    const Options& options) {
  std::unique_ptr<TestRedisSentinel> s(new TestRedisSentinel());
  s->dir_ = MakeTempDir();
  s->options_ = options;
  ServerSpec spec;
  spec.name = "redis-sentinel";
  spec.log_path = s->dir_ + "/sentinel.log";
  spec.ready_line = "+monitor master";
  spec.timeout = absl::Seconds(10);
  spec.command =
      [dir = s->dir_,
       o = options](uint16_t port) -> absl::StatusOr<std::vector<std::string>> {
    const TestPki& pki = GetTestPki();
    const std::string listen =
        o.tls ? absl::StrCat("port 0\ntls-port ", port, "\ntls-cert-file ",
                             pki.server_cert_file(), "\ntls-key-file ",
                             pki.server_key_file(), "\ntls-ca-cert-file ",
                             pki.ca_file(),
                             "\ntls-auth-clients no\ntls-replication yes\n")
              : absl::StrCat("port ", port, "\n");
    const std::string config = absl::StrCat(
        listen, "bind 127.0.0.1\ndaemonize no\nlogfile \"\"\ndir ", dir,
        "\nsentinel monitor ", o.master_name, " 127.0.0.1 ", o.primary_port,
        " ", o.quorum, "\nsentinel auth-pass ", o.master_name, " ", o.password,
        "\nsentinel down-after-milliseconds ", o.master_name, " ",
        absl::ToInt64Milliseconds(o.down_after), "\nsentinel failover-timeout ",
        o.master_name, " ", absl::ToInt64Milliseconds(o.failover_timeout),
        "\n");
    WriteFileOrDie(dir + "/sentinel.conf", config);
    chmod((dir + "/sentinel.conf").c_str(), 0600);
    return std::vector<std::string>{"/usr/bin/redis-server",
                                    dir + "/sentinel.conf", "--sentinel"};
  };
  absl::StatusOr<std::unique_ptr<ServerProcess>> process =
      ServerProcess::Start(spec);
  if (!process.ok()) return process.status();
  s->port_ = (*process)->port();
  s->process_ = *std::move(process);
  fleet::RedisClient::Config client;
  client.endpoint.port = s->port_;
  if (options.tls) {
    const TestPki& pki = GetTestPki();
    absl::StatusOr<std::shared_ptr<const Context>> tls =
        fleet::MakeRedisTlsContext({pki.ca_file(), "", ""});
    if (!tls.ok()) return tls.status();
    client.endpoint.tls = true;
    client.tls_context = *std::move(tls);
  }
  client.timeout = absl::Seconds(1);
  client.failures_before_backoff = std::numeric_limits<int>::max();
  absl::StatusOr<std::shared_ptr<fleet::RedisClient>> c =
      fleet::RedisClient::Create(std::move(client));
  if (!c.ok()) return c.status();
  s->client_ = *std::move(c);
  return s;
}

void TestRedisSentinel::Pause() {
  if (process_ != nullptr) kill(process_->child().pid(), SIGSTOP);
}

void TestRedisSentinel::Resume() {
  if (process_ != nullptr) kill(process_->child().pid(), SIGCONT);
}

TestRedisSentinel::~TestRedisSentinel() {
  if (process_ != nullptr) process_->child().Kill();
}

absl::StatusOr<fleet::RedisReply> TestRedisSentinel::Command(
    const std::vector<std::string>& args) {
  return client_->Command(args);
}

absl::StatusOr<int> TestRedisSentinel::HealthyReplicas() {
  absl::StatusOr<fleet::RedisReply> r =
      Command({"SENTINEL", "replicas", options_.master_name});
  if (!r.ok()) return r.status();
  int n = 0;
  for (const fleet::RedisReply& e : r->elements) {
    if (Field(e, "flags") == "slave" &&
        Field(e, "master-link-status") == "ok") {
      ++n;
    }
  }
  return n;
}

absl::StatusOr<int> TestRedisSentinel::OtherSentinels() {
  absl::StatusOr<fleet::RedisReply> r =
      Command({"SENTINEL", "sentinels", options_.master_name});
  if (!r.ok()) return r.status();
  return static_cast<int>(r->elements.size());
}

std::string TestRedisSentinel::log() const {
  return process_ == nullptr ? "" : process_->log();
}

std::string SentinelUrl(
    const std::vector<std::unique_ptr<TestRedisSentinel>>& sentinels,
    const std::string& master_name, bool tls) {
  std::string url = tls ? "rediss-sentinel://" : "redis-sentinel://";
  for (size_t i = 0; i < sentinels.size(); ++i) {
    absl::StrAppend(&url, i == 0 ? "" : ",",
                    "127.0.0.1:", sentinels[i]->port());
  }
  return absl::StrCat(url, "/", master_name);
}

}  // namespace tlsession::testing
