// What kind of failure an error is, said where the error is made and
// carried in the absl::Status as a payload: the ftps tool maps categories to
// exit codes in one table, and nobody has to guess a failure's kind from a
// canonical status code (NotFound may be a CA file or a remote path).
#ifndef TLSESSION_FTP_ADAPTER_ERROR_CATEGORY_H_
#define TLSESSION_FTP_ADAPTER_ERROR_CATEGORY_H_

#include <optional>

#include "absl/status/status.h"

namespace tlsession::ftp {

enum class ErrorCategory {
  // A bad argument, option, URL or configuration (CA file, session cache,
  // password file, no password at all).
  kUsage,
  // The server broke the FTP protocol: a malformed, oversized or unexpected
  // reply, listing or transfer.
  kProtocol,
  // The network or TLS failed, certificate verification included.
  kConnection,
  // The server refused the login.
  kLogin,
  // The server refused a command (its reply is quoted).
  kRefused,
  // A local file could not be read, written, created or trusted.
  kLocalFile,
  // The server requires data connections to resume the control
  // connection's TLS session and refused one that did not.
  kReuseRequired,
};

// |status| tagged with |category| (replacing any category it had); an OK
// status stays OK.
absl::Status WithCategory(absl::Status status, ErrorCategory category);

// The category |status| was tagged with, if any.
std::optional<ErrorCategory> CategoryOf(const absl::Status& status);

// |status| with its message replaced by |message|, its code and payloads
// (the category among them) kept.
absl::Status WithMessage(const absl::Status& status, absl::string_view message);

}  // namespace tlsession::ftp

#endif  // TLSESSION_FTP_ADAPTER_ERROR_CATEGORY_H_
