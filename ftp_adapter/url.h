// ftp:// and ftps:// URLs: scheme, credentials, host, port and path.
#ifndef TLSESSION_FTP_ADAPTER_URL_H_
#define TLSESSION_FTP_ADAPTER_URL_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace tlsession::ftp {

// A parsed FTP URL.
struct FtpUrl {
  // True for "ftps://" (TLS from the first byte, default port 990); "ftp://"
  // is explicit FTPS (AUTH TLS, default port 21).
  bool implicit_tls = false;
  // Percent-decoded; empty when absent.
  std::string user;
  // Percent-decoded; nullopt when absent (":" with an empty password gives "").
  std::optional<std::string> password;
  // A host name or IPv4 literal, or an IPv6 literal without brackets.
  std::string host;
  // Explicit or the scheme's default.
  uint16_t port = 0;
  // Percent-decoded, without the leading '/': "dir/file.txt"; "" for the
  // login directory.
  std::string path;

  // The URL back, password replaced by "***", the port only when it is not
  // the scheme's default, and everything but letters, digits and "-._~"
  // (and '/' in the path) percent-encoded.
  std::string ToString() const;
};

// Parses "ftp[s]://[user[:password]@]host[:port][/path]" (the scheme in any
// case). The userinfo ends at the last '@'. An empty port means the default.
// Host names may hold only ASCII letters, digits, '-', '.' and '_'. Clear
// InvalidArgument errors for: no "://", an unknown scheme, an empty or
// malformed host, an unclosed '[' or a bracketed host that is not an IPv6
// literal, an unbracketed IPv6 literal, a bad port (0, >65535, non-digits), a
// bad percent escape, a query or fragment ('?' or '#': encode them), and a
// user, password or path that contains NUL, CR or LF once decoded (they would
// inject FTP commands). Error messages never show the password.
absl::StatusOr<FtpUrl> ParseFtpUrl(absl::string_view url);

// Returns true when |a| and |b| name the same server and login: the same
// scheme (implicit TLS or not), host, port and user. Passwords are not
// compared.
bool SameServer(const FtpUrl& a, const FtpUrl& b);

// Returns the path to send in RNTO when |from| is renamed to |target|:
//  - a URL (|target| holds "://") of the same server as |from| (SameServer):
//    its path, as the path of |from| is sent (relative to the login
//    directory unless it starts with '/');
//  - an absolute path ("/dir/name"): |target| as given;
//  - else a path relative to the directory of |from|: "dir/a" and "b" give
//    "dir/b".
// InvalidArgument, with every URL shown redacted, for a URL that does not
// parse or names another server, an empty target or a URL with no path, and
// a target holding NUL, CR or LF. Never returns a URL or a password.
absl::StatusOr<std::string> RenameTarget(const FtpUrl& from,
                                         absl::string_view target);

}  // namespace tlsession::ftp

#endif  // TLSESSION_FTP_ADAPTER_URL_H_
