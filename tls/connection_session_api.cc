// Connection's session API (declared in tls/connection.h): the session a
// client offers (set_session, OfferLease, DetachFromCache), the sessions it
// received (session, WaitForSession, LeaseSession) and a server's
// per-connection session-ID context (IsolateSessions, ShareSessionsWith).
// Construction, the state machine, the driver (Drive, with the thread-local
// driving Connection that BoringSSL's new-session and time callbacks read),
// I/O and shutdown are in connection.cc.
#include "tls/connection.h"

#include <openssl/rand.h>

#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "base/ssl_error.h"

namespace tlsession {

absl::Status Connection::set_session(const Session& session) {
  if (context_->role() == Role::kServer) {
    return absl::FailedPreconditionError(
        "cannot set session for a server-side connection");
  }
  if (state_ != ConnectionState::kNew) {
    // BoringSSL aborts on SSL_set_session once a handshake has begun.
    return absl::FailedPreconditionError(
        "cannot set session after the handshake");
  }
  if (!session.empty() && !session.BelongsTo(context_->id())) {
    return absl::InvalidArgumentError(
        "session was made by a different context (another configuration); "
        "refusing to offer it");
  }
  sessions_->SetExplicit(session);
  return absl::OkStatus();
}

absl::Status Connection::OfferLease(const SessionLease& lease) {
  if (absl::Status s = set_session(lease.session()); !s.ok()) return s;
  sessions_->SetLeased(lease);
  return absl::OkStatus();
}

absl::Status Connection::DetachFromCache() {
  if (!sessions_ || state_ != ConnectionState::kNew) {
    return absl::FailedPreconditionError(
        "only a client connection before its handshake can detach from the "
        "session cache");
  }
  sessions_->Detach();
  return absl::OkStatus();
}

absl::StatusOr<SessionLease> Connection::LeaseSession(absl::Duration max_wait) {
  if (!sessions_ || !handshake_complete()) {
    return absl::FailedPreconditionError(
        "only a client connection whose handshake completed can lease its "
        "session");
  }
  if (version() >= TLS1_3_VERSION) {
    absl::StatusOr<Session> ticket = WaitForSession(max_wait);
    if (!ticket.ok()) return ticket.status();
  }
  SessionLease lease = sessions_->Lease(session_reused());
  if (lease.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat(peer_name_,
                     " granted no resumable session (no session ID and no "
                     "ticket)"));
  }
  return lease;
}

bool Connection::AdoptSession(const Session& session) {
  if (!sessions_ || !handshake_complete() || session.empty() ||
      !session.BelongsTo(context_->id())) {
    return false;
  }
  return sessions_->Adopt(session);
}

const Session& Connection::offered_session() const {
  static const Session* const kNone = new Session();
  return sessions_ ? sessions_->offered() : *kNone;
}

SessionOrigin Connection::offered_origin() const {
  return sessions_ ? sessions_->origin() : SessionOrigin::kNone;
}

int Connection::sessions_received() const {
  return sessions_ ? sessions_->received_count() : 0;
}

absl::Status Connection::IsolateSessions() {
  if (context_->role() != Role::kServer || state_ != ConnectionState::kNew) {
    return absl::FailedPreconditionError(
        "IsolateSessions() is for a server-side connection before its "
        "handshake");
  }
  std::string sid_ctx(SSL_MAX_SID_CTX_LENGTH, '\0');
  RAND_bytes(reinterpret_cast<uint8_t*>(&sid_ctx[0]), sid_ctx.size());
  if (!SSL_set_session_id_context(
          ssl_.get(), reinterpret_cast<const uint8_t*>(sid_ctx.data()),
          sid_ctx.size())) {
    return absl::InternalError("setting the session-ID context failed: " +
                               DrainSslErrors());
  }
  isolated_sid_ctx_ = std::move(sid_ctx);
  return absl::OkStatus();
}

absl::Status Connection::ShareSessionsWith(const Connection& control) {
  if (context_->role() != Role::kServer || state_ != ConnectionState::kNew) {
    return absl::FailedPreconditionError(
        "ShareSessionsWith() is for a server-side connection before its "
        "handshake");
  }
  if (control.isolated_sid_ctx_.empty()) {
    return absl::FailedPreconditionError(
        "the control connection did not call IsolateSessions()");
  }
  if (!SSL_set_session_id_context(
          ssl_.get(),
          reinterpret_cast<const uint8_t*>(control.isolated_sid_ctx_.data()),
          control.isolated_sid_ctx_.size())) {
    return absl::InternalError("setting the session-ID context failed: " +
                               DrainSslErrors());
  }
  isolated_sid_ctx_ = control.isolated_sid_ctx_;
  return absl::OkStatus();
}
Session Connection::session() const {
  if (!handshake_complete()) return Session();
  if (sessions_ && !sessions_->latest().empty()) return sessions_->latest();
  return Session(bssl::UniquePtr<SSL_SESSION>(SSL_get1_session(ssl_.get())));
}

absl::StatusOr<Session> Connection::WaitForSession(absl::Duration max_wait) {
  if (!handshake_complete()) {
    return absl::FailedPreconditionError(
        "no session before the handshake has happened");
  }
  const absl::Time deadline = absl::Now() + max_wait;
  for (;;) {
    if (Session current = session(); current.is_resumable()) return current;
    if (version() < TLS1_3_VERSION) {
      return absl::FailedPreconditionError(
          absl::StrCat(peer_name_,
                       " granted no resumable session (no session ID and no "
                       "ticket)"));
    }
    absl::StatusOr<int> r = PeekPending();
    // Tickets may arrive in the same read as the end of the connection.
    if (session().is_resumable()) continue;
    if (!r.ok()) return r.status();
    if (*r > 0) {
      return absl::FailedPreconditionError(absl::StrCat(
          peer_name_, " sent application data before any session ticket"));
    }
    if (*r == 0) {
      return absl::UnavailableError(absl::StrCat(
          peer_name_, " closed the connection before sending a ticket"));
    }
    if (!fd_.valid()) {
      return absl::UnavailableError(
          "waiting for a ticket would block: a BIO transport is driven by "
          "its owner");
    }
    if (!WaitForFd(fd_.get(), /*for_write=*/false, deadline).ok()) {
      return absl::DeadlineExceededError(
          absl::StrCat(peer_name_, " sent no session ticket within ",
                       absl::FormatDuration(max_wait)));
    }
  }
}

}  // namespace tlsession
