// Stream: a connected byte stream with blocking calls bounded by a timeout,
// whether its bytes travel in clear (TcpStream, tls/tcp_stream.h) or under
// TLS (Connection, tls/connection.h). Code above tls/ that only moves bytes
// talks through a Stream and so has one code path for both, as Go code does
// through net.Conn whether or not the connection is a tls.Conn.
//
// A Stream is used by one thread at a time, like a socket.
#ifndef TLSESSION_TLS_STREAM_H_
#define TLSESSION_TLS_STREAM_H_

#include <cstddef>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace tlsession {

class Stream {
 public:
  virtual ~Stream() = default;

  // Reads up to |len| bytes, waiting at most the timeout for the first.
  // Returns 0 only at a clean end of the peer's side (TCP: its FIN; TLS: its
  // close_notify); DeadlineExceeded when nothing came in time.
  virtual absl::StatusOr<size_t> Read(void* buf, size_t len) = 0;

  // Writes all of |data|, each wait bounded by the timeout.
  virtual absl::Status Write(absl::string_view data) = 0;

  // True when Read() would return without waiting for the network: input
  // already received (the socket's buffer; for TLS, decrypted records), or
  // the end of the stream, or an error that Read() reports at once. Never
  // waits.
  virtual bool HasBufferedInput() = 0;

  // Ends the stream cleanly: tells the peer that nothing more comes (TCP:
  // FIN; TLS: close_notify), then waits, up to the timeout, for the peer's
  // end, discarding what arrives first. Idempotent.
  virtual absl::Status Shutdown() = 0;

  // The bound on each blocking call.
  virtual void set_timeout(absl::Duration timeout) = 0;

  // The socket, to poll() alongside other descriptors; -1 when there is
  // none. A readable socket is not all: a TLS stream may hold input the
  // socket no longer shows (see HasBufferedInput()).
  virtual int fd() const = 0;

  // "host:port" of the peer, for messages.
  virtual const std::string& peer_name() const = 0;
};

}  // namespace tlsession

#endif  // TLSESSION_TLS_STREAM_H_
