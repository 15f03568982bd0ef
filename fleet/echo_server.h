// EchoServer: the TLS server behind //tools:tls_echo_server. A fixed set of
// worker threads accept connections on one listener (each worker accepts,
// then serves that connection to its end: handshake, then every byte
// received is written back, so lines are echoed as they come), and counts
// what it served. No thread is made per connection and no accepted socket
// changes threads, so a handshake's latency is the handshake's. `openssl
// s_client` and the library's client both talk to it.
#ifndef TLSESSION_FLEET_ECHO_SERVER_H_
#define TLSESSION_FLEET_ECHO_SERVER_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "base/mutex.h"
#include "tls/connection.h"
#include "tls/context.h"
#include "tls/socket.h"

namespace tlsession::fleet {

class EchoServer {
 public:
  struct Options {
    // Worker threads: connections served at once; more wait in the listen
    // backlog.
    size_t workers = 32;
    // Each blocking operation of a connection (handshake, read, write).
    absl::Duration io_timeout = absl::Seconds(30);
    // Called with one line per connection ("127.0.0.1:41234 TLSv1.3
    // resumed"), from connection threads; may be empty.
    std::function<void(const std::string&)> log;
  };

  struct Metrics {
    uint64_t accepted = 0;
    uint64_t handshakes = 0;  // Completed handshakes...
    uint64_t resumed = 0;     // ...of which resumed.
    uint64_t early_data = 0;  // ...of which accepted 0-RTT early data.
    uint64_t handshake_failures = 0;
    // Connections closed before sending a byte (TCP health checks, port
    // probes): not handshake failures.
    uint64_t probes = 0;
  };

  // Serves |listener| with |context| (a server Context) on a thread.
  static absl::StatusOr<std::unique_ptr<EchoServer>> Start(
      std::shared_ptr<const Context> context, TcpListener listener,
      Options options);

  // Stops: see Stop().
  ~EchoServer();
  EchoServer(const EchoServer&) = delete;
  EchoServer& operator=(const EchoServer&) = delete;

  // Stops accepting, shuts every open connection's socket down and joins
  // every thread. Idempotent.
  void Stop();

  // The port it listens on.
  uint16_t port() const { return listener_.port(); }
  // A copy of the counters.
  Metrics metrics() const;

 private:
  // Does not start the workers: Start() does.
  EchoServer(std::shared_ptr<const Context> context, TcpListener listener,
             Options options);
  // A worker: accepts and serves connections until Stop().
  void Work(size_t worker);
  // Runs one connection to its end on worker |worker|.
  void Serve(size_t worker, OwnedFd fd);

  const std::shared_ptr<const Context> context_;
  TcpListener listener_;
  const Options options_;
  std::atomic<bool> stop_{false};
  std::vector<std::thread> workers_;

  mutable Mutex mu_;
  Metrics metrics_ ABSL_GUARDED_BY(mu_);
  // Each worker's open connection's socket (-1: none), to shut it down on
  // Stop().
  std::vector<int> open_fds_ ABSL_GUARDED_BY(mu_);
};

}  // namespace tlsession::fleet

#endif  // TLSESSION_FLEET_ECHO_SERVER_H_
