#include "session/session.h"

#include <algorithm>

#include <openssl/asn1.h>
#include <openssl/mem.h>
#include <openssl/x509.h>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "base/ssl_error.h"

namespace tlsession {
namespace {

// Serialized form: magic, format version, then BoringSSL's own encoding. The
// magic lets FromBytes tell "not ours" from "ours but damaged".
constexpr absl::string_view kMagic = "TLSS";
constexpr char kFormatVersion = 1;

}  // namespace

Session::Session(bssl::UniquePtr<SSL_SESSION> session)
    : session_(std::move(session)) {}

Session::Session(const Session& other) { *this = other; }

Session& Session::operator=(const Session& other) {
  if (this != &other) {
    if (other.session_) SSL_SESSION_up_ref(other.session_.get());
    session_.reset(other.session_.get());
  }
  return *this;
}

std::string Session::id() const {
  if (!session_) return "";
  unsigned len = 0;
  const uint8_t* data = SSL_SESSION_get_id(session_.get(), &len);
  return std::string(reinterpret_cast<const char*>(data), len);
}

absl::Time Session::time() const {
  if (!session_) return absl::InfinitePast();
  return absl::FromUnixSeconds(
      static_cast<int64_t>(SSL_SESSION_get_time(session_.get())));
}

absl::Duration Session::timeout() const {
  if (!session_) return absl::ZeroDuration();
  return absl::Seconds(SSL_SESSION_get_timeout(session_.get()));
}

absl::Time Session::expiry() const {
  if (!session_) return absl::InfinitePast();
  return time() + timeout();
}

absl::Duration Session::ticket_lifetime_hint() const {
  if (!session_ || !SSL_SESSION_has_ticket(session_.get())) {
    return absl::ZeroDuration();
  }
  return absl::Seconds(SSL_SESSION_get_ticket_lifetime_hint(session_.get()));
}

bool Session::has_ticket() const {
  return session_ && SSL_SESSION_has_ticket(session_.get());
}

uint16_t Session::protocol_version() const {
  return session_ ? SSL_SESSION_get_protocol_version(session_.get()) : 0;
}

bool Session::is_resumable() const {
  return session_ && SSL_SESSION_is_resumable(session_.get());
}

bool Session::is_single_use() const {
  return session_ && SSL_SESSION_should_be_single_use(session_.get());
}

absl::string_view Session::context_id_view() const {
  if (!session_) return absl::string_view();
  unsigned len = 0;
  const uint8_t* data = SSL_SESSION_get0_id_context(session_.get(), &len);
  return absl::string_view(reinterpret_cast<const char*>(data), len);
}

std::string Session::context_id() const {
  return std::string(context_id_view());
}

absl::Time Session::peer_certificate_expiry() const {
  if (!session_) return absl::InfiniteFuture();
  X509* leaf = SSL_SESSION_get0_peer(session_.get());
  if (leaf == nullptr) return absl::InfiniteFuture();
  bssl::UniquePtr<ASN1_TIME> epoch(ASN1_TIME_set(nullptr, 0));
  int days = 0, seconds = 0;
  if (epoch == nullptr ||
      !ASN1_TIME_diff(&days, &seconds, epoch.get(), X509_get0_notAfter(leaf))) {
    // An unreadable date is treated as already expired: never trust it.
    return absl::InfinitePast();
  }
  return absl::FromUnixSeconds(int64_t{days} * 86400 + seconds);
}

absl::Time Session::usable_until() const {
  if (!session_) return absl::InfinitePast();
  absl::Time until = std::min(expiry(), peer_certificate_expiry());
  const absl::Duration hint = ticket_lifetime_hint();
  if (hint > absl::ZeroDuration()) until = std::min(until, time() + hint);
  return until;
}

bool operator==(const Session& a, const Session& b) {
  if (a.session_ == b.session_) return true;
  if (a.empty() || b.empty()) return false;
  return a.context_id_view() == b.context_id_view() && a.id() == b.id();
}

absl::StatusOr<std::string> Session::ToBytes() const {
  if (!session_) {
    return absl::FailedPreconditionError("cannot serialize an empty session");
  }
  uint8_t* data = nullptr;
  size_t len = 0;
  if (!SSL_SESSION_to_bytes(session_.get(), &data, &len)) {
    return absl::InternalError(
        absl::StrCat("serializing session failed: ", DrainSslErrors()));
  }
  bssl::UniquePtr<uint8_t> owned(data);
  std::string out;
  out.reserve(kMagic.size() + 1 + len);
  absl::StrAppend(&out, kMagic);
  out.push_back(kFormatVersion);
  out.append(reinterpret_cast<const char*>(data), len);
  return out;
}

absl::StatusOr<Session> Session::FromBytes(absl::string_view bytes,
                                           const SSL_CTX* ctx,
                                           absl::string_view context_id) {
  absl::StatusOr<Session> session = ParseUnchecked(bytes, ctx);
  if (!session.ok()) return session.status();
  if (!session->BelongsTo(context_id)) {
    return absl::FailedPreconditionError(
        "serialized session belongs to a different context (its "
        "configuration differs), refusing to use it");
  }
  return session;
}

absl::StatusOr<Session> Session::ParseUnchecked(absl::string_view bytes,
                                                const SSL_CTX* ctx) {
  if (bytes.size() < kMagic.size() + 1 ||
      bytes.substr(0, kMagic.size()) != kMagic) {
    return absl::InvalidArgumentError(
        "not a serialized tlsession session (bad magic)");
  }
  if (bytes[kMagic.size()] != kFormatVersion) {
    return absl::InvalidArgumentError(absl::StrCat(
        "unsupported serialized session format version ",
        static_cast<int>(static_cast<unsigned char>(bytes[kMagic.size()]))));
  }
  bytes.remove_prefix(kMagic.size() + 1);
  bssl::UniquePtr<SSL_SESSION> parsed(SSL_SESSION_from_bytes(
      reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), ctx));
  if (parsed == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("corrupted serialized session: ", DrainSslErrors()));
  }
  return Session(std::move(parsed));
}

}  // namespace tlsession
