// A TLS server on 127.0.0.1 for tests, built on the library's own server
// Context and Connection. It serves connections one at a time on a thread:
// handshake, then the handler (by default: echo until close_notify, then
// close_notify back), and records what each connection negotiated.
#ifndef TLSESSION_TESTBED_TLS_SERVER_H_
#define TLSESSION_TESTBED_TLS_SERVER_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "tls/connection.h"
#include "tls/context.h"
#include "tls/socket.h"

namespace tlsession::testing {

// What the server saw of one connection.
struct ServedConnection {
  absl::Status handshake;  // Handshake result.
  absl::Status handler;    // Handler result.
  bool session_reused = false;
  std::string server_name;  // SNI received.
  std::string alpn;
  std::string version;
  bool client_certificate = false;
};

class TestTlsServer {
 public:
  using Handler = std::function<absl::Status(Connection&)>;

  // Echoes everything until the client's close_notify, then shuts down.
  static absl::Status Echo(Connection& conn);

  static absl::StatusOr<std::unique_ptr<TestTlsServer>> Start(
      std::shared_ptr<const Context> context, Handler handler = Echo);
  ~TestTlsServer();

  uint16_t port() const { return listener_.port(); }
  // A copy of the records so far.
  std::vector<ServedConnection> served() const;
  // Waits until |n| connections have been fully served; false when they
  // were not within Scaled(10 s).
  bool WaitForServed(size_t n) const;

 private:
  TestTlsServer(std::shared_ptr<const Context> context, Handler handler,
                TcpListener listener);
  void Run();

  std::shared_ptr<const Context> context_;
  Handler handler_;
  TcpListener listener_;
  std::atomic<bool> stop_{false};
  mutable std::mutex mu_;
  std::vector<ServedConnection> served_;  // Guarded by mu_.
  std::thread thread_;
};

}  // namespace tlsession::testing

#endif  // TLSESSION_TESTBED_TLS_SERVER_H_
