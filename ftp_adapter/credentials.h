// Where the ftps tool takes a login's user and password from, and how it
// keeps a password from being seen: files that hold one are opened without
// following symlinks and checked with fstat, a password typed on a terminal
// is not echoed, and a password goes only to the user it belongs to.
//
// The sources, first match wins:
//  1. --password or --password-file, for the user the URL names (a URL
//     without a user is an error: the password would go to an anonymous
//     login);
//  2. the password in the URL;
//  3. $FTPS_PASSWORD, only when the URL names a user other than
//     "anonymous" and "ftp";
//  4. ~/.netrc (with a warning when others may read it, as it may then
//     have been read);
//  5. a prompt on the terminal, without echo, when the URL names a user
//     and there is a terminal;
//  6. an anonymous login ("anonymous@") when the URL names no user, or
//     "anonymous" or "ftp".
// Errors carry ErrorCategory::kUsage.
#ifndef TLSESSION_FTP_ADAPTER_CREDENTIALS_H_
#define TLSESSION_FTP_ADAPTER_CREDENTIALS_H_

#include <functional>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "ftp_adapter/url.h"

namespace tlsession::ftp {

// A user and password. The password is wiped (OPENSSL_cleanse) when the
// value is destroyed.
struct Credentials {
  Credentials() = default;
  Credentials(std::string user, std::string password);
  Credentials(Credentials&&) = default;
  Credentials& operator=(Credentials&&) = default;
  ~Credentials();

  std::string user;
  std::string password;
};

// What the tool knows besides the URL.
struct CredentialSources {
  std::optional<std::string> password;  // --password
  std::string password_file;            // --password-file ("" for none)
  std::optional<std::string> environment_password;  // $FTPS_PASSWORD
  std::string netrc_path;  // Usually ~/.netrc; "" for none.
  // Receives warnings (a .netrc that others may read). Null: none.
  std::function<void(absl::string_view)> warn;
  // Asks for a password with the prompt given (PromptForPassword() on a
  // terminal); nullopt when it cannot ask. Null: never asks.
  std::function<absl::StatusOr<std::optional<std::string>>(const std::string&)>
      prompt;
};

// The credentials for |url| from |sources|, in the order above.
absl::StatusOr<Credentials> ResolveCredentials(
    const FtpUrl& url, const CredentialSources& sources);

// The first line of the file at |path| (without its line end). Refused
// (InvalidArgument) unless it is a regular file, not a symlink, owned by
// this user and readable by nobody else (mode 0600 or stricter).
absl::StatusOr<std::string> ReadPasswordFile(const std::string& path);

// The contents of the .netrc at |path|: "" when there is none. Not read
// through a symlink (a warning says so); a warning too when its mode lets
// others read or change it, or someone else owns it.
absl::StatusOr<std::string> ReadNetrcFile(
    const std::string& path,
    const std::function<void(absl::string_view)>& warn);

// Writes |prompt| to the controlling terminal, reads a line with echo off,
// and restores the terminal. nullopt when stdin is not a terminal or there
// is no controlling terminal.
absl::StatusOr<std::optional<std::string>> PromptForPassword(
    const std::string& prompt);

}  // namespace tlsession::ftp

#endif  // TLSESSION_FTP_ADAPTER_CREDENTIALS_H_
