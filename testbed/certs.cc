#include "testbed/certs.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec_key.h>
#include <openssl/nid.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>

#include <fstream>
#include <map>
#include <memory>
#include <mutex>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/ssl_error.h"

namespace tlsession::testing {
namespace {

absl::Status Fail(absl::string_view what) {
  return absl::InternalError(absl::StrCat(what, ": ", DrainSslErrors()));
}

bssl::UniquePtr<EVP_PKEY> MakeKey(KeyType type) {
  bssl::UniquePtr<EVP_PKEY> pkey(EVP_PKEY_new());
  if (type == KeyType::kEcdsaP256) {
    bssl::UniquePtr<EC_KEY> ec(EC_KEY_new_by_curve_name(NID_X9_62_prime256v1));
    if (!ec || !EC_KEY_generate_key(ec.get()) ||
        !EVP_PKEY_assign_EC_KEY(pkey.get(), ec.release())) {
      return nullptr;
    }
  } else {
    bssl::UniquePtr<RSA> rsa(RSA_new());
    bssl::UniquePtr<BIGNUM> e(BN_new());
    if (!rsa || !e || !BN_set_word(e.get(), RSA_F4) ||
        !RSA_generate_key_ex(rsa.get(), 2048, e.get(), nullptr) ||
        !EVP_PKEY_assign_RSA(pkey.get(), rsa.release())) {
      return nullptr;
    }
  }
  return pkey;
}

bool AddExtension(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  bssl::UniquePtr<X509_EXTENSION> ext(
      X509V3_EXT_nconf_nid(nullptr, &ctx, nid, value.c_str()));
  return ext && X509_add_ext(cert, ext.get(), -1);
}

std::string ToPem(X509* cert) {
  bssl::UniquePtr<BIO> bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509(bio.get(), cert);
  const uint8_t* data;
  size_t len;
  BIO_mem_contents(bio.get(), &data, &len);
  return std::string(reinterpret_cast<const char*>(data), len);
}

std::string ToPem(EVP_PKEY* key) {
  bssl::UniquePtr<BIO> bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr,
                           nullptr);
  const uint8_t* data;
  size_t len;
  BIO_mem_contents(bio.get(), &data, &len);
  return std::string(reinterpret_cast<const char*>(data), len);
}

}  // namespace

absl::StatusOr<CertAndKey> MakeCertificate(const CertOptions& options,
                                           const CertAndKey* issuer) {
  CertAndKey out;
  out.key = MakeKey(options.key_type);
  if (!out.key) return Fail("key generation");
  out.cert.reset(X509_new());
  X509* cert = out.cert.get();
  uint8_t serial_bytes[8];
  RAND_bytes(serial_bytes, sizeof(serial_bytes));
  serial_bytes[0] &= 0x7f;
  bssl::UniquePtr<BIGNUM> serial(
      BN_bin2bn(serial_bytes, sizeof(serial_bytes), nullptr));
  if (!X509_set_version(cert, X509_VERSION_3) ||
      !BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(cert)) ||
      !ASN1_TIME_set(X509_getm_notBefore(cert),
                     absl::ToTimeT(options.not_before)) ||
      !ASN1_TIME_set(X509_getm_notAfter(cert),
                     absl::ToTimeT(options.not_after)) ||
      !X509_set_pubkey(cert, out.key.get())) {
    return Fail("filling certificate");
  }
  X509_NAME* name = X509_get_subject_name(cert);
  if (!X509_NAME_add_entry_by_txt(
          name, "CN", MBSTRING_UTF8,
          reinterpret_cast<const uint8_t*>(options.common_name.c_str()), -1, -1,
          0) ||
      !X509_set_issuer_name(
          cert, issuer ? X509_get_subject_name(issuer->cert.get()) : name)) {
    return Fail("setting names");
  }
  X509* issuer_cert = issuer ? issuer->cert.get() : cert;
  if (options.is_ca) {
    if (!AddExtension(cert, issuer_cert, NID_basic_constraints,
                      "critical,CA:TRUE") ||
        !AddExtension(cert, issuer_cert, NID_key_usage,
                      "critical,keyCertSign,cRLSign")) {
      return Fail("CA extensions");
    }
  } else {
    std::vector<std::string> sans;
    for (const auto& d : options.dns_names) sans.push_back("DNS:" + d);
    for (const auto& ip : options.ip_addresses) sans.push_back("IP:" + ip);
    if (!AddExtension(cert, issuer_cert, NID_basic_constraints,
                      "critical,CA:FALSE") ||
        !AddExtension(cert, issuer_cert, NID_ext_key_usage,
                      "serverAuth,clientAuth") ||
        (!sans.empty() && !AddExtension(cert, issuer_cert, NID_subject_alt_name,
                                        absl::StrJoin(sans, ",")))) {
      return Fail("leaf extensions");
    }
  }
  EVP_PKEY* signer = issuer ? issuer->key.get() : out.key.get();
  if (!X509_sign(cert, signer, EVP_sha256())) return Fail("signing");
  out.cert_pem = ToPem(cert);
  out.key_pem = ToPem(out.key.get());
  return out;
}

std::string MakeTempDir() {
  const char* base = getenv("TEST_TMPDIR");
  std::string templ = absl::StrCat(base ? base : "/tmp", "/tlsession.XXXXXX");
  if (mkdtemp(templ.data()) == nullptr) {
    fprintf(stderr, "mkdtemp(%s) failed\n", templ.c_str());
    abort();
  }
  return templ;
}

void WriteFileOrDie(const std::string& path, const std::string& contents) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << contents;
  if (!out.good()) {
    fprintf(stderr, "cannot write %s\n", path.c_str());
    abort();
  }
}

const TestPki& GetTestPki(KeyType type) {
  static std::mutex mu;
  static std::map<KeyType, std::unique_ptr<TestPki>>* cache =
      new std::map<KeyType, std::unique_ptr<TestPki>>();
  std::lock_guard<std::mutex> lock(mu);
  auto it = cache->find(type);
  if (it != cache->end()) return *it->second;
  auto pki = std::make_unique<TestPki>();
  auto die = [](const absl::Status& s) {
    fprintf(stderr, "test PKI: %s\n", s.ToString().c_str());
    abort();
  };
  CertOptions ca_options;
  ca_options.common_name = "tlsession test CA";
  ca_options.is_ca = true;
  ca_options.key_type = type;
  auto ca = MakeCertificate(ca_options, nullptr);
  if (!ca.ok()) die(ca.status());
  pki->ca = std::move(*ca);
  CertOptions server_options;
  server_options.common_name = "localhost";
  server_options.dns_names = {"localhost"};
  server_options.ip_addresses = {"127.0.0.1", "::1"};
  server_options.key_type = type;
  auto server = MakeCertificate(server_options, &pki->ca);
  if (!server.ok()) die(server.status());
  pki->server = std::move(*server);
  CertOptions client_options;
  client_options.common_name = "tlsession test client";
  client_options.key_type = type;
  auto client = MakeCertificate(client_options, &pki->ca);
  if (!client.ok()) die(client.status());
  pki->client = std::move(*client);
  pki->dir = MakeTempDir();
  WriteFileOrDie(pki->ca_file(), pki->ca.cert_pem);
  WriteFileOrDie(pki->server_cert_file(), pki->server.cert_pem);
  WriteFileOrDie(pki->server_key_file(), pki->server.key_pem);
  WriteFileOrDie(pki->client_cert_file(), pki->client.cert_pem);
  WriteFileOrDie(pki->client_key_file(), pki->client.key_pem);
  const TestPki& ref = *pki;
  (*cache)[type] = std::move(pki);
  return ref;
}

}  // namespace tlsession::testing
