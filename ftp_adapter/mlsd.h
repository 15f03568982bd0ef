// Machine-readable listings (RFC 3659): MLSD/MLST fact lines and the FTP
// timestamp format of MDTM replies and "modify" facts.
#ifndef TLSESSION_FTP_ADAPTER_MLSD_H_
#define TLSESSION_FTP_ADAPTER_MLSD_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace tlsession::ftp {

// One entry of an MLSD listing.
struct MlsdEntry {
  // The name as sent (it may contain spaces and ';'). The server chose it:
  // callers that build local paths from it must reject "..", "/" and the like.
  std::string name;
  // The lower-cased "type" fact: "file", "dir", "cdir", "pdir",
  // "os.unix=symlink", ...; empty when absent.
  std::string type;
  // The "size" fact (or "sizd" when size is absent).
  std::optional<uint64_t> size;
  // The "modify" fact, UTC.
  std::optional<absl::Time> modify;
  // All facts, names lower-cased, values as sent.
  std::map<std::string, std::string> facts;
};

// Parses one MLSD line: "fact=value;fact=value; name" (facts, each ended by
// ';', then ONE space then the name). Fact names are printable ASCII without
// '=', ';' or ' '; values run to the next ';'. InvalidArgument on an empty
// name or a name containing NUL, CR or LF (which would inject commands when
// sent back), a missing space separator, a malformed or repeated fact, a bad
// size or a bad modify time.
absl::StatusOr<MlsdEntry> ParseMlsdLine(absl::string_view line);

// Parses "YYYYMMDDHHMMSS" with an optional ".s..." fraction of a second (as in
// MDTM replies and modify facts) as UTC; digits of the fraction past
// nanoseconds are dropped. Seconds may be 60 (a leap second, read as the next
// minute's 0). InvalidArgument on any other form or an impossible date.
absl::StatusOr<absl::Time> ParseFtpTime(absl::string_view text);

}  // namespace tlsession::ftp

#endif  // TLSESSION_FTP_ADAPTER_MLSD_H_
