#include "ftp_adapter/data_channel.h"

#include <poll.h>

#include <algorithm>
#include <string>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "ftp_adapter/error_category.h"
#include "ftp_adapter/passive.h"
#include "tls/connection.h"
#include "tls/tcp_stream.h"

namespace tlsession::ftp {
namespace {

constexpr size_t kChunk = 256 * 1024;  // Bytes per data read or write.

// How far a data connection's TLS handshake got: it decides what a 425 or
// 522 on the control connection means.
enum class DataTls {
  kNone,          // The data connection has no TLS (PROT C, plaintext).
  kPending,       // The handshake has not completed (or not begun).
  kFailed,        // It failed, for another reason than the next.
  kVerifyFailed,  // It failed because we refused the server's certificate.
  kResumed,       // It completed, resuming the control session.
  kNotResumed,    // It completed with a full handshake.
};

// A refusal that means "you did not reuse the TLS session": a 522 or 425
// after a data handshake that completed without resuming (ProFTPD's 425),
// or one that says so (vsftpd's 522 "session reuse required") unless our
// own check of the server's certificate is what failed.
bool IsReuseRefusal(const Reply& reply, DataTls tls) {
  if (reply.code != 522 && reply.code != 425) return false;
  switch (tls) {
    case DataTls::kNone:
    case DataTls::kVerifyFailed:
      return false;
    case DataTls::kNotResumed:
      return true;
    default:
      return absl::StrContains(absl::AsciiStrToLower(reply.text()), "reuse");
  }
}

absl::Status ReuseRefused(absl::string_view command, const Reply& reply,
                          bool offered) {
  return ServerRefused(
      absl::StrCat(command,
                   ": the server requires TLS session reuse on data "
                   "connections and refused this one (",
                   offered ? "the control connection's session was offered "
                             "but not resumed"
                           : "no session was offered",
                   ")"),
      reply, ErrorCategory::kReuseRequired);
}

}  // namespace

struct DataChannel::Transfer {
  // What the control connection said about the transfer so far.
  enum class Heard { kNothing, kPreliminary, kFinal };

  std::unique_ptr<Stream> stream;
  Connection* tls = nullptr;  // |stream| when the data is protected.
  DataTls tls_state = DataTls::kNone;
  Heard heard = Heard::kNothing;
  bool offered_session = false;
  // A final reply that arrived before the data connection was accepted (a
  // short transfer over an active-mode connection in the backlog).
  std::optional<Reply> final_reply;
  DataConnectionInfo info;
};

DataChannel::DataChannel(ControlChannel& control, const ClientOptions& options)
    : control_(control), options_(options) {}

DataChannel::~DataChannel() = default;

absl::Status DataChannel::Retrieve(absl::string_view command, uint64_t offset,
                                   const Sink& sink) {
  absl::StatusOr<std::unique_ptr<Transfer>> transfer = Open(command, offset);
  if (!transfer.ok()) return transfer.status();
  absl::Status moved = Receive(**transfer, sink);
  return Finish(*std::move(transfer), moved);
}

absl::Status DataChannel::Store(absl::string_view command, uint64_t offset,
                                const Source& source) {
  absl::StatusOr<std::unique_ptr<Transfer>> transfer = Open(command, offset);
  if (!transfer.ok()) return transfer.status();
  absl::Status moved = Send(**transfer, source);
  return Finish(*std::move(transfer), moved);
}

absl::StatusOr<std::unique_ptr<DataChannel::Transfer>> DataChannel::Open(
    absl::string_view command, uint64_t rest_offset) {
  auto transfer = std::make_unique<Transfer>();
  transfer->info.number = static_cast<int>(connections_.size()) + 1;
  transfer->info.command = std::string(command);
  transfer->tls_state = control_.tls() != nullptr && options_.protect_data
                            ? DataTls::kPending
                            : DataTls::kNone;

  if (transfer->tls_state == DataTls::kPending && options_.reuse_session) {
    control_.LeaseForData();  // Before any command: no reply crosses it.
  }
  OwnedFd fd;
  std::optional<TcpListener> listener;
  if (options_.passive) {
    absl::StatusOr<OwnedFd> connected = ConnectPassive();
    if (!connected.ok()) return connected.status();
    fd = *std::move(connected);
  } else {
    absl::StatusOr<TcpListener> listening = ListenActive();
    if (!listening.ok()) return listening.status();
    listener.emplace(*std::move(listening));
  }
  if (rest_offset > 0) {
    absl::StatusOr<Reply> r = control_.Expect(
        absl::StrCat("REST ", rest_offset), /*allow_intermediate=*/true);
    if (!r.ok()) return r.status();
  }
  if (!control_.in_step()) return control_.Command(command).status();  // Why.
  if (absl::Status s = control_.SendLine(command); !s.ok()) return s;
  // From here on the server owes a final reply to |command|: an attempt that
  // fails must still read it, or every later reply would answer the wrong
  // command.
  absl::Status connected =
      ConnectData(command, *transfer, std::move(fd), listener);
  if (connected.ok()) return transfer;
  if (transfer->heard == Transfer::Heard::kFinal) return connected;
  return Abandon(command, *transfer, connected);
}

absl::StatusOr<OwnedFd> DataChannel::ConnectPassive() {
  std::optional<uint16_t> port;
  if (passive_command_ == PassiveCommand::kEpsv) {
    absl::StatusOr<Reply> r = control_.Command("EPSV");
    if (!r.ok()) return r.status();
    if (r->code == 229) {
      absl::StatusOr<uint16_t> p = ParseEpsvReply(r->text());
      if (!p.ok()) return ProtocolError(p.status());
      port = *p;
    } else if (r->is_permanent_failure()) {
      passive_command_ = PassiveCommand::kPasv;  // PASV from now on.
    } else {
      return ServerRefused("EPSV", *r);
    }
  }
  const Endpoint& peer = control_.peer();
  std::string address = peer.address;
  if (!port) {
    absl::StatusOr<Reply> r = control_.Expect("PASV");
    if (!r.ok()) return r.status();
    if (r->code != 227) return ServerRefused("PASV", *r);
    absl::StatusOr<Endpoint> ep = ParsePasvReply(r->text());
    if (!ep.ok()) return ProtocolError(ep.status());
    port = ep->port;
    if (options_.trust_pasv_address) {
      address = ep->address;
    } else if (ep->address != peer.address) {
      control_.Trace(absl::StrCat("ignoring the PASV address ", ep->address,
                                  "; connecting to the control peer ",
                                  peer.address));
    }
  }
  absl::StatusOr<OwnedFd> connected =
      ConnectTcp(address, *port, options_.timeout);
  if (!connected.ok()) return NetworkError(connected.status());
  return connected;
}

absl::StatusOr<TcpListener> DataChannel::ListenActive() {
  const Endpoint& local = control_.local();
  absl::StatusOr<TcpListener> listener =
      TcpListener::Listen(local.address, 0, 1);
  if (!listener.ok()) return NetworkError(listener.status());
  const Endpoint ours{local.address, listener->port()};
  if (active_command_ == ActiveCommand::kEprt) {
    absl::StatusOr<std::string> arg = FormatEprtArgument(ours);
    if (!arg.ok()) return NetworkError(arg.status());
    absl::StatusOr<Reply> r = control_.Command(absl::StrCat("EPRT ", *arg));
    if (!r.ok()) return r.status();
    if (r->is_completion()) return listener;
    if (!r->is_permanent_failure()) return ServerRefused("EPRT", *r);
    active_command_ = ActiveCommand::kPort;  // PORT from now on.
  }
  absl::StatusOr<std::string> arg = FormatPortArgument(ours);
  if (!arg.ok()) return NetworkError(arg.status());
  if (auto r = control_.Expect(absl::StrCat("PORT ", *arg)); !r.ok()) {
    return r.status();
  }
  return listener;
}

absl::Status DataChannel::ConnectData(absl::string_view command,
                                      Transfer& transfer, OwnedFd fd,
                                      std::optional<TcpListener>& listener) {
  const absl::Time deadline = absl::Now() + options_.timeout;
  if (listener) {
    absl::StatusOr<OwnedFd> accepted =
        AcceptData(command, transfer, *listener, deadline);
    if (!accepted.ok()) return accepted.status();
    fd = *std::move(accepted);
  }
  if (transfer.tls_state == DataTls::kNone) {
    absl::StatusOr<std::unique_ptr<TcpStream>> plain =
        TcpStream::Create(std::move(fd), control_.host(), options_.timeout);
    if (!plain.ok()) return NetworkError(plain.status());
    transfer.stream = *std::move(plain);
    return absl::OkStatus();
  }
  // The FTP client is the TLS client on data connections (RFC 4217), in
  // active mode too.
  return SecureData(command, transfer, std::move(fd), deadline);
}

absl::StatusOr<OwnedFd> DataChannel::AcceptData(absl::string_view command,
                                                Transfer& transfer,
                                                TcpListener& listener,
                                                absl::Time deadline) {
  for (;;) {
    pollfd p[2] = {{listener.fd(), POLLIN, 0}, {control_.fd(), POLLIN, 0}};
    absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) {
      return NetworkError(absl::DeadlineExceededError(
          absl::StrCat(command, ": the server did not connect back within ",
                       absl::FormatDuration(options_.timeout))));
    }
    poll(p, 2,
         static_cast<int>(
             std::min<int64_t>(100, absl::ToInt64Milliseconds(left) + 1)));
    // The listener first: a connection in the backlog is the transfer.
    if (!(p[0].revents & POLLIN)) {
      if (control_.HasInput()) {
        if (absl::Status s = ReplyDuringSetup(command, transfer, true);
            !s.ok()) {
          return s;
        }
      }
      continue;
    }
    absl::StatusOr<OwnedFd> accepted = listener.Accept(absl::Milliseconds(1));
    if (!accepted.ok()) return NetworkError(accepted.status());
    // Only the control connection's peer may connect back.
    absl::StatusOr<Endpoint> from = PeerEndpoint(accepted->get());
    if (!from.ok() || from->address != control_.peer().address) {
      return NetworkError(absl::PermissionDeniedError(
          absl::StrCat(command, ": refusing a data connection from ",
                       from.ok() ? from->address : "an unknown address")));
    }
    return accepted;
  }
}

absl::Status DataChannel::SecureData(absl::string_view command,
                                     Transfer& transfer, OwnedFd fd,
                                     absl::Time deadline) {
  // Data connections use the control connection's Context (and so verify
  // the same host name), each detached from its session cache below.
  absl::StatusOr<std::unique_ptr<Connection>> tls =
      Connection::Create(options_.tls_context, std::move(fd), control_.host());
  if (!tls.ok()) return NetworkError(tls.status());
  transfer.tls = tls->get();
  transfer.stream = *std::move(tls);
  // A data connection's sessions are not the cache's: it runs on a port of
  // its own and, with reuse, offers the control connection's leased session.
  if (absl::Status s = transfer.tls->DetachFromCache(); !s.ok()) {
    return NetworkError(s);
  }
  if (options_.reuse_session && !control_.lease().empty()) {
    if (absl::Status s = transfer.tls->OfferLease(control_.lease()); !s.ok()) {
      return NetworkError(s);
    }
    transfer.offered_session = true;
  }
  transfer.info.tls = true;
  const std::string what = absl::StrCat(
      command, ": TLS handshake on data connection ", transfer.info.number);
  // Short slices: a refusal on the control connection (522, 425, 550...) is
  // seen at once instead of after the timeout.
  transfer.tls->set_timeout(absl::Milliseconds(50));
  for (;;) {
    absl::Status hs = transfer.tls->Handshake();
    if (hs.ok()) break;
    if (hs.code() != absl::StatusCode::kDeadlineExceeded) {
      // The server's reply (read by Abandon) comes with this.
      transfer.tls_state = hs.code() == absl::StatusCode::kUnauthenticated
                               ? DataTls::kVerifyFailed
                               : DataTls::kFailed;
      return NetworkError(absl::Status(
          hs.code(), absl::StrCat(what, " failed: ", hs.message())));
    }
    if (control_.HasInput()) {
      if (absl::Status s = ReplyDuringSetup(command, transfer, false);
          !s.ok()) {
        return s;
      }
    }
    if (absl::Now() >= deadline) {
      return NetworkError(absl::DeadlineExceededError(absl::StrCat(
          what, " timed out after ", absl::FormatDuration(options_.timeout))));
    }
  }
  transfer.tls->set_timeout(options_.timeout);
  transfer.info.session_reused = transfer.tls->session_reused();
  transfer.info.version = transfer.tls->version_name();
  transfer.tls_state =
      transfer.info.session_reused ? DataTls::kResumed : DataTls::kNotResumed;
  return absl::OkStatus();
}

absl::Status DataChannel::ReplyDuringSetup(absl::string_view command,
                                           Transfer& transfer,
                                           bool have_listener) {
  absl::StatusOr<Reply> r = control_.ReadReply();
  if (!r.ok()) return r.status();
  if (r->is_preliminary() && transfer.heard == Transfer::Heard::kNothing) {
    transfer.heard = Transfer::Heard::kPreliminary;
    return absl::OkStatus();
  }
  transfer.heard = Transfer::Heard::kFinal;
  if (r->is_completion() && have_listener && !transfer.final_reply) {
    // Done before we accepted: the data waits in the listen backlog.
    transfer.final_reply = *r;
    return absl::OkStatus();
  }
  if (IsReuseRefusal(*r, transfer.tls_state)) {
    return ReuseRefused(command, *r, transfer.offered_session);
  }
  return ServerRefused(command, *r);
}

absl::Status DataChannel::Abandon(absl::string_view command,
                                  const Transfer& transfer, absl::Status why) {
  for (int i = 0; i < 3; ++i) {
    absl::StatusOr<Reply> r = control_.ReadReply();
    if (!r.ok()) break;
    if (r->is_preliminary()) continue;
    if (IsReuseRefusal(*r, transfer.tls_state)) {
      return ReuseRefused(command, *r, transfer.offered_session);
    }
    // Our refusal of the server's certificate is the reason whatever the
    // server says; otherwise the server's refusal (550 no such file...)
    // explains the failure: a server that refuses drops the data
    // connection, which may then fail in any way.
    if (r->is_completion() || transfer.tls_state == DataTls::kVerifyFailed) {
      return WithMessage(why,
                         absl::StrCat(why.message(), "; the server said \"",
                                      r->ToString(), "\""));
    }
    return ServerRefused(command, *r);
  }
  control_.MarkOutOfStep();
  return why;
}

absl::StatusOr<Reply> DataChannel::FinalReply(Transfer& transfer) {
  if (transfer.final_reply) return *std::move(transfer.final_reply);
  absl::StatusOr<Reply> reply = control_.ReadReply();
  if (reply.ok() && reply->is_preliminary() &&
      transfer.heard == Transfer::Heard::kNothing) {
    reply = control_.ReadReply();
  }
  if (!reply.ok()) control_.MarkOutOfStep();
  return reply;
}

absl::Status DataChannel::Finish(std::unique_ptr<Transfer> transfer,
                                 absl::Status moved) {
  absl::Status closing;
  // The end both ways (under TLS close_notify, tickets read first), before
  // the reply, so servers see a clean end and uploads are not cut.
  if (moved.ok()) closing = transfer->stream->Shutdown();
  if (closing.ok() && moved.ok() && transfer->tls != nullptr &&
      transfer->info.session_reused && transfer->tls->sessions_received() > 0) {
    // A ticket it received (read during the shutdown, never the lease
    // itself) may keep the next run resumed.
    control_.KeepDataTicket(transfer->tls->session());
  }
  transfer->tls = nullptr;
  transfer->stream.reset();  // Closed before the reply: a server still
                             // sending sees it gone.
  const DataConnectionInfo& info = transfer->info;
  connections_.push_back(info);
  control_.Trace(absl::StrCat(
      "data connection ", info.number, ": ",
      info.tls ? info.version : "plaintext",
      info.tls
          ? (info.session_reused ? ", session reused" : ", session NOT reused")
          : "",
      ", ", info.bytes, " bytes"));
  absl::StatusOr<Reply> final_reply = FinalReply(*transfer);
  if (final_reply.ok() && !final_reply->is_completion() &&
      IsReuseRefusal(*final_reply, transfer->tls_state)) {
    return ReuseRefused(info.command, *final_reply, transfer->offered_session);
  }
  if (!moved.ok()) {
    if (!final_reply.ok() || final_reply->is_completion()) return moved;
    return WithMessage(moved,
                       absl::StrCat(moved.message(), "; the server said \"",
                                    final_reply->ToString(), "\""));
  }
  if (!final_reply.ok()) return final_reply.status();
  if (!final_reply->is_completion()) {
    return ServerRefused(info.command, *final_reply);
  }
  if (!closing.ok()) {
    // The server confirmed the transfer but did not end cleanly.
    control_.Trace(
        absl::StrCat("data connection: unclean close: ", closing.message()));
  }
  return absl::OkStatus();
}

absl::Status DataChannel::Receive(Transfer& transfer, const Sink& sink) {
  std::string buf(kChunk, '\0');
  for (;;) {
    absl::StatusOr<size_t> n = transfer.stream->Read(&buf[0], buf.size());
    if (!n.ok()) return NetworkError(n.status());
    if (*n == 0) return absl::OkStatus();
    transfer.info.bytes += *n;
    if (options_.progress) options_.progress(*n);
    if (absl::Status s = sink(absl::string_view(buf.data(), *n)); !s.ok()) {
      return s;
    }
  }
}

absl::Status DataChannel::Send(Transfer& transfer, const Source& source) {
  std::string buf(kChunk, '\0');
  for (;;) {
    absl::StatusOr<size_t> n = source(&buf[0], buf.size());
    if (!n.ok()) return n.status();
    if (*n == 0) return absl::OkStatus();
    absl::Status sent =
        transfer.stream->Write(absl::string_view(buf.data(), *n));
    if (!sent.ok()) return NetworkError(sent);
    transfer.info.bytes += *n;
    if (options_.progress) options_.progress(*n);
  }
}

}  // namespace tlsession::ftp
