// FTP replies (RFC 959 section 4.2): a Reply value and a ReplyParser that
// assembles single-line and multi-line replies from the control connection's
// lines.
#ifndef TLSESSION_FTP_ADAPTER_REPLY_H_
#define TLSESSION_FTP_ADAPTER_REPLY_H_

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace tlsession::ftp {

// One complete reply from an FTP server.
struct Reply {
  // The three-digit reply code, 100..599.
  int code = 0;
  // The text lines as received, CRLF stripped, codes included
  // (e.g. {"211-Features:", " MLST", "211 End"}).
  std::vector<std::string> lines;

  // The lines joined with "\n".
  std::string text() const;
  // For error messages and logs: the lines joined with " | ", made
  // Printable() (printable.h: control characters and invalid UTF-8 as
  // \xNN, so that a server can neither drive a terminal nor forge log
  // lines), at most 512 chars (longer text ends in "...").
  std::string ToString() const;

  // 1xx: the action is starting; expect another reply.
  bool is_preliminary() const;
  // 2xx: the action completed.
  bool is_completion() const;
  // 3xx: more information is needed (e.g. PASS after USER).
  bool is_intermediate() const;
  // 4xx: the action failed but may succeed if tried again.
  bool is_transient_failure() const;
  // 5xx: the action failed.
  bool is_permanent_failure() const;
};

// Assembles replies line by line. A single-line reply is "ddd text" (or a
// bare "ddd"); a multi-line reply starts "ddd-text" and ends at a line
// starting with the same "ddd " (or a bare "ddd"); the lines in between may be
// anything, including other codes.
class ReplyParser {
 public:
  // A reply of more than |max_lines| lines is an error (so 0 rejects every
  // reply). Lines are not bounded here: the line reader must bound them.
  explicit ReplyParser(size_t max_lines = 10000);

  // Feeds one line (CRLF already removed). Returns the complete Reply once
  // its last line arrives, std::nullopt while more lines are needed, or an
  // InvalidArgument error for a malformed first line (not three digits, the
  // first 1-5, then ' ' or '-' or nothing) or too many lines. After returning
  // a Reply or an error, the parser is reset for the next reply.
  absl::StatusOr<std::optional<Reply>> AddLine(absl::string_view line);

 private:
  size_t max_lines_;
  // The reply being assembled; empty |lines| when none is.
  Reply pending_;
};

}  // namespace tlsession::ftp

#endif  // TLSESSION_FTP_ADAPTER_REPLY_H_
