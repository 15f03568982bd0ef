// Text that a server (or any peer) sent, made safe to print: the one
// escaping function for everything from the network that reaches a terminal
// or a log, so that a server can neither drive the terminal (ESC sequences
// that retitle it, clear it or rewrite what it shows) nor forge lines.
#ifndef TLSESSION_FTP_ADAPTER_PRINTABLE_H_
#define TLSESSION_FTP_ADAPTER_PRINTABLE_H_

#include <cstddef>
#include <string>

#include "absl/strings/string_view.h"

namespace tlsession::ftp {

// |text| with every control character and every byte that is not part of
// valid UTF-8 written as \xNN: C0 controls (below 0x20, tab and newline
// included), DEL (0x7F), C1 controls (U+0080..U+009F, each of their two
// bytes), and stray, overlong or surrogate bytes. Valid UTF-8 text
// otherwise stays as it is. At most |max_size| bytes: longer output is cut
// between escapes and characters, never inside one, and ends in "...".
std::string Printable(absl::string_view text,
                      size_t max_size = std::string::npos);

// |text| quoted for an error message about malformed input: at most 80 of
// its bytes, escaped as C does (\n, \", \x00, \xc3...: plain ASCII), in
// single quotes, "..." after when it was longer.
std::string QuoteExcerpt(absl::string_view text);

}  // namespace tlsession::ftp

#endif  // TLSESSION_FTP_ADAPTER_PRINTABLE_H_
