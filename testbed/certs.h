// Test certificates made in memory with BoringSSL at test time: a CA, a
// server certificate for localhost (and 127.0.0.1), a client certificate, in
// ECDSA P-256 or RSA-2048. Nothing is fetched or checked in.
#ifndef TLSESSION_TESTBED_CERTS_H_
#define TLSESSION_TESTBED_CERTS_H_

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace tlsession::testing {

enum class KeyType { kEcdsaP256, kRsa2048 };

struct CertOptions {
  std::string common_name = "tlsession test";
  std::vector<std::string> dns_names;
  std::vector<std::string> ip_addresses;
  bool is_ca = false;
  KeyType key_type = KeyType::kEcdsaP256;
  absl::Time not_before = absl::Now() - absl::Hours(1);
  absl::Time not_after = absl::Now() + absl::Hours(24 * 30);
};

struct CertAndKey {
  std::string cert_pem;
  std::string key_pem;
  bssl::UniquePtr<X509> cert;
  bssl::UniquePtr<EVP_PKEY> key;
};

// Makes a certificate signed by |issuer|, or self-signed when it is null.
absl::StatusOr<CertAndKey> MakeCertificate(const CertOptions& options,
                                           const CertAndKey* issuer);

// A CA with a server certificate for "localhost"/127.0.0.1/::1 and a client
// certificate, all with keys of |type|, and the same written as PEM files in
// |dir| (ca.pem, server.pem, server.key, client.pem, client.key).
struct TestPki {
  CertAndKey ca;
  CertAndKey server;
  CertAndKey client;
  std::string dir;
  std::string ca_file() const { return dir + "/ca.pem"; }
  std::string server_cert_file() const { return dir + "/server.pem"; }
  std::string server_key_file() const { return dir + "/server.key"; }
  std::string client_cert_file() const { return dir + "/client.pem"; }
  std::string client_key_file() const { return dir + "/client.key"; }
};

// Made once per process and key type, in a fresh directory under
// $TEST_TMPDIR (or /tmp).
const TestPki& GetTestPki(KeyType type = KeyType::kEcdsaP256);

// A fresh directory under $TEST_TMPDIR (or /tmp).
std::string MakeTempDir();

// Writes |contents| to |path|; aborts the test process on failure.
void WriteFileOrDie(const std::string& path, const std::string& contents);

}  // namespace tlsession::testing

#endif  // TLSESSION_TESTBED_CERTS_H_
