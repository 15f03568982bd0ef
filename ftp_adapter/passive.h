// Data connection addresses: parsing PASV (227) and EPSV (229) replies and
// formatting PORT and EPRT arguments (RFC 959, RFC 2428).
#ifndef TLSESSION_FTP_ADAPTER_PASSIVE_H_
#define TLSESSION_FTP_ADAPTER_PASSIVE_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "tls/socket.h"

namespace tlsession::ftp {

// From a 227 reply's text, e.g. "227 Entering Passive Mode (127,0,0,1,156,64)."
// (parentheses optional, as some servers omit them): the address ("127.0.0.1")
// and port (156 * 256 + 64). The first comma-separated list of numbers (after
// the first '(' when there is one) must have exactly six numbers, each
// 0..255 (not negative), and the port must not be 0. A server can name any
// address here, so clients usually connect to the control connection's peer
// instead.
absl::StatusOr<Endpoint> ParsePasvReply(absl::string_view text);

// From a 229 reply's text, e.g.
//   "229 Entering Extended Passive Mode (|||6446|)"
// the port, 1..65535. The delimiter is the character after the first '(' and
// may be any printable ASCII character other than a digit; the address fields
// must be empty and ')' must follow the last delimiter.
absl::StatusOr<uint16_t> ParseEpsvReply(absl::string_view text);

// The argument of PORT for |local|: "h1,h2,h3,h4,p1,p2". IPv4 only (an
// IPv4-mapped IPv6 address counts as IPv4); an error for IPv6, anything that
// is not an IP literal, and port 0.
absl::StatusOr<std::string> FormatPortArgument(const Endpoint& local);

// The argument of EPRT for |local|: "|1|addr|port|" for IPv4 (including
// IPv4-mapped IPv6 addresses) and "|2|addr|port|" for IPv6, the address in
// canonical form. An error for anything that is not an IP literal, and
// port 0.
absl::StatusOr<std::string> FormatEprtArgument(const Endpoint& local);

}  // namespace tlsession::ftp

#endif  // TLSESSION_FTP_ADAPTER_PASSIVE_H_
