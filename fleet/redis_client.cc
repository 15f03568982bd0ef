#include "fleet/redis_client.h"

#include <arpa/inet.h>
#include <errno.h>
#include <hiredis/hiredis.h>
#include <netdb.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "base/secret.h"

namespace tlsession::fleet {

// One pooled connection to Redis (named Link so as not to be taken for
// tls::Connection): hiredis's context, that is the socket (made non-blocking
// by redisConnectNonBlock) and our reply reader (redis_reply.h). We write
// with send(MSG_NOSIGNAL) ourselves, since hiredis's write() would raise
// SIGPIPE on a connection that Redis closed.
class RedisClient::Link {
 public:
  // Takes ownership of |context| (freed with redisFree).
  explicit Link(redisContext* context) : context_(context) {}
  // The context, owned by the link.
  redisContext* get() const { return context_.get(); }
  // The context's socket.
  int fd() const { return context_->fd; }

 private:
  struct Free {
    void operator()(redisContext* c) const { redisFree(c); }
  };
  std::unique_ptr<redisContext, Free> context_;
};

namespace {

// A transport failure that broke the connection: connect refused, reset,
// closed by Redis.
absl::Status Broken(absl::string_view what, absl::string_view address,
                    absl::string_view why) {
  return absl::AbortedError(
      absl::StrCat("redis ", address, ": ", what, ": ", why));
}

absl::Status TimedOut(absl::string_view what, absl::string_view address) {
  return absl::DeadlineExceededError(
      absl::StrCat("redis ", address, ": timed out ", what));
}

// Waits until |fd| is ready for |events| or |deadline| passes.
absl::Status WaitFd(int fd, short events, absl::Time deadline,
                    absl::string_view what, absl::string_view address) {
  for (;;) {
    const absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) return TimedOut(what, address);
    // Round up so that a sub-millisecond remainder still waits.
    const int ms = static_cast<int>(
        std::min<int64_t>(absl::ToInt64Milliseconds(left) + 1, 60000));
    pollfd p{fd, events, 0};
    const int n = poll(&p, 1, ms);
    if (n > 0) return absl::OkStatus();  // Ready, or an error to discover.
    if (n < 0 && errno != EINTR) {
      return Broken(what, address, strerror(errno));
    }
  }
}

// Sends all of |data| before |deadline|.
absl::Status SendAll(int fd, absl::string_view data, absl::Time deadline,
                     absl::string_view address) {
  while (!data.empty()) {
    const ssize_t n = send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n > 0) {
      data.remove_prefix(static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      absl::Status s = WaitFd(fd, POLLOUT, deadline, "sending", address);
      if (!s.ok()) return s;
      continue;
    }
    return Broken("sending", address, n < 0 ? strerror(errno) : "closed");
  }
  return absl::OkStatus();
}

// Appends one command in Redis's protocol (RESP) to |out|.
void AppendCommand(const std::vector<std::string>& args, std::string* out) {
  absl::StrAppend(out, "*", args.size(), "\r\n");
  for (const std::string& a : args) {
    absl::StrAppend(out, "$", a.size(), "\r\n");
    out->append(a);
    out->append("\r\n");
  }
}

// Reads replies until |count| are parsed (into |replies|) or |deadline|.
// |*received| counts the bytes read, bounded by |max_bytes|; the reply
// objects are bounded by |max_bytes| too, each by the reader's budget
// (redis_reply.h) and all of them together here.
absl::Status ReadReplies(redisContext* c, size_t count, absl::Time deadline,
                         size_t max_bytes, absl::string_view address,
                         std::vector<RedisReply>* replies, size_t* received) {
  char buf[16384];
  size_t charged = 0;
  while (replies->size() < count) {
    RedisReply reply;
    absl::StatusOr<bool> got_reply =
        NextRedisReply(c->reader, &reply, &charged);
    if (!got_reply.ok()) {
      return absl::DataLossError(
          absl::StrCat("redis ", address, ": ", got_reply.status().message()));
    }
    if (charged > max_bytes) {
      return absl::DataLossError(absl::StrCat(
          "redis ", address, ": replies exceed the reader's bound of ",
          max_bytes, " bytes (max_reply_bytes)"));
    }
    if (*got_reply) {
      replies->push_back(std::move(reply));
      continue;
    }
    absl::Status s =
        WaitFd(c->fd, POLLIN, deadline, "waiting for a reply", address);
    if (!s.ok()) return s;
    const ssize_t n = recv(c->fd, buf, sizeof(buf), 0);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
      continue;
    }
    if (n <= 0) {
      return Broken("reading", address,
                    n == 0 ? "connection closed" : strerror(errno));
    }
    *received += static_cast<size_t>(n);
    if (*received > max_bytes) {
      return absl::DataLossError(absl::StrCat(
          "redis ", address, ": reply larger than ", max_bytes, " bytes"));
    }
    if (redisReaderFeed(c->reader, buf, static_cast<size_t>(n)) != REDIS_OK) {
      return absl::DataLossError(
          absl::StrCat("redis ", address, ": reader out of memory"));
    }
  }
  return absl::OkStatus();
}

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
  if (config.endpoint.host.empty() || config.endpoint.port == 0) {
    return absl::InvalidArgumentError("Redis host and port must be set");
  }
  if (config.timeout <= absl::ZeroDuration() || config.max_connections == 0 ||
      config.failures_before_backoff < 1) {
    return absl::InvalidArgumentError(
        "Redis timeout, max_connections and failures_before_backoff must be "
        "positive");
  }
  absl::StatusOr<std::string> ip = Resolve(config.endpoint.host);
  if (!ip.ok()) return ip.status();
  return std::shared_ptr<RedisClient>(
      new RedisClient(std::move(config), *std::move(ip)));
}

RedisClient::RedisClient(Config config, std::string ip)
    : config_(std::move(config)), ip_(std::move(ip)) {
  MutexLock lock(&mu_);
  current_backoff_ = config_.backoff;
}

RedisClient::~RedisClient() = default;

std::string RedisClient::address() const {
  return absl::StrCat(config_.endpoint.host, ":", config_.endpoint.port);
}

absl::StatusOr<std::unique_ptr<RedisClient::Link>> RedisClient::Connect(
    absl::Time deadline) {
  const std::string where = address();
  redisContext* raw = redisConnectNonBlock(ip_.c_str(), config_.endpoint.port);
  if (raw == nullptr) return Broken("connecting", where, "out of memory");
  auto conn = std::make_unique<Link>(raw);
  if (raw->err) return Broken("connecting", where, raw->errstr);
  // Our reader: bounded arrays, RedisReply objects.
  redisReaderFree(raw->reader);
  raw->reader = NewRedisReplyReader(config_.max_reply_bytes);
  if (raw->reader == nullptr)
    return Broken("connecting", where, "out of memory");
  absl::Status s = WaitFd(raw->fd, POLLOUT, deadline, "connecting", where);
  if (!s.ok()) return s;
  int err = 0;
  socklen_t len = sizeof(err);
  if (getsockopt(raw->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
  if (err != 0) return Broken("connecting", where, strerror(err));
  const RedisEndpoint& ep = config_.endpoint;
  if (!ep.password.empty()) {
    std::vector<std::string> auth = {"AUTH"};
    if (!ep.user.empty()) auth.push_back(ep.user);
    auth.emplace_back(ep.password.view());
    std::string request;
    AppendCommand(auth, &request);
    for (std::string& a : auth) Secret::Wipe(a);
    s = SendAll(raw->fd, request, deadline, where);
    Secret::Wipe(request);
    if (!s.ok()) return s;
    std::vector<RedisReply> replies;
    size_t received = 0;
    s = ReadReplies(raw, 1, deadline, config_.max_reply_bytes, where, &replies,
                    &received);
    if (!s.ok()) return s;
    if (replies[0].type != RedisReply::Type::kStatus) {
      return absl::PermissionDeniedError(
          absl::StrCat("redis ", where, ": AUTH refused: ", replies[0].str));
    }
  }
  MutexLock lock(&mu_);
  ++metrics_.connects;
  return conn;
}

absl::StatusOr<std::unique_ptr<RedisClient::Link>> RedisClient::Acquire(
    absl::Time deadline, bool* reused) {
  {
    MutexLock lock(&mu_);
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
  std::string request;
  for (const auto& c : commands) AppendCommand(c, &request);
  for (int attempt = 0;; ++attempt) {
    bool reused = false;
    absl::StatusOr<std::unique_ptr<Link>> conn = Acquire(deadline, &reused);
    if (!conn.ok()) return conn.status();
    std::vector<RedisReply> replies;
    size_t received = 0;
    absl::Status s = SendAll((*conn)->fd(), request, deadline, address());
    if (s.ok()) {
      s = ReadReplies((*conn)->get(), commands.size(), deadline,
                      config_.max_reply_bytes, address(), &replies, &received);
    }
    {
      MutexLock lock(&mu_);
      ++metrics_.round_trips;
    }
    if (s.ok()) {
      Release(*std::move(conn));
      return replies;
    }
    Release(nullptr);  // Closes it: a late reply would desynchronize it.
    // A pooled connection that ended with no reply: Redis closed it while
    // idle (a restart) and the request never ran, or the request ran and its
    // reply was lost. Only an idempotent call may run again.
    const bool stale =
        reused && received == 0 && s.code() == absl::StatusCode::kAborted;
    if (!stale || attempt > 0 || idempotent != Idempotent::kYes) return s;
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
