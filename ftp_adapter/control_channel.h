// ControlChannel: the control connection of one FtpsClient: command lines
// out and replies in (RFC 959 section 4.2), in clear until AUTH TLS or under
// TLS from the first byte (RFC 4217), and the lease on the control
// connection's TLS session that the data connections offer. Also the
// errors that carry a server's reply, which the data channel and the client
// make too.
//
// Private to //ftp_adapter:ftps_client (a header of its srcs): callers use
// FtpsClient (ftps_client.h). Used by one thread at a time, like the
// FtpsClient that owns it.
#ifndef TLSESSION_FTP_ADAPTER_CONTROL_CHANNEL_H_
#define TLSESSION_FTP_ADAPTER_CONTROL_CHANNEL_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "ftp_adapter/error_category.h"
#include "ftp_adapter/ftps_client.h"
#include "ftp_adapter/reply.h"
#include "tls/connection.h"
#include "tls/socket.h"
#include "tls/tcp_stream.h"

namespace tlsession::ftp {

// Returns an error saying that the server refused |what| with |reply|:
// Unavailable for a transient (4xx) reply, FailedPrecondition otherwise,
// its message quoting the reply (escaped), tagged with |category| and
// carrying the reply code (see RefusalCode and IsServerRefusal).
absl::Status ServerRefused(absl::string_view what, const Reply& reply,
                           ErrorCategory category = ErrorCategory::kRefused);

// Returns the reply code that ServerRefused put into |status|, or nullopt
// when |status| carries none (a network, TLS or local failure).
std::optional<int> RefusalCode(const absl::Status& status);

// Returns |status| tagged as a failure of the network or of TLS
// (ErrorCategory::kConnection); OK stays OK.
absl::Status NetworkError(absl::Status status);

// Returns |status| tagged as the server breaking the protocol
// (ErrorCategory::kProtocol); OK stays OK.
absl::Status ProtocolError(absl::Status status);

// Returns |line| as traces and errors show it: "PASS ****" for a PASS
// command, else |line| with its argument through RedactUrl (base/redact_url.h),
// so that no URL password can show even if one were ever sent.
std::string MaskCommand(absl::string_view line);

class ControlChannel {
 public:
  // Makes the channel over |plain|, a TCP connection to |host| still in
  // clear, and takes ownership of it. |options| stays the caller's and must
  // outlive the channel; its tls_context, timeout, ticket_wait, trace and
  // warn are read here.
  ControlChannel(std::string host, const ClientOptions& options,
                 std::unique_ptr<TcpStream> plain);
  ~ControlChannel();
  ControlChannel(const ControlChannel&) = delete;
  ControlChannel& operator=(const ControlChannel&) = delete;

  // Runs the TLS handshake over the connection in clear (options.tls_context,
  // |host| verified) and from then on speaks TLS. Returns a network error
  // when the handshake fails. Call at most once.
  absl::Status Secure();

  // Leases, on its first call under TLS, the session the data connections
  // will offer (under TLS 1.3 waiting up to options.ticket_wait for the
  // server's ticket); later calls do nothing. Called before the first data
  // connection, not after the handshake, so that a run without data
  // connections leaves its one ticket to the session cache. A missing lease
  // is only traced.
  void LeaseForData();

  // Sends |line| followed by CRLF, records it in commands_sent() and traces
  // it (both with the password masked), and wipes the buffer that held it.
  // Returns a kUsage error, sending nothing, when |line| holds a CR or LF,
  // or a network error when the write fails.
  absl::Status SendLine(absl::string_view line);

  // Reads one complete reply (single- or multi-line, each line traced,
  // escaped), all of it within one options.timeout. Returns a network error
  // on a timeout or a closed connection, a protocol error on a line longer
  // than 8 KiB, a reply of more than 1,000 lines or a malformed one.
  absl::StatusOr<Reply> ReadReply();

  // Sends |line| and returns its reply, whatever its code. Fails at once,
  // sending nothing, after a failure that left replies unmatched to
  // commands (see MarkOutOfStep).
  absl::StatusOr<Reply> Command(absl::string_view line);

  // Like Command, but returns a refusal (ServerRefused, the command masked)
  // unless the reply is a completion (2xx) or, with |allow_intermediate|,
  // an intermediate reply (3xx).
  absl::StatusOr<Reply> Expect(absl::string_view line,
                               bool allow_intermediate = false);

  // Returns true when a reply line is buffered here or the stream holds
  // input it already read off the socket (which poll() on fd() would miss).
  bool HasInput();

  // Returns true when bytes are buffered that no reply has consumed yet.
  bool HasUnreadBytes() const { return !inbuf_.empty(); }

  // Records that a reply owed could not be read: from now on Command fails
  // at once, since every later reply would answer the wrong command.
  void MarkOutOfStep() { in_step_ = false; }
  // Returns false once MarkOutOfStep was called.
  bool in_step() const { return in_step_; }

  // Ends the control connection after QUIT: when |goodbye| (the server
  // replied 221) and the channel is under TLS, first tells the connection
  // that the protocol ended cleanly, so its sessions may stay cached
  // whatever the TCP close looks like; then shuts the stream down (under
  // TLS, close_notify both ways). Returns the shutdown's status.
  absl::Status Close(bool goodbye);

  // Offers |session|, a ticket a data connection received while resuming
  // the lease, to the control connection for the session cache, once per
  // control connection and only under TLS 1.3: a resumed control connection
  // gets one ticket, which the lease takes, so without this every other run
  // would start with a full handshake. The ticket reaches the cache only if
  // the control connection ends cleanly.
  void KeepDataTicket(const Session& session);

  // Passes |line|, escaped, to options.trace (when set).
  void Trace(absl::string_view line);
  // Passes |line|, escaped, to options.warn, or to Trace with a "WARNING: "
  // prefix when warn is not set.
  void Warn(absl::string_view line);

  // The host name as given (verified in certificates, named in messages).
  const std::string& host() const { return host_; }
  // The TLS connection, owned by the channel; null before Secure() and in
  // plaintext.
  Connection* tls() const { return tls_.get(); }
  // The socket of the stream in use (for poll()); owned by the channel.
  int fd() const { return stream_->fd(); }
  // The server's and our ends of the control connection.
  const Endpoint& peer() const { return peer_; }
  const Endpoint& local() const { return local_; }
  // The session data connections offer; an empty lease before
  // LeaseForData(), in plaintext, or when the server granted no resumable
  // session.
  const SessionLease& lease() const { return lease_; }
  // Every command sent, in order, the password masked.
  const std::vector<std::string>& commands_sent() const {
    return commands_sent_;
  }

 private:
  // Reads one line of at most 8 KiB, CRLF stripped, by reply_deadline_.
  absl::StatusOr<std::string> ReadLine();

  const std::string host_;
  const ClientOptions& options_;
  std::unique_ptr<TcpStream> plain_;  // Before TLS, or plaintext.
  std::unique_ptr<Connection> tls_;   // Once secured.
  Stream* stream_ = nullptr;          // The one of the two in use.
  std::string inbuf_;                 // Unparsed bytes.
  Endpoint peer_;
  Endpoint local_;
  SessionLease lease_;
  bool in_step_ = true;
  bool leased_ = false;            // LeaseForData did its once.
  bool data_ticket_kept_ = false;  // KeepDataTicket did its once.
  absl::Time reply_deadline_;
  std::vector<std::string> commands_sent_;
};

}  // namespace tlsession::ftp

#endif  // TLSESSION_FTP_ADAPTER_CONTROL_CHANNEL_H_
