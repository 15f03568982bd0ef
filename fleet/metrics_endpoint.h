// A tiny HTTP/1.x responder for Prometheus scrapes: GET /metrics, on a
// thread of its own, one connection at a time, each bounded in size and
// time, so a slow or hostile client delays only other scrapes, never the
// TLS server beside it.
#ifndef TLSESSION_FLEET_METRICS_ENDPOINT_H_
#define TLSESSION_FLEET_METRICS_ENDPOINT_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "base/mutex.h"
#include "base/owned_fd.h"
#include "tls/socket.h"

namespace tlsession::fleet {

// Returns the whole HTTP response (status line, headers, body) to a
// request whose head (request line and headers) is |head|:
//  - "GET /metrics" or "HEAD /metrics" (a query string is ignored), HTTP/1.0
//    or 1.1: 200 with |render|'s text (no body for HEAD), in Prometheus's
//    text Content-Type;
//  - another path: 404; another method: 405 (Allow: GET, HEAD);
//  - anything that is not a request line: 400.
// Every response says "Connection: close". |render| is called only for 200.
std::string MetricsHttpResponse(absl::string_view head,
                                const std::function<std::string()>& render);

class MetricsEndpoint {
 public:
  struct Options {
    // A request head longer than this gets 400 unread.
    size_t max_request_bytes = 8192;
    // How long one connection may take, from accept to the last byte
    // written.
    absl::Duration io_timeout = absl::Seconds(2);
  };

  // Serves |listener| on a thread of its own, each reply built by |render|
  // (called on that thread; must be thread-safe with the rest of the
  // program).
  static absl::StatusOr<std::unique_ptr<MetricsEndpoint>> Start(
      TcpListener listener, std::function<std::string()> render,
      Options options);

  // Stops: see Stop().
  ~MetricsEndpoint();
  MetricsEndpoint(const MetricsEndpoint&) = delete;
  MetricsEndpoint& operator=(const MetricsEndpoint&) = delete;

  // Stops accepting, cuts the connection being served and joins the thread.
  // Idempotent.
  void Stop();

  // The port it listens on.
  uint16_t port() const { return listener_.port(); }

 private:
  MetricsEndpoint(TcpListener listener, std::function<std::string()> render,
                  Options options);
  // The thread: accepts and serves connections until Stop().
  void Run();
  // Reads one request head from |fd| and writes the response, within
  // options_.io_timeout.
  void Serve(const OwnedFd& fd);

  TcpListener listener_;
  const std::function<std::string()> render_;
  const Options options_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  Mutex mu_;
  int open_fd_ ABSL_GUARDED_BY(mu_) = -1;  // The connection being served.
};

}  // namespace tlsession::fleet

#endif  // TLSESSION_FLEET_METRICS_ENDPOINT_H_
