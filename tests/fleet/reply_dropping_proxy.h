// ReplyDroppingProxy: a TCP proxy on 127.0.0.1 in front of a real server
// (redis-server), for tests of lost replies. It forwards bytes both ways;
// when armed with DropReplyTo(marker), the next request that contains
// |marker| is forwarded to the server, the server's reply to it is read and
// discarded, and both connections of that client are closed: the command
// ran, and its client sees its connection end with no reply.
#ifndef TLSESSION_TESTS_FLEET_REPLY_DROPPING_PROXY_H_
#define TLSESSION_TESTS_FLEET_REPLY_DROPPING_PROXY_H_

#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "base/mutex.h"

namespace tlsession::testing {

class ReplyDroppingProxy {
 public:
  // Listens on a free loopback port and forwards each accepted connection
  // to 127.0.0.1:|server_port|. Errors name the system call that failed.
  static absl::StatusOr<std::unique_ptr<ReplyDroppingProxy>> Start(
      uint16_t server_port);
  // Closes every connection and joins the proxy's threads.
  ~ReplyDroppingProxy();
  ReplyDroppingProxy(const ReplyDroppingProxy&) = delete;
  ReplyDroppingProxy& operator=(const ReplyDroppingProxy&) = delete;

  // The port clients connect to.
  uint16_t port() const { return port_; }
  // Arms one drop: the reply to the next request (the bytes a client sent
  // since its last reply) that contains |marker| is discarded and that
  // client's connections closed. Replaces an armed marker not yet used.
  void DropReplyTo(std::string marker);
  // How many replies were dropped so far.
  int dropped() const;

 private:
  ReplyDroppingProxy() = default;
  // Accepts connections until stopped; each is served on its own thread.
  void AcceptLoop();
  // Forwards between |client| and a fresh connection to the server (both
  // fds owned and closed here) until either side ends, the proxy stops, or
  // a reply is dropped.
  void Serve(int client);
  // True (and disarms) when |request| contains the armed marker.
  bool TakeMarker(const std::string& request);

  uint16_t server_port_ = 0;
  uint16_t port_ = 0;
  int listen_fd_ = -1;
  int stop_pipe_[2] = {-1, -1};  // Closing [1] wakes every poll.
  std::thread acceptor_;
  mutable Mutex mu_;
  std::vector<std::thread> workers_ ABSL_GUARDED_BY(mu_);
  std::string marker_ ABSL_GUARDED_BY(mu_);
  int dropped_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace tlsession::testing

#endif  // TLSESSION_TESTS_FLEET_REPLY_DROPPING_PROXY_H_
