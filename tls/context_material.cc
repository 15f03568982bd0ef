#include "tls/context_material.h"

#include <dirent.h>
#include <errno.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <string.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <string>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "base/secret.h"
#include "base/ssl_error.h"

namespace tlsession {
namespace {

absl::StatusOr<std::string> ReadFile(const std::string& path,
                                     absl::string_view what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::NotFoundError(
        absl::StrCat("cannot read ", what, " '", path, "': ", strerror(errno)));
  }
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string Der(X509* cert) {
  uint8_t* der = nullptr;
  const int len = i2d_X509(cert, &der);
  if (len <= 0) return "";
  bssl::UniquePtr<uint8_t> owned(der);
  return std::string(reinterpret_cast<char*>(der), len);
}

// Appends |certs| to |roots|, skipping certificates already there.
void AddRoots(std::vector<bssl::UniquePtr<X509>> certs,
              std::vector<bssl::UniquePtr<X509>>* roots,
              absl::flat_hash_set<std::string>* seen) {
  for (auto& cert : certs) {
    if (seen->insert(Der(cert.get())).second) roots->push_back(std::move(cert));
  }
}

// The names in |dir|, sorted, so that the order roots are read in is stable.
absl::StatusOr<std::vector<std::string>> ListFolder(const std::string& dir) {
  std::unique_ptr<DIR, int (*)(DIR*)> d(opendir(dir.c_str()), closedir);
  if (d == nullptr) {
    return absl::NotFoundError(absl::StrCat("cannot read CA directory '", dir,
                                            "': ", strerror(errno)));
  }
  std::vector<std::string> names;
  while (dirent* e = readdir(d.get())) {
    if (e->d_name[0] != '.') names.push_back(e->d_name);
  }
  std::sort(names.begin(), names.end());
  return names;
}

absl::Status LoadFolder(const std::string& dir,
                        std::vector<bssl::UniquePtr<X509>>* roots,
                        absl::flat_hash_set<std::string>* seen) {
  absl::StatusOr<std::vector<std::string>> names = ListFolder(dir);
  if (!names.ok()) return names.status();
  for (const std::string& name : *names) {
    const std::string path = absl::StrCat(dir, "/", name);
    absl::StatusOr<std::string> pem = ReadFile(path, "CA directory file");
    if (!pem.ok()) continue;  // A subfolder or unreadable entry.
    auto certs = ParseCertificates(*pem, path);
    if (certs.ok()) AddRoots(*std::move(certs), roots, seen);
  }
  return absl::OkStatus();
}

absl::Status LoadRoots(const ContextOptions& options, ContextMaterial* out) {
  absl::flat_hash_set<std::string> seen;
  const bool system = options.ca_file.empty() && options.ca_dir.empty() &&
                      options.ca_pem.empty();
  const std::string ca_file =
      system ? std::string(kSystemTrustStore) : options.ca_file;
  if (!ca_file.empty()) {
    absl::StatusOr<std::string> pem = ReadFile(ca_file, "CA file");
    if (!pem.ok()) return pem.status();
    auto certs =
        ParseCertificates(*pem, absl::StrCat("CA file '", ca_file, "'"));
    if (!certs.ok()) return certs.status();
    AddRoots(*std::move(certs), &out->roots, &seen);
  }
  if (!options.ca_dir.empty()) {
    if (absl::Status s = LoadFolder(options.ca_dir, &out->roots, &seen);
        !s.ok()) {
      return s;
    }
  }
  if (!options.ca_pem.empty()) {
    auto certs = ParseCertificates(options.ca_pem, "ca_pem");
    if (!certs.ok()) return certs.status();
    AddRoots(*std::move(certs), &out->roots, &seen);
  }
  if (out->roots.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "CA directory '", options.ca_dir, "' holds no PEM certificate"));
  }
  return absl::OkStatus();
}

// Reads |pem| or, when it is empty, the file |path| (if any).
absl::StatusOr<std::string> PemOrFile(const std::string& pem,
                                      const std::string& path,
                                      absl::string_view what) {
  if (!pem.empty() || path.empty()) return pem;
  return ReadFile(path, what);
}

absl::Status LoadOwnCertificate(const ContextOptions& options,
                                ContextMaterial* out) {
  absl::StatusOr<std::string> chain =
      PemOrFile(options.certificate_chain_pem, options.certificate_chain_file,
                "certificate file");
  if (!chain.ok()) return chain.status();
  absl::StatusOr<std::string> key = PemOrFile(
      options.private_key_pem, options.private_key_file, "private key file");
  if (!key.ok()) return key.status();
  Secret key_pem(*std::move(key));
  if (chain->empty() != key_pem.empty()) {
    return absl::InvalidArgumentError(
        "a certificate needs its private key and a key its certificate");
  }
  if (chain->empty()) return absl::OkStatus();
  auto certs = ParseCertificates(*chain, "certificate chain");
  if (!certs.ok()) return certs.status();
  out->chain = *std::move(certs);
  bssl::UniquePtr<BIO> bio(BIO_new_mem_buf(key_pem.data(), key_pem.size()));
  out->private_key.reset(
      PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (!out->private_key) {
    return absl::InvalidArgumentError(
        absl::StrCat("reading the private key failed: ", DrainSslErrors()));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::vector<bssl::UniquePtr<X509>>> ParseCertificates(
    absl::string_view pem, absl::string_view what) {
  bssl::UniquePtr<BIO> bio(BIO_new_mem_buf(pem.data(), pem.size()));
  std::vector<bssl::UniquePtr<X509>> certs;
  for (;;) {
    bssl::UniquePtr<X509> cert(
        PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
    if (!cert) break;
    certs.push_back(std::move(cert));
  }
  // Reading stops with a "no start line" error at the end of input.
  ERR_clear_error();
  if (certs.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " holds no PEM certificate"));
  }
  return certs;
}

absl::StatusOr<ContextMaterial> LoadContextMaterial(
    const ContextOptions& options) {
  ContextMaterial material;
  material.verifies_peer = options.role == Role::kServer
                               ? options.require_client_certificate
                               : !options.insecure_skip_verify;
  if (material.verifies_peer) {
    if (absl::Status s = LoadRoots(options, &material); !s.ok()) return s;
  }
  if (absl::Status s = LoadOwnCertificate(options, &material); !s.ok()) {
    return s;
  }
  if (options.role == Role::kServer && material.chain.empty()) {
    return absl::InvalidArgumentError(
        "a server context needs a certificate chain and a private key");
  }
  return material;
}

}  // namespace tlsession
