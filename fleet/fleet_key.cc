#include "fleet/fleet_key.h"

#include <openssl/digest.h>
#include <openssl/err.h>
#include <openssl/hkdf.h>
#include <openssl/hmac.h>
#include <openssl/mem.h>
#include <openssl/rand.h>

#include <cstdint>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "base/private_file.h"

namespace tlsession::fleet {
namespace {

constexpr char kFormat = 1;  // Seal's first byte.
constexpr size_t kNonceBytes = 12;
constexpr size_t kTagBytes = 16;
constexpr size_t kSubkeyBytes = 32;
constexpr absl::string_view kSalt = "tlsession fleet key v1";

// HKDF-SHA256 of |material| for |label|: kSubkeyBytes bytes.
absl::StatusOr<Secret> Derive(const Secret& material, absl::string_view label) {
  std::string out(kSubkeyBytes, '\0');
  if (!HKDF(reinterpret_cast<uint8_t*>(&out[0]), out.size(), EVP_sha256(),
            material.data(), material.size(),
            reinterpret_cast<const uint8_t*>(kSalt.data()), kSalt.size(),
            reinterpret_cast<const uint8_t*>(label.data()), label.size())) {
    Secret::Wipe(out);
    return absl::InternalError("HKDF failed deriving the fleet keys");
  }
  return Secret(std::move(out));
}

// The associated data of a sealed value: a label and the Redis key name.
std::string AssociatedData(absl::string_view key_name) {
  return absl::StrCat("tlsession fleet seal v1", absl::string_view("\0", 1),
                      key_name);
}

}  // namespace

absl::StatusOr<std::shared_ptr<const FleetKey>> FleetKey::FromFile(
    const std::string& path, absl::string_view namespace_prefix) {
  absl::StatusOr<Secret> material =
      ReadKeyFile(path, "fleet key file", kMinKeyBytes);
  if (!material.ok()) return material.status();
  return FromSecret(*material, namespace_prefix);
}

absl::StatusOr<std::shared_ptr<const FleetKey>> FleetKey::FromSecret(
    const Secret& material, absl::string_view namespace_prefix) {
  if (material.size() < kMinKeyBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("fleet key must be at least ", kMinKeyBytes,
                     " bytes, got ", material.size()));
  }
  std::shared_ptr<FleetKey> key(new FleetKey());
  key->prefix_ = std::string(namespace_prefix);
  absl::StatusOr<Secret> seal = Derive(material, "seal");
  absl::StatusOr<Secret> names = Derive(material, "names");
  absl::StatusOr<Secret> digest = Derive(material, "client digest");
  absl::StatusOr<Secret> sid = Derive(material, "session id context");
  for (const auto* s : {&seal, &names, &digest, &sid}) {
    if (!s->ok()) return s->status();
  }
  key->name_key_ = *std::move(names);
  key->digest_key_ = *std::move(digest);
  key->sid_context_ = *std::move(sid);
  if (!EVP_AEAD_CTX_init(key->aead_.get(), EVP_aead_aes_256_gcm(), seal->data(),
                         seal->size(), kTagBytes,
                         /*impl=*/nullptr)) {
    return absl::InternalError("AES-256-GCM setup failed");
  }
  return std::shared_ptr<const FleetKey>(std::move(key));
}

FleetKey::~FleetKey() {
  // The AEAD context holds the expanded sealing key.
  EVP_AEAD_CTX_cleanup(aead_.get());
  OPENSSL_cleanse(aead_.get(), sizeof(EVP_AEAD_CTX));
  EVP_AEAD_CTX_zero(aead_.get());
}

std::string FleetKey::KeyName(absl::string_view kind, absl::string_view id,
                              absl::string_view suffix) const {
  const std::string message = absl::StrCat(kind.size(), ":", kind, ";", id);
  uint8_t mac[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  HMAC(EVP_sha256(), name_key_.data(), name_key_.size(),
       reinterpret_cast<const uint8_t*>(message.data()), message.size(), mac,
       &len);
  const std::string digest = absl::BytesToHexString(
      absl::string_view(reinterpret_cast<char*>(mac), 16));
  return absl::StrCat(prefix_, kind, ":{", digest, "}", suffix);
}

std::string FleetKey::Seal(absl::string_view key_name,
                           absl::string_view plaintext) const {
  const std::string ad = AssociatedData(key_name);
  std::string out(1 + kNonceBytes + plaintext.size() + kTagBytes, '\0');
  uint8_t* p = reinterpret_cast<uint8_t*>(&out[0]);
  p[0] = kFormat;
  RAND_bytes(p + 1, kNonceBytes);
  size_t sealed_len = 0;
  if (!EVP_AEAD_CTX_seal(
          aead_.get(), p + 1 + kNonceBytes, &sealed_len,
          plaintext.size() + kTagBytes, p + 1, kNonceBytes,
          reinterpret_cast<const uint8_t*>(plaintext.data()), plaintext.size(),
          reinterpret_cast<const uint8_t*>(ad.data()), ad.size())) {
    ERR_clear_error();
    return "";  // Never happens with a valid context; an empty value never
                // opens.
  }
  out.resize(1 + kNonceBytes + sealed_len);
  return out;
}

absl::StatusOr<Secret> FleetKey::Open(absl::string_view key_name,
                                      absl::string_view sealed) const {
  if (sealed.size() < kSealOverhead || sealed[0] != kFormat) {
    return absl::DataLossError(absl::StrCat("value under ", key_name,
                                            " is not a sealed fleet value (",
                                            sealed.size(), " bytes)"));
  }
  const std::string ad = AssociatedData(key_name);
  const uint8_t* p = reinterpret_cast<const uint8_t*>(sealed.data());
  std::string out(sealed.size() - kSealOverhead, '\0');
  size_t out_len = 0;
  if (!EVP_AEAD_CTX_open(aead_.get(), reinterpret_cast<uint8_t*>(&out[0]),
                         &out_len, out.size(), p + 1, kNonceBytes,
                         p + 1 + kNonceBytes, sealed.size() - 1 - kNonceBytes,
                         reinterpret_cast<const uint8_t*>(ad.data()),
                         ad.size())) {
    Secret::Wipe(out);
    // Leave nothing on this thread's error queue: Open runs inside
    // BoringSSL's session callbacks, and a stale error would fail the
    // handshake that goes on without the session.
    ERR_clear_error();
    return absl::DataLossError(absl::StrCat(
        "value under ", key_name,
        " does not open under the fleet key (tampered, moved from another "
        "key, or sealed under another fleet key); ignored"));
  }
  out.resize(out_len);
  return Secret(std::move(out));
}

Secret FleetKey::ClientDigestKey() const { return digest_key_.Copy(); }

std::string FleetKey::SessionIdContext() const {
  return std::string(sid_context_.view());
}

}  // namespace tlsession::fleet
