// Connection (declared in tls/connection.h): 0-RTT early data. The client's
// HandshakeWithEarlyData, the server's view of what arrived early, and the
// two BoringSSL callbacks that put the server's single-use check in front of
// BoringSSL's 0-RTT decision (see ARCHITECTURE.md, "0-RTT early data").
#include <openssl/bytestring.h>
#include <openssl/err.h>
#include <openssl/sha.h>

#include <algorithm>
#include <optional>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "tls/connection.h"

namespace tlsession {
namespace {

// The first PSK identity of |hello|'s pre_shared_key extension (RFC 8446,
// 4.2.11): the ticket BoringSSL tries to resume. nullopt when there is none
// or the extension does not parse (BoringSSL then refuses the hello).
std::optional<std::string> FirstPskIdentity(const SSL_CLIENT_HELLO* hello) {
  const uint8_t* data = nullptr;
  size_t len = 0;
  if (!SSL_early_callback_ctx_extension_get(hello, TLSEXT_TYPE_pre_shared_key,
                                            &data, &len)) {
    return std::nullopt;
  }
  CBS ext, identities, identity;
  uint32_t obfuscated_age;
  CBS_init(&ext, data, len);
  if (!CBS_get_u16_length_prefixed(&ext, &identities) ||
      !CBS_get_u16_length_prefixed(&identities, &identity) ||
      !CBS_get_u32(&identities, &obfuscated_age) || CBS_len(&identity) == 0) {
    return std::nullopt;
  }
  return std::string(reinterpret_cast<const char*>(CBS_data(&identity)),
                     CBS_len(&identity));
}

// SHA-256 of |bytes|, as 32 raw bytes.
std::string Sha256(absl::string_view bytes) {
  uint8_t digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), digest);
  return std::string(reinterpret_cast<const char*>(digest), sizeof(digest));
}

// The single-use check for |hello|, which offers early data to |context|.
absl::Status ClaimTicket(const Context& context,
                         const SSL_CLIENT_HELLO* hello) {
  std::optional<std::string> ticket = FirstPskIdentity(hello);
  if (!ticket) {
    return absl::InvalidArgumentError("early data offered without a ticket");
  }
  ServerSessionStore* store = context.options().session_store.get();
  if (store == nullptr) {
    return absl::FailedPreconditionError("no server session store");
  }
  // A ticket made before now expires before now + session_timeout.
  const absl::Time expiry =
      context.options().clock() + context.options().session_timeout;
  return store->ClaimEarlyData(Sha256(*ticket), expiry);
}

}  // namespace

absl::string_view EarlyDataOutcomeName(EarlyDataOutcome outcome) {
  switch (outcome) {
    case EarlyDataOutcome::kNone:
      return "kNone";
    case EarlyDataOutcome::kNotOffered:
      return "kNotOffered";
    case EarlyDataOutcome::kAccepted:
      return "kAccepted";
    case EarlyDataOutcome::kRejected:
      return "kRejected";
  }
  return "an unknown outcome";
}

ssl_select_cert_result_t Connection::EarlyDataGate(
    const SSL_CLIENT_HELLO* hello) {
  SSL* ssl = hello->ssl;
  const Context* context = Context::FromSslCtx(SSL_get_SSL_CTX(ssl));
  const uint8_t* data = nullptr;
  size_t len = 0;
  if (context == nullptr || !context->options().early_data ||
      !SSL_early_callback_ctx_extension_get(hello, TLSEXT_TYPE_early_data,
                                            &data, &len)) {
    return ssl_select_cert_success;  // No early data offered: nothing to do.
  }
  absl::Status claim = ClaimTicket(*context, hello);
  if (!claim.ok()) {
    // Fail closed for 0-RTT; the resumption itself goes on.
    SSL_set_early_data_enabled(ssl, 0);
    Connection* self = Driving();
    if (self != nullptr && self->ssl_.get() == ssl) {
      self->early_data_check_ = std::move(claim);
    }
  }
  return ssl_select_cert_success;
}

int Connection::EarlyDataTicketsCallback(const SSL_CLIENT_HELLO* hello) {
  const Context* context = Context::FromSslCtx(SSL_get_SSL_CTX(hello->ssl));
  if (context != nullptr && context->options().early_data) {
    SSL_set_early_data_enabled(hello->ssl, 1);
  }
  return 1;
}

absl::StatusOr<std::unique_ptr<Connection>> Connection::ConnectWithEarlyData(
    std::shared_ptr<const Context> context, const std::string& host,
    uint16_t port, absl::string_view early_data, UnsentEarlyData unsent,
    const Session& session) {
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
  absl::Status s = (*conn)->HandshakeWithEarlyData(early_data, unsent);
  if (!s.ok()) return s;
  return conn;
}

absl::StatusOr<int> Connection::DriveHandshake(absl::Time deadline) {
  absl::StatusOr<int> r = DriveCall(
      [&] { return SSL_do_handshake(ssl_.get()); }, "TLS handshake", deadline);
  if (r.ok() && *r == 0) {
    (void)Enter(ConnectionState::kBroken);
    return absl::UnavailableError(absl::StrCat(
        "TLS handshake with ", peer_name_, " failed: peer closed"));
  }
  return r;
}

absl::StatusOr<bool> Connection::StartEarlyHandshake(absl::Time deadline) {
  if (absl::Status s = StartHandshake(); !s.ok()) return s;
  // BoringSSL offers early data only with a session that allows it (a
  // ticket of a server with early data on, whose ALPN is among ours), and
  // says why not otherwise; with it, it returns once the ClientHello is out.
  SSL_set_early_data_enabled(ssl_.get(), context_->options().early_data);
  absl::StatusOr<int> r = DriveHandshake(deadline);
  if (!r.ok()) return r.status();
  if (*r == kEarlyDataRejected) {
    return absl::InternalError("early data rejected before it was written");
  }
  return SSL_in_early_data(ssl_.get()) != 0;
}

absl::StatusOr<bool> Connection::WriteEarlyAndFinish(absl::string_view data,
                                                     absl::Time deadline) {
  bool rejected = false;
  while (!data.empty() && !rejected) {
    // Past the ticket's limit, SSL_write completes the handshake first.
    const int n = static_cast<int>(std::min<size_t>(data.size(), 1 << 30));
    absl::StatusOr<int> r =
        DriveCall([&] { return SSL_write(ssl_.get(), data.data(), n); },
                  "TLS early data write", deadline);
    if (!r.ok()) return r.status();
    if (*r == kEarlyDataRejected) {
      rejected = true;
    } else if (*r == 0) {
      return absl::UnavailableError(absl::StrCat(
          "TLS write to ", peer_name_, " failed: peer closed the connection"));
    } else {
      data.remove_prefix(static_cast<size_t>(*r));
    }
  }
  if (!rejected) {
    absl::StatusOr<int> r = DriveHandshake(deadline);
    if (!r.ok()) return r.status();
    rejected = *r == kEarlyDataRejected;
  }
  if (!rejected) return true;
  // BoringSSL dropped the early bytes; the handshake restarts in 1-RTT on
  // this connection.
  SSL_reset_early_data_reject(ssl_.get());
  absl::StatusOr<int> r = DriveHandshake(deadline);
  if (!r.ok()) return r.status();
  if (*r == kEarlyDataRejected) {
    return absl::InternalError("early data rejected twice");
  }
  return false;
}

absl::Status Connection::HandshakeWithEarlyData(absl::string_view data,
                                                UnsentEarlyData unsent) {
  if (!sessions_ || state_ != ConnectionState::kNew) {
    return absl::FailedPreconditionError(
        "early data is sent by a client, before its handshake");
  }
  const absl::Time deadline = absl::Now() + timeout_;
  absl::StatusOr<bool> early = StartEarlyHandshake(deadline);
  if (!early.ok()) return early.status();
  bool accepted = false;
  if (*early) {
    absl::StatusOr<bool> done = WriteEarlyAndFinish(data, deadline);
    if (!done.ok()) return done.status();
    accepted = *done;
  } else {
    absl::StatusOr<int> r = DriveHandshake(deadline);
    if (!r.ok()) return r.status();
  }
  if (absl::Status s = Enter(ConnectionState::kOpen); !s.ok()) return s;
  early_result_.outcome = accepted ? EarlyDataOutcome::kAccepted
                          : *early ? EarlyDataOutcome::kRejected
                                   : EarlyDataOutcome::kNotOffered;
  early_result_.reason = early_data_reason();
  if (accepted || unsent == UnsentEarlyData::kReport) return absl::OkStatus();
  early_result_.sent_after_handshake = true;
  return Write(data);
}

bool Connection::early_data_accepted() const {
  return SSL_early_data_accepted(ssl_.get()) != 0;
}

bool Connection::in_early_data() const {
  return SSL_in_early_data(ssl_.get()) != 0;
}

std::string Connection::early_data_reason() const {
  if (!early_data_check_.ok()) {
    return early_data_check_.code() == absl::StatusCode::kAlreadyExists
               ? "ticket already used for 0-RTT"
               : absl::StrCat("single-use check failed: ",
                              early_data_check_.message());
  }
  if (state_ == ConnectionState::kNew) return "";
  const char* reason =
      SSL_early_data_reason_string(SSL_get_early_data_reason(ssl_.get()));
  return reason != nullptr ? reason : "unknown";
}

}  // namespace tlsession
