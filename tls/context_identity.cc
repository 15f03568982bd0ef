#include "tls/context_identity.h"

#include <openssl/sha.h>

#include <algorithm>
#include <cstdint>

#include "absl/strings/str_cat.h"

namespace tlsession {
namespace {

std::string Sha256(absl::string_view s) {
  uint8_t out[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const uint8_t*>(s.data()), s.size(), out);
  return std::string(reinterpret_cast<char*>(out), sizeof(out));
}

// |value| preceded by its length: no two lists share an encoding.
void AppendPrefixed(std::string* out, absl::string_view value) {
  const uint64_t len = value.size();
  out->append(reinterpret_cast<const char*>(&len), sizeof(len));
  out->append(value.data(), value.size());
}

std::string List(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& item : items) AppendPrefixed(&out, item);
  return out;
}

std::string CertificateDigests(const std::vector<bssl::UniquePtr<X509>>& certs,
                               bool sorted) {
  std::vector<std::string> digests;
  for (const auto& cert : certs) {
    uint8_t* der = nullptr;
    const int len = i2d_X509(cert.get(), &der);
    bssl::UniquePtr<uint8_t> owned(der);
    digests.push_back(Sha256(absl::string_view(
        reinterpret_cast<char*>(der), len > 0 ? static_cast<size_t>(len) : 0)));
  }
  // Roots are a set; a chain is in order.
  if (sorted) std::sort(digests.begin(), digests.end());
  return List(digests);
}

std::string PublicKeyDigest(const EVP_PKEY* key) {
  if (key == nullptr) return "";
  uint8_t* der = nullptr;
  const int len = i2d_PUBKEY(const_cast<EVP_PKEY*>(key), &der);
  bssl::UniquePtr<uint8_t> owned(der);
  if (len <= 0) return "unreadable key";
  return Sha256(absl::string_view(reinterpret_cast<char*>(der), len));
}

}  // namespace

std::vector<IdentityInput> IdentityInputs(const ContextOptions& options,
                                          const ContextMaterial& material) {
  const bool server = options.role == Role::kServer;
  return {
      {"role", server ? "server" : "client"},
      {"min_version", absl::StrCat(options.min_version)},
      {"max_version", absl::StrCat(options.max_version)},
      {"cipher_list", options.cipher_list},
      {"groups", options.groups},
      {"alpn_protocols", List(options.alpn_protocols)},
      {"insecure_skip_verify", options.insecure_skip_verify ? "1" : "0"},
      {"require_client_certificate",
       options.require_client_certificate ? "1" : "0"},
      {"ca_file ca_dir ca_pem", CertificateDigests(material.roots, true)},
      {"certificate_chain_file certificate_chain_pem",
       CertificateDigests(material.chain, false)},
      // The public half names the key; the private half must never be
      // hashed into a value stored beside sessions.
      {"private_key_file private_key_pem",
       PublicKeyDigest(material.private_key.get())},
      {"session_id_context", options.session_id_context},
  };
}

std::vector<IdentityInput> ResumptionInputs(const ContextOptions& options,
                                            const ContextMaterial& material) {
  return {
      {"session_id_context", options.session_id_context},
      {"certificate_chain_file certificate_chain_pem",
       CertificateDigests(material.chain, false)},
      {"private_key_file private_key_pem",
       PublicKeyDigest(material.private_key.get())},
      {"require_client_certificate",
       options.require_client_certificate ? "required" : "none"},
      {"ca_file ca_dir ca_pem", CertificateDigests(material.roots, true)},
  };
}

std::string ServerSessionIdContext(const ContextOptions& options,
                                   const ContextMaterial& material) {
  std::string message = "tlsession-server-sid-ctx-v1";
  for (const IdentityInput& input : ResumptionInputs(options, material)) {
    AppendPrefixed(&message, input.fields);
    AppendPrefixed(&message, input.value);
  }
  return Sha256(message);
}

std::string ContextIdentity(const ContextOptions& options,
                            const ContextMaterial& material) {
  std::string message = "tlsession-context-v2";
  for (const IdentityInput& input : IdentityInputs(options, material)) {
    AppendPrefixed(&message, input.fields);
    AppendPrefixed(&message, input.value);
  }
  return Sha256(message);
}

const std::vector<FieldOutsideIdentity>& FieldsOutsideIdentity() {
  static const auto* const fields = new std::vector<FieldOutsideIdentity>{
      {"session_id_cache", "servers: whether to resume by ID, not whom"},
      {"session_cache_size", "servers: a bound on the session-ID store"},
      {"session_store", "servers: where session IDs are kept"},
      {"session_timeout", "servers: how long sessions resume"},
      {"session_tickets", "servers: whether tickets are issued"},
      {"tls13_tickets", "servers: how many TLS 1.3 tickets are sent"},
      {"ticket_keys", "servers: how tickets are sealed"},
      {"early_data", "whether 0-RTT is sent or accepted, not whom"},
      {"session_cache", "clients: where sessions are kept"},
      {"keylog_file", "debugging output"},
      {"io_timeout", "how long to wait"},
      {"clock", "when sessions expire, not whom they are for"},
  };
  return *fields;
}

}  // namespace tlsession
