#include "fleet/redis_link.h"

#include <hiredis/hiredis.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "base/secret.h"
#include "tls/socket.h"
#include "tls/tcp_stream.h"

namespace tlsession::fleet {

void AppendRedisCommand(const std::vector<std::string>& args,
                        std::string* out) {
  absl::StrAppend(out, "*", args.size(), "\r\n");
  for (const std::string& a : args) {
    absl::StrAppend(out, "$", a.size(), "\r\n");
    out->append(a);
    out->append("\r\n");
  }
}

void RedisLink::ReaderFree::operator()(redisReader* r) const {
  redisReaderFree(r);
}

RedisLink::RedisLink(std::unique_ptr<Stream> stream, Connection* tls,
                     std::string address, size_t max_reply_bytes)
    : stream_(std::move(stream)),
      tls_(tls),
      address_(std::move(address)),
      max_reply_bytes_(max_reply_bytes),
      reader_(NewRedisReplyReader(max_reply_bytes)) {}

RedisLink::~RedisLink() = default;

absl::StatusOr<std::unique_ptr<RedisLink>> RedisLink::Open(
    Options options, absl::Time deadline) {
  const std::string address = absl::StrCat(options.host, ":", options.port);
  const absl::Duration left = deadline - absl::Now();
  if (left <= absl::ZeroDuration()) {
    return absl::DeadlineExceededError(
        absl::StrCat("redis ", address, ": timed out connecting"));
  }
  const std::string& target = options.ip.empty() ? options.host : options.ip;
  absl::StatusOr<OwnedFd> fd = ConnectTcp(target, options.port, left);
  if (!fd.ok()) {
    return absl::Status(
        fd.status().code() == absl::StatusCode::kDeadlineExceeded
            ? absl::StatusCode::kDeadlineExceeded
            : absl::StatusCode::kAborted,
        absl::StrCat("redis ", address,
                     ": connecting: ", fd.status().message()));
  }
  std::unique_ptr<Stream> stream;
  Connection* tls = nullptr;
  if (options.tls != nullptr) {
    absl::StatusOr<std::unique_ptr<Connection>> conn =
        Connection::Create(options.tls, *std::move(fd), options.host);
    if (!conn.ok()) return conn.status();
    tls = conn->get();
    stream = *std::move(conn);
  } else {
    absl::StatusOr<std::unique_ptr<TcpStream>> tcp =
        TcpStream::Create(*std::move(fd), options.host, left);
    if (!tcp.ok()) return tcp.status();
    stream = *std::move(tcp);
  }
  std::unique_ptr<RedisLink> link(
      new RedisLink(std::move(stream), tls, address, options.max_reply_bytes));
  if (link->reader_ == nullptr) {
    return absl::ResourceExhaustedError(
        absl::StrCat("redis ", address, ": out of memory"));
  }
  if (tls != nullptr) {
    if (absl::Status s = link->ArmTimeout(deadline, "in the TLS handshake");
        !s.ok()) {
      return s;
    }
    if (absl::Status s = tls->Handshake(); !s.ok()) {
      return link->LinkError(s, "TLS handshake");
    }
  }
  return link;
}

bool RedisLink::tls_resumed() const {
  return tls_ != nullptr && tls_->session_reused();
}

absl::Status RedisLink::ArmTimeout(absl::Time deadline,
                                   absl::string_view what) {
  const absl::Duration left = deadline - absl::Now();
  if (left <= absl::ZeroDuration()) {
    return absl::DeadlineExceededError(
        absl::StrCat("redis ", address_, ": timed out ", what));
  }
  stream_->set_timeout(left);
  return absl::OkStatus();
}

absl::Status RedisLink::LinkError(const absl::Status& status,
                                  absl::string_view what) const {
  const absl::StatusCode code =
      status.code() == absl::StatusCode::kDeadlineExceeded
          ? absl::StatusCode::kDeadlineExceeded
          : absl::StatusCode::kAborted;
  return absl::Status(code, absl::StrCat("redis ", address_, ": ", what, ": ",
                                         status.message()));
}

absl::Status RedisLink::ReadReplies(size_t count, absl::Time deadline,
                                    std::vector<RedisReply>* replies,
                                    size_t* received) {
  char buf[16384];
  size_t charged = 0;
  while (replies->size() < count) {
    RedisReply reply;
    absl::StatusOr<bool> got = NextRedisReply(reader_.get(), &reply, &charged);
    if (!got.ok()) {
      return absl::DataLossError(
          absl::StrCat("redis ", address_, ": ", got.status().message()));
    }
    if (charged > max_reply_bytes_) {
      return absl::DataLossError(absl::StrCat(
          "redis ", address_, ": replies exceed the reader's bound of ",
          max_reply_bytes_, " bytes (max_reply_bytes)"));
    }
    if (*got) {
      replies->push_back(std::move(reply));
      continue;
    }
    if (absl::Status s = ArmTimeout(deadline, "waiting for a reply"); !s.ok()) {
      return s;
    }
    absl::StatusOr<size_t> n = stream_->Read(buf, sizeof(buf));
    if (!n.ok()) return LinkError(n.status(), "reading");
    if (*n == 0) {
      return absl::AbortedError(
          absl::StrCat("redis ", address_, ": reading: connection closed"));
    }
    *received += *n;
    if (*received > max_reply_bytes_) {
      return absl::DataLossError(absl::StrCat("redis ", address_,
                                              ": reply larger than ",
                                              max_reply_bytes_, " bytes"));
    }
    if (redisReaderFeed(reader_.get(), buf, *n) != REDIS_OK) {
      return absl::DataLossError(
          absl::StrCat("redis ", address_, ": reader out of memory"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<RedisReply>> RedisLink::RoundTrip(
    const std::vector<std::vector<std::string>>& commands, absl::Time deadline,
    size_t* received) {
  *received = 0;
  // Sized once: a reallocation would leave an unwiped copy of AUTH's
  // password behind.
  size_t size = 0;
  for (const auto& c : commands) {
    size += 32;
    for (const std::string& a : c) size += a.size() + 32;
  }
  std::string request;
  request.reserve(size);
  for (const auto& c : commands) AppendRedisCommand(c, &request);
  absl::Status s = ArmTimeout(deadline, "sending");
  if (s.ok()) {
    s = stream_->Write(request);
    if (!s.ok()) s = LinkError(s, "sending");
  }
  Secret::Wipe(request);
  if (!s.ok()) return s;
  std::vector<RedisReply> replies;
  s = ReadReplies(commands.size(), deadline, &replies, received);
  if (!s.ok()) return s;
  if (tls_ != nullptr) tls_->ConfirmSessionsSoFar();
  return replies;
}

}  // namespace tlsession::fleet
