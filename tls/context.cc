#include "tls/context.h"

#include <openssl/bio.h>
#include <openssl/digest.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>
#include <stdlib.h>

#include <fstream>
#include <mutex>
#include <optional>
#include <sstream>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "session/ssl_error.h"
#include "tls/connection.h"

namespace tlsession {
namespace {

int ContextExIndex() {
  static const int index =
      SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

absl::StatusOr<std::string> ReadFile(const std::string& path,
                                     absl::string_view what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::NotFoundError(
        absl::StrCat("cannot read ", what, " '", path, "'"));
  }
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

absl::Status SslFailure(absl::string_view what) {
  return absl::InvalidArgumentError(
      absl::StrCat(what, ": ", DrainSslErrors()));
}

// Reads every PEM certificate in |pem|; fails if there is none.
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

// Appends |s| with its length so that field boundaries are unambiguous.
void HashField(SHA256_CTX* sha, absl::string_view s) {
  uint64_t len = s.size();
  SHA256_Update(sha, &len, sizeof(len));
  SHA256_Update(sha, s.data(), s.size());
}

std::string Sha256(absl::string_view s) {
  uint8_t out[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const uint8_t*>(s.data()), s.size(), out);
  return std::string(reinterpret_cast<char*>(out), sizeof(out));
}

std::string AlpnWireFormat(const std::vector<std::string>& protocols) {
  std::string wire;
  for (const std::string& p : protocols) {
    wire.push_back(static_cast<char>(p.size()));
    wire += p;
  }
  return wire;
}

int SelectAlpn(SSL* ssl, const uint8_t** out, uint8_t* out_len,
               const uint8_t* in, unsigned in_len, void* /*arg*/) {
  const Context* context = Context::FromSslCtx(SSL_get_SSL_CTX(ssl));
  if (context == nullptr) return SSL_TLSEXT_ERR_NOACK;
  // Server preference order: the first of ours that the client offers.
  for (const std::string& ours : context->options().alpn_protocols) {
    for (unsigned i = 0; i < in_len;) {
      unsigned len = in[i];
      if (i + 1 + len > in_len) return SSL_TLSEXT_ERR_NOACK;
      if (absl::string_view(reinterpret_cast<const char*>(in + i + 1), len) ==
          ours) {
        *out = in + i + 1;
        *out_len = static_cast<uint8_t>(len);
        return SSL_TLSEXT_ERR_OK;
      }
      i += 1 + len;
    }
  }
  return SSL_TLSEXT_ERR_NOACK;
}

// Server session-ID cache callbacks: sessions live, serialized, in the
// Context's ServerSessionStore.
int StoreNewSession(SSL* ssl, SSL_SESSION* session) {
  const Context* context = Context::FromSslCtx(SSL_get_SSL_CTX(ssl));
  if (context == nullptr || context->session_store() == nullptr) return 0;
  uint8_t* data = nullptr;
  size_t len = 0;
  if (!SSL_SESSION_to_bytes(session, &data, &len)) {
    ERR_clear_error();
    return 0;
  }
  bssl::UniquePtr<uint8_t> owned(data);
  unsigned id_len = 0;
  const uint8_t* id = SSL_SESSION_get_id(session, &id_len);
  const absl::Time expiry =
      absl::FromUnixSeconds(static_cast<int64_t>(SSL_SESSION_get_time(session))) +
      absl::Seconds(SSL_SESSION_get_timeout(session));
  context->session_store()->Put(
      absl::string_view(reinterpret_cast<const char*>(id), id_len),
      std::string(reinterpret_cast<const char*>(data), len), expiry);
  return 0;  // BoringSSL keeps its reference.
}

SSL_SESSION* LookUpStoredSession(SSL* ssl, const uint8_t* id, int id_len,
                                 int* out_copy) {
  *out_copy = 0;  // We return a new reference.
  const Context* context = Context::FromSslCtx(SSL_get_SSL_CTX(ssl));
  if (context == nullptr || context->session_store() == nullptr) {
    return nullptr;
  }
  std::optional<std::string> bytes = context->session_store()->Get(
      absl::string_view(reinterpret_cast<const char*>(id), id_len));
  if (!bytes) return nullptr;
  SSL_SESSION* session = SSL_SESSION_from_bytes(
      reinterpret_cast<const uint8_t*>(bytes->data()), bytes->size(),
      context->ssl_ctx());
  if (session == nullptr) ERR_clear_error();  // A damaged entry is a miss.
  return session;
}

int TicketKeyThunk(SSL* ssl, uint8_t* key_name, uint8_t* iv,
                   EVP_CIPHER_CTX* cipher_ctx, HMAC_CTX* hmac_ctx,
                   int encrypt) {
  const Context* context = Context::FromSslCtx(SSL_get_SSL_CTX(ssl));
  if (context == nullptr || context->options().ticket_keys == nullptr) {
    return -1;
  }
  return TicketKeyCallback(*context->options().ticket_keys, key_name, iv,
                           cipher_ctx, hmac_ctx, encrypt);
}

}  // namespace

std::string KeyLogFileFromEnvironment() {
  const char* path = getenv("SSLKEYLOGFILE");
  return path ? path : "";
}

// Appends key-log lines to a file; lines from concurrent connections are
// serialized by a std::mutex (visible to ThreadSanitizer, unlike Debian's
// Abseil).
class Context::KeyLog {
 public:
  explicit KeyLog(FILE* file) : file_(file) {}
  ~KeyLog() { fclose(file_); }
  void Write(const char* line) {
    std::lock_guard<std::mutex> lock(mu_);
    fprintf(file_, "%s\n", line);
    fflush(file_);
  }

 private:
  std::mutex mu_;
  FILE* const file_;
};

Context::Context(ContextOptions options, bssl::UniquePtr<SSL_CTX> ctx,
                 std::string id, std::unique_ptr<KeyLog> keylog)
    : options_(std::move(options)),
      ctx_(std::move(ctx)),
      id_(std::move(id)),
      keylog_(std::move(keylog)) {
  SSL_CTX_set_ex_data(ctx_.get(), ContextExIndex(), this);
}

Context::~Context() = default;

const Context* Context::FromSslCtx(const SSL_CTX* ctx) {
  return static_cast<const Context*>(
      SSL_CTX_get_ex_data(ctx, ContextExIndex()));
}

void Context::KeyLogCallback(const SSL* ssl, const char* line) {
  const Context* context = FromSslCtx(SSL_get_SSL_CTX(ssl));
  if (context != nullptr && context->keylog_) context->keylog_->Write(line);
}

absl::StatusOr<Session> Context::SessionFromBytes(
    absl::string_view bytes) const {
  return Session::FromBytes(bytes, ctx_.get(), id_);
}

absl::StatusOr<std::shared_ptr<const Context>> Context::Create(
    ContextOptions options) {
  const bool is_server = options.role == Role::kServer;
  bssl::UniquePtr<SSL_CTX> ctx(SSL_CTX_new(TLS_method()));
  if (!ctx) return SslFailure("creating SSL_CTX failed");

  // Identity: every option that decides whom we trust or who we are.
  SHA256_CTX sha;
  SHA256_Init(&sha);
  HashField(&sha, "tlsession-context-v1");
  HashField(&sha, is_server ? "server" : "client");
  HashField(&sha, absl::StrCat(options.min_version, "-", options.max_version));
  HashField(&sha, options.cipher_list);
  HashField(&sha, options.groups);
  HashField(&sha, absl::StrJoin(options.alpn_protocols, ","));
  HashField(&sha, options.insecure_skip_verify ? "verify-off" : "verify-on");
  HashField(&sha, options.require_client_certificate ? "mtls" : "no-mtls");

  // Versions.
  if (options.min_version > options.max_version) {
    return absl::InvalidArgumentError(absl::StrCat(
        "min_version 0x", absl::Hex(options.min_version),
        " is above max_version 0x", absl::Hex(options.max_version)));
  }
  if (!SSL_CTX_set_min_proto_version(ctx.get(), options.min_version) ||
      !SSL_CTX_set_max_proto_version(ctx.get(), options.max_version)) {
    return SslFailure(absl::StrCat("unsupported TLS version range 0x",
                                   absl::Hex(options.min_version), "-0x",
                                   absl::Hex(options.max_version)));
  }
  if (!SSL_CTX_set_strict_cipher_list(ctx.get(),
                                      options.cipher_list.c_str())) {
    return SslFailure(
        absl::StrCat("invalid cipher_list '", options.cipher_list, "'"));
  }
  if (!SSL_CTX_set1_curves_list(ctx.get(), options.groups.c_str())) {
    return SslFailure(absl::StrCat("invalid groups '", options.groups, "'"));
  }

  // ALPN.
  for (const std::string& p : options.alpn_protocols) {
    if (p.empty() || p.size() > 255) {
      return absl::InvalidArgumentError(absl::StrCat(
          "ALPN protocol names must be 1 to 255 bytes, got '", p, "'"));
    }
  }
  if (!options.alpn_protocols.empty()) {
    if (is_server) {
      SSL_CTX_set_alpn_select_cb(ctx.get(), SelectAlpn, nullptr);
    } else {
      std::string wire = AlpnWireFormat(options.alpn_protocols);
      // Note: SSL_CTX_set_alpn_protos returns zero on success.
      if (SSL_CTX_set_alpn_protos(
              ctx.get(), reinterpret_cast<const uint8_t*>(wire.data()),
              wire.size()) != 0) {
        return SslFailure("setting ALPN protocols failed");
      }
    }
  }

  // Trust roots and verification.
  const bool verifies = is_server ? options.require_client_certificate
                                  : !options.insecure_skip_verify;
  if (verifies) {
    const bool system = options.ca_file.empty() && options.ca_dir.empty() &&
                        options.ca_pem.empty();
    const std::string ca_file =
        system ? std::string(kSystemTrustStore) : options.ca_file;
    HashField(&sha, system ? "system-roots" : "custom-roots");
    if (!ca_file.empty()) {
      absl::StatusOr<std::string> pem = ReadFile(ca_file, "CA file");
      if (!pem.ok()) return pem.status();
      HashField(&sha, Sha256(*pem));
      if (!SSL_CTX_load_verify_locations(ctx.get(), ca_file.c_str(),
                                         nullptr)) {
        return SslFailure(absl::StrCat("loading CA file '", ca_file,
                                       "' failed"));
      }
    }
    if (!options.ca_dir.empty()) {
      HashField(&sha, options.ca_dir);
      if (!SSL_CTX_load_verify_locations(ctx.get(), nullptr,
                                         options.ca_dir.c_str())) {
        return SslFailure(absl::StrCat("loading CA directory '",
                                       options.ca_dir, "' failed"));
      }
    }
    if (!options.ca_pem.empty()) {
      HashField(&sha, Sha256(options.ca_pem));
      auto certs = ParseCertificates(options.ca_pem, "ca_pem");
      if (!certs.ok()) return certs.status();
      X509_STORE* store = SSL_CTX_get_cert_store(ctx.get());
      for (auto& cert : *certs) {
        if (!X509_STORE_add_cert(store, cert.get())) {
          return SslFailure("adding a ca_pem certificate failed");
        }
      }
    }
    SSL_CTX_set_verify(ctx.get(),
                       is_server ? SSL_VERIFY_PEER |
                                       SSL_VERIFY_FAIL_IF_NO_PEER_CERT
                                 : SSL_VERIFY_PEER,
                       nullptr);
  } else {
    SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_NONE, nullptr);
    if (!is_server) {
      // Loud, but once per process: an FTPS client makes one context for
      // its control and one for its data connections.
      static std::once_flag warned;
      std::call_once(warned, [] {
        fprintf(stderr,
                "tlsession: WARNING: certificate verification is DISABLED "
                "(insecure_skip_verify): any peer can impersonate the "
                "server\n");
      });
    }
  }

  // This side's certificate and key.
  std::string chain_pem = options.certificate_chain_pem;
  std::string key_pem = options.private_key_pem;
  if (chain_pem.empty() && !options.certificate_chain_file.empty()) {
    auto read = ReadFile(options.certificate_chain_file, "certificate file");
    if (!read.ok()) return read.status();
    chain_pem = std::move(*read);
  }
  if (key_pem.empty() && !options.private_key_file.empty()) {
    auto read = ReadFile(options.private_key_file, "private key file");
    if (!read.ok()) return read.status();
    key_pem = std::move(*read);
  }
  if (chain_pem.empty() != key_pem.empty()) {
    return absl::InvalidArgumentError(
        "a certificate needs its private key and a key its certificate");
  }
  if (is_server && chain_pem.empty()) {
    return absl::InvalidArgumentError(
        "a server context needs a certificate chain and a private key");
  }
  if (!chain_pem.empty()) {
    auto certs = ParseCertificates(chain_pem, "certificate chain");
    if (!certs.ok()) return certs.status();
    if (!SSL_CTX_use_certificate(ctx.get(), (*certs)[0].get())) {
      return SslFailure("using the certificate failed");
    }
    for (size_t i = 1; i < certs->size(); ++i) {
      if (!SSL_CTX_add1_chain_cert(ctx.get(), (*certs)[i].get())) {
        return SslFailure("adding a chain certificate failed");
      }
    }
    bssl::UniquePtr<BIO> bio(BIO_new_mem_buf(key_pem.data(), key_pem.size()));
    bssl::UniquePtr<EVP_PKEY> key(
        PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
    if (!key) return SslFailure("reading the private key failed");
    if (!SSL_CTX_use_PrivateKey(ctx.get(), key.get())) {
      return SslFailure("using the private key failed");
    }
    if (!SSL_CTX_check_private_key(ctx.get())) {
      return SslFailure("the private key does not match the certificate");
    }
    HashField(&sha, Sha256(chain_pem));
    HashField(&sha, Sha256(key_pem));
  }

  uint8_t digest[SHA256_DIGEST_LENGTH];
  SHA256_Final(digest, &sha);
  std::string id(reinterpret_cast<char*>(digest), sizeof(digest));

  // Sessions carry this identity (their session-ID context) so that a
  // session can be checked against the Context it is offered to.
  const std::string& sid_ctx =
      is_server && !options.session_id_context.empty()
          ? options.session_id_context
          : id;
  if (sid_ctx.size() > SSL_MAX_SID_CTX_LENGTH ||
      !SSL_CTX_set_session_id_context(
          ctx.get(), reinterpret_cast<const uint8_t*>(sid_ctx.data()),
          sid_ctx.size())) {
    return absl::InvalidArgumentError(absl::StrCat(
        "session_id_context must be at most ", SSL_MAX_SID_CTX_LENGTH,
        " bytes"));
  }

  // Session caching.
  if (is_server) {
    if (options.session_id_cache) {
      if (options.session_store == nullptr) {
        InMemoryServerSessionStore::Config config;
        config.max_entries = options.session_cache_size;
        options.session_store =
            std::make_shared<InMemoryServerSessionStore>(config);
      }
      SSL_CTX_set_session_cache_mode(
          ctx.get(), SSL_SESS_CACHE_SERVER | SSL_SESS_CACHE_NO_INTERNAL);
      SSL_CTX_sess_set_new_cb(ctx.get(), StoreNewSession);
      SSL_CTX_sess_set_get_cb(ctx.get(), LookUpStoredSession);
    } else {
      options.session_store = nullptr;
      SSL_CTX_set_session_cache_mode(ctx.get(), SSL_SESS_CACHE_OFF);
    }
    if (options.ticket_keys != nullptr) {
      SSL_CTX_set_tlsext_ticket_key_cb(ctx.get(), TicketKeyThunk);
    }
    const uint32_t timeout = static_cast<uint32_t>(
        absl::ToInt64Seconds(options.session_timeout));
    SSL_CTX_set_timeout(ctx.get(), timeout);
    SSL_CTX_set_session_psk_dhe_timeout(ctx.get(), timeout);
    if (!options.session_tickets) {
      SSL_CTX_set_options(ctx.get(), SSL_OP_NO_TICKET);
    }
    if (!SSL_CTX_set_num_tickets(ctx.get(), options.tls13_tickets)) {
      return absl::InvalidArgumentError("tls13_tickets is out of range");
    }
  } else {
    // New sessions, TLS 1.3 tickets included, reach the connection through
    // the new-session callback as they arrive. BoringSSL keeps no client
    // cache of its own.
    SSL_CTX_set_session_cache_mode(
        ctx.get(), SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL);
    SSL_CTX_sess_set_new_cb(ctx.get(), Connection::NewSessionCallback);
  }

  std::unique_ptr<KeyLog> keylog;
  if (!options.keylog_file.empty()) {
    // The key log holds every traffic secret: private to its owner.
    const int fd = open(options.keylog_file.c_str(),
                        O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    FILE* file = fd >= 0 ? fdopen(fd, "a") : nullptr;
    if (file == nullptr && fd >= 0) close(fd);
    if (file == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat(
          "cannot open key log file '", options.keylog_file, "'"));
    }
    keylog = std::make_unique<KeyLog>(file);
    SSL_CTX_set_keylog_callback(ctx.get(), KeyLogCallback);
  }

  return std::shared_ptr<const Context>(new Context(
      std::move(options), std::move(ctx), std::move(id), std::move(keylog)));
}

}  // namespace tlsession
