#include "fleet/redis_client.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "base/secret.h"
#include "fleet/redis_sentinel.h"

namespace tlsession::fleet {

struct RedisClient::Link {
  std::unique_ptr<RedisLink> conn;
  // With Sentinels, the primary's generation it was made to (else 0).
  uint64_t generation = 0;
};

namespace {

// Resolves |host| to a numeric address, once.
absl::StatusOr<std::string> Resolve(const std::string& host) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* result = nullptr;
  const int rc = getaddrinfo(host.c_str(), nullptr, &hints, &result);
  if (rc != 0 || result == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(
        "cannot resolve Redis host '", host, "': ", gai_strerror(rc)));
  }
  char text[INET6_ADDRSTRLEN] = {};
  const void* addr =
      result->ai_family == AF_INET6
          ? static_cast<const void*>(
                &reinterpret_cast<sockaddr_in6*>(result->ai_addr)->sin6_addr)
          : static_cast<const void*>(
                &reinterpret_cast<sockaddr_in*>(result->ai_addr)->sin_addr);
  const char* ok = inet_ntop(result->ai_family, addr, text, sizeof(text));
  freeaddrinfo(result);
  if (ok == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot resolve Redis host '", host, "'"));
  }
  return std::string(text);
}

}  // namespace

RedisOutcome RedisOutcomeOf(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kOk:
      return RedisOutcome::kOk;
    case absl::StatusCode::kUnavailable:
      return RedisOutcome::kSkipped;
    case absl::StatusCode::kDeadlineExceeded:
      return RedisOutcome::kTimeout;
    default:
      return RedisOutcome::kError;
  }
}

absl::StatusOr<std::shared_ptr<RedisClient>> RedisClient::Create(
    Config config) {
  const RedisEndpoint& ep = config.endpoint;
  if (ep.sentinels.empty() && (ep.host.empty() || ep.port == 0)) {
    return absl::InvalidArgumentError("Redis host and port must be set");
  }
  if (config.timeout <= absl::ZeroDuration() || config.max_connections == 0 ||
      config.failures_before_backoff < 1) {
    return absl::InvalidArgumentError(
        "Redis timeout, max_connections and failures_before_backoff must be "
        "positive");
  }
  if (ep.tls != (config.tls_context != nullptr)) {
    return absl::InvalidArgumentError(
        ep.tls ? "a rediss:// URL needs a TLS client context"
               : "a TLS client context needs a rediss:// URL");
  }
  std::vector<RedisLink::Options> nodes;
  std::vector<RedisNode> hosts = ep.sentinels;
  if (hosts.empty()) hosts.push_back(RedisNode{ep.host, ep.port});
  for (const RedisNode& node : hosts) {
    absl::StatusOr<std::string> ip = Resolve(node.host);
    if (!ip.ok()) return ip.status();
    nodes.push_back(RedisLink::Options{node.host, *std::move(ip), node.port,
                                       config.tls_context,
                                       config.max_reply_bytes});
  }
  return std::shared_ptr<RedisClient>(
      new RedisClient(std::move(config), std::move(nodes)));
}

RedisClient::RedisClient(Config config, std::vector<RedisLink::Options> nodes)
    : config_(std::move(config)), nodes_(std::move(nodes)) {
  MutexLock lock(&mu_);
  current_backoff_ = config_.backoff;
}

RedisClient::~RedisClient() = default;

std::string RedisClient::address() const {
  if (sentinel()) {
    return absl::StrCat(config_.endpoint.master_name, " via Sentinel");
  }
  return absl::StrCat(config_.endpoint.host, ":", config_.endpoint.port);
}

absl::StatusOr<RedisLink::Options> RedisClient::Primary(absl::Time deadline,
                                                        uint64_t* generation) {
  {
    MutexLock lock(&mu_);
    if (primary_known_) {
      *generation = generation_;
      const size_t colon = primary_.rfind(':');
      uint16_t port =
          static_cast<uint16_t>(std::stoi(primary_.substr(colon + 1)));
      return RedisLink::Options{primary_.substr(0, colon), "", port,
                                config_.tls_context, config_.max_reply_bytes};
    }
  }
  absl::StatusOr<RedisNode> node =
      AskSentinels(nodes_, config_.endpoint.master_name, deadline);
  if (!node.ok()) return node.status();
  const std::string address = absl::StrCat(node->host, ":", node->port);
  MutexLock lock(&mu_);
  ++metrics_.discoveries;
  if (address != primary_) {
    if (!primary_.empty()) ++metrics_.failovers;
    primary_ = address;
    ++generation_;
  }
  primary_known_ = true;
  *generation = generation_;
  return RedisLink::Options{node->host, "", node->port, config_.tls_context,
                            config_.max_reply_bytes};
}

void RedisClient::ForgetPrimary(uint64_t generation) {
  if (!sentinel()) return;
  MutexLock lock(&mu_);
  if (generation == generation_) primary_known_ = false;
}

absl::StatusOr<std::unique_ptr<RedisClient::Link>> RedisClient::Connect(
    absl::Time deadline) {
  if (!sentinel()) return ConnectNode(nodes_[0], 0, deadline);
  absl::Status last;
  // A known primary that fails is forgotten and asked for again, once.
  for (int attempt = 0; attempt < 2; ++attempt) {
    uint64_t generation = 0;
    absl::StatusOr<RedisLink::Options> primary = Primary(deadline, &generation);
    if (!primary.ok()) return primary.status();
    absl::StatusOr<std::unique_ptr<Link>> link =
        ConnectNode(*primary, generation, deadline);
    if (link.ok()) return link;
    ForgetPrimary(generation);
    last = link.status();
    if (absl::Now() >= deadline) break;
  }
  return last;
}

absl::StatusOr<std::unique_ptr<RedisClient::Link>> RedisClient::ConnectNode(
    const RedisLink::Options& options, uint64_t generation,
    absl::Time deadline) {
  absl::StatusOr<std::unique_ptr<RedisLink>> conn =
      RedisLink::Open(options, deadline);
  if (!conn.ok()) return conn.status();
  const RedisEndpoint& ep = config_.endpoint;
  std::vector<std::vector<std::string>> hello;
  if (!ep.password.empty()) {
    hello.push_back({"AUTH"});
    if (!ep.user.empty()) hello.back().push_back(ep.user);
    hello.back().emplace_back(ep.password.view());
  }
  if (sentinel()) hello.push_back({"ROLE"});
  if (!hello.empty()) {
    size_t received = 0;
    absl::StatusOr<std::vector<RedisReply>> replies =
        (*conn)->RoundTrip(hello, deadline, &received);
    if (!ep.password.empty()) {
      for (std::string& a : hello.front()) Secret::Wipe(a);
    }
    if (!replies.ok()) return replies.status();
    if (!ep.password.empty() &&
        replies->front().type != RedisReply::Type::kStatus) {
      return absl::PermissionDeniedError(
          absl::StrCat("redis ", (*conn)->address(),
                       ": AUTH refused: ", replies->front().str));
    }
    if (sentinel()) {
      absl::Status s = CheckIsPrimary(replies->back(), (*conn)->address());
      if (!s.ok()) return s;
    }
  }
  MutexLock lock(&mu_);
  ++metrics_.connects;
  if ((*conn)->tls()) {
    ++metrics_.tls_handshakes;
    if ((*conn)->tls_resumed()) ++metrics_.tls_resumed;
  }
  return std::make_unique<Link>(Link{*std::move(conn), generation});
}

absl::StatusOr<std::unique_ptr<RedisClient::Link>> RedisClient::Acquire(
    absl::Time deadline, bool* reused) {
  {
    MutexLock lock(&mu_);
    // Links to a former primary are closed, not used.
    while (!idle_.empty() && idle_.back()->generation != generation_) {
      idle_.pop_back();
      --open_;
    }
    if (!idle_.empty()) {
      std::unique_ptr<Link> c = std::move(idle_.back());
      idle_.pop_back();
      *reused = true;
      return c;
    }
    if (open_ >= config_.max_connections) {
      return absl::UnavailableError(absl::StrCat("redis ", address(), ": all ",
                                                 config_.max_connections,
                                                 " connections busy"));
    }
    ++open_;  // Reserved for the connection we are about to make.
  }
  *reused = false;
  absl::StatusOr<std::unique_ptr<Link>> c = Connect(deadline);
  if (!c.ok()) {
    MutexLock lock(&mu_);
    --open_;
  }
  return c;
}

void RedisClient::Release(std::unique_ptr<Link> link) {
  MutexLock lock(&mu_);
  if (link == nullptr) {
    --open_;  // Closed: it failed.
    return;
  }
  idle_.push_back(std::move(link));
}

absl::StatusOr<std::vector<RedisReply>> RedisClient::Exchange(
    const std::vector<std::vector<std::string>>& commands, absl::Time deadline,
    Idempotent idempotent) {
  for (int attempt = 0;; ++attempt) {
    bool reused = false;
    absl::StatusOr<std::unique_ptr<Link>> conn = Acquire(deadline, &reused);
    if (!conn.ok()) return conn.status();
    size_t received = 0;
    absl::StatusOr<std::vector<RedisReply>> replies =
        (*conn)->conn->RoundTrip(commands, deadline, &received);
    {
      MutexLock lock(&mu_);
      ++metrics_.round_trips;
    }
    const uint64_t generation = (*conn)->generation;
    if (replies.ok() && sentinel() &&
        std::any_of(replies->begin(), replies->end(), IsReadOnlyReply)) {
      // A failover made this node a replica: nothing was written.
      replies = absl::AbortedError(absl::StrCat(
          "redis ", (*conn)->conn->address(),
          ": is a replica now (READONLY); asking the Sentinels again"));
    }
    if (replies.ok()) {
      Release(*std::move(conn));
      return replies;
    }
    Release(nullptr);  // Closes it: a late reply would desynchronize it.
    if (replies.status().code() != absl::StatusCode::kDataLoss) {
      ForgetPrimary(generation);
    }
    // A pooled connection that ended with no reply: Redis closed it while
    // idle (a restart) and the request never ran, or the request ran and its
    // reply was lost. Only an idempotent call may run again.
    const bool stale = reused && received == 0 &&
                       replies.status().code() == absl::StatusCode::kAborted;
    if (!stale || attempt > 0 || idempotent != Idempotent::kYes) {
      return replies.status();
    }
  }
}

absl::Status RedisClient::CheckBackoff() {
  MutexLock lock(&mu_);
  ++metrics_.calls;
  if (absl::Now() < backoff_until_) {
    ++metrics_.skipped;
    return absl::UnavailableError(
        absl::StrCat("redis ", address(), ": skipped, backing off after ",
                     consecutive_failures_, " consecutive failures"));
  }
  return absl::OkStatus();
}

void RedisClient::RecordResult(const absl::Status& status,
                               bool transport_failure) {
  MutexLock lock(&mu_);
  switch (RedisOutcomeOf(status)) {
    case RedisOutcome::kOk:
      ++metrics_.ok;
      break;
    case RedisOutcome::kSkipped:
      ++metrics_.skipped;
      break;
    case RedisOutcome::kTimeout:
      ++metrics_.timeouts;
      break;
    case RedisOutcome::kError:
      ++metrics_.errors;
      break;
  }
  if (!transport_failure) {
    if (status.ok()) {
      consecutive_failures_ = 0;
      current_backoff_ = config_.backoff;
    }
    return;
  }
  if (++consecutive_failures_ < config_.failures_before_backoff) return;
  backoff_until_ = absl::Now() + current_backoff_;
  current_backoff_ = std::min(current_backoff_ * 2, config_.max_backoff);
  ++metrics_.backoffs;
}

absl::StatusOr<std::vector<RedisReply>> RedisClient::Pipeline(
    const std::vector<std::vector<std::string>>& commands,
    absl::Duration timeout, Idempotent idempotent) {
  if (commands.empty()) return std::vector<RedisReply>();
  if (absl::Status s = CheckBackoff(); !s.ok()) return s;
  const absl::Time deadline =
      absl::Now() +
      (timeout > absl::ZeroDuration() ? timeout : config_.timeout);
  absl::StatusOr<std::vector<RedisReply>> replies =
      Exchange(commands, deadline, idempotent);
  const absl::StatusCode code = replies.status().code();
  // A full pool (Unavailable) says nothing about Redis's health.
  const bool transport_failure =
      !replies.ok() && code != absl::StatusCode::kUnavailable;
  RecordResult(replies.status(), transport_failure);
  return replies;
}

absl::StatusOr<RedisReply> RedisClient::Command(
    const std::vector<std::string>& args, absl::Duration timeout,
    Idempotent idempotent) {
  absl::StatusOr<std::vector<RedisReply>> replies =
      Pipeline({args}, timeout, idempotent);
  if (!replies.ok()) return replies.status();
  RedisReply& reply = replies->front();
  if (reply.type == RedisReply::Type::kError) {
    return absl::FailedPreconditionError(
        absl::StrCat("redis ", address(), ": ", args.empty() ? "" : args[0],
                     ": ", reply.str));
  }
  return std::move(reply);
}

absl::Status RedisClient::Warm(size_t connections) {
  for (;;) {
    {
      MutexLock lock(&mu_);
      if (idle_.size() >= connections || open_ >= config_.max_connections) {
        return absl::OkStatus();
      }
      ++open_;
    }
    absl::StatusOr<std::unique_ptr<Link>> c =
        Connect(absl::Now() + config_.timeout);
    if (!c.ok()) {
      RecordResult(c.status(), /*transport_failure=*/true);
      MutexLock lock(&mu_);
      --open_;
      return c.status();
    }
    MutexLock lock(&mu_);
    idle_.push_back(*std::move(c));
  }
}

bool RedisClient::backing_off() const {
  MutexLock lock(&mu_);
  return absl::Now() < backoff_until_;
}

RedisClient::Metrics RedisClient::metrics() const {
  MutexLock lock(&mu_);
  return metrics_;
}

}  // namespace tlsession::fleet
