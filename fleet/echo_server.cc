#include "fleet/echo_server.h"

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
  std::unique_ptr<EchoServer> server(new EchoServer(
      std::move(context), std::move(listener), std::move(options)));
  EchoServer* raw = server.get();
  server->acceptor_ = std::thread([raw] { raw->AcceptLoop(); });
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
  if (acceptor_.joinable()) acceptor_.join();
  std::map<uint64_t, std::thread> threads;
  {
    MutexLock lock(&mu_);
    for (const auto& [id, fd] : open_fds_) shutdown(fd, SHUT_RDWR);
    threads.swap(threads_);
    finished_.clear();
  }
  for (auto& [id, t] : threads) t.join();
}

void EchoServer::ReapFinished() {
  std::vector<std::thread> done;
  {
    MutexLock lock(&mu_);
    for (uint64_t id : finished_) {
      auto it = threads_.find(id);
      if (it == threads_.end()) continue;
      done.push_back(std::move(it->second));
      threads_.erase(it);
    }
    finished_.clear();
  }
  for (std::thread& t : done) t.join();
}

void EchoServer::AcceptLoop() {
  while (!stop_) {
    ReapFinished();
    bool full = false;
    {
      MutexLock lock(&mu_);
      full = threads_.size() >= options_.max_connections;
    }
    if (full) {
      absl::SleepFor(absl::Milliseconds(5));
      continue;
    }
    absl::StatusOr<OwnedFd> fd = listener_.Accept(absl::Milliseconds(100));
    if (!fd.ok()) continue;
    MutexLock lock(&mu_);
    ++metrics_.accepted;
    const uint64_t id = next_id_++;
    open_fds_[id] = fd->get();
    threads_[id] = std::thread(
        [this, id, f = std::make_shared<OwnedFd>(*std::move(fd))]() mutable {
          Serve(id, std::move(*f));
        });
  }
}

void EchoServer::Serve(uint64_t id, OwnedFd fd) {
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
  }
  if (options_.log && !probe) {
    options_.log(handshake.ok()
                     ? absl::StrCat((*conn)->peer_name(), " ",
                                    (*conn)->version_name(), " ",
                                    (*conn)->session_reused() ? "resumed"
                                                              : "full")
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
  open_fds_.erase(id);
  finished_.push_back(id);
}

EchoServer::Metrics EchoServer::metrics() const {
  MutexLock lock(&mu_);
  return metrics_;
}

}  // namespace tlsession::fleet
