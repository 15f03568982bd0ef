#include "ftp_adapter/control_channel.h"

#include <utility>

#include "absl/strings/cord.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "base/cleanse.h"
#include "base/redact_url.h"
#include "ftp_adapter/printable.h"
#include "ftp_adapter/url.h"

namespace tlsession::ftp {
namespace {

constexpr size_t kMaxLine = 8192;        // A reply line longer is hostile.
constexpr size_t kMaxReplyLines = 1000;  // So is a longer reply.
constexpr char kReplyPayload[] = "type.tlsession/ftp.reply_code";

}  // namespace

absl::Status ServerRefused(absl::string_view what, const Reply& reply,
                           ErrorCategory category) {
  absl::Status status(
      reply.is_transient_failure() ? absl::StatusCode::kUnavailable
                                   : absl::StatusCode::kFailedPrecondition,
      absl::StrCat(what, ": the server replied \"", reply.ToString(), "\""));
  status.SetPayload(kReplyPayload, absl::Cord(absl::StrCat(reply.code)));
  return WithCategory(std::move(status), category);
}

std::optional<int> RefusalCode(const absl::Status& status) {
  auto payload = status.GetPayload(kReplyPayload);
  if (!payload) return std::nullopt;
  int value = 0;
  if (!absl::SimpleAtoi(std::string(*payload), &value)) return std::nullopt;
  return value;
}

absl::Status NetworkError(absl::Status status) {
  return WithCategory(std::move(status), ErrorCategory::kConnection);
}

absl::Status ProtocolError(absl::Status status) {
  return WithCategory(std::move(status), ErrorCategory::kProtocol);
}

std::string MaskCommand(absl::string_view line) {
  if (absl::StartsWithIgnoreCase(line, "PASS ")) return "PASS ****";
  const size_t space = line.find(' ');
  if (space == absl::string_view::npos) return std::string(line);
  return absl::StrCat(line.substr(0, space + 1),
                      RedactUrl(line.substr(space + 1)));
}

ControlChannel::ControlChannel(std::string host, const ClientOptions& options,
                               std::unique_ptr<TcpStream> plain)
    : host_(std::move(host)),
      options_(options),
      plain_(std::move(plain)),
      stream_(plain_.get()),
      peer_(plain_->peer()),
      local_(plain_->local()) {}

ControlChannel::~ControlChannel() = default;

void ControlChannel::Trace(absl::string_view line) {
  if (options_.trace) options_.trace(Printable(line));
}

void ControlChannel::Warn(absl::string_view line) {
  if (options_.warn) {
    options_.warn(Printable(line));
  } else {
    Trace(absl::StrCat("WARNING: ", line));
  }
}

absl::Status ControlChannel::Secure() {
  OwnedFd fd = plain_->Release();
  plain_.reset();
  stream_ = nullptr;
  absl::StatusOr<std::unique_ptr<Connection>> conn =
      Connection::Create(options_.tls_context, std::move(fd), host_);
  if (!conn.ok()) return NetworkError(conn.status());
  tls_ = std::move(*conn);
  stream_ = tls_.get();
  tls_->set_timeout(options_.timeout);
  if (absl::Status s = tls_->Handshake(); !s.ok()) return NetworkError(s);
  Trace(absl::StrCat("control connection: ", tls_->version_name(), ", session ",
                     tls_->session_reused() ? "reused" : "NOT reused"));
  if (tls_->offered_origin() == SessionOrigin::kCache &&
      !tls_->session_reused()) {
    Trace(absl::StrCat(
        "session cache: ", host_,
        " did not resume the cached session offered; a server that never "
        "resumes control connections (ProFTPD under TLS 1.2 without a "
        "TLSSessionCache) gains nothing from --session-cache"));
  }
  return absl::OkStatus();
}

void ControlChannel::LeaseForData() {
  if (leased_ || tls_ == nullptr) return;
  leased_ = true;
  // The session the data connections offer, leased for this client alone:
  // under TLS 1.3 the server's ticket (waited for, so that it is in hand
  // before the data connection opens); under TLS 1.2 the session the
  // control connection resumed (servers such as ProFTPD compare the data
  // connections' offers with it) or established.
  absl::StatusOr<SessionLease> lease = tls_->LeaseSession(options_.ticket_wait);
  if (lease.ok()) {
    lease_ = *std::move(lease);
  } else {
    Trace(absl::StrCat("no resumable session on the control connection: ",
                       lease.status().message()));
  }
}

void ControlChannel::KeepDataTicket(const Session& session) {
  if (data_ticket_kept_ || tls_ == nullptr ||
      tls_->version() < TLS1_3_VERSION) {
    return;
  }
  data_ticket_kept_ = tls_->AdoptSession(session);
}

bool ControlChannel::HasInput() {
  return absl::StrContains(inbuf_, '\n') || stream_->HasBufferedInput();
}

absl::StatusOr<std::string> ControlChannel::ReadLine() {
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
      return NetworkError(absl::DeadlineExceededError(
          absl::StrCat("the reply from ", host_, " did not complete within ",
                       absl::FormatDuration(options_.timeout))));
    }
    char buf[4096];
    absl::StatusOr<size_t> n = stream_->Read(buf, sizeof(buf));
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

absl::StatusOr<Reply> ControlChannel::ReadReply() {
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

absl::Status ControlChannel::SendLine(absl::string_view line) {
  if (line.find_first_of("\r\n") != absl::string_view::npos) {
    return WithCategory(
        absl::InvalidArgumentError("FTP command or argument contains CR or LF"),
        ErrorCategory::kUsage);
  }
  const std::string masked = MaskCommand(line);
  commands_sent_.push_back(masked);
  Trace(absl::StrCat("> ", masked));
  std::string wire = absl::StrCat(line, "\r\n");
  absl::Status sent = stream_->Write(wire);
  CleanseString(&wire);  // It may hold a password.
  return NetworkError(sent);
}

absl::StatusOr<Reply> ControlChannel::Command(absl::string_view line) {
  if (!in_step_) {
    return NetworkError(absl::FailedPreconditionError(
        "the control connection lost track of the server's replies after an "
        "earlier failure; reconnect"));
  }
  if (absl::Status s = SendLine(line); !s.ok()) return s;
  return ReadReply();
}

absl::StatusOr<Reply> ControlChannel::Expect(absl::string_view line,
                                             bool allow_intermediate) {
  absl::StatusOr<Reply> reply = Command(line);
  if (!reply.ok()) return reply.status();
  if (reply->is_completion() ||
      (allow_intermediate && reply->is_intermediate())) {
    return reply;
  }
  return ServerRefused(MaskCommand(line), *reply);
}

absl::Status ControlChannel::Close(bool goodbye) {
  if (goodbye && tls_ != nullptr) {
    // The server's goodbye came over TLS: whatever the TCP close looks like,
    // nothing was truncated, and the control sessions may stay cached.
    tls_->ConfirmEndByProtocol();
  }
  return stream_->Shutdown();
}

}  // namespace tlsession::ftp
