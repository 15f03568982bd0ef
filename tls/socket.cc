#include "tls/socket.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace tlsession {
namespace {

std::string Errno(int err) { return strerror(err); }

void SetNoDelay(int fd) {
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

absl::StatusOr<Endpoint> ToEndpoint(const sockaddr_storage& ss) {
  char buf[INET6_ADDRSTRLEN] = {0};
  Endpoint out;
  if (ss.ss_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(&ss);
    inet_ntop(AF_INET, &in->sin_addr, buf, sizeof(buf));
    out.port = ntohs(in->sin_port);
  } else if (ss.ss_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&ss);
    inet_ntop(AF_INET6, &in6->sin6_addr, buf, sizeof(buf));
    out.port = ntohs(in6->sin6_port);
  } else {
    return absl::InvalidArgumentError("socket is not IPv4 or IPv6");
  }
  out.address = buf;
  return out;
}

}  // namespace

absl::Status SetNonBlocking(int fd, bool on) {
  int flags = fcntl(fd, F_GETFL);
  if (flags < 0)
    return absl::InternalError(absl::StrCat("fcntl: ", Errno(errno)));
  flags = on ? (flags | O_NONBLOCK) : (flags & ~O_NONBLOCK);
  if (fcntl(fd, F_SETFL, flags) < 0) {
    return absl::InternalError(absl::StrCat("fcntl: ", Errno(errno)));
  }
  return absl::OkStatus();
}

absl::Status WaitForFd(int fd, bool for_write, absl::Time deadline) {
  for (;;) {
    absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) {
      return absl::DeadlineExceededError("timed out");
    }
    pollfd p{fd, static_cast<short>(for_write ? POLLOUT : POLLIN), 0};
    int ms = static_cast<int>(std::min<int64_t>(
        absl::ToInt64Milliseconds(absl::Ceil(left, absl::Milliseconds(1))),
        1 << 30));
    int r = poll(&p, 1, ms);
    if (r > 0) return absl::OkStatus();  // Ready, or an error the I/O reports.
    if (r < 0 && errno != EINTR) {
      return absl::InternalError(absl::StrCat("poll: ", Errno(errno)));
    }
  }
}

absl::StatusOr<OwnedFd> ConnectTcp(absl::string_view host, uint16_t port,
                                   absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  std::string host_str(host);
  std::string port_str = absl::StrCat(port);
  int gai = getaddrinfo(host_str.c_str(), port_str.c_str(), &hints, &res);
  if (gai != 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot resolve host '", host, "': ", gai_strerror(gai)));
  }
  std::string last_error = "no address";
  for (addrinfo* ai = res; ai != nullptr; ai = ai->ai_next) {
    OwnedFd fd(
        socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol));
    if (!fd.valid()) {
      last_error = Errno(errno);
      continue;
    }
    SetNoDelay(fd.get());
    if (!SetNonBlocking(fd.get(), true).ok()) continue;
    int r = connect(fd.get(), ai->ai_addr, ai->ai_addrlen);
    if (r != 0 && errno != EINPROGRESS) {
      last_error = Errno(errno);
      continue;
    }
    if (r != 0) {
      absl::Status waited = WaitForFd(fd.get(), /*for_write=*/true, deadline);
      if (!waited.ok()) {
        last_error = "connect timed out";
        break;
      }
      int err = 0;
      socklen_t len = sizeof(err);
      getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &len);
      if (err != 0) {
        last_error = Errno(err);
        continue;
      }
    }
    freeaddrinfo(res);
    if (absl::Status s = SetNonBlocking(fd.get(), false); !s.ok()) return s;
    return fd;
  }
  freeaddrinfo(res);
  return absl::UnavailableError(absl::StrCat(
      "cannot connect to ", HostPort(host, port), ": ", last_error));
}

std::string HostPort(absl::string_view host, uint16_t port) {
  if (host.find(':') != absl::string_view::npos) {
    return absl::StrCat("[", host, "]:", port);
  }
  return absl::StrCat(host, ":", port);
}

static absl::StatusOr<Endpoint> NameOf(int fd, bool peer) {
  sockaddr_storage ss{};
  socklen_t len = sizeof(ss);
  int r = peer ? getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &len)
               : getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
  if (r != 0) {
    return absl::InternalError(
        absl::StrCat(peer ? "getpeername: " : "getsockname: ", Errno(errno)));
  }
  return ToEndpoint(ss);
}

absl::StatusOr<Endpoint> LocalEndpoint(int fd) { return NameOf(fd, false); }
absl::StatusOr<Endpoint> PeerEndpoint(int fd) { return NameOf(fd, true); }

absl::StatusOr<TcpListener> TcpListener::Listen(absl::string_view address,
                                                uint16_t port, int backlog) {
  sockaddr_storage ss{};
  socklen_t len = 0;
  std::string addr(address);
  auto* in = reinterpret_cast<sockaddr_in*>(&ss);
  auto* in6 = reinterpret_cast<sockaddr_in6*>(&ss);
  if (inet_pton(AF_INET, addr.c_str(), &in->sin_addr) == 1) {
    in->sin_family = AF_INET;
    in->sin_port = htons(port);
    len = sizeof(sockaddr_in);
  } else if (inet_pton(AF_INET6, addr.c_str(), &in6->sin6_addr) == 1) {
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(port);
    len = sizeof(sockaddr_in6);
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("not an IP address: '", address, "'"));
  }
  OwnedFd fd(socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) {
    return absl::InternalError(absl::StrCat("socket: ", Errno(errno)));
  }
  int one = 1;
  setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (bind(fd.get(), reinterpret_cast<sockaddr*>(&ss), len) != 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot bind ", address, ":", port, ": ", Errno(errno)));
  }
  if (listen(fd.get(), backlog) != 0) {
    return absl::InternalError(absl::StrCat("listen: ", Errno(errno)));
  }
  absl::StatusOr<Endpoint> local = LocalEndpoint(fd.get());
  if (!local.ok()) return local.status();
  return TcpListener(std::move(fd), local->port);
}

absl::StatusOr<OwnedFd> TcpListener::Accept(absl::Duration timeout) {
  absl::Status waited =
      WaitForFd(fd_.get(), /*for_write=*/false, absl::Now() + timeout);
  if (!waited.ok()) {
    return absl::DeadlineExceededError(
        absl::StrCat("no connection arrived on port ", port_, " within ",
                     absl::FormatDuration(timeout)));
  }
  OwnedFd conn(accept4(fd_.get(), nullptr, nullptr, SOCK_CLOEXEC));
  if (!conn.valid()) {
    return absl::UnavailableError(absl::StrCat("accept: ", Errno(errno)));
  }
  SetNoDelay(conn.get());
  return conn;
}

}  // namespace tlsession
