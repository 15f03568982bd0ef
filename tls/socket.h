// Plain TCP sockets: a client connect with a timeout, and a listener, on
// OwnedFd (base/owned_fd.h). TLS lives in connection.h; this file knows none.
#ifndef TLSESSION_TLS_SOCKET_H_
#define TLSESSION_TLS_SOCKET_H_

#include <cstdint>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "base/owned_fd.h"

namespace tlsession {

// An address and port as text, e.g. "127.0.0.1" and 2121.
struct Endpoint {
  std::string address;
  uint16_t port = 0;
};

// "host:port", an IPv6 address in brackets ("[::1]:21"), as in URLs.
std::string HostPort(absl::string_view host, uint16_t port);

// Resolves |host| and connects to |port| over TCP within |timeout|, trying
// each resolved address in turn. The socket has TCP_NODELAY set (small TLS
// records must not wait for Nagle) and is left in blocking mode.
absl::StatusOr<OwnedFd> ConnectTcp(absl::string_view host, uint16_t port,
                                   absl::Duration timeout);

// Waits until |fd| is readable (|for_write| false) or writable, up to
// |deadline|. DeadlineExceeded on timeout.
absl::Status WaitForFd(int fd, bool for_write, absl::Time deadline);

// The local and the remote end of a connected socket.
absl::StatusOr<Endpoint> LocalEndpoint(int fd);
absl::StatusOr<Endpoint> PeerEndpoint(int fd);

// A listening TCP socket.
class TcpListener {
 public:
  // Listens on |address| (an IPv4 or IPv6 literal) and |port| (0 picks a free
  // port; see port()).
  static absl::StatusOr<TcpListener> Listen(absl::string_view address,
                                            uint16_t port, int backlog = 64);

  // Accepts one connection, waiting at most |timeout|. The accepted socket
  // has TCP_NODELAY set.
  absl::StatusOr<OwnedFd> Accept(absl::Duration timeout);

  uint16_t port() const { return port_; }
  int fd() const { return fd_.get(); }

 private:
  TcpListener(OwnedFd fd, uint16_t port) : fd_(std::move(fd)), port_(port) {}
  OwnedFd fd_;
  uint16_t port_ = 0;
};

// Sets or clears O_NONBLOCK.
absl::Status SetNonBlocking(int fd, bool on);

}  // namespace tlsession

#endif  // TLSESSION_TLS_SOCKET_H_
