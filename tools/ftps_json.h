// The ftps tool's --json output: listings (MLSD facts) and transfer
// results, one JSON document per command on stdout.
#ifndef TLSESSION_TOOLS_FTPS_JSON_H_
#define TLSESSION_TOOLS_FTPS_JSON_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "ftp_adapter/mlsd.h"
#include "tools/ftps_progress.h"

namespace tlsession::ftp {

// |text| as a JSON string, quoted: '"', '\' and control characters escaped
// (\", \\, \n, \u001b...). Text from a server goes through Printable
// (ftp_adapter/printable.h) first, so the result is valid UTF-8 and no raw
// escape sequence reaches a terminal.
std::string JsonString(absl::string_view text);

// An array with one object per entry: "name", then every MLSD fact as a
// string ("type", "size", "modify", "perm"...), all escaped as above.
std::string ListingJson(const std::vector<MlsdEntry>& entries);

// One transfer's result: {"command": ..., "remote": ..., "local": ...,
// "bytes": ..., "resumed": ..., "skipped": ..., "seconds": ..., "tls": ...,
// "data_connections": ..., "data_resumed": ...}. |remote| is shown as
// given (the caller redacts URLs).
std::string TransferJson(absl::string_view command, absl::string_view remote,
                         absl::string_view local, const TransferSummary& s);

}  // namespace tlsession::ftp

#endif  // TLSESSION_TOOLS_FTPS_JSON_H_
