// ContextMaterial: what a Context is built from beyond its options' plain
// values, read once: the trust roots (from ca_file, ca_dir, ca_pem or the
// system store) and this side's certificate chain and private key (from
// files or PEM). Both the Context's identity and its BoringSSL configuration
// are made from these same bytes, so what is trusted is exactly what the
// identity names.
#ifndef TLSESSION_TLS_CONTEXT_MATERIAL_H_
#define TLSESSION_TLS_CONTEXT_MATERIAL_H_

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "tls/context_options.h"

namespace tlsession {

struct ContextMaterial {
  // Whether this side verifies its peer (a client unless
  // insecure_skip_verify; a server that requires client certificates).
  bool verifies_peer = false;
  // Trust roots, without duplicates, in the order read; empty when this side
  // does not verify its peer.
  std::vector<bssl::UniquePtr<X509>> roots;
  // This side's certificate chain, leaf first, and its private key; empty
  // and null when it has none.
  std::vector<bssl::UniquePtr<X509>> chain;
  bssl::UniquePtr<EVP_PKEY> private_key;
};

// Reads and parses the material |options| name. Errors name the option and
// the file ("cannot read CA file '/x': No such file or directory").
// ca_dir is read whole: every PEM certificate in its files (symbolic links
// such as c_rehash's included; files holding none are skipped).
absl::StatusOr<ContextMaterial> LoadContextMaterial(
    const ContextOptions& options);

// Every PEM certificate in |pem|; fails, naming |what|, when there is none.
absl::StatusOr<std::vector<bssl::UniquePtr<X509>>> ParseCertificates(
    absl::string_view pem, absl::string_view what);

}  // namespace tlsession

#endif  // TLSESSION_TLS_CONTEXT_MATERIAL_H_
