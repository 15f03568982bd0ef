// TcpStream: a Stream over a connected TCP socket, in clear. It is what an
// FTP control connection is before AUTH TLS, and what plaintext FTP uses
// throughout; Release() hands the socket on to a TLS Connection.
#ifndef TLSESSION_TLS_TCP_STREAM_H_
#define TLSESSION_TLS_TCP_STREAM_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "tls/socket.h"
#include "tls/stream.h"

namespace tlsession {

class TcpStream : public Stream {
 public:
  // Wraps the connected socket |fd| (ownership taken; made non-blocking, so
  // that every wait is a poll() with a deadline). |host| names the peer in
  // messages ("" for its address). Fails when |fd| is not a connected
  // IPv4 or IPv6 socket.
  static absl::StatusOr<std::unique_ptr<TcpStream>> Create(
      OwnedFd fd, absl::string_view host, absl::Duration timeout);

  // Connects to |host|:|port| within |timeout| (ConnectTcp) and wraps the
  // socket; |timeout| then bounds each blocking call.
  static absl::StatusOr<std::unique_ptr<TcpStream>> Connect(
      absl::string_view host, uint16_t port, absl::Duration timeout);

  ~TcpStream() override = default;
  TcpStream(const TcpStream&) = delete;
  TcpStream& operator=(const TcpStream&) = delete;

  absl::StatusOr<size_t> Read(void* buf, size_t len) override;
  absl::Status Write(absl::string_view data) override;
  // True when the socket is readable (data, FIN or an error are waiting).
  bool HasBufferedInput() override;
  // shutdown(SHUT_WR), then reads (and drops) until the peer's FIN.
  absl::Status Shutdown() override;
  void set_timeout(absl::Duration timeout) override { timeout_ = timeout; }
  int fd() const override { return fd_.get(); }
  const std::string& peer_name() const override { return peer_name_; }

  // The two ends of the connection.
  const Endpoint& peer() const { return peer_; }
  const Endpoint& local() const { return local_; }

  // Gives up the socket (to start TLS on it). The stream is closed then:
  // every call fails.
  OwnedFd Release();

 private:
  // Open; after Shutdown() (reads only); after Release() (nothing).
  enum class State { kOpen, kShutDown, kReleased };

  // See Create().
  TcpStream(OwnedFd fd, Endpoint peer, Endpoint local, std::string peer_name,
            absl::Duration timeout);
  // FailedPrecondition unless the stream is open for |what|.
  absl::Status CheckOpen(absl::string_view what) const;
  // Read(), waiting at most until |deadline|.
  absl::StatusOr<size_t> ReadBefore(void* buf, size_t len, absl::Time deadline);
  // Waits until the socket is readable (or writable) before |deadline|.
  absl::Status Wait(bool for_write, absl::Time deadline,
                    absl::string_view what) const;

  OwnedFd fd_;
  const Endpoint peer_;
  const Endpoint local_;
  const std::string peer_name_;
  absl::Duration timeout_;
  State state_ = State::kOpen;
};

}  // namespace tlsession

#endif  // TLSESSION_TLS_TCP_STREAM_H_
