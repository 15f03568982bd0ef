#include "tls/context.h"

#include <fcntl.h>
#include <openssl/bio.h>
#include <openssl/digest.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <errno.h>
#include <string.h>

#include <functional>
#include <mutex>
#include <optional>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/ssl_error.h"
#include "tls/connection.h"
#include "tls/context_identity.h"
#include "tls/context_material.h"

namespace tlsession {
namespace {

int ContextExIndex() {
  static const int index =
      SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

absl::Status SslFailure(absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(what, ": ", DrainSslErrors()));
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

// Server session-ID cache callbacks: sessions live in the Context's
// ServerSessionStore, which takes and gives BoringSSL objects.
absl::string_view SessionIdOf(const uint8_t* id, size_t len) {
  return absl::string_view(reinterpret_cast<const char*>(id), len);
}

int StoreNewSession(SSL* ssl, SSL_SESSION* session) {
  const Context* context = Context::FromSslCtx(SSL_get_SSL_CTX(ssl));
  if (context == nullptr || context->session_store() == nullptr) return 0;
  unsigned id_len = 0;
  const uint8_t* id = SSL_SESSION_get_id(session, &id_len);
  const absl::Time expiry = absl::FromUnixSeconds(static_cast<int64_t>(
                                SSL_SESSION_get_time(session))) +
                            absl::Seconds(SSL_SESSION_get_timeout(session));
  context->session_store()->PutSession(SessionIdOf(id, id_len), session,
                                       expiry);
  return 0;  // BoringSSL keeps its reference.
}

SSL_SESSION* LookUpStoredSession(SSL* ssl, const uint8_t* id, int id_len,
                                 int* out_copy) {
  *out_copy = 0;  // We return a new reference.
  const Context* context = Context::FromSslCtx(SSL_get_SSL_CTX(ssl));
  if (context == nullptr || context->session_store() == nullptr || id_len < 0) {
    return nullptr;
  }
  return context->session_store()
      ->GetSession(SessionIdOf(id, static_cast<size_t>(id_len)),
                   context->ssl_ctx())
      .release();
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

namespace {

absl::Status ConfigureProtocol(const ContextOptions& options, SSL_CTX* ctx) {
  if (options.min_version > options.max_version) {
    return absl::InvalidArgumentError(absl::StrCat(
        "min_version 0x", absl::Hex(options.min_version),
        " is above max_version 0x", absl::Hex(options.max_version)));
  }
  if (!SSL_CTX_set_min_proto_version(ctx, options.min_version) ||
      !SSL_CTX_set_max_proto_version(ctx, options.max_version)) {
    return SslFailure(absl::StrCat("unsupported TLS version range 0x",
                                   absl::Hex(options.min_version), "-0x",
                                   absl::Hex(options.max_version)));
  }
  if (!SSL_CTX_set_strict_cipher_list(ctx, options.cipher_list.c_str())) {
    return SslFailure(
        absl::StrCat("invalid cipher_list '", options.cipher_list, "'"));
  }
  if (!SSL_CTX_set1_curves_list(ctx, options.groups.c_str())) {
    return SslFailure(absl::StrCat("invalid groups '", options.groups, "'"));
  }
  return absl::OkStatus();
}

absl::Status ConfigureAlpn(const ContextOptions& options, SSL_CTX* ctx) {
  for (const std::string& p : options.alpn_protocols) {
    if (p.empty() || p.size() > 255) {
      return absl::InvalidArgumentError(absl::StrCat(
          "ALPN protocol names must be 1 to 255 bytes, got '", p, "'"));
    }
  }
  if (options.alpn_protocols.empty()) return absl::OkStatus();
  if (options.role == Role::kServer) {
    SSL_CTX_set_alpn_select_cb(ctx, SelectAlpn, nullptr);
    return absl::OkStatus();
  }
  const std::string wire = AlpnWireFormat(options.alpn_protocols);
  // Note: SSL_CTX_set_alpn_protos returns zero on success.
  if (SSL_CTX_set_alpn_protos(ctx,
                              reinterpret_cast<const uint8_t*>(wire.data()),
                              wire.size()) != 0) {
    return SslFailure("setting ALPN protocols failed");
  }
  return absl::OkStatus();
}

void WarnInsecureOnce() {
  // Loud, but once per process.
  static std::once_flag warned;
  std::call_once(warned, [] {
    fprintf(stderr,
            "tlsession: WARNING: certificate verification is DISABLED "
            "(insecure_skip_verify): any peer can impersonate the server\n");
  });
}

absl::Status ConfigureTrust(const ContextOptions& options,
                            const ContextMaterial& material, SSL_CTX* ctx) {
  const bool server = options.role == Role::kServer;
  if (!material.verifies_peer) {
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
    if (!server) WarnInsecureOnce();
    return absl::OkStatus();
  }
  X509_STORE* store = SSL_CTX_get_cert_store(ctx);
  for (const auto& root : material.roots) {
    if (!X509_STORE_add_cert(store, root.get())) {
      return SslFailure("adding a trust root failed");
    }
  }
  SSL_CTX_set_verify(ctx,
                     server ? SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT
                            : SSL_VERIFY_PEER,
                     nullptr);
  return absl::OkStatus();
}

absl::Status ConfigureOwnCertificate(const ContextMaterial& material,
                                     SSL_CTX* ctx) {
  if (material.chain.empty()) return absl::OkStatus();
  if (!SSL_CTX_use_certificate(ctx, material.chain[0].get())) {
    return SslFailure("using the certificate failed");
  }
  for (size_t i = 1; i < material.chain.size(); ++i) {
    if (!SSL_CTX_add1_chain_cert(ctx, material.chain[i].get())) {
      return SslFailure("adding a chain certificate failed");
    }
  }
  if (!SSL_CTX_use_PrivateKey(ctx, material.private_key.get())) {
    return SslFailure("using the private key failed");
  }
  if (!SSL_CTX_check_private_key(ctx)) {
    return SslFailure("the private key does not match the certificate");
  }
  return absl::OkStatus();
}

// Every SSL_CTX reads time through the Connection driving it, which reads
// its Context's clock (Connection::CurrentTimeCallback).
absl::Status ConfigureClock(const ContextOptions& options, SSL_CTX* ctx) {
  if (!options.clock) {
    return absl::InvalidArgumentError("clock must not be empty");
  }
  SSL_CTX_set_current_time_cb(ctx, Connection::CurrentTimeCallback);
  return absl::OkStatus();
}

absl::Status ConfigureSessionIdContext(const ContextOptions& options,
                                       const ContextMaterial& material,
                                       const std::string& id, SSL_CTX* ctx) {
  // Sessions carry this identity (their session-ID context) so that a
  // session can be checked against the Context it is offered to. Servers
  // that share a session_id_context (a fleet) share a digest of it with
  // what decides resumption (ServerSessionIdContext).
  if (options.session_id_context.size() > SSL_MAX_SID_CTX_LENGTH) {
    return absl::InvalidArgumentError(
        absl::StrCat("session_id_context must be at most ",
                     SSL_MAX_SID_CTX_LENGTH, " bytes"));
  }
  const std::string sid_ctx =
      options.role == Role::kServer && !options.session_id_context.empty()
          ? ServerSessionIdContext(options, material)
          : id;
  if (!SSL_CTX_set_session_id_context(
          ctx, reinterpret_cast<const uint8_t*>(sid_ctx.data()),
          sid_ctx.size())) {
    return SslFailure("setting the session-ID context failed");
  }
  return absl::OkStatus();
}

// Servers: the session-ID store, tickets and their keys, lifetimes. Fills in
// the default store in |options|, on the options' clock.
absl::Status ConfigureServerSessions(ContextOptions& options, SSL_CTX* ctx) {
  if (options.session_id_cache || options.early_data) {
    if (options.session_store == nullptr) {
      MemoryServerSessionStore::Config config;
      config.max_entries = options.session_cache_size;
      config.clock = options.clock;
      options.session_store =
          std::make_shared<MemoryServerSessionStore>(config);
    }
  }
  if (options.session_id_cache) {
    SSL_CTX_set_session_cache_mode(
        ctx, SSL_SESS_CACHE_SERVER | SSL_SESS_CACHE_NO_INTERNAL);
    SSL_CTX_sess_set_new_cb(ctx, StoreNewSession);
    SSL_CTX_sess_set_get_cb(ctx, LookUpStoredSession);
  } else {
    // The store, when early data made one, serves the single-use check.
    if (!options.early_data) options.session_store = nullptr;
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  }
  if (options.early_data && options.max_version >= TLS1_3_VERSION) {
    // The single-use check runs before BoringSSL decides on 0-RTT
    // (Connection::EarlyDataGate); early data is turned back on for the
    // tickets once it has decided.
    SSL_CTX_set_early_data_enabled(ctx, 1);
    SSL_CTX_set_select_certificate_cb(ctx, Connection::EarlyDataGate);
    SSL_CTX_set_dos_protection_cb(ctx, Connection::EarlyDataTicketsCallback);
  }
  if (options.ticket_keys != nullptr) {
    SSL_CTX_set_tlsext_ticket_key_cb(ctx, TicketKeyThunk);
  }
  const uint32_t timeout =
      static_cast<uint32_t>(absl::ToInt64Seconds(options.session_timeout));
  SSL_CTX_set_timeout(ctx, timeout);
  SSL_CTX_set_session_psk_dhe_timeout(ctx, timeout);
  if (!options.session_tickets) SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
  if (!SSL_CTX_set_num_tickets(ctx, options.tls13_tickets)) {
    return absl::InvalidArgumentError("tls13_tickets is out of range");
  }
  return absl::OkStatus();
}

void ConfigureClientSessions(SSL_CTX* ctx) {
  // New sessions, TLS 1.3 tickets included, reach the connection through
  // the new-session callback as they arrive. BoringSSL keeps no client
  // cache of its own.
  SSL_CTX_set_session_cache_mode(
      ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL);
  SSL_CTX_sess_set_new_cb(ctx, Connection::NewSessionCallback);
}

}  // namespace

absl::StatusOr<std::unique_ptr<Context::KeyLog>> Context::OpenKeyLog(
    const std::string& path) {
  if (path.empty()) return nullptr;
  // The key log holds every traffic secret: private to its owner.
  const int fd =
      open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
           0600);
  FILE* file = fd >= 0 ? fdopen(fd, "a") : nullptr;
  if (file == nullptr && fd >= 0) close(fd);
  if (file == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(
        "cannot open key log file '", path, "': ", strerror(errno)));
  }
  return std::make_unique<KeyLog>(file);
}

absl::StatusOr<std::shared_ptr<const Context>> Context::Create(
    ContextOptions options) {
  absl::StatusOr<ContextMaterial> material = LoadContextMaterial(options);
  if (!material.ok()) return material.status();
  std::string id = ContextIdentity(options, *material);
  bssl::UniquePtr<SSL_CTX> ctx(SSL_CTX_new(TLS_method()));
  if (!ctx) return SslFailure("creating SSL_CTX failed");
  SSL_CTX* raw = ctx.get();
  // In order; the first failure stops.
  const std::function<absl::Status()> steps[] = {
      [&] { return ConfigureProtocol(options, raw); },
      [&] { return ConfigureAlpn(options, raw); },
      [&] { return ConfigureTrust(options, *material, raw); },
      [&] { return ConfigureOwnCertificate(*material, raw); },
      [&] { return ConfigureSessionIdContext(options, *material, id, raw); },
      [&] { return ConfigureClock(options, raw); },
  };
  for (const auto& step : steps) {
    if (absl::Status s = step(); !s.ok()) return s;
  }
  if (options.role == Role::kServer) {
    if (absl::Status s = ConfigureServerSessions(options, ctx.get()); !s.ok()) {
      return s;
    }
  } else {
    ConfigureClientSessions(ctx.get());
  }
  absl::StatusOr<std::unique_ptr<KeyLog>> keylog =
      OpenKeyLog(options.keylog_file);
  if (!keylog.ok()) return keylog.status();
  if (*keylog) SSL_CTX_set_keylog_callback(ctx.get(), KeyLogCallback);
  return std::shared_ptr<const Context>(new Context(
      std::move(options), std::move(ctx), std::move(id), *std::move(keylog)));
}

}  // namespace tlsession
