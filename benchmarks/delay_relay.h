// DelayRelay: a TCP relay on 127.0.0.1 that gives loopback a round-trip
// time, for benchmarks of what a round trip costs (the kernel's netem is not
// available on these machines). Each byte is forwarded half the RTT after it
// arrived, in each direction; and a new connection's first client bytes are
// read only one RTT after it was accepted, standing for the TCP handshake's
// round trip, which a relay in user space cannot delay (the kernel completes
// it at once). So a client connecting through the relay waits as it would
// for a server RTT away: 1 RTT for TCP, then each TLS or request round trip.
#ifndef TLSESSION_BENCHMARKS_DELAY_RELAY_H_
#define TLSESSION_BENCHMARKS_DELAY_RELAY_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "tls/socket.h"

namespace tlsession::bench {

class DelayRelay {
 public:
  // Listens on a free loopback port and relays each connection to
  // 127.0.0.1:|target_port| with round-trip time |rtt|, on one thread.
  static absl::StatusOr<std::unique_ptr<DelayRelay>> Start(uint16_t target_port,
                                                           absl::Duration rtt);
  // Stops the thread and closes every connection.
  ~DelayRelay();
  DelayRelay(const DelayRelay&) = delete;
  DelayRelay& operator=(const DelayRelay&) = delete;

  // The port clients connect to.
  uint16_t port() const { return listener_.port(); }

 private:
  DelayRelay(TcpListener listener, uint16_t target_port, absl::Duration rtt);
  // The relay loop (delay_relay.cc): accepts, reads, forwards when due.
  void Run();

  TcpListener listener_;
  const uint16_t target_port_;
  const absl::Duration rtt_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace tlsession::bench

#endif  // TLSESSION_BENCHMARKS_DELAY_RELAY_H_
