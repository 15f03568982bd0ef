// DataChannel: the data connections of one FtpsClient, one per transfer
// (RFC 959 section 3.2, RFC 2428, RFC 4217 section 9):
//  - set-up: passive (EPSV, then PASV for good once a server refuses EPSV)
//    or active (EPRT, then PORT), REST when resuming, then the command;
//  - TLS: the FTP client is the TLS client, in active mode too; each data
//    connection is made from the control connection's Context, detached
//    from its session cache, and offers the control connection's leased
//    session (ControlChannel::lease());
//  - the bytes, to a Sink or from a Source, in 256 KiB chunks;
//  - the end: close_notify both ways, the connection closed, then the
//    transfer's final reply read on the control channel: the verdict.
// A failed set-up still reads the final reply the server owes, so the
// control channel stays in step; when that reply cannot be read, the
// control channel is marked out of step.
//
// Private to //ftp_adapter:ftps_client (a header of its srcs): callers use
// FtpsClient (ftps_client.h). Used by one thread at a time.
#ifndef TLSESSION_FTP_ADAPTER_DATA_CHANNEL_H_
#define TLSESSION_FTP_ADAPTER_DATA_CHANNEL_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "ftp_adapter/control_channel.h"
#include "ftp_adapter/ftps_client.h"
#include "tls/socket.h"

namespace tlsession::ftp {

class DataChannel {
 public:
  // Makes transfers over |control| as |options| say (tls_context,
  // protect_data, passive, trust_pasv_address, reuse_session, timeout,
  // progress). Both stay the caller's and must outlive the channel.
  DataChannel(ControlChannel& control, const ClientOptions& options);
  ~DataChannel();
  DataChannel(const DataChannel&) = delete;
  DataChannel& operator=(const DataChannel&) = delete;

  // Runs |command| (after REST |offset| when not zero) over a new data
  // connection and hands every byte it brings to |sink|. Returns OK when the
  // server confirmed the transfer complete; otherwise the first failure
  // (the sink's own error among them), with the server's final reply
  // quoted when it refused, or a kReuseRequired refusal when the server
  // demanded the control connection's session on the data connection.
  absl::Status Retrieve(absl::string_view command, uint64_t offset,
                        const Sink& sink);

  // Like Retrieve, but sends what |source| gives until it returns 0.
  absl::Status Store(absl::string_view command, uint64_t offset,
                     const Source& source);

  // Returns the facts of every data connection so far, in order (those
  // that failed in their set-up excluded).
  const std::vector<DataConnectionInfo>& connections() const {
    return connections_;
  }

 private:
  // One transfer's data connection and what the control connection said
  // about it (defined in the .cc).
  struct Transfer;
  // Which passive-mode command to use: EPSV until a server refuses it.
  enum class PassiveCommand { kEpsv, kPasv };
  // Which active-mode command to use: EPRT until a server refuses it.
  enum class ActiveCommand { kEprt, kPort };

  // Opens the data connection for |command| (REST |rest_offset| first when
  // not zero), sends |command| and sets the connection up. Returns the
  // transfer, owned by the caller, ready for its bytes.
  absl::StatusOr<std::unique_ptr<Transfer>> Open(absl::string_view command,
                                                 uint64_t rest_offset);
  // Sends EPSV (or PASV) and returns a TCP connection, owned by the caller,
  // to the port it names on the control peer (or, with trust_pasv_address,
  // at the address PASV names).
  absl::StatusOr<OwnedFd> ConnectPassive();
  // Returns a listener, owned by the caller, on our end of the control
  // connection, announced with EPRT (or PORT).
  absl::StatusOr<TcpListener> ListenActive();
  // After |command| was sent: accepts on |listener| (active mode) or takes
  // |fd| (passive mode) and, unless the data is in clear, secures it under
  // TLS, all within one timeout. The stream goes into |transfer|.
  absl::Status ConnectData(absl::string_view command, Transfer& transfer,
                           OwnedFd fd, std::optional<TcpListener>& listener);
  // Active mode: waits until |deadline| for the control peer to connect
  // back to |listener|, reading replies that arrive meanwhile. Returns the
  // accepted socket, owned by the caller.
  absl::StatusOr<OwnedFd> AcceptData(absl::string_view command,
                                     Transfer& transfer, TcpListener& listener,
                                     absl::Time deadline);
  // Runs the TLS handshake on the data connection |fd| (taken), offering the
  // control connection's lease, in short slices so that a refusal on the
  // control connection is seen at once; gives up at |deadline|.
  absl::Status SecureData(absl::string_view command, Transfer& transfer,
                          OwnedFd fd, absl::Time deadline);
  // Reads a reply that arrives while the data connection is being set up.
  // Returns OK for a preliminary 1xx (the set-up goes on) or, with
  // |have_listener|, for a completion that came before the connection was
  // accepted (kept as the final reply); otherwise the refusal that ends the
  // set-up.
  absl::Status ReplyDuringSetup(absl::string_view command, Transfer& transfer,
                                bool have_listener);
  // Reads the final reply that a failed set-up still owes, so the control
  // connection stays in step. Returns |why| completed with that reply, or
  // the server's refusal when it explains the failure.
  absl::Status Abandon(absl::string_view command, const Transfer& transfer,
                       absl::Status why);
  // Moves the data connection's bytes to |sink| until the server's end.
  absl::Status Receive(Transfer& transfer, const Sink& sink);
  // Moves |source|'s bytes to the data connection until it returns 0.
  absl::Status Send(Transfer& transfer, const Source& source);
  // Ends |transfer|'s connection (cleanly when |moved| is OK), records its
  // facts and reads the final reply. Returns the transfer's verdict.
  absl::Status Finish(std::unique_ptr<Transfer> transfer, absl::Status moved);
  // Returns the transfer's final reply: the one that came early, or the
  // next (after a preliminary one not yet heard). Marks the control channel
  // out of step when it cannot be read.
  absl::StatusOr<Reply> FinalReply(Transfer& transfer);

  ControlChannel& control_;
  const ClientOptions& options_;
  PassiveCommand passive_command_ = PassiveCommand::kEpsv;
  ActiveCommand active_command_ = ActiveCommand::kEprt;
  std::vector<DataConnectionInfo> connections_;
};

}  // namespace tlsession::ftp

#endif  // TLSESSION_FTP_ADAPTER_DATA_CHANNEL_H_
