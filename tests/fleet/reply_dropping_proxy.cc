#include "tests/fleet/reply_dropping_proxy.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace tlsession::testing {
namespace {

absl::Status Errno(absl::string_view what) {
  return absl::InternalError(
      absl::StrCat("reply-dropping proxy: ", what, ": ", strerror(errno)));
}

// A loopback address on |port|.
sockaddr_in Loopback(uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  return a;
}

// Writes all of |data| to |fd| (blocking); false when the peer is gone.
bool WriteAll(int fd, const char* data, size_t size) {
  while (size > 0) {
    const ssize_t n = send(fd, data, size, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

}  // namespace

absl::StatusOr<std::unique_ptr<ReplyDroppingProxy>> ReplyDroppingProxy::Start(
    uint16_t server_port) {
  std::unique_ptr<ReplyDroppingProxy> p(new ReplyDroppingProxy());
  p->server_port_ = server_port;
  if (pipe(p->stop_pipe_) != 0) return Errno("pipe");
  p->listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (p->listen_fd_ < 0) return Errno("socket");
  sockaddr_in a = Loopback(0);  // A free port, chosen by the kernel.
  if (bind(p->listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
    return Errno("bind");
  }
  if (listen(p->listen_fd_, 64) != 0) return Errno("listen");
  socklen_t len = sizeof(a);
  if (getsockname(p->listen_fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    return Errno("getsockname");
  }
  p->port_ = ntohs(a.sin_port);
  p->acceptor_ = std::thread([raw = p.get()] { raw->AcceptLoop(); });
  return p;
}

ReplyDroppingProxy::~ReplyDroppingProxy() {
  if (stop_pipe_[1] >= 0) close(stop_pipe_[1]);  // Wakes every poll.
  if (acceptor_.joinable()) acceptor_.join();
  std::vector<std::thread> workers;
  {
    MutexLock lock(&mu_);
    workers.swap(workers_);
  }
  for (std::thread& t : workers) t.join();
  if (listen_fd_ >= 0) close(listen_fd_);
  if (stop_pipe_[0] >= 0) close(stop_pipe_[0]);
}

void ReplyDroppingProxy::DropReplyTo(std::string marker) {
  MutexLock lock(&mu_);
  marker_ = std::move(marker);
}

int ReplyDroppingProxy::dropped() const {
  MutexLock lock(&mu_);
  return dropped_;
}

bool ReplyDroppingProxy::TakeMarker(const std::string& request) {
  MutexLock lock(&mu_);
  if (marker_.empty() || !absl::StrContains(request, marker_)) return false;
  marker_.clear();
  return true;
}

void ReplyDroppingProxy::AcceptLoop() {
  for (;;) {
    pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {stop_pipe_[0], POLLIN, 0}};
    if (poll(fds, 2, -1) < 0 && errno != EINTR) return;
    if (fds[1].revents != 0) return;  // Stopping.
    if (fds[0].revents == 0) continue;
    const int client = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0) continue;
    MutexLock lock(&mu_);
    workers_.emplace_back([this, client] { Serve(client); });
  }
}

void ReplyDroppingProxy::Serve(int client) {
  const int server = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a = Loopback(server_port_);
  if (server < 0 ||
      connect(server, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
    if (server >= 0) close(server);
    close(client);
    return;
  }
  std::string request;  // Sent since the last reply.
  bool dropping = false;
  char buf[16384];
  for (;;) {
    pollfd fds[3] = {
        {client, POLLIN, 0}, {server, POLLIN, 0}, {stop_pipe_[0], POLLIN, 0}};
    if (poll(fds, 3, -1) < 0 && errno != EINTR) break;
    if (fds[2].revents != 0) break;
    if (fds[0].revents != 0) {
      const ssize_t n = recv(client, buf, sizeof(buf), 0);
      if (n <= 0) break;
      request.append(buf, static_cast<size_t>(n));
      if (!dropping && TakeMarker(request)) dropping = true;
      if (!WriteAll(server, buf, static_cast<size_t>(n))) break;
    }
    if (fds[1].revents != 0) {
      const ssize_t n = recv(server, buf, sizeof(buf), 0);
      if (n <= 0) break;
      if (dropping) {  // The command ran; its reply is lost.
        MutexLock lock(&mu_);
        ++dropped_;
        break;
      }
      request.clear();
      if (!WriteAll(client, buf, static_cast<size_t>(n))) break;
    }
  }
  close(server);
  close(client);
}

}  // namespace tlsession::testing
