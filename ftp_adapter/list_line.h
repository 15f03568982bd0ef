// LIST lines in the Unix "ls -l" form that vsftpd, ProFTPD and most servers
// send ("drwxr-xr-x 2 user group 4096 Dec 04 23:10 name"): the fallback of
// tree walks when a server has no MLSD (vsftpd).
#ifndef TLSESSION_FTP_ADAPTER_LIST_LINE_H_
#define TLSESSION_FTP_ADAPTER_LIST_LINE_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace tlsession::ftp {

// One entry of a LIST listing.
struct ListEntry {
  char type = '-';  // 'd' directory, '-' file, 'l' symlink, other letters.
  uint64_t size = 0;
  std::string name;  // For a symlink, without " -> target".
  // The modification time (UTC), to the minute ("Dec 04 23:10") or the day
  // ("Dec 04  2025"); |precision| says which.
  absl::Time modify;
  absl::Duration precision;
};

// Parses |line|. A time without a year is in the year that puts it not
// more than a day after |now| (servers show the year for older files).
// InvalidArgument for a line in another form ("total 12", DOS listings),
// a bad size or date, or an empty name or one holding NUL, CR or LF.
absl::StatusOr<ListEntry> ParseListLine(absl::string_view line, absl::Time now);

}  // namespace tlsession::ftp

#endif  // TLSESSION_FTP_ADAPTER_LIST_LINE_H_
