#include "ftp_adapter/ftps_client.h"

#include <poll.h>

#include <algorithm>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/cord.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "base/cleanse.h"
#include "ftp_adapter/error_category.h"
#include "ftp_adapter/local_file.h"
#include "ftp_adapter/passive.h"
#include "ftp_adapter/printable.h"

namespace tlsession::ftp {
namespace {

constexpr size_t kMaxLine = 8192;          // A reply line longer is hostile.
constexpr size_t kMaxReplyLines = 1000;    // So is a longer reply.
constexpr size_t kMaxListing = 256u << 20;  // And a longer listing.
constexpr size_t kChunk = 256 * 1024;      // Bytes per data read or write.
constexpr char kReplyPayload[] = "type.tlsession/ftp.reply_code";

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

absl::Status ServerRefused(absl::string_view what, const Reply& reply,
                           ErrorCategory category = ErrorCategory::kRefused) {
  absl::Status status(reply.is_transient_failure()
                          ? absl::StatusCode::kUnavailable
                          : absl::StatusCode::kFailedPrecondition,
                      absl::StrCat(what, ": the server replied \"",
                                   reply.ToString(), "\""));
  status.SetPayload(kReplyPayload, absl::Cord(absl::StrCat(reply.code)));
  return WithCategory(std::move(status), category);
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

// A failure of the network or of TLS.
absl::Status NetworkError(absl::Status status) {
  return WithCategory(std::move(status), ErrorCategory::kConnection);
}

// The server broke the protocol.
absl::Status ProtocolError(absl::Status status) {
  return WithCategory(std::move(status), ErrorCategory::kProtocol);
}

// A refusal of the login itself (rather than, say, "421 too busy").
absl::Status AsLoginFailure(absl::Status status) {
  int code = 0;
  if (IsServerRefusal(status, &code) &&
      (code == 530 || code == 331 || code == 332 || code == 532)) {
    return WithCategory(std::move(status), ErrorCategory::kLogin);
  }
  return status;
}

std::string MaskCommand(absl::string_view line) {
  if (absl::StartsWithIgnoreCase(line, "PASS ")) return "PASS ****";
  return std::string(line);
}

}  // namespace

bool IsSessionReuseRefusal(const absl::Status& status) {
  return CategoryOf(status) == ErrorCategory::kReuseRequired;
}

bool IsServerRefusal(const absl::Status& status, int* code) {
  auto payload = status.GetPayload(kReplyPayload);
  if (!payload) return false;
  int value = 0;
  if (!absl::SimpleAtoi(std::string(*payload), &value)) return false;
  if (code) *code = value;
  return true;
}

struct FtpsClient::DataChannel {
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

FtpsClient::FtpsClient(std::string host, ClientOptions options,
                       std::unique_ptr<TcpStream> plain)
    : host_(std::move(host)),
      options_(std::move(options)),
      plain_(std::move(plain)),
      control_stream_(plain_.get()),
      peer_(plain_->peer()),
      local_(plain_->local()) {}

FtpsClient::~FtpsClient() = default;

void FtpsClient::Trace(absl::string_view line) {
  if (options_.trace) options_.trace(Printable(line));
}

void FtpsClient::Warn(absl::string_view line) {
  if (options_.warn) {
    options_.warn(Printable(line));
  } else {
    Trace(absl::StrCat("WARNING: ", line));
  }
}

absl::StatusOr<std::unique_ptr<FtpsClient>> FtpsClient::Connect(
    const std::string& host, uint16_t port, ClientOptions options) {
  auto usage = [](absl::string_view why) {
    return WithCategory(absl::InvalidArgumentError(why),
                        ErrorCategory::kUsage);
  };
  if (options.tls_context == nullptr && !options.allow_plaintext) {
    return usage(
        "FTPS needs a TLS context (plaintext FTP only with allow_plaintext)");
  }
  if (options.tls_context != nullptr &&
      options.tls_context->role() != Role::kClient) {
    return usage("FTPS needs a client TLS context");
  }
  if (options.tls_context == nullptr && options.implicit_tls) {
    return usage("implicit FTPS needs a TLS context");
  }
  absl::StatusOr<std::unique_ptr<TcpStream>> plain =
      TcpStream::Connect(host, port, options.timeout);
  if (!plain.ok()) return NetworkError(plain.status());
  std::unique_ptr<FtpsClient> client(
      new FtpsClient(host, std::move(options), *std::move(plain)));
  if (absl::Status s = client->Start(port); !s.ok()) return s;
  return client;
}

absl::Status FtpsClient::Start(uint16_t port) {
  // Data connections use the control connection's Context; each detaches
  // from its session cache (see SecureData).
  data_context_ = options_.tls_context;
  if (options_.implicit_tls) {
    if (absl::Status s = SecureControl(); !s.ok()) return s;
  }
  absl::StatusOr<Reply> greeting = ReadReply();
  if (!greeting.ok()) return greeting.status();
  if (greeting->code != 220) {
    return ServerRefused(absl::StrCat("connecting to ", host_, ":", port),
                         *greeting);
  }
  if (options_.implicit_tls) return absl::OkStatus();
  if (options_.tls_context == nullptr) {
    Warn("plaintext FTP: the password and all data travel in clear");
    return absl::OkStatus();
  }
  return NegotiateTls();
}

absl::Status FtpsClient::NegotiateTls() {
  absl::StatusOr<Reply> auth = Command("AUTH TLS");
  if (!auth.ok()) return auth.status();
  if (auth->code != 234) {
    if (options_.allow_plaintext) {
      Warn(absl::StrCat("the server refused AUTH TLS (\"", auth->ToString(),
                        "\"); going on in plaintext as allowed: the password "
                        "and all data travel in clear"));
      return absl::OkStatus();
    }
    return ServerRefused(
        "AUTH TLS refused; not continuing without TLS (plaintext only with "
        "allow_plaintext)",
        *auth);
  }
  if (!inbuf_.empty()) {
    // Bytes after the 234 before our handshake: a man in the middle could
    // have injected them; RFC 4217 leaves no room for them.
    return ProtocolError(absl::DataLossError(
        "unexpected data after the AUTH TLS reply (possible injection)"));
  }
  return SecureControl();
}

absl::Status FtpsClient::SecureControl() {
  OwnedFd fd = plain_->Release();
  plain_.reset();
  control_stream_ = nullptr;
  absl::StatusOr<std::unique_ptr<Connection>> conn =
      Connection::Create(options_.tls_context, std::move(fd), host_);
  if (!conn.ok()) return NetworkError(conn.status());
  control_ = std::move(*conn);
  control_stream_ = control_.get();
  control_->set_timeout(options_.timeout);
  if (absl::Status s = control_->Handshake(); !s.ok()) return NetworkError(s);
  Trace(absl::StrCat("control connection: ", control_->version_name(),
                     ", session ",
                     control_->session_reused() ? "reused" : "NOT reused"));
  // The session the data connections offer, leased for this client alone:
  // under TLS 1.3 the server's first ticket (waited for, so that it is in
  // hand before any data connection opens); under TLS 1.2 the session the
  // control connection resumed (servers such as ProFTPD compare the data
  // connections' offers with it) or established.
  absl::StatusOr<SessionLease> lease =
      control_->LeaseSession(options_.ticket_wait);
  if (lease.ok()) {
    control_lease_ = *std::move(lease);
  } else {
    Trace(absl::StrCat("no resumable session on the control connection: ",
                       lease.status().message()));
  }
  return absl::OkStatus();
}

bool FtpsClient::ControlHasInput() {
  return absl::StrContains(inbuf_, '\n') ||
         control_stream_->HasBufferedInput();
}

absl::StatusOr<std::string> FtpsClient::ReadLine() {
  for (;;) {
    size_t eol = inbuf_.find('\n');
    if (eol != std::string::npos) {
      if (eol > kMaxLine) break;
      std::string line = inbuf_.substr(0, eol);
      inbuf_.erase(0, eol + 1);
      if (!line.empty() && line.back() == '\r') line.pop_back();
      return line;
    }
    if (inbuf_.size() > kMaxLine) break;
    if (absl::Now() > reply_deadline_) {
      return NetworkError(absl::DeadlineExceededError(absl::StrCat(
          "the reply from ", host_, " did not complete within ",
          absl::FormatDuration(options_.timeout))));
    }
    char buf[4096];
    absl::StatusOr<size_t> n = control_stream_->Read(buf, sizeof(buf));
    if (!n.ok() && n.status().code() == absl::StatusCode::kDeadlineExceeded) {
      return NetworkError(absl::DeadlineExceededError(
          absl::StrCat("no reply from ", host_, " within ",
                       absl::FormatDuration(options_.timeout))));
    }
    if (!n.ok()) return NetworkError(n.status());
    if (*n == 0) {
      return NetworkError(absl::UnavailableError(
          absl::StrCat(host_, " closed the control connection")));
    }
    inbuf_.append(buf, *n);
  }
  inbuf_.clear();
  return ProtocolError(absl::DataLossError(absl::StrCat(
      "reply line from ", host_, " longer than ", kMaxLine, " bytes")));
}

absl::StatusOr<Reply> FtpsClient::ReadReply() {
  // One deadline for the whole reply: a server dribbling a byte at a time
  // cannot stretch it.
  reply_deadline_ = absl::Now() + options_.timeout;
  ReplyParser parser(kMaxReplyLines);
  for (;;) {
    absl::StatusOr<std::string> line = ReadLine();
    if (!line.ok()) return line.status();
    Trace(absl::StrCat("< ", *line));
    absl::StatusOr<std::optional<Reply>> reply = parser.AddLine(*line);
    if (!reply.ok()) {
      return ProtocolError(absl::DataLossError(absl::StrCat(
          "malformed reply from ", host_, ": ", reply.status().message())));
    }
    if (reply->has_value()) return **reply;
  }
}

absl::Status FtpsClient::SendLine(absl::string_view line) {
  if (line.find_first_of("\r\n") != absl::string_view::npos) {
    return WithCategory(absl::InvalidArgumentError(
                            "FTP command or argument contains CR or LF"),
                        ErrorCategory::kUsage);
  }
  const std::string masked = MaskCommand(line);
  commands_sent_.push_back(masked);
  Trace(absl::StrCat("> ", masked));
  std::string wire = absl::StrCat(line, "\r\n");
  absl::Status sent = control_stream_->Write(wire);
  CleanseString(&wire);  // It may hold a password.
  return NetworkError(sent);
}

absl::StatusOr<Reply> FtpsClient::Command(absl::string_view line) {
  if (sync_ == ReplySync::kLost) {
    return NetworkError(absl::FailedPreconditionError(
        "the control connection lost track of the server's replies after an "
        "earlier failure; reconnect"));
  }
  if (absl::Status s = SendLine(line); !s.ok()) return s;
  return ReadReply();
}

absl::StatusOr<Reply> FtpsClient::Expect(absl::string_view line,
                                         bool allow_intermediate) {
  absl::StatusOr<Reply> reply = Command(line);
  if (!reply.ok()) return reply.status();
  if (reply->is_completion() ||
      (allow_intermediate && reply->is_intermediate())) {
    return reply;
  }
  return ServerRefused(MaskCommand(line), *reply);
}

absl::Status FtpsClient::Login(const std::string& user,
                               const std::string& password) {
  absl::StatusOr<Reply> r = Expect(absl::StrCat("USER ", user), true);
  if (r.ok() && r->is_intermediate()) {
    std::string pass = absl::StrCat("PASS ", password);
    r = Expect(pass, true);
    CleanseString(&pass);
    if (r.ok() && r->is_intermediate()) {
      return ServerRefused("login needs an ACCT, which is not supported", *r,
                           ErrorCategory::kLogin);
    }
  }
  if (!r.ok()) return AsLoginFailure(r.status());
  return SetUpTransfers();
}

absl::Status FtpsClient::SetUpTransfers() {
  if (control_ != nullptr) {
    // RFC 4217: PBSZ before PROT. Never send data in clear unless asked.
    if (auto s = Expect("PBSZ 0"); !s.ok()) return s.status();
    absl::StatusOr<Reply> prot =
        Command(options_.protect_data ? "PROT P" : "PROT C");
    if (!prot.ok()) return prot.status();
    if (!prot->is_completion()) {
      return ServerRefused(
          options_.protect_data
              ? "PROT P refused; not transferring data in clear"
              : "PROT C",
          *prot);
    }
  }
  if (auto s = Expect("TYPE I"); !s.ok()) return s.status();
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<FtpsClient::DataChannel>> FtpsClient::OpenData(
    absl::string_view command, uint64_t rest_offset) {
  auto data = std::make_unique<DataChannel>();
  data->info.number = static_cast<int>(data_connections_.size()) + 1;
  data->info.command = std::string(command);
  data->tls_state = control_ != nullptr && options_.protect_data
                        ? DataTls::kPending
                        : DataTls::kNone;

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
    absl::StatusOr<Reply> r =
        Expect(absl::StrCat("REST ", rest_offset), /*allow_intermediate=*/true);
    if (!r.ok()) return r.status();
  }
  if (sync_ == ReplySync::kLost) return Command(command).status();  // Why.
  if (absl::Status s = SendLine(command); !s.ok()) return s;
  // From here on the server owes a final reply to |command|: an attempt that
  // fails must still read it, or every later reply would answer the wrong
  // command.
  absl::Status connected = ConnectData(command, *data, std::move(fd), listener);
  if (connected.ok()) return data;
  if (data->heard == DataChannel::Heard::kFinal) return connected;
  return Abandon(command, *data, connected);
}

absl::StatusOr<OwnedFd> FtpsClient::ConnectPassive() {
  std::optional<uint16_t> port;
  if (passive_command_ == PassiveCommand::kEpsv) {
    absl::StatusOr<Reply> r = Command("EPSV");
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
  std::string address = peer_.address;
  if (!port) {
    absl::StatusOr<Reply> r = Expect("PASV");
    if (!r.ok()) return r.status();
    if (r->code != 227) return ServerRefused("PASV", *r);
    absl::StatusOr<Endpoint> ep = ParsePasvReply(r->text());
    if (!ep.ok()) return ProtocolError(ep.status());
    port = ep->port;
    if (options_.trust_pasv_address) {
      address = ep->address;
    } else if (ep->address != peer_.address) {
      Trace(absl::StrCat("ignoring the PASV address ", ep->address,
                         "; connecting to the control peer ",
                         peer_.address));
    }
  }
  absl::StatusOr<OwnedFd> connected =
      ConnectTcp(address, *port, options_.timeout);
  if (!connected.ok()) return NetworkError(connected.status());
  return connected;
}

absl::StatusOr<TcpListener> FtpsClient::ListenActive() {
  absl::StatusOr<TcpListener> listener =
      TcpListener::Listen(local_.address, 0, 1);
  if (!listener.ok()) return NetworkError(listener.status());
  const Endpoint ours{local_.address, listener->port()};
  if (active_command_ == ActiveCommand::kEprt) {
    absl::StatusOr<std::string> arg = FormatEprtArgument(ours);
    if (!arg.ok()) return NetworkError(arg.status());
    absl::StatusOr<Reply> r = Command(absl::StrCat("EPRT ", *arg));
    if (!r.ok()) return r.status();
    if (r->is_completion()) return listener;
    if (!r->is_permanent_failure()) return ServerRefused("EPRT", *r);
    active_command_ = ActiveCommand::kPort;  // PORT from now on.
  }
  absl::StatusOr<std::string> arg = FormatPortArgument(ours);
  if (!arg.ok()) return NetworkError(arg.status());
  if (auto r = Expect(absl::StrCat("PORT ", *arg)); !r.ok()) {
    return r.status();
  }
  return listener;
}

absl::Status FtpsClient::ConnectData(absl::string_view command,
                                     DataChannel& data, OwnedFd fd,
                                     std::optional<TcpListener>& listener) {
  const absl::Time deadline = absl::Now() + options_.timeout;
  if (listener) {
    absl::StatusOr<OwnedFd> accepted =
        AcceptData(command, data, *listener, deadline);
    if (!accepted.ok()) return accepted.status();
    fd = *std::move(accepted);
  }
  if (data.tls_state == DataTls::kNone) {
    absl::StatusOr<std::unique_ptr<TcpStream>> plain =
        TcpStream::Create(std::move(fd), host_, options_.timeout);
    if (!plain.ok()) return NetworkError(plain.status());
    data.stream = *std::move(plain);
    return absl::OkStatus();
  }
  // The FTP client is the TLS client on data connections (RFC 4217), in
  // active mode too.
  return SecureData(command, data, std::move(fd), deadline);
}

absl::StatusOr<OwnedFd> FtpsClient::AcceptData(absl::string_view command,
                                               DataChannel& data,
                                               TcpListener& listener,
                                               absl::Time deadline) {
  for (;;) {
    pollfd p[2] = {{listener.fd(), POLLIN, 0},
                   {control_stream_->fd(), POLLIN, 0}};
    absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) {
      return NetworkError(absl::DeadlineExceededError(
          absl::StrCat(command, ": the server did not connect back within ",
                       absl::FormatDuration(options_.timeout))));
    }
    poll(p, 2, static_cast<int>(std::min<int64_t>(
                   100, absl::ToInt64Milliseconds(left) + 1)));
    // The listener first: a connection in the backlog is the transfer.
    if (!(p[0].revents & POLLIN)) {
      if (ControlHasInput()) {
        if (absl::Status s = ReplyDuringSetup(command, data, true); !s.ok()) {
          return s;
        }
      }
      continue;
    }
    absl::StatusOr<OwnedFd> accepted = listener.Accept(absl::Milliseconds(1));
    if (!accepted.ok()) return NetworkError(accepted.status());
    // Only the control connection's peer may connect back.
    absl::StatusOr<Endpoint> from = PeerEndpoint(accepted->get());
    if (!from.ok() || from->address != peer_.address) {
      return NetworkError(absl::PermissionDeniedError(absl::StrCat(
          command, ": refusing a data connection from ",
          from.ok() ? from->address : "an unknown address")));
    }
    return accepted;
  }
}

absl::Status FtpsClient::SecureData(absl::string_view command,
                                    DataChannel& data, OwnedFd fd,
                                    absl::Time deadline) {
  absl::StatusOr<std::unique_ptr<Connection>> tls =
      Connection::Create(data_context_, std::move(fd), host_);
  if (!tls.ok()) return NetworkError(tls.status());
  data.tls = tls->get();
  data.stream = *std::move(tls);
  // A data connection's sessions are not the cache's: it runs on a port of
  // its own and, with reuse, offers the control connection's leased session.
  if (absl::Status s = data.tls->DetachFromCache(); !s.ok()) {
    return NetworkError(s);
  }
  if (options_.reuse_session && !control_lease_.empty()) {
    if (absl::Status s = data.tls->OfferLease(control_lease_); !s.ok()) {
      return NetworkError(s);
    }
    data.offered_session = true;
  }
  data.info.tls = true;
  const std::string what =
      absl::StrCat(command, ": TLS handshake on data connection ",
                   data.info.number);
  // Short slices: a refusal on the control connection (522, 425, 550...) is
  // seen at once instead of after the timeout.
  data.tls->set_timeout(absl::Milliseconds(50));
  for (;;) {
    absl::Status hs = data.tls->Handshake();
    if (hs.ok()) break;
    if (hs.code() != absl::StatusCode::kDeadlineExceeded) {
      // The server's reply (read by Abandon) comes with this.
      data.tls_state = hs.code() == absl::StatusCode::kUnauthenticated
                           ? DataTls::kVerifyFailed
                           : DataTls::kFailed;
      return NetworkError(absl::Status(
          hs.code(), absl::StrCat(what, " failed: ", hs.message())));
    }
    if (ControlHasInput()) {
      if (absl::Status s = ReplyDuringSetup(command, data, false); !s.ok()) {
        return s;
      }
    }
    if (absl::Now() >= deadline) {
      return NetworkError(absl::DeadlineExceededError(absl::StrCat(
          what, " timed out after ", absl::FormatDuration(options_.timeout))));
    }
  }
  data.tls->set_timeout(options_.timeout);
  data.info.session_reused = data.tls->session_reused();
  data.info.version = data.tls->version_name();
  data.tls_state =
      data.info.session_reused ? DataTls::kResumed : DataTls::kNotResumed;
  return absl::OkStatus();
}

absl::Status FtpsClient::ReplyDuringSetup(absl::string_view command,
                                          DataChannel& data,
                                          bool have_listener) {
  absl::StatusOr<Reply> r = ReadReply();
  if (!r.ok()) return r.status();
  if (r->is_preliminary() && data.heard == DataChannel::Heard::kNothing) {
    data.heard = DataChannel::Heard::kPreliminary;
    return absl::OkStatus();
  }
  data.heard = DataChannel::Heard::kFinal;
  if (r->is_completion() && have_listener && !data.final_reply) {
    // Done before we accepted: the data waits in the listen backlog.
    data.final_reply = *r;
    return absl::OkStatus();
  }
  if (IsReuseRefusal(*r, data.tls_state)) {
    return ReuseRefused(command, *r, data.offered_session);
  }
  return ServerRefused(command, *r);
}

absl::Status FtpsClient::Abandon(absl::string_view command,
                                 const DataChannel& data, absl::Status why) {
  for (int i = 0; i < 3; ++i) {
    absl::StatusOr<Reply> r = ReadReply();
    if (!r.ok()) break;
    if (r->is_preliminary()) continue;
    if (IsReuseRefusal(*r, data.tls_state)) {
      return ReuseRefused(command, *r, data.offered_session);
    }
    // Our refusal of the server's certificate is the reason whatever the
    // server says; otherwise the server's refusal (550 no such file...)
    // explains the failure: a server that refuses drops the data
    // connection, which may then fail in any way.
    if (r->is_completion() || data.tls_state == DataTls::kVerifyFailed) {
      return WithMessage(why, absl::StrCat(why.message(), "; the server said \"",
                                           r->ToString(), "\""));
    }
    return ServerRefused(command, *r);
  }
  sync_ = ReplySync::kLost;
  return why;
}

absl::StatusOr<Reply> FtpsClient::FinalReply(DataChannel& data) {
  if (data.final_reply) return *std::move(data.final_reply);
  absl::StatusOr<Reply> reply = ReadReply();
  if (reply.ok() && reply->is_preliminary() &&
      data.heard == DataChannel::Heard::kNothing) {
    reply = ReadReply();
  }
  if (!reply.ok()) sync_ = ReplySync::kLost;
  return reply;
}

absl::Status FtpsClient::FinishData(std::unique_ptr<DataChannel> data,
                                    absl::Status transfer) {
  absl::Status closing;
  // The end both ways (under TLS close_notify, tickets read first), before
  // the reply, so servers see a clean end and uploads are not cut.
  if (transfer.ok()) closing = data->stream->Shutdown();
  data->tls = nullptr;
  data->stream.reset();  // Closed before the reply: a server still sending
                         // sees it gone.
  const DataConnectionInfo& info = data->info;
  data_connections_.push_back(info);
  Trace(absl::StrCat("data connection ", info.number, ": ",
                     info.tls ? info.version : "plaintext",
                     info.tls ? (info.session_reused ? ", session reused"
                                                     : ", session NOT reused")
                              : "",
                     ", ", info.bytes, " bytes"));
  absl::StatusOr<Reply> final_reply = FinalReply(*data);
  if (final_reply.ok() && !final_reply->is_completion() &&
      IsReuseRefusal(*final_reply, data->tls_state)) {
    return ReuseRefused(info.command, *final_reply, data->offered_session);
  }
  if (!transfer.ok()) {
    if (!final_reply.ok() || final_reply->is_completion()) return transfer;
    return WithMessage(transfer, absl::StrCat(transfer.message(),
                                              "; the server said \"",
                                              final_reply->ToString(), "\""));
  }
  if (!final_reply.ok()) return final_reply.status();
  if (!final_reply->is_completion()) {
    return ServerRefused(info.command, *final_reply);
  }
  if (!closing.ok()) {
    // The server confirmed the transfer but did not end cleanly.
    Trace(absl::StrCat("data connection: unclean close: ", closing.message()));
  }
  return absl::OkStatus();
}

absl::Status FtpsClient::Receive(DataChannel& data, const Sink& sink) {
  std::string buf(kChunk, '\0');
  for (;;) {
    absl::StatusOr<size_t> n = data.stream->Read(&buf[0], buf.size());
    if (!n.ok()) return NetworkError(n.status());
    if (*n == 0) return absl::OkStatus();
    data.info.bytes += *n;
    if (options_.progress) options_.progress(*n);
    if (absl::Status s = sink(absl::string_view(buf.data(), *n)); !s.ok()) {
      return s;
    }
  }
}

absl::Status FtpsClient::Send(DataChannel& data, const Source& source) {
  std::string buf(kChunk, '\0');
  for (;;) {
    absl::StatusOr<size_t> n = source(&buf[0], buf.size());
    if (!n.ok()) return n.status();
    if (*n == 0) return absl::OkStatus();
    absl::Status sent = data.stream->Write(absl::string_view(buf.data(), *n));
    if (!sent.ok()) return NetworkError(sent);
    data.info.bytes += *n;
    if (options_.progress) options_.progress(*n);
  }
}

absl::Status FtpsClient::Retrieve(const std::string& path, const Sink& sink,
                                  uint64_t offset) {
  absl::StatusOr<std::unique_ptr<DataChannel>> data =
      OpenData(absl::StrCat("RETR ", path), offset);
  if (!data.ok()) return data.status();
  absl::Status transfer = Receive(**data, sink);
  return FinishData(*std::move(data), transfer);
}

absl::Status FtpsClient::Store(const std::string& path, const Source& source,
                               bool append, uint64_t offset) {
  absl::StatusOr<std::unique_ptr<DataChannel>> data =
      OpenData(absl::StrCat(append ? "APPE " : "STOR ", path), offset);
  if (!data.ok()) return data.status();
  absl::Status transfer = Send(**data, source);
  return FinishData(*std::move(data), transfer);
}

absl::StatusOr<std::string> FtpsClient::ReadAll(absl::string_view command) {
  absl::StatusOr<std::unique_ptr<DataChannel>> data = OpenData(command, 0);
  if (!data.ok()) return data.status();
  std::string out;
  absl::Status transfer =
      Receive(**data, [&](absl::string_view chunk) -> absl::Status {
        if (out.size() + chunk.size() > kMaxListing) {
          return ProtocolError(absl::ResourceExhaustedError(absl::StrCat(
              command, ": the listing is larger than 256 MiB")));
        }
        out.append(chunk.data(), chunk.size());
        return absl::OkStatus();
      });
  if (absl::Status s = FinishData(*std::move(data), transfer); !s.ok()) {
    return s;
  }
  return out;
}

absl::StatusOr<std::string> FtpsClient::List(const std::string& path) {
  return ReadAll(path.empty() ? "LIST" : absl::StrCat("LIST ", path));
}

absl::StatusOr<std::vector<std::string>> FtpsClient::NameList(
    const std::string& path) {
  absl::StatusOr<std::string> text =
      ReadAll(path.empty() ? "NLST" : absl::StrCat("NLST ", path));
  if (!text.ok()) return text.status();
  std::vector<std::string> names;
  for (absl::string_view line : absl::StrSplit(*text, '\n')) {
    line = absl::StripSuffix(line, "\r");
    if (!line.empty()) names.emplace_back(line);
  }
  return names;
}

absl::StatusOr<std::vector<MlsdEntry>> FtpsClient::MachineList(
    const std::string& path) {
  absl::StatusOr<std::string> text =
      ReadAll(path.empty() ? "MLSD" : absl::StrCat("MLSD ", path));
  if (!text.ok()) return text.status();
  std::vector<MlsdEntry> entries;
  for (absl::string_view line : absl::StrSplit(*text, '\n')) {
    line = absl::StripSuffix(line, "\r");
    if (line.empty()) continue;
    absl::StatusOr<MlsdEntry> e = ParseMlsdLine(line);
    if (!e.ok()) return ProtocolError(e.status());
    entries.push_back(*std::move(e));
  }
  return entries;
}

absl::StatusOr<std::vector<std::string>> FtpsClient::Features() {
  absl::StatusOr<Reply> r = Command("FEAT");
  if (!r.ok()) return r.status();
  std::vector<std::string> features;
  if (!r->is_completion()) return features;  // No FEAT: no features.
  for (size_t i = 1; i + 1 < r->lines.size(); ++i) {
    features.emplace_back(absl::StripAsciiWhitespace(r->lines[i]));
  }
  return features;
}

absl::StatusOr<std::string> FtpsClient::Pwd() {
  absl::StatusOr<Reply> r = Expect("PWD");
  if (!r.ok()) return r.status();
  // 257 "/dir" is the current directory; doubled quotes escape a quote.
  const std::string& line = r->lines.front();
  size_t open = line.find('"');
  if (open == std::string::npos) {
    return ServerRefused("PWD: no quoted path", *r, ErrorCategory::kProtocol);
  }
  std::string path;
  for (size_t i = open + 1; i < line.size(); ++i) {
    if (line[i] == '"') {
      if (i + 1 < line.size() && line[i + 1] == '"') {
        path.push_back('"');
        ++i;
        continue;
      }
      return path;
    }
    path.push_back(line[i]);
  }
  return ServerRefused("PWD: unterminated path", *r, ErrorCategory::kProtocol);
}

absl::Status FtpsClient::Cwd(const std::string& path) {
  return Expect(absl::StrCat("CWD ", path)).status();
}
absl::Status FtpsClient::MakeDir(const std::string& path) {
  return Expect(absl::StrCat("MKD ", path)).status();
}
absl::Status FtpsClient::RemoveDir(const std::string& path) {
  return Expect(absl::StrCat("RMD ", path)).status();
}
absl::Status FtpsClient::Delete(const std::string& path) {
  return Expect(absl::StrCat("DELE ", path)).status();
}

absl::Status FtpsClient::Rename(const std::string& from,
                                const std::string& to) {
  absl::StatusOr<Reply> r = Expect(absl::StrCat("RNFR ", from), true);
  if (!r.ok()) return r.status();
  return Expect(absl::StrCat("RNTO ", to)).status();
}

absl::StatusOr<uint64_t> FtpsClient::Size(const std::string& path) {
  absl::StatusOr<Reply> r = Expect(absl::StrCat("SIZE ", path));
  if (!r.ok()) return r.status();
  uint64_t size = 0;
  absl::string_view text = r->lines.front();
  text.remove_prefix(std::min<size_t>(4, text.size()));
  if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(text), &size)) {
    return ServerRefused(absl::StrCat("SIZE ", path, ": not a number"), *r,
                         ErrorCategory::kProtocol);
  }
  return size;
}

absl::StatusOr<absl::Time> FtpsClient::ModificationTime(
    const std::string& path) {
  absl::StatusOr<Reply> r = Expect(absl::StrCat("MDTM ", path));
  if (!r.ok()) return r.status();
  absl::string_view text = r->lines.front();
  text.remove_prefix(std::min<size_t>(4, text.size()));
  absl::StatusOr<absl::Time> time =
      ParseFtpTime(absl::StripAsciiWhitespace(text));
  if (!time.ok()) return ProtocolError(time.status());
  return time;
}

absl::Status FtpsClient::DownloadFile(const std::string& remote,
                                      const std::string& local, bool resume) {
  absl::StatusOr<PartFile> part = PartFile::Open(
      local, resume ? PartFile::Start::kResume : PartFile::Start::kFresh);
  if (!part.ok()) return part.status();
  std::optional<uint64_t> remote_size;
  if (part->size() > 0) {
    // Resuming trusts the part file only if the remote file is at least as
    // long; it is also checked against the remote size at the end, so a
    // file replaced meanwhile never yields a complete-looking mix.
    absl::StatusOr<uint64_t> size = Size(remote);
    if (size.ok()) remote_size = *size;
    if (remote_size && *remote_size < part->size()) {
      Trace(absl::StrCat("'", part->part_path(), "' is longer than '", remote,
                         "' now: downloading again from the start"));
      if (absl::Status s = part->Restart(); !s.ok()) return s;
    }
  }
  // The part file is created on the first byte: a refused or missing file
  // leaves nothing behind, an interrupted one keeps what arrived for a
  // later resume.
  absl::Status s = Retrieve(
      remote, [&](absl::string_view chunk) { return part->Write(chunk); },
      part->size());
  if (!s.ok()) return s;
  if (remote_size && part->size() != *remote_size) {
    return ProtocolError(absl::DataLossError(absl::StrCat(
        "resumed download of '", remote, "' has ", part->size(),
        " bytes but the server says ", *remote_size, "; '", part->part_path(),
        "' kept, '", local, "' not written")));
  }
  return part->Commit(options_.sync_downloads ? PartFile::Sync::kToDisk
                                             : PartFile::Sync::kPageCache);
}

absl::Status FtpsClient::UploadFile(const std::string& local,
                                    const std::string& remote, bool resume) {
  absl::StatusOr<SourceFile> file = SourceFile::Open(local);
  if (!file.ok()) return file.status();
  uint64_t offset = 0;
  if (resume) {
    absl::StatusOr<uint64_t> size = Size(remote);
    if (size.ok()) offset = *size;
    if (offset > file->size()) {
      return WithCategory(
          absl::FailedPreconditionError(absl::StrCat(
              "cannot resume the upload of '", local, "': '", remote,
              "' is already longer (", offset, " bytes) than the local file (",
              file->size(), " bytes)")),
          ErrorCategory::kLocalFile);
    }
    if (offset > 0) {
      if (absl::Status s = file->Seek(offset); !s.ok()) return s;
    }
  }
  return Store(
      remote, [&](char* buf, size_t len) { return file->Read(buf, len); },
      /*append=*/false, offset);
}

absl::Status FtpsClient::Quit() {
  absl::StatusOr<Reply> r = Command("QUIT");
  if (r.ok() && r->code == 221 && control_) {
    // The server's goodbye came over TLS: whatever the TCP close looks like,
    // nothing was truncated, and the control sessions may stay cached.
    control_->ConfirmEndByProtocol();
  }
  absl::Status shut = control_stream_->Shutdown();
  if (!r.ok()) return r.status();
  if (!r->is_completion()) return ServerRefused("QUIT", *r);
  if (!shut.ok()) {
    // vsftpd closes after 221 without close_notify; harmless after 221.
    Trace(absl::StrCat("control connection closed without a clean end after "
                       "the server's goodbye: ",
                       shut.message()));
  }
  return absl::OkStatus();
}

bool FtpsClient::control_session_reused() const {
  return control_ && control_->session_reused();
}

std::string FtpsClient::control_tls_version() const {
  return control_ ? control_->version_name() : "";
}

}  // namespace tlsession::ftp
