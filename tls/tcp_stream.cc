#include "tls/tcp_stream.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>

#include <utility>

#include "absl/strings/str_cat.h"

namespace tlsession {

TcpStream::TcpStream(OwnedFd fd, Endpoint peer, Endpoint local,
                     std::string peer_name, absl::Duration timeout)
    : fd_(std::move(fd)),
      peer_(std::move(peer)),
      local_(std::move(local)),
      peer_name_(std::move(peer_name)),
      timeout_(timeout) {}

absl::StatusOr<std::unique_ptr<TcpStream>> TcpStream::Create(
    OwnedFd fd, absl::string_view host, absl::Duration timeout) {
  if (!fd.valid()) return absl::InvalidArgumentError("invalid socket");
  absl::StatusOr<Endpoint> peer = PeerEndpoint(fd.get());
  if (!peer.ok()) return peer.status();
  absl::StatusOr<Endpoint> local = LocalEndpoint(fd.get());
  if (!local.ok()) return local.status();
  if (absl::Status s = SetNonBlocking(fd.get(), true); !s.ok()) return s;
  std::string name = HostPort(host.empty() ? peer->address : host, peer->port);
  return std::unique_ptr<TcpStream>(
      new TcpStream(std::move(fd), *std::move(peer), *std::move(local),
                    std::move(name), timeout));
}

absl::StatusOr<std::unique_ptr<TcpStream>> TcpStream::Connect(
    absl::string_view host, uint16_t port, absl::Duration timeout) {
  absl::StatusOr<OwnedFd> fd = ConnectTcp(host, port, timeout);
  if (!fd.ok()) return fd.status();
  return Create(*std::move(fd), host, timeout);
}

absl::Status TcpStream::CheckOpen(absl::string_view what) const {
  if (state_ == State::kReleased) {
    return absl::FailedPreconditionError(
        absl::StrCat(what, " with ", peer_name_, ": the socket was handed on"));
  }
  return absl::OkStatus();
}

absl::Status TcpStream::Wait(bool for_write, absl::Time deadline,
                             absl::string_view what) const {
  if (WaitForFd(fd_.get(), for_write, deadline).ok()) return absl::OkStatus();
  return absl::DeadlineExceededError(
      absl::StrCat(what, " with ", peer_name_, " timed out after ",
                   absl::FormatDuration(timeout_)));
}

absl::StatusOr<size_t> TcpStream::Read(void* buf, size_t len) {
  return ReadBefore(buf, len, absl::Now() + timeout_);
}

absl::StatusOr<size_t> TcpStream::ReadBefore(void* buf, size_t len,
                                             absl::Time deadline) {
  if (absl::Status s = CheckOpen("TCP read"); !s.ok()) return s;
  for (;;) {
    const ssize_t n = recv(fd_.get(), buf, len, 0);
    if (n >= 0) return static_cast<size_t>(n);
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) {
      return absl::UnavailableError(
          absl::StrCat("TCP read from ", peer_name_, ": ", strerror(errno)));
    }
    if (absl::Status s = Wait(false, deadline, "TCP read"); !s.ok()) return s;
  }
}

absl::Status TcpStream::Write(absl::string_view data) {
  if (absl::Status s = CheckOpen("TCP write"); !s.ok()) return s;
  if (state_ == State::kShutDown) {
    return absl::FailedPreconditionError(
        absl::StrCat("TCP write to ", peer_name_, " after the shutdown"));
  }
  const absl::Time deadline = absl::Now() + timeout_;
  while (!data.empty()) {
    const ssize_t n = send(fd_.get(), data.data(), data.size(), MSG_NOSIGNAL);
    if (n >= 0) {
      data.remove_prefix(static_cast<size_t>(n));
      continue;
    }
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) {
      return absl::UnavailableError(
          absl::StrCat("TCP write to ", peer_name_, ": ", strerror(errno)));
    }
    if (absl::Status s = Wait(true, deadline, "TCP write"); !s.ok()) return s;
  }
  return absl::OkStatus();
}

bool TcpStream::HasBufferedInput() {
  if (state_ == State::kReleased) return false;
  pollfd p{fd_.get(), POLLIN, 0};
  return poll(&p, 1, 0) > 0;
}

absl::Status TcpStream::Shutdown() {
  if (absl::Status s = CheckOpen("TCP shutdown"); !s.ok()) return s;
  if (state_ == State::kShutDown) return absl::OkStatus();
  state_ = State::kShutDown;
  if (::shutdown(fd_.get(), SHUT_WR) != 0 && errno != ENOTCONN) {
    return absl::UnavailableError(
        absl::StrCat("TCP shutdown with ", peer_name_, ": ", strerror(errno)));
  }
  // Read to the peer's FIN, so that nothing unread makes our kernel send a
  // reset instead of a clean close.
  const absl::Time deadline = absl::Now() + timeout_;
  char scratch[16384];
  for (;;) {
    absl::StatusOr<size_t> n = ReadBefore(scratch, sizeof(scratch), deadline);
    if (!n.ok()) return n.status();
    if (*n == 0) return absl::OkStatus();
  }
}

OwnedFd TcpStream::Release() {
  state_ = State::kReleased;
  return std::move(fd_);
}

}  // namespace tlsession
