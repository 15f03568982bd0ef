#include "ftp_adapter/ftps_client.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <utility>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/cord.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "ftp_adapter/passive.h"

namespace tlsession::ftp {
namespace {

constexpr size_t kMaxLine = 8192;        // A reply line longer is hostile.
constexpr size_t kMaxReplyLines = 1000;  // So is a longer reply.
constexpr char kReplyPayload[] = "type.tlsession/ftp.reply_code";
constexpr char kReusePayload[] = "type.tlsession/ftp.reuse_refused";

absl::Status ServerRefused(absl::string_view what, const Reply& reply) {
  absl::Status status(reply.is_transient_failure()
                          ? absl::StatusCode::kUnavailable
                          : absl::StatusCode::kFailedPrecondition,
                      absl::StrCat(what, ": the server replied \"",
                                   reply.ToString(), "\""));
  status.SetPayload(kReplyPayload, absl::Cord(absl::StrCat(reply.code)));
  return status;
}

absl::Status ReuseRefused(absl::string_view command, const Reply& reply,
                          bool offered) {
  absl::Status status(
      absl::StatusCode::kFailedPrecondition,
      absl::StrCat(
          command, ": the server requires TLS session reuse on data "
                   "connections and refused this one (",
          offered ? "the control connection's session was offered but not "
                    "resumed"
                  : "no session was offered",
          "): the server replied \"", reply.ToString(), "\""));
  status.SetPayload(kReplyPayload, absl::Cord(absl::StrCat(reply.code)));
  status.SetPayload(kReusePayload, absl::Cord("1"));
  return status;
}

// A refusal that means "you did not reuse the TLS session": RFC 4217's 522,
// or ProFTPD's 425 for a TLS data connection that did not resume.
bool LooksLikeReuseRefusal(const Reply& reply, bool tls_data, bool resumed) {
  if (reply.code == 522) return true;
  return reply.code == 425 && tls_data &&
         (!resumed || absl::StrContains(absl::AsciiStrToLower(reply.text()),
                                        "reuse"));
}

std::string MaskCommand(absl::string_view line) {
  if (absl::StartsWithIgnoreCase(line, "PASS ")) return "PASS ****";
  return std::string(line);
}

bool FileExists(const std::string& path, uint64_t* size) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) return false;
  if (size) *size = static_cast<uint64_t>(st.st_size);
  return true;
}

}  // namespace

bool IsSessionReuseRefusal(const absl::Status& status) {
  return status.GetPayload(kReusePayload).has_value();
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
  OwnedFd fd;                          // Plain data (PROT C).
  std::unique_ptr<Connection> tls;     // Protected data.
  bool got_preliminary = false;
  bool offered_session = false;
  // A final reply that arrived before the data connection was accepted (a
  // short transfer over an active-mode connection in the backlog).
  std::optional<Reply> final_reply;
  DataConnectionInfo info;

  absl::StatusOr<size_t> Read(char* buf, size_t len, absl::Duration timeout) {
    if (tls) return tls->Read(buf, len);
    for (;;) {
      ssize_t n = recv(fd.get(), buf, len, 0);
      if (n >= 0) return static_cast<size_t>(n);
      if (errno == EINTR) continue;
      if (errno != EAGAIN) {
        return absl::UnavailableError(
            absl::StrCat("data connection: ", strerror(errno)));
      }
      if (!WaitForFd(fd.get(), false, absl::Now() + timeout).ok()) {
        return absl::DeadlineExceededError("data connection read timed out");
      }
    }
  }

  absl::Status Write(absl::string_view data, absl::Duration timeout) {
    if (tls) return tls->Write(data);
    while (!data.empty()) {
      ssize_t n = send(fd.get(), data.data(), data.size(), MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && errno == EAGAIN) {
        if (!WaitForFd(fd.get(), true, absl::Now() + timeout).ok()) {
          return absl::DeadlineExceededError(
              "data connection write timed out");
        }
        continue;
      }
      if (n < 0) {
        return absl::UnavailableError(
            absl::StrCat("data connection: ", strerror(errno)));
      }
      data.remove_prefix(static_cast<size_t>(n));
    }
    return absl::OkStatus();
  }
};

FtpsClient::FtpsClient(std::string host, ClientOptions options, OwnedFd fd)
    : host_(std::move(host)),
      options_(std::move(options)),
      plain_fd_(std::move(fd)) {}

FtpsClient::~FtpsClient() = default;

void FtpsClient::Trace(absl::string_view line) {
  if (options_.trace) options_.trace(line);
}

absl::StatusOr<std::unique_ptr<FtpsClient>> FtpsClient::Connect(
    const std::string& host, uint16_t port, ClientOptions options) {
  if (options.tls_context == nullptr && !options.allow_plaintext) {
    return absl::InvalidArgumentError(
        "FTPS needs a TLS context (plaintext FTP only with allow_plaintext)");
  }
  if (options.tls_context != nullptr &&
      options.tls_context->role() != Role::kClient) {
    return absl::InvalidArgumentError("FTPS needs a client TLS context");
  }
  if (options.tls_context == nullptr && options.implicit_tls) {
    return absl::InvalidArgumentError("implicit FTPS needs a TLS context");
  }
  absl::StatusOr<OwnedFd> fd = ConnectTcp(host, port, options.timeout);
  if (!fd.ok()) return fd.status();
  std::unique_ptr<FtpsClient> client(
      new FtpsClient(host, std::move(options), std::move(*fd)));
  if (absl::Status s = client->Start(port); !s.ok()) return s;
  return client;
}

absl::Status FtpsClient::Start(uint16_t port) {
  absl::StatusOr<Endpoint> peer = PeerEndpoint(plain_fd_.get());
  absl::StatusOr<Endpoint> local = LocalEndpoint(plain_fd_.get());
  if (!peer.ok()) return peer.status();
  if (!local.ok()) return local.status();
  peer_ = *peer;
  local_ = *local;
  // Every wait is bounded: reads and writes go through poll with a deadline.
  if (absl::Status s = SetNonBlocking(plain_fd_.get(), true); !s.ok()) return s;
  if (options_.tls_context != nullptr) {
    // Data connections use the control connection's Context; each
    // detaches from its session cache (see OpenData).
    data_context_ = options_.tls_context;
  }
  if (options_.implicit_tls) {
    if (absl::Status s = SecureControl(); !s.ok()) return s;
  }
  absl::StatusOr<Reply> greeting = ReadReply();
  if (!greeting.ok()) return greeting.status();
  if (greeting->code != 220) {
    return ServerRefused(absl::StrCat("connecting to ", host_, ":", port),
                         *greeting);
  }
  if (options_.implicit_tls || options_.tls_context == nullptr) {
    if (options_.tls_context == nullptr) {
      Trace("WARNING: plaintext FTP: password and data travel in clear");
    }
    return absl::OkStatus();
  }
  absl::StatusOr<Reply> auth = Command("AUTH TLS");
  if (!auth.ok()) return auth.status();
  if (auth->code != 234) {
    if (options_.allow_plaintext) {
      Trace("WARNING: server refused AUTH TLS; continuing in plaintext "
            "as allow_plaintext asks");
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
    return absl::DataLossError(
        "unexpected data after the AUTH TLS reply (possible injection)");
  }
  return SecureControl();
}

absl::Status FtpsClient::SecureControl() {
  absl::StatusOr<std::unique_ptr<Connection>> conn =
      Connection::Create(options_.tls_context, std::move(plain_fd_), host_);
  if (!conn.ok()) return conn.status();
  control_ = std::move(*conn);
  control_->set_timeout(options_.timeout);
  if (absl::Status s = control_->Handshake(); !s.ok()) return s;
  Trace(absl::StrCat("control connection: ", control_->version_name(),
                     ", session ",
                     control_->session_reused() ? "reused" : "NOT reused"));
  // The session the data connections offer, leased for this client alone:
  // under TLS 1.3 the server's first ticket (waited for); under TLS 1.2 the
  // session the control connection resumed or established.
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

absl::StatusOr<size_t> FtpsClient::ControlRead(char* buf, size_t len) {
  if (control_) return control_->Read(buf, len);
  const absl::Time deadline = absl::Now() + options_.timeout;
  for (;;) {
    ssize_t n = recv(plain_fd_.get(), buf, len, 0);
    if (n >= 0) return static_cast<size_t>(n);
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) {
      return absl::UnavailableError(
          absl::StrCat("control connection to ", host_, ": ",
                       strerror(errno)));
    }
    if (!WaitForFd(plain_fd_.get(), false, deadline).ok()) {
      return absl::DeadlineExceededError(
          absl::StrCat("no reply from ", host_, " within ",
                       absl::FormatDuration(options_.timeout)));
    }
  }
}

bool FtpsClient::ControlHasInput() {
  if (absl::StrContains(inbuf_, '\n')) return true;
  const int fd = control_ ? control_->fd() : plain_fd_.get();
  pollfd p{fd, POLLIN, 0};
  if (control_ && SSL_pending(control_->ssl()) > 0) return true;
  if (poll(&p, 1, 0) <= 0) return false;
  if (!control_) return true;
  // Readable may only mean a ticket: process it and look again.
  if (!control_->ProcessPendingMessages().ok()) return true;
  return SSL_pending(control_->ssl()) > 0;
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
      return absl::DeadlineExceededError(absl::StrCat(
          "the reply from ", host_, " did not complete within ",
          absl::FormatDuration(options_.timeout)));
    }
    char buf[4096];
    absl::StatusOr<size_t> n = ControlRead(buf, sizeof(buf));
    if (!n.ok()) return n.status();
    if (*n == 0) {
      return absl::UnavailableError(
          absl::StrCat(host_, " closed the control connection"));
    }
    inbuf_.append(buf, *n);
  }
  inbuf_.clear();
  return absl::DataLossError(absl::StrCat(
      "reply line from ", host_, " longer than ", kMaxLine, " bytes"));
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
      return absl::DataLossError(absl::StrCat(
          "malformed reply from ", host_, ": ", reply.status().message()));
    }
    if (reply->has_value()) return **reply;
  }
}

absl::Status FtpsClient::SendLine(absl::string_view line) {
  if (line.find_first_of("\r\n") != absl::string_view::npos) {
    return absl::InvalidArgumentError(
        "FTP command or argument contains CR or LF");
  }
  const std::string masked = MaskCommand(line);
  commands_sent_.push_back(masked);
  Trace(absl::StrCat("> ", masked));
  std::string wire = absl::StrCat(line, "\r\n");
  if (control_) return control_->Write(wire);
  const absl::Time deadline = absl::Now() + options_.timeout;
  absl::string_view rest(wire);
  while (!rest.empty()) {
    ssize_t n = send(plain_fd_.get(), rest.data(), rest.size(), MSG_NOSIGNAL);
    if (n < 0 && (errno == EINTR)) continue;
    if (n < 0 && errno == EAGAIN) {
      if (!WaitForFd(plain_fd_.get(), true, deadline).ok()) {
        return absl::DeadlineExceededError("sending a command timed out");
      }
      continue;
    }
    if (n < 0) {
      return absl::UnavailableError(absl::StrCat(
          "control connection to ", host_, ": ", strerror(errno)));
    }
    rest.remove_prefix(static_cast<size_t>(n));
  }
  return absl::OkStatus();
}

absl::StatusOr<Reply> FtpsClient::Command(absl::string_view line) {
  if (desynced_) {
    return absl::FailedPreconditionError(
        "the control connection lost track of the server's replies after an "
        "earlier failure; reconnect");
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
  if (!r.ok()) return r.status();
  if (r->is_intermediate()) {
    r = Expect(absl::StrCat("PASS ", password), true);
    if (!r.ok()) return r.status();
    if (r->is_intermediate()) {
      return ServerRefused("login needs an ACCT, which is not supported", *r);
    }
  }
  logged_in_ = true;
  if (control_) {
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

  OwnedFd fd;
  std::optional<TcpListener> listener;
  if (options_.passive) {
    std::optional<uint16_t> port;
    if (!epsv_failed_) {
      absl::StatusOr<Reply> r = Command("EPSV");
      if (!r.ok()) return r.status();
      if (r->code == 229) {
        absl::StatusOr<uint16_t> p = ParseEpsvReply(r->text());
        if (!p.ok()) return p.status();
        port = *p;
      } else if (r->is_permanent_failure()) {
        epsv_failed_ = true;  // PASV from now on.
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
      if (!ep.ok()) return ep.status();
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
    if (!connected.ok()) return connected.status();
    fd = std::move(*connected);
  } else {
    absl::StatusOr<TcpListener> l = TcpListener::Listen(local_.address, 0, 1);
    if (!l.ok()) return l.status();
    listener.emplace(std::move(*l));
    Endpoint ours{local_.address, listener->port()};
    bool done = false;
    if (!eprt_failed_) {
      absl::StatusOr<std::string> arg = FormatEprtArgument(ours);
      if (!arg.ok()) return arg.status();
      absl::StatusOr<Reply> r = Command(absl::StrCat("EPRT ", *arg));
      if (!r.ok()) return r.status();
      if (r->is_completion()) {
        done = true;
      } else if (r->is_permanent_failure()) {
        eprt_failed_ = true;
      } else {
        return ServerRefused("EPRT", *r);
      }
    }
    if (!done) {
      absl::StatusOr<std::string> arg = FormatPortArgument(ours);
      if (!arg.ok()) return arg.status();
      if (auto r = Expect(absl::StrCat("PORT ", *arg)); !r.ok()) {
        return r.status();
      }
    }
  }

  if (rest_offset > 0) {
    absl::StatusOr<Reply> r =
        Expect(absl::StrCat("REST ", rest_offset), /*allow_intermediate=*/true);
    if (!r.ok()) return r.status();
  }
  if (desynced_) return Command(command).status();  // Its clear error.
  if (absl::Status s = SendLine(command); !s.ok()) return s;
  // From here on the server owes a final reply to |command|: an attempt that
  // fails must still read it, or every later reply would answer the wrong
  // command.
  bool final_consumed = false;
  absl::StatusOr<std::unique_ptr<DataChannel>> opened =
      ConnectData(command, std::move(data), std::move(fd), listener,
                  &final_consumed);
  if (opened.ok() || final_consumed) return opened;
  return Abandon(command, opened.status());
}

absl::Status FtpsClient::Abandon(absl::string_view command,
                                 absl::Status why) {
  for (int i = 0; i < 3; ++i) {
    absl::StatusOr<Reply> r = ReadReply();
    if (!r.ok()) break;
    if (r->is_preliminary()) continue;
    if (LooksLikeReuseRefusal(*r, data_context_ && options_.protect_data,
                              false)) {
      return ReuseRefused(command, *r, options_.reuse_session);
    }
    // The server's own reason (550 no such file...) explains the failure.
    if (!r->is_completion()) return ServerRefused(command, *r);
    return absl::Status(why.code(), absl::StrCat(why.message(),
                                                 "; the server said \"",
                                                 r->ToString(), "\""));
  }
  desynced_ = true;
  return why;
}

absl::StatusOr<std::unique_ptr<FtpsClient::DataChannel>>
FtpsClient::ConnectData(absl::string_view command,
                        std::unique_ptr<DataChannel> data, OwnedFd fd,
                        std::optional<TcpListener>& listener,
                        bool* final_consumed) {
  const absl::Time deadline = absl::Now() + options_.timeout;
  // Reads a reply that arrives while the data connection is being set up:
  // a preliminary 1xx lets us go on; anything else ends the attempt.
  auto check_control = [&](bool resumed) -> absl::Status {
    absl::StatusOr<Reply> r = ReadReply();
    if (!r.ok()) return r.status();
    if (r->is_preliminary() && !data->got_preliminary) {
      data->got_preliminary = true;
      return absl::OkStatus();
    }
    *final_consumed = true;
    if (r->is_completion() && listener && !data->final_reply) {
      // Done before we accepted: the data waits in the listen backlog.
      data->final_reply = *r;
      return absl::OkStatus();
    }
    if (LooksLikeReuseRefusal(*r, data_context_ && options_.protect_data,
                              resumed)) {
      return ReuseRefused(command, *r, data->offered_session);
    }
    return ServerRefused(command, *r);
  };

  if (listener) {
    for (;;) {
      pollfd p[2] = {{listener->fd(), POLLIN, 0},
                     {control_ ? control_->fd() : plain_fd_.get(), POLLIN, 0}};
      absl::Duration left = deadline - absl::Now();
      if (left <= absl::ZeroDuration()) {
        return absl::DeadlineExceededError(
            absl::StrCat(command, ": the server did not connect back within ",
                         absl::FormatDuration(options_.timeout)));
      }
      poll(p, 2, static_cast<int>(std::min<int64_t>(
                     100, absl::ToInt64Milliseconds(left) + 1)));
      // The listener first: a connection in the backlog is the transfer.
      if (!(p[0].revents & POLLIN) && ControlHasInput()) {
        if (absl::Status s = check_control(false); !s.ok()) return s;
        continue;
      }
      if (p[0].revents & POLLIN) {
        absl::StatusOr<OwnedFd> accepted =
            listener->Accept(absl::Milliseconds(1));
        if (!accepted.ok()) return accepted.status();
        // Only the control connection's peer may connect back.
        absl::StatusOr<Endpoint> from = PeerEndpoint(accepted->get());
        if (!from.ok() || from->address != peer_.address) {
          return absl::PermissionDeniedError(absl::StrCat(
              command, ": refusing a data connection from ",
              from.ok() ? from->address : "an unknown address"));
        }
        fd = std::move(*accepted);
        break;
      }
    }
  }

  const bool protect = control_ != nullptr && options_.protect_data;
  if (!protect) {
    if (absl::Status s = SetNonBlocking(fd.get(), true); !s.ok()) return s;
    data->fd = std::move(fd);
    return data;
  }

  // The FTP client is the TLS client on data connections (RFC 4217), in
  // active mode too.
  absl::StatusOr<std::unique_ptr<Connection>> tls =
      Connection::Create(data_context_, std::move(fd), host_);
  if (!tls.ok()) return tls.status();
  data->tls = std::move(*tls);
  // A data connection's sessions are not the cache's: it runs on a port of
  // its own and, with reuse, offers the control connection's leased session.
  if (absl::Status s = data->tls->DetachFromCache(); !s.ok()) return s;
  if (options_.reuse_session && !control_lease_.empty()) {
    if (absl::Status s = data->tls->OfferLease(control_lease_); !s.ok()) {
      return s;
    }
    data->offered_session = true;
  }
  data->info.tls = true;
  // Handshake in short slices so that a refusal on the control connection
  // (522, 425, 550...) is seen at once instead of after the timeout.
  data->tls->set_timeout(absl::Milliseconds(50));
  for (;;) {
    absl::Status hs = data->tls->Handshake();
    if (hs.ok()) break;
    if (hs.code() != absl::StatusCode::kDeadlineExceeded) {
      // The server dropped the handshake; its reply (read by Abandon) says
      // why.
      return absl::UnavailableError(absl::StrCat(
          command, ": TLS handshake on data connection ", data->info.number,
          " failed: ", hs.message()));
    }
    if (ControlHasInput()) {
      if (absl::Status s = check_control(false); !s.ok()) return s;
    }
    if (absl::Now() >= deadline) {
      return absl::DeadlineExceededError(absl::StrCat(
          command, ": TLS handshake on data connection ", data->info.number,
          " timed out after ", absl::FormatDuration(options_.timeout)));
    }
  }
  data->tls->set_timeout(options_.timeout);
  data->info.session_reused = data->tls->session_reused();
  data->info.version = data->tls->version_name();
  return data;
}

absl::Status FtpsClient::FinishData(std::unique_ptr<DataChannel> data,
                                    absl::Status transfer) {
  const std::string command = data->info.command;
  const bool tls = data->tls != nullptr;
  const bool resumed = data->info.session_reused;
  absl::Status closing;
  if (transfer.ok() && tls) {
    // close_notify both ways (reading tickets first), before the reply.
    closing = data->tls->Shutdown();
  }
  data_connections_.push_back(data->info);
  Trace(absl::StrCat("data connection ", data->info.number, ": ",
                     tls ? data->info.version : "plaintext",
                     tls ? (resumed ? ", session reused"
                                    : ", session NOT reused")
                         : "",
                     ", ", data->info.bytes, " bytes"));
  const bool got_preliminary = data->got_preliminary;
  std::optional<Reply> early_final = std::move(data->final_reply);
  data.reset();  // Closes the data socket.

  absl::StatusOr<Reply> final_reply =
      early_final ? absl::StatusOr<Reply>(*early_final) : ReadReply();
  if (final_reply.ok() && final_reply->is_preliminary() && !got_preliminary) {
    final_reply = ReadReply();
  }
  if (!final_reply.ok()) desynced_ = true;
  if (!transfer.ok()) {
    if (final_reply.ok() && !final_reply->is_completion()) {
      if (LooksLikeReuseRefusal(*final_reply, tls, resumed)) {
        return ReuseRefused(command, *final_reply, true);
      }
      return absl::Status(transfer.code(),
                          absl::StrCat(transfer.message(), "; the server said \"",
                                       final_reply->ToString(), "\""));
    }
    return transfer;
  }
  if (!final_reply.ok()) return final_reply.status();
  if (!final_reply->is_completion()) {
    if (LooksLikeReuseRefusal(*final_reply, tls, resumed)) {
      return ReuseRefused(command, *final_reply, true);
    }
    return ServerRefused(command, *final_reply);
  }
  if (!closing.ok()) {
    // The server confirmed the transfer but did not end TLS cleanly.
    Trace(absl::StrCat("data connection: unclean TLS close: ",
                       closing.message()));
  }
  return absl::OkStatus();
}

absl::Status FtpsClient::Retrieve(const std::string& path, const Sink& sink,
                                  uint64_t offset) {
  absl::StatusOr<std::unique_ptr<DataChannel>> data =
      OpenData(absl::StrCat("RETR ", path), offset);
  if (!data.ok()) return data.status();
  absl::Status transfer;
  std::string buf(256 * 1024, '\0');
  for (;;) {
    absl::StatusOr<size_t> n =
        (*data)->Read(&buf[0], buf.size(), options_.timeout);
    if (!n.ok()) {
      transfer = n.status();
      break;
    }
    if (*n == 0) break;
    (*data)->info.bytes += *n;
    if (options_.progress) options_.progress(*n);
    transfer = sink(absl::string_view(buf.data(), *n));
    if (!transfer.ok()) break;
  }
  return FinishData(std::move(*data), transfer);
}

absl::Status FtpsClient::Store(const std::string& path, const Source& source,
                               bool append, uint64_t offset) {
  absl::StatusOr<std::unique_ptr<DataChannel>> data =
      OpenData(absl::StrCat(append ? "APPE " : "STOR ", path), offset);
  if (!data.ok()) return data.status();
  absl::Status transfer;
  std::string buf(256 * 1024, '\0');
  for (;;) {
    absl::StatusOr<size_t> n = source(&buf[0], buf.size());
    if (!n.ok()) {
      transfer = n.status();
      break;
    }
    if (*n == 0) break;
    transfer = (*data)->Write(absl::string_view(buf.data(), *n),
                              options_.timeout);
    if (!transfer.ok()) break;
    (*data)->info.bytes += *n;
    if (options_.progress) options_.progress(*n);
  }
  return FinishData(std::move(*data), transfer);
}

absl::StatusOr<std::string> FtpsClient::ReadAll(absl::string_view command) {
  std::string out;
  absl::Status s = [&] {
    absl::StatusOr<std::unique_ptr<DataChannel>> data = OpenData(command, 0);
    if (!data.ok()) return data.status();
    absl::Status transfer;
    char buf[65536];
    for (;;) {
      absl::StatusOr<size_t> n =
          (*data)->Read(buf, sizeof(buf), options_.timeout);
      if (!n.ok()) {
        transfer = n.status();
        break;
      }
      if (*n == 0) break;
      (*data)->info.bytes += *n;
      out.append(buf, *n);
      if (out.size() > (256u << 20)) {
        transfer = absl::ResourceExhaustedError("listing larger than 256 MiB");
        break;
      }
    }
    return FinishData(std::move(*data), transfer);
  }();
  if (!s.ok()) return s;
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
    if (!e.ok()) return e.status();
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
  if (open == std::string::npos) return ServerRefused("PWD: no quoted path", *r);
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
  return ServerRefused("PWD: unterminated path", *r);
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
    return ServerRefused(absl::StrCat("SIZE ", path, ": not a number"), *r);
  }
  return size;
}

absl::StatusOr<absl::Time> FtpsClient::ModificationTime(
    const std::string& path) {
  absl::StatusOr<Reply> r = Expect(absl::StrCat("MDTM ", path));
  if (!r.ok()) return r.status();
  absl::string_view text = r->lines.front();
  text.remove_prefix(std::min<size_t>(4, text.size()));
  return ParseFtpTime(absl::StripAsciiWhitespace(text));
}

absl::Status FtpsClient::DownloadFile(const std::string& remote,
                                      const std::string& local, bool resume) {
  const std::string part = local + ".part";
  uint64_t offset = 0;
  if (!resume || !FileExists(part, &offset)) offset = 0;
  std::optional<uint64_t> remote_size;
  if (offset > 0) {
    // Resuming trusts the part file only if the remote file is at least as
    // long; it is also checked against the remote size at the end, so a
    // file replaced meanwhile never yields a complete-looking mix.
    absl::StatusOr<uint64_t> size = Size(remote);
    if (size.ok()) remote_size = *size;
    if (remote_size && *remote_size < offset) {
      Trace(absl::StrCat("'", part, "' is longer than '", remote,
                         "' now: downloading again from the start"));
      offset = 0;
    }
  }
  // The part file is opened on the first byte: a refused or missing file
  // leaves nothing behind, an interrupted one keeps what arrived for a
  // later resume.
  FILE* out = nullptr;
  auto close_out = absl::MakeCleanup([&] {
    if (out) fclose(out);
  });
  absl::Status s = Retrieve(
      remote,
      [&](absl::string_view chunk) -> absl::Status {
        if (out == nullptr) {
          out = fopen(part.c_str(), offset > 0 ? "ab" : "wb");
          if (out == nullptr) {
            return absl::PermissionDeniedError(absl::StrCat(
                "cannot write '", part, "': ", strerror(errno)));
          }
        }
        if (fwrite(chunk.data(), 1, chunk.size(), out) != chunk.size()) {
          return absl::ResourceExhaustedError(absl::StrCat(
              "writing '", part, "': ", strerror(errno)));
        }
        return absl::OkStatus();
      },
      offset);
  if (s.ok() && out == nullptr) {
    // An empty file (or nothing left to resume): create it now.
    out = fopen(part.c_str(), offset > 0 ? "ab" : "wb");
    if (out == nullptr) {
      return absl::PermissionDeniedError(
          absl::StrCat("cannot write '", part, "': ", strerror(errno)));
    }
  }
  if (out == nullptr) return s;
  const bool flushed = fflush(out) == 0 && fsync(fileno(out)) == 0;
  const bool closed = fclose(out) == 0;
  out = nullptr;
  if (!s.ok()) return s;
  if (!flushed || !closed) {
    return absl::ResourceExhaustedError(
        absl::StrCat("writing '", part, "' failed: ", strerror(errno)));
  }
  uint64_t got = 0;
  if (remote_size && FileExists(part, &got) && got != *remote_size) {
    return absl::DataLossError(absl::StrCat(
        "resumed download of '", remote, "' has ", got, " bytes but the "
        "server says ", *remote_size, "; '", part, "' kept, '", local,
        "' not written"));
  }
  if (rename(part.c_str(), local.c_str()) != 0) {
    return absl::PermissionDeniedError(absl::StrCat(
        "renaming '", part, "' to '", local, "': ", strerror(errno)));
  }
  return absl::OkStatus();
}

absl::Status FtpsClient::UploadFile(const std::string& local,
                                    const std::string& remote, bool resume) {
  int fd = open(local.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return absl::NotFoundError(
        absl::StrCat("cannot read '", local, "': ", strerror(errno)));
  }
  auto close_fd = absl::MakeCleanup([fd] { close(fd); });
  uint64_t offset = 0;
  if (resume) {
    absl::StatusOr<uint64_t> size = Size(remote);
    if (size.ok()) offset = *size;
    struct stat st;
    if (fstat(fd, &st) == 0 && offset > static_cast<uint64_t>(st.st_size)) {
      return absl::FailedPreconditionError(absl::StrCat(
          "cannot resume the upload of '", local, "': '", remote, "' is "
          "already longer (", offset, " bytes) than the local file (",
          st.st_size, " bytes)"));
    }
    if (offset > 0 && lseek(fd, static_cast<off_t>(offset), SEEK_SET) < 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "cannot resume '", local, "' at byte ", offset, ": ",
          strerror(errno)));
    }
  }
  return Store(
      remote,
      [&](char* buf, size_t len) -> absl::StatusOr<size_t> {
        for (;;) {
          ssize_t n = read(fd, buf, len);
          if (n >= 0) return static_cast<size_t>(n);
          if (errno != EINTR) {
            return absl::DataLossError(absl::StrCat(
                "reading '", local, "': ", strerror(errno)));
          }
        }
      },
      /*append=*/false, offset);
}

absl::Status FtpsClient::Quit() {
  absl::StatusOr<Reply> r = Command("QUIT");
  if (r.ok() && r->code == 221 && control_) {
    // The server's goodbye came over TLS: whatever the TCP close looks like,
    // nothing was truncated, and the control sessions may stay cached.
    control_->ConfirmEndByProtocol();
  }
  absl::Status shut = control_ ? control_->Shutdown() : absl::OkStatus();
  if (!r.ok()) return r.status();
  if (!r->is_completion()) return ServerRefused("QUIT", *r);
  if (!shut.ok()) {
    // vsftpd closes after 221 without close_notify; harmless after 221.
    Trace(absl::StrCat("control connection closed without close_notify "
                       "after the server's goodbye"));
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
