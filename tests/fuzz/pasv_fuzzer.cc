// Fuzzes the data-connection address parsers (ftp_adapter/passive.h):
// ParsePasvReply and ParseEpsvReply on the whole input, with round trips
// through FormatPortArgument and FormatEprtArgument; and the formatters on
// the input taken as a local address.
#include <arpa/inet.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "ftp_adapter/passive.h"
#include "tls/socket.h"

namespace {

using tlsession::Endpoint;
using tlsession::ftp::FormatEprtArgument;
using tlsession::ftp::FormatPortArgument;
using tlsession::ftp::ParseEpsvReply;
using tlsession::ftp::ParsePasvReply;

void Check(bool ok) {
  if (!ok) __builtin_trap();
}

bool SameEndpoint(const Endpoint& a, const Endpoint& b) {
  return a.address == b.address && a.port == b.port;
}

void CheckPasv(absl::string_view text) {
  absl::StatusOr<Endpoint> ep = ParsePasvReply(text);
  if (!ep.ok()) return;
  Check(ep->port != 0);
  in_addr v4;
  Check(inet_pton(AF_INET, ep->address.c_str(), &v4) == 1);
  // The endpoint as a PORT argument reads back the same, bare and as a reply.
  absl::StatusOr<std::string> arg = FormatPortArgument(*ep);
  Check(arg.ok());
  absl::StatusOr<Endpoint> bare = ParsePasvReply(*arg);
  Check(bare.ok() && SameEndpoint(*bare, *ep));
  absl::StatusOr<Endpoint> reply =
      ParsePasvReply(absl::StrCat("227 Entering Passive Mode (", *arg, ")."));
  Check(reply.ok() && SameEndpoint(*reply, *ep));
  absl::StatusOr<std::string> eprt = FormatEprtArgument(*ep);
  Check(eprt.ok() &&
        *eprt == absl::StrCat("|1|", ep->address, "|", ep->port, "|"));
}

void CheckEpsv(absl::string_view text) {
  absl::StatusOr<uint16_t> port = ParseEpsvReply(text);
  if (!port.ok()) return;
  Check(*port != 0);
  // The canonical form reads back the same port.
  absl::StatusOr<uint16_t> again = ParseEpsvReply(
      absl::StrCat("229 Entering Extended Passive Mode (|||", *port, "|)"));
  Check(again.ok() && *again == *port);
}

// The input as a local address (the last two bytes, if any, as the port).
void CheckFormat(absl::string_view input) {
  Endpoint local;
  if (input.size() >= 2) {
    local.port = static_cast<uint16_t>(
        static_cast<unsigned char>(input[input.size() - 2]) << 8 |
        static_cast<unsigned char>(input[input.size() - 1]));
    input.remove_suffix(2);
  }
  local.address = std::string(input);
  absl::StatusOr<std::string> port_arg = FormatPortArgument(local);
  if (port_arg.ok()) {
    Check(local.port != 0);
    absl::StatusOr<Endpoint> back = ParsePasvReply(*port_arg);
    Check(back.ok() && back->port == local.port);
  }
  absl::StatusOr<std::string> eprt_arg = FormatEprtArgument(local);
  if (eprt_arg.ok()) {
    Check(local.port != 0);
    Check(eprt_arg->size() >= 7 && (*eprt_arg)[0] == '|' &&
          eprt_arg->back() == '|');
    // PORT works exactly for what EPRT calls IPv4.
    Check(port_arg.ok() == (eprt_arg->compare(0, 3, "|1|") == 0));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view input(reinterpret_cast<const char*>(data), size);
  CheckPasv(input);
  CheckEpsv(input);
  CheckFormat(input);
  return 0;
}
