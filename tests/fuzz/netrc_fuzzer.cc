// Fuzzes LookupNetrc (ftp_adapter/netrc.h). The input's first line is the
// host to look up; the rest is the .netrc file. Each lookup runs without a
// login and with one, and what it finds must be safe to send.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "ftp_adapter/netrc.h"

namespace {

using tlsession::ftp::LookupNetrc;
using tlsession::ftp::NetrcEntry;

void Check(bool ok) {
  if (!ok) __builtin_trap();
}

bool HasLineBreakOrNul(const std::string& s) {
  return absl::string_view(s).find_first_of(absl::string_view("\0\r\n", 3)) !=
         absl::string_view::npos;
}

void Lookup(absl::string_view contents, absl::string_view host,
            absl::string_view login) {
  absl::StatusOr<std::optional<NetrcEntry>> found =
      LookupNetrc(contents, host, login);
  if (!found.ok()) {
    Check(!found.status().message().empty());
    return;
  }
  if (!found->has_value()) return;
  const NetrcEntry& entry = **found;
  Check(!HasLineBreakOrNul(entry.login) && !HasLineBreakOrNul(entry.password));
  if (!login.empty() && !entry.login.empty()) Check(entry.login == login);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  absl::string_view input(reinterpret_cast<const char*>(data), size);
  const size_t newline = input.find('\n');
  absl::string_view host = input;
  absl::string_view contents;
  if (newline != absl::string_view::npos) {
    host = input.substr(0, newline);
    contents = input.substr(newline + 1);
  }
  Lookup(contents, host, "");
  Lookup(contents, host, "anonymous");
  // Whether the file is well formed does not depend on the host.
  Check(LookupNetrc(contents, host).ok() ==
        LookupNetrc(contents, "other.example").ok());
  return 0;
}
