#include "testbed/tls_server.h"

#include <chrono>

#include "absl/time/clock.h"
#include "testbed/poll.h"

namespace tlsession::testing {

absl::Status TestTlsServer::Echo(Connection& conn) {
  char buf[16384];
  for (;;) {
    absl::StatusOr<size_t> n = conn.Read(buf, sizeof(buf));
    if (!n.ok()) return n.status();
    if (*n == 0) break;
    if (absl::Status s = conn.Write(absl::string_view(buf, *n)); !s.ok()) {
      return s;
    }
  }
  return conn.Shutdown();
}

absl::StatusOr<std::unique_ptr<TestTlsServer>> TestTlsServer::Start(
    std::shared_ptr<const Context> context, Handler handler) {
  absl::StatusOr<TcpListener> listener = TcpListener::Listen("127.0.0.1", 0);
  if (!listener.ok()) return listener.status();
  std::unique_ptr<TestTlsServer> server(new TestTlsServer(
      std::move(context), std::move(handler), std::move(*listener)));
  server->thread_ = std::thread([s = server.get()] { s->Run(); });
  return server;
}

TestTlsServer::TestTlsServer(std::shared_ptr<const Context> context,
                             Handler handler, TcpListener listener)
    : context_(std::move(context)),
      handler_(std::move(handler)),
      listener_(std::move(listener)) {}

TestTlsServer::~TestTlsServer() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

void TestTlsServer::Run() {
  while (!stop_) {
    absl::StatusOr<OwnedFd> fd = listener_.Accept(absl::Milliseconds(50));
    if (!fd.ok()) continue;
    ServedConnection record;
    auto conn = Connection::Create(context_, std::move(*fd), "");
    if (!conn.ok()) {
      record.handshake = conn.status();
    } else {
      (*conn)->set_timeout(absl::Seconds(10));
      record.handshake = (*conn)->Handshake();
      if (record.handshake.ok()) {
        record.session_reused = (*conn)->session_reused();
        record.server_name = (*conn)->server_name();
        record.alpn = (*conn)->alpn_protocol();
        record.version = (*conn)->version_name();
        record.client_certificate = (*conn)->peer_certificate() != nullptr;
        record.handler = handler_(**conn);
      }
    }
    std::lock_guard<std::mutex> lock(mu_);
    served_.push_back(std::move(record));
  }
}

std::vector<ServedConnection> TestTlsServer::served() const {
  std::lock_guard<std::mutex> lock(mu_);
  return served_;
}

bool TestTlsServer::WaitForServed(size_t n) const {
  return PollUntil(
      [&] {
        std::lock_guard<std::mutex> lock(mu_);
        return served_.size() >= n;
      },
      absl::Now() + Scaled(absl::Seconds(10)));
}

}  // namespace tlsession::testing
