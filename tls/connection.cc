// Connection (declared in tls/connection.h): construction, the state
// machine, the one driver (Drive, with the thread-local driving Connection
// that BoringSSL's new-session and time callbacks read), I/O, shutdown and
// the negotiated parameters. The session API (set_session, session(),
// WaitForSession, leases, server session isolation) is in
// connection_session_api.cc.
#include "tls/connection.h"

#include <arpa/inet.h>
#include <errno.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <string.h>

#include <algorithm>
#include <climits>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "base/coarse_clock.h"
#include "base/ssl_error.h"
#include "tls/socket_bio.h"

namespace tlsession {
namespace {

// The Connection whose SSL call this thread is in (see Drive). BoringSSL
// calls the new-session callback only from inside such a call, on the same
// thread, so the callback finds its Connection here rather than through the
// SSL's ex_data, which costs an allocation and a lock per connection. The
// current-time callback, which BoringSSL gives no SSL at all, finds its
// Context's clock here too.
thread_local Connection* t_driving = nullptr;

// Sets t_driving for one SSL call; restores the previous value after.
class DrivingScope {
 public:
  explicit DrivingScope(Connection* conn) : previous_(t_driving) {
    t_driving = conn;
  }
  ~DrivingScope() { t_driving = previous_; }
  DrivingScope(const DrivingScope&) = delete;
  DrivingScope& operator=(const DrivingScope&) = delete;

 private:
  Connection* const previous_;
};

bool IsIpLiteral(const std::string& host) {
  // A name with a character no address has needs no parsing: IPv4 is digits
  // and dots, IPv6 always has a colon.
  if (host.find(':') == std::string::npos &&
      host.find_first_not_of("0123456789.") != std::string::npos) {
    return false;
  }
  in6_addr addr6;
  in_addr addr4;
  return inet_pton(AF_INET, host.c_str(), &addr4) == 1 ||
         inet_pton(AF_INET6, host.c_str(), &addr6) == 1;
}

}  // namespace

Connection::Connection(std::shared_ptr<const Context> context, OwnedFd fd,
                       bssl::UniquePtr<SSL> ssl, std::string host,
                       std::string peer_name)
    : context_(std::move(context)),
      fd_(std::move(fd)),
      ssl_(std::move(ssl)),
      host_(std::move(host)),
      peer_name_(std::move(peer_name)),
      timeout_(context_->options().io_timeout) {}

// Sessions not given back by a clean end are dropped with sessions_.
Connection::~Connection() = default;

absl::StatusOr<std::unique_ptr<Connection>> Connection::Create(
    std::shared_ptr<const Context> context, OwnedFd fd, std::string host) {
  if (!fd.valid()) return absl::InvalidArgumentError("invalid socket");
  return CreateInternal(std::move(context), std::move(fd), nullptr,
                        std::move(host));
}

absl::StatusOr<std::unique_ptr<Connection>> Connection::CreateOverBio(
    std::shared_ptr<const Context> context, bssl::UniquePtr<BIO> bio,
    std::string host) {
  if (!bio) return absl::InvalidArgumentError("null BIO");
  return CreateInternal(std::move(context), OwnedFd(), std::move(bio),
                        std::move(host));
}

absl::Status Connection::SetUpClient(const Context& context,
                                     const std::string& name, SSL* ssl) {
  SSL_set_connect_state(ssl);
  const bool verifies = !context.options().insecure_skip_verify;
  if (name.empty()) {
    if (!verifies) return absl::OkStatus();
    return absl::InvalidArgumentError(
        "a client connection needs the server's host name to verify its "
        "certificate");
  }
  X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
  if (IsIpLiteral(name)) {
    // No SNI for addresses (RFC 6066); the certificate must name the IP.
    if (verifies && !X509_VERIFY_PARAM_set1_ip_asc(param, name.c_str())) {
      return absl::InvalidArgumentError(
          absl::StrCat("bad IP address '", name, "'"));
    }
    return absl::OkStatus();
  }
  if (!SSL_set_tlsext_host_name(ssl, name.c_str())) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot send '", name, "' as SNI: ", DrainSslErrors()));
  }
  if (verifies && !SSL_set1_host(ssl, name.c_str())) {
    return absl::InvalidArgumentError(
        absl::StrCat("bad host name '", name, "': ", DrainSslErrors()));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<Connection>> Connection::CreateInternal(
    std::shared_ptr<const Context> context, OwnedFd fd,
    bssl::UniquePtr<BIO> bio, std::string host) {
  if (context == nullptr) {
    return absl::InvalidArgumentError("Connection needs a Context");
  }
  const bool is_server = context->role() == Role::kServer;
  // "[::1]" as users write IPv6 hosts in URLs.
  std::string name(absl::StripSuffix(absl::StripPrefix(host, "["), "]"));
  std::string peer_name = name.empty() ? "peer" : name;
  uint16_t port = 0;
  if (fd.valid()) {
    if (absl::StatusOr<Endpoint> peer = PeerEndpoint(fd.get()); peer.ok()) {
      peer_name = HostPort(name.empty() ? peer->address : name, peer->port);
      port = peer->port;
    }
    if (absl::Status s = SetNonBlocking(fd.get(), true); !s.ok()) return s;
  }
  bssl::UniquePtr<SSL> ssl(SSL_new(context->ssl_ctx()));
  if (!ssl) {
    return absl::InternalError(
        absl::StrCat("SSL_new failed: ", DrainSslErrors()));
  }
  if (is_server) {
    SSL_set_accept_state(ssl.get());
  } else if (absl::Status s = SetUpClient(*context, name, ssl.get()); !s.ok()) {
    return s;
  }
  const int raw_fd = fd.get();
  std::unique_ptr<Connection> conn(
      new Connection(std::move(context), std::move(fd), std::move(ssl),
                     std::move(name), std::move(peer_name)));
  if (!bio) {
    // Counters live in the Connection, so the BIO is made once it exists.
    bio = NewSocketBio(raw_fd, &conn->wire_);
    if (!bio) return absl::InternalError("allocating the socket BIO failed");
  }
  // The same BIO both ways: SSL_set_bio takes the one reference.
  SSL_set_bio(conn->ssl_.get(), bio.get(), bio.get());
  bio.release();
  if (!is_server) {
    // The cache key is only built for a cache (it copies the identity).
    const ContextOptions& options = conn->context_->options();
    ClientSessionCache::Key key;
    if (options.session_cache != nullptr) {
      key = {conn->context_->id(), conn->host_, port, options.alpn_protocols};
    }
    conn->sessions_.emplace(options.session_cache, std::move(key));
  }
  return conn;
}

absl::StatusOr<std::unique_ptr<Connection>> Connection::Connect(
    std::shared_ptr<const Context> context, const std::string& host,
    uint16_t port, const Session& session) {
  if (context == nullptr) {
    return absl::InvalidArgumentError("Connection needs a Context");
  }
  absl::StatusOr<OwnedFd> fd =
      ConnectTcp(host, port, context->options().io_timeout);
  if (!fd.ok()) return fd.status();
  absl::StatusOr<std::unique_ptr<Connection>> conn =
      Create(std::move(context), std::move(*fd), host);
  if (!conn.ok()) return conn.status();
  if (!session.empty()) {
    if (absl::Status s = (*conn)->set_session(session); !s.ok()) return s;
  }
  if (absl::Status s = (*conn)->Handshake(); !s.ok()) return s;
  return conn;
}

absl::string_view ConnectionStateName(ConnectionState state) {
  switch (state) {
    case ConnectionState::kNew:
      return "kNew";
    case ConnectionState::kHandshaking:
      return "kHandshaking";
    case ConnectionState::kOpen:
      return "kOpen";
    case ConnectionState::kClosed:
      return "kClosed";
    case ConnectionState::kBroken:
      return "kBroken";
  }
  return "an unknown state";
}

absl::Status CheckConnectionStateChange(ConnectionState from,
                                        ConnectionState to) {
  using S = ConnectionState;
  const bool allowed = to == from || (to == S::kBroken && from != S::kClosed) ||
                       (to == S::kHandshaking && from == S::kNew) ||
                       (to == S::kOpen && from == S::kHandshaking) ||
                       (to == S::kClosed && from == S::kOpen);
  if (allowed) return absl::OkStatus();
  return absl::FailedPreconditionError(
      absl::StrCat("invalid Connection state change from ",
                   ConnectionStateName(from), " to ", ConnectionStateName(to)));
}

absl::Status Connection::Enter(ConnectionState next) {
  absl::Status allowed = CheckConnectionStateChange(state_, next);
  if (!allowed.ok()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the connection with ", peer_name_, ": ", allowed.message()));
  }
  state_ = next;
  return absl::OkStatus();
}

absl::Status Connection::EndCleanly() {
  if (absl::Status s = Enter(ConnectionState::kClosed); !s.ok()) return s;
  if (sessions_) sessions_->EndCleanly();
  return absl::OkStatus();
}

void Connection::ConfirmEndByProtocol() {
  if (state_ != ConnectionState::kOpen) return;
  // kOpen -> kClosed is always allowed: EndCleanly cannot fail here.
  absl::Status ended = EndCleanly();
  (void)ended;
}

void Connection::ConfirmSessionsSoFar() {
  if (state_ == ConnectionState::kOpen && sessions_) sessions_->GiveBackHeld();
}

absl::Status Connection::Failure(absl::string_view what, int ssl_error,
                                 int ret) {
  const int saved_errno = errno;
  std::string reason = DrainSslErrors();
  const bool in_handshake = !handshake_complete();
  // What this connection received may have been cut by an attacker, unless
  // it already ended cleanly (kClosed never breaks).
  if (Enter(ConnectionState::kBroken).ok() && sessions_) {
    sessions_->EndUncleanly();
  }
  const std::string prefix =
      absl::StrCat(what, " with ", peer_name_, " failed: ");
  if (ssl_error == SSL_ERROR_SYSCALL) {
    if (ret == 0 || saved_errno == 0) {
      return absl::UnavailableError(
          absl::StrCat(prefix, "connection closed by peer without close_notify",
                       reason.empty() ? "" : absl::StrCat(" (", reason, ")")));
    }
    return absl::UnavailableError(absl::StrCat(prefix, strerror(saved_errno)));
  }
  long verify = SSL_get_verify_result(ssl_.get());
  if (in_handshake && verify != X509_V_OK &&
      verify != X509_V_ERR_INVALID_CALL &&  // Verification never ran.
      reason.find("CERTIFICATE_VERIFY_FAILED") != std::string::npos &&
      context_->role() == Role::kClient &&
      !context_->options().insecure_skip_verify) {
    return absl::UnauthenticatedError(
        absl::StrCat(prefix, "certificate verification failed: ",
                     X509_verify_cert_error_string(verify), " (", reason, ")"));
  }
  if (reason.empty()) reason = absl::StrCat("SSL error ", ssl_error);
  return absl::UnavailableError(absl::StrCat(prefix, reason));
}

template <typename Op>
absl::StatusOr<int> Connection::Drive(Op op, absl::string_view what,
                                      absl::Time deadline, Wait wait) {
  for (;;) {
    // SSL_get_error reads the queue, so it must start empty.
    if (ERR_peek_error() != 0) ERR_clear_error();
    errno = 0;
    int ret;
    {
      DrivingScope scope(this);
      ret = op();
    }
    if (ret > 0) return ret;
    const int err = SSL_get_error(ssl_.get(), ret);
    if (err == SSL_ERROR_ZERO_RETURN) return 0;
    if (err == SSL_ERROR_EARLY_DATA_REJECTED) return kEarlyDataRejected;
    if (err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE) {
      return Failure(what, err, ret);
    }
    if (wait == Wait::kNever) return kWouldBlock;
    if (!fd_.valid()) {
      return absl::UnavailableError(
          absl::StrCat(what, " with ", peer_name_,
                       " would block: a BIO transport is driven by its owner"));
    }
    if (!WaitForFd(fd_.get(), err == SSL_ERROR_WANT_WRITE, deadline).ok()) {
      return absl::DeadlineExceededError(
          absl::StrCat(what, " with ", peer_name_, " timed out after ",
                       absl::FormatDuration(timeout_)));
    }
  }
}

absl::StatusOr<int> Connection::DriveCall(absl::FunctionRef<int()> op,
                                          absl::string_view what,
                                          absl::Time deadline) {
  return Drive([&] { return op(); }, what, deadline);
}

absl::Status Connection::StartHandshake() {
  if (state_ != ConnectionState::kNew) return absl::OkStatus();
  if (absl::Status s = Enter(ConnectionState::kHandshaking); !s.ok()) {
    return s;
  }
  if (!sessions_) return absl::OkStatus();
  const Session& offer = sessions_->ChooseOffer();
  if (!offer.empty() && !SSL_set_session(ssl_.get(), offer.get())) {
    ERR_clear_error();  // Not offered; the handshake goes on in full.
  }
  return absl::OkStatus();
}

absl::StatusOr<bool> Connection::HandshakeStep() {
  if (handshake_complete()) return true;
  if (absl::Status s = StartHandshake(); !s.ok()) return s;
  absl::StatusOr<int> r =
      Drive([&] { return SSL_do_handshake(ssl_.get()); }, "TLS handshake",
            absl::InfiniteFuture(), Wait::kNever);
  if (!r.ok()) return r.status();
  if (*r == kWouldBlock) return false;
  if (*r == 0) {
    if (absl::Status s = Enter(ConnectionState::kBroken); !s.ok()) return s;
    return absl::UnavailableError(absl::StrCat(
        "TLS handshake with ", peer_name_, " failed: peer closed"));
  }
  if (absl::Status s = Enter(ConnectionState::kOpen); !s.ok()) return s;
  if (absl::Status s = FlushTickets(); !s.ok()) return s;
  return true;
}

absl::Status Connection::FlushTickets() {
  if (context_->role() != Role::kServer || version() < TLS1_3_VERSION) {
    return absl::OkStatus();
  }
  // BoringSSL queues TLS 1.3 tickets until the server's next write, so a
  // server that waits for the client first (FTP, SMTP) would never send
  // them. A zero-byte write flushes them now (it returns 0 on success).
  absl::StatusOr<int> r =
      Drive([&] { return SSL_write(ssl_.get(), "", 0) == 0 ? 1 : -1; },
            "sending session tickets", absl::Now() + timeout_,
            fd_.valid() ? Wait::kUntilDeadline : Wait::kNever);
  // A BIO transport flushes as its owner drains it.
  return r.ok() ? absl::OkStatus() : r.status();
}

absl::Status Connection::Handshake() {
  const absl::Time deadline = absl::Now() + timeout_;
  while (!handshake_complete()) {
    absl::StatusOr<bool> done = HandshakeStep();
    if (!done.ok()) return done.status();
    if (*done) break;
    if (!fd_.valid()) {
      return absl::UnavailableError(
          absl::StrCat("TLS handshake with ", peer_name_,
                       " would block: a BIO transport is driven by its owner"));
    }
    const bool for_write = SSL_want_write(ssl_.get());
    if (!WaitForFd(fd_.get(), for_write, deadline).ok()) {
      return absl::DeadlineExceededError(
          absl::StrCat("TLS handshake with ", peer_name_, " timed out after ",
                       absl::FormatDuration(timeout_)));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<size_t> Connection::Read(void* buf, size_t len) {
  if (absl::Status s = Handshake(); !s.ok()) return s;
  const int n = static_cast<int>(std::min<size_t>(len, INT_MAX));
  absl::StatusOr<int> r = Drive([&] { return SSL_read(ssl_.get(), buf, n); },
                                "TLS read", absl::Now() + timeout_);
  if (!r.ok()) return r.status();
  if (*r == 0) {  // The peer's close_notify.
    if (absl::Status s = EndCleanly(); !s.ok()) return s;
  }
  // A server reads early data until the client's Finished, which BoringSSL
  // reads only when no early byte is left: these bytes were early.
  if (*r > 0 && SSL_in_early_data(ssl_.get())) early_bytes_read_ += *r;
  return static_cast<size_t>(*r);
}

absl::Status Connection::Write(absl::string_view data) {
  if (absl::Status s = Handshake(); !s.ok()) return s;
  while (!data.empty()) {
    const int n = static_cast<int>(std::min<size_t>(data.size(), 1 << 30));
    absl::StatusOr<int> r =
        Drive([&] { return SSL_write(ssl_.get(), data.data(), n); },
              "TLS write", absl::Now() + timeout_);
    if (!r.ok()) return r.status();
    if (*r == 0) {
      return absl::UnavailableError(absl::StrCat(
          "TLS write to ", peer_name_, " failed: peer closed the connection"));
    }
    data.remove_prefix(static_cast<size_t>(*r));
  }
  return absl::OkStatus();
}

absl::Status Connection::SendCloseNotify() {
  if (!handshake_complete() ||
      (SSL_get_shutdown(ssl_.get()) & SSL_SENT_SHUTDOWN)) {
    return absl::OkStatus();
  }
  // SSL_shutdown returns 0 once close_notify is sent, 1 once both are.
  absl::StatusOr<int> r =
      Drive([&] { return SSL_shutdown(ssl_.get()) >= 0 ? 1 : -1; },
            "sending close_notify", absl::Now() + timeout_);
  return r.ok() ? absl::OkStatus() : r.status();
}

absl::Status Connection::Shutdown() {
  if (state_ == ConnectionState::kBroken) {
    return absl::FailedPreconditionError(
        absl::StrCat("the connection with ", peer_name_,
                     " already failed; it cannot end cleanly"));
  }
  if (!handshake_complete()) return absl::OkStatus();
  if (absl::Status s = SendCloseNotify(); !s.ok()) return s;
  // Read until the peer's close_notify, discarding data and processing
  // tickets, so that nothing unread makes our kernel send a TCP reset.
  const absl::Time deadline = absl::Now() + timeout_;
  char scratch[16384];
  while (!(SSL_get_shutdown(ssl_.get()) & SSL_RECEIVED_SHUTDOWN)) {
    absl::StatusOr<int> r =
        Drive([&] { return SSL_read(ssl_.get(), scratch, sizeof(scratch)); },
              "waiting for close_notify", deadline);
    if (!r.ok()) return r.status();
    if (*r == 0) break;
  }
  return EndCleanly();
}

absl::StatusOr<int> Connection::PeekPending() {
  char c;
  return Drive([&] { return SSL_peek(ssl_.get(), &c, 1); },
               "reading post-handshake messages", absl::InfiniteFuture(),
               Wait::kNever);
}

absl::Status Connection::ProcessPendingMessages() {
  if (!handshake_complete()) {
    return absl::FailedPreconditionError("the handshake has not happened");
  }
  absl::StatusOr<int> r = PeekPending();
  if (!r.ok()) return r.status();
  if (*r == 0) return EndCleanly();
  return absl::OkStatus();  // Data, if any, stays buffered for Read().
}

Connection* Connection::Driving() { return t_driving; }

int Connection::NewSessionCallback(SSL* ssl, SSL_SESSION* session) {
  Connection* self = t_driving;
  if (self == nullptr || self->ssl_.get() != ssl || !self->sessions_) {
    return 0;  // Not ours: BoringSSL keeps its reference.
  }
  self->sessions_->Received(Session(bssl::UniquePtr<SSL_SESSION>(session)));
  return 1;  // We took ownership of the reference.
}

void Connection::CurrentTimeCallback(const SSL* /*ssl*/, timeval* out_clock) {
  const Connection* self = t_driving;
  const absl::Time now =
      self != nullptr ? self->context_->options().clock() : CoarseNow();
  *out_clock = absl::ToTimeval(std::max(now, absl::UnixEpoch()));
}

bool Connection::HasBufferedInput() {
  if (!handshake_complete()) return false;
  if (SSL_pending(ssl_.get()) > 0) return true;
  // What waits on the socket may be only tickets: process it, then look
  // again. A failure, or the peer's close_notify, is for Read() to report.
  if (!ProcessPendingMessages().ok()) return true;
  return SSL_pending(ssl_.get()) > 0 ||
         (SSL_get_shutdown(ssl_.get()) & SSL_RECEIVED_SHUTDOWN) != 0;
}

bool Connection::session_reused() const {
  // A server reading early data resumed, before its handshake completes.
  return (handshake_complete() || SSL_in_early_data(ssl_.get())) &&
         SSL_session_reused(ssl_.get());
}

bool Connection::handshake_complete() const {
  return state_ != ConnectionState::kNew && !SSL_in_init(ssl_.get());
}

uint16_t Connection::version() const {
  return handshake_complete() || SSL_in_early_data(ssl_.get())
             ? SSL_version(ssl_.get())
             : 0;
}

std::string Connection::version_name() const {
  return version() != 0 ? SSL_get_version(ssl_.get()) : "";
}

std::string Connection::cipher_name() const {
  const SSL_CIPHER* cipher = SSL_get_current_cipher(ssl_.get());
  return cipher ? SSL_CIPHER_standard_name(cipher) : "";
}

std::string Connection::alpn_protocol() const {
  const uint8_t* data = nullptr;
  unsigned len = 0;
  SSL_get0_alpn_selected(ssl_.get(), &data, &len);
  return std::string(reinterpret_cast<const char*>(data), len);
}

std::string Connection::server_name() const {
  const char* name = SSL_get_servername(ssl_.get(), TLSEXT_NAMETYPE_host_name);
  return name ? name : "";
}

bssl::UniquePtr<X509> Connection::peer_certificate() const {
  return bssl::UniquePtr<X509>(SSL_get_peer_certificate(ssl_.get()));
}

}  // namespace tlsession
