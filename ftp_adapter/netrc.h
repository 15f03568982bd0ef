// Credentials from .netrc files (as read by ftp(1), curl and Python's netrc).
#ifndef TLSESSION_FTP_ADAPTER_NETRC_H_
#define TLSESSION_FTP_ADAPTER_NETRC_H_

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "base/cleanse.h"

namespace tlsession::ftp {

// The credentials of one .netrc entry; each empty when the entry has none.
// The password is wiped when the entry is destroyed (moved-from ones too).
struct NetrcEntry {
  NetrcEntry(const NetrcEntry&) = default;
  NetrcEntry(NetrcEntry&&) = default;
  NetrcEntry& operator=(const NetrcEntry&) = default;
  NetrcEntry& operator=(NetrcEntry&&) = default;
  ~NetrcEntry() { CleanseString(&password); }

  std::string login;
  std::string password;
};

// Finds the entry for |host| in .netrc |contents|. Tokens are separated by
// any whitespace; a token starting with '"' runs to the next unescaped '"',
// and a backslash makes the next character literal in any token. Keywords:
// "machine NAME", "default", "login X", "password X", "account X" (ignored),
// "macdef NAME" (its body, from the next line to the next empty line or the
// end of the file, is skipped); a '#' where a keyword belongs starts a
// comment to the end of the line. Machine names match |host| ignoring ASCII
// case; the first matching machine wins, and the first "default" is used
// when no machine matches. If |login| is not empty, only an entry with that
// login (or no login) matches. Returns nullopt when nothing matches, and
// InvalidArgument for a malformed file anywhere in it: a keyword missing its
// value at the end of the file, an unknown keyword, "login", "password" or
// "account" before any entry, an unclosed quote, a backslash at the end of
// the file, or a login or password containing NUL, CR or LF (which would
// inject FTP commands). Error messages name the line but quote nothing from
// the file: a stray token is as likely to be a password as a typo.
absl::StatusOr<std::optional<NetrcEntry>> LookupNetrc(
    absl::string_view contents, absl::string_view host,
    absl::string_view login = "");

}  // namespace tlsession::ftp

#endif  // TLSESSION_FTP_ADAPTER_NETRC_H_
