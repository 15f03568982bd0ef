#include "tests/testing/test_sessions.h"

#include <openssl/bytestring.h>
#include <openssl/err.h>
#include <openssl/mem.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <cstdio>
#include <cstdlib>

namespace tlsession::testing {
namespace {

// Context-specific, constructed (explicit) tags of BoringSSL's SSL_SESSION
// encoding.
constexpr unsigned Tag(unsigned n) {
  return CBS_ASN1_CONSTRUCTED | CBS_ASN1_CONTEXT_SPECIFIC | n;
}
constexpr unsigned kTimeTag = Tag(1);
constexpr unsigned kTimeoutTag = Tag(2);
constexpr unsigned kPeerTag = Tag(3);
constexpr unsigned kSessionIdContextTag = Tag(4);
constexpr unsigned kTicketLifetimeHintTag = Tag(9);
constexpr unsigned kTicketTag = Tag(10);
constexpr unsigned kIsServerTag = Tag(22);

// TLS_AES_128_GCM_SHA256 and ECDHE-ECDSA-AES128-GCM-SHA256.
constexpr uint16_t kTls13Cipher = 0x1301;
constexpr uint16_t kTls12Cipher = 0xc02b;

[[noreturn]] void Die(const char* what) {
  fprintf(stderr, "MakeSession: %s\n", what);
  ERR_print_errors_fp(stderr);
  abort();
}

std::string RandomBytes(size_t n) {
  std::string out(n, '\0');
  RAND_bytes(reinterpret_cast<uint8_t*>(&out[0]), n);
  return out;
}

std::string Sha256(absl::string_view data) {
  uint8_t out[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const uint8_t*>(data.data()), data.size(), out);
  return std::string(reinterpret_cast<char*>(out), sizeof(out));
}

bool AddOctets(CBB* cbb, absl::string_view bytes) {
  return CBB_add_asn1_octet_string(
      cbb, reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
}

const SSL_CTX* ParsingContext() {
  static SSL_CTX* const ctx = SSL_CTX_new(TLS_method());
  return ctx;
}

}  // namespace

Session MakeSession(const SessionSpec& spec) {
  const bool tls13 = spec.version >= TLS1_3_VERSION;
  const bool has_ticket = spec.resumable && (tls13 || spec.tls12_ticket);
  const std::string ticket = has_ticket ? RandomBytes(96) : "";
  // BoringSSL's clients name ticket sessions by a digest of the ticket.
  std::string id;
  if (spec.resumable) id = has_ticket ? Sha256(ticket) : RandomBytes(32);
  const std::string secret = !spec.secret.empty() ? spec.secret
                             : tls13              ? RandomBytes(32)
                                                  : RandomBytes(48);
  std::string peer_der;
  if (spec.peer != nullptr) {
    uint8_t* der = nullptr;
    const int len = i2d_X509(const_cast<X509*>(spec.peer), &der);
    if (len <= 0) Die("cannot encode the peer certificate");
    peer_der.assign(reinterpret_cast<char*>(der), len);
    OPENSSL_free(der);
  }

  bssl::ScopedCBB cbb;
  CBB session, child, cipher;
  bool ok = CBB_init(cbb.get(), 512) &&
            CBB_add_asn1(cbb.get(), &session, CBS_ASN1_SEQUENCE) &&
            CBB_add_asn1_uint64(&session, 1) &&  // The encoding's version.
            CBB_add_asn1_uint64(&session, spec.version) &&
            CBB_add_asn1(&session, &cipher, CBS_ASN1_OCTETSTRING) &&
            CBB_add_u16(&cipher, tls13 ? kTls13Cipher : kTls12Cipher) &&
            AddOctets(&session, id) && AddOctets(&session, secret) &&
            CBB_add_asn1(&session, &child, kTimeTag) &&
            CBB_add_asn1_uint64(&child, absl::ToUnixSeconds(spec.time)) &&
            CBB_add_asn1(&session, &child, kTimeoutTag) &&
            CBB_add_asn1_uint64(&child, absl::ToInt64Seconds(spec.timeout));
  if (ok && !peer_der.empty()) {
    ok =
        CBB_add_asn1(&session, &child, kPeerTag) &&
        CBB_add_bytes(&child, reinterpret_cast<const uint8_t*>(peer_der.data()),
                      peer_der.size());
  }
  ok = ok && CBB_add_asn1(&session, &child, kSessionIdContextTag) &&
       AddOctets(&child, spec.context_id);
  if (ok && spec.ticket_lifetime_hint > absl::ZeroDuration()) {
    ok = CBB_add_asn1(&session, &child, kTicketLifetimeHintTag) &&
         CBB_add_asn1_uint64(&child,
                             absl::ToInt64Seconds(spec.ticket_lifetime_hint));
  }
  if (ok && has_ticket) {
    ok =
        CBB_add_asn1(&session, &child, kTicketTag) && AddOctets(&child, ticket);
  }
  ok = ok && CBB_add_asn1(&session, &child, kIsServerTag) &&
       CBB_add_asn1_bool(&child, 0);  // A client's session.
  uint8_t* der = nullptr;
  size_t der_len = 0;
  if (!ok || !CBB_finish(cbb.get(), &der, &der_len)) Die("encoding failed");
  bssl::UniquePtr<uint8_t> owned(der);
  bssl::UniquePtr<SSL_SESSION> parsed(
      SSL_SESSION_from_bytes(der, der_len, ParsingContext()));
  if (parsed == nullptr) Die("BoringSSL refused the encoded session");
  Session s(std::move(parsed));

  // The session must be what the spec says, or the tests prove nothing.
  if (s.protocol_version() != spec.version) Die("wrong version");
  if (s.is_single_use() != tls13) Die("wrong single-use");
  if (s.is_resumable() != spec.resumable) Die("wrong resumability");
  if (s.context_id() != spec.context_id) Die("wrong context id");
  if (s.time() != absl::FromUnixSeconds(absl::ToUnixSeconds(spec.time))) {
    Die("wrong time");
  }
  if (s.timeout() != absl::Seconds(absl::ToInt64Seconds(spec.timeout))) {
    Die("wrong timeout");
  }
  if (has_ticket &&
      s.ticket_lifetime_hint() !=
          absl::Seconds(absl::ToInt64Seconds(spec.ticket_lifetime_hint))) {
    Die("wrong ticket lifetime hint");
  }
  if ((spec.peer != nullptr) != (SSL_SESSION_get0_peer(s.get()) != nullptr)) {
    Die("wrong peer certificate");
  }
  return s;
}

Session Tls13Ticket(absl::string_view context_id, absl::Time time) {
  SessionSpec spec;
  spec.context_id = std::string(context_id);
  spec.time = time;
  return MakeSession(spec);
}

Session Tls12Session(absl::string_view context_id, absl::Time time) {
  SessionSpec spec;
  spec.version = TLS1_2_VERSION;
  spec.context_id = std::string(context_id);
  spec.time = time;
  return MakeSession(spec);
}

}  // namespace tlsession::testing
