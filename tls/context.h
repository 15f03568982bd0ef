// Context: the frozen configuration that TLS connections are made from.
//
// Build a ContextOptions, then Context::Create() it. A Context never changes
// after that: its whole configuration (role, versions, ciphers, groups, ALPN,
// trust roots, verification mode, own certificate and key) is digested into
// id(), the identity that sessions made under it carry. A session is only
// ever offered to a Context with the same identity, so a changed
// configuration can never resume a session made under the old one.
//
// Secure defaults: TLS 1.2 minimum and 1.3 maximum, ECDHE key exchange with
// AEAD ciphers only, the system trust store, certificate chain and host name
// verification on. Turning verification off takes the explicitly named
// insecure_skip_verify option and prints a warning on stderr.
//
// A Context is immutable and may be shared by any number of threads.
#ifndef TLSESSION_TLS_CONTEXT_H_
#define TLSESSION_TLS_CONTEXT_H_

#include <openssl/ssl.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "session/session.h"
#include "tls/context_options.h"

namespace tlsession {

// The value of $SSLKEYLOGFILE, or "" when unset: what curl and browsers
// honour. Tools set ContextOptions::keylog_file from it.
std::string KeyLogFileFromEnvironment();

class Context {
 public:
  // Validates |options| and builds a frozen Context. Errors name the option
  // and BoringSSL's reason (for example an unreadable CA file).
  static absl::StatusOr<std::shared_ptr<const Context>> Create(
      ContextOptions options);

  ~Context();
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;

  Role role() const { return options_.role; }
  const ContextOptions& options() const { return options_; }

  // The 32-byte identity of this configuration: a SHA-256 over every option
  // that decides whom a connection trusts or is. Equal configurations give
  // equal identities, across processes too, which is what lets a persisted
  // session resume after a restart.
  const std::string& id() const { return id_; }

  // The BoringSSL context; owned by this Context.
  SSL_CTX* ssl_ctx() const { return ctx_.get(); }

  // Parses a Session serialized with Session::ToBytes() for use with this
  // Context. Fails on foreign, corrupted or other-context bytes.
  absl::StatusOr<Session> SessionFromBytes(absl::string_view bytes) const;

  // The Context that owns |ctx|, or null. For BoringSSL callbacks.
  static const Context* FromSslCtx(const SSL_CTX* ctx);

  // Servers: the session-ID store in use, which also runs early data's
  // single-use check (null when session_id_cache and early_data are off).
  ServerSessionStore* session_store() const {
    return options_.session_store.get();
  }

 private:
  class KeyLog;
  // Opens |path| (mode 0600, never through a symlink) for key-log lines;
  // null when |path| is empty.
  static absl::StatusOr<std::unique_ptr<KeyLog>> OpenKeyLog(
      const std::string& path);
  Context(ContextOptions options, bssl::UniquePtr<SSL_CTX> ctx, std::string id,
          std::unique_ptr<KeyLog> keylog);
  static void KeyLogCallback(const SSL* ssl, const char* line);

  const ContextOptions options_;
  const bssl::UniquePtr<SSL_CTX> ctx_;
  const std::string id_;
  const std::unique_ptr<KeyLog> keylog_;
};

}  // namespace tlsession

#endif  // TLSESSION_TLS_CONTEXT_H_
