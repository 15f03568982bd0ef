#include "fleet/echo_server.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"

namespace tlsession::fleet {

absl::StatusOr<std::unique_ptr<EchoServer>> EchoServer::Start(
    std::shared_ptr<const Context> context, TcpListener listener,
    Options options) {
  if (context == nullptr || context->role() != Role::kServer) {
    return absl::InvalidArgumentError("EchoServer needs a server Context");
  }
  if (options.workers == 0) {
    return absl::InvalidArgumentError("EchoServer needs at least one worker");
  }
  // Workers block in accept(2) on the listener: the kernel wakes one of
  // them per connection (polling workers would all wake: a thundering
  // herd). Stop() shuts the listener down to wake them all.
  if (absl::Status s = SetNonBlocking(listener.fd(), false); !s.ok()) return s;
  std::unique_ptr<EchoServer> server(new EchoServer(
      std::move(context), std::move(listener), std::move(options)));
  {
    MutexLock lock(&server->mu_);
    server->open_fds_.assign(server->options_.workers, -1);
  }
  EchoServer* raw = server.get();
  for (size_t i = 0; i < server->options_.workers; ++i) {
    server->workers_.emplace_back([raw, i] { raw->Work(i); });
  }
  return server;
}

EchoServer::EchoServer(std::shared_ptr<const Context> context,
                       TcpListener listener, Options options)
    : context_(std::move(context)),
      listener_(std::move(listener)),
      options_(std::move(options)) {}

EchoServer::~EchoServer() { Stop(); }

void EchoServer::Stop() {
  if (stop_.exchange(true)) return;
  // Wakes every worker blocked in accept(2) (it fails with EINVAL).
  shutdown(listener_.fd(), SHUT_RDWR);
  {
    MutexLock lock(&mu_);
    for (int fd : open_fds_) {
      if (fd >= 0) shutdown(fd, SHUT_RDWR);
    }
  }
  for (std::thread& t : workers_) t.join();
}

void EchoServer::Work(size_t worker) {
  while (!stop_) {
    OwnedFd fd(accept4(listener_.fd(), nullptr, nullptr, SOCK_CLOEXEC));
    if (!fd.valid()) {
      // Stopping, or a transient error (a connection reset before accept,
      // out of descriptors): never spin.
      if (!stop_ && errno != EINTR && errno != ECONNABORTED) {
        absl::SleepFor(absl::Milliseconds(10));
      }
      continue;
    }
    const int one = 1;  // Small TLS records must not wait for Nagle.
    setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    {
      MutexLock lock(&mu_);
      ++metrics_.accepted;
      if (stop_) continue;  // Stop() already shut the others down.
      open_fds_[worker] = fd.get();
    }
    Serve(worker, std::move(fd));
  }
}

void EchoServer::Serve(size_t worker, OwnedFd fd) {
  absl::StatusOr<std::unique_ptr<Connection>> conn =
      Connection::Create(context_, std::move(fd), "client");
  absl::Status handshake = conn.status();
  if (conn.ok()) {
    (*conn)->set_timeout(options_.io_timeout);
    handshake = (*conn)->Handshake();
  }
  const bool probe =
      !handshake.ok() && conn.ok() && (*conn)->wire().bytes_read == 0;
  {
    MutexLock lock(&mu_);
    if (probe) {
      ++metrics_.probes;
    } else {
      ++(handshake.ok() ? metrics_.handshakes : metrics_.handshake_failures);
    }
    if (handshake.ok() && (*conn)->session_reused()) ++metrics_.resumed;
    if (handshake.ok() && (*conn)->early_data_accepted()) ++metrics_.early_data;
  }
  if (options_.log && !probe) {
    options_.log(
        handshake.ok()
            ? absl::StrCat((*conn)->peer_name(), " ", (*conn)->version_name(),
                           " ", (*conn)->session_reused() ? "resumed" : "full",
                           (*conn)->early_data_accepted() ? " 0-RTT" : "")
            : absl::StrCat("handshake failed: ", handshake.message()));
  }
  if (handshake.ok()) {
    char buf[16384];
    for (;;) {
      absl::StatusOr<size_t> n = (*conn)->Read(buf, sizeof(buf));
      if (!n.ok() || *n == 0) break;  // Error, or the client's close_notify.
      if (!(*conn)->Write(absl::string_view(buf, *n)).ok()) break;
    }
    (void)(*conn)->Shutdown();
  }
  MutexLock lock(&mu_);
  // The socket closes with the Connection (destroyed below, after the lock
  // is released); forget it first so Stop() never shuts a reused number.
  open_fds_[worker] = -1;
}

EchoServer::Metrics EchoServer::metrics() const {
  MutexLock lock(&mu_);
  return metrics_;
}

}  // namespace tlsession::fleet
