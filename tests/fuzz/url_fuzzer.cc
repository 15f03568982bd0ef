// Fuzzes ParseFtpUrl (ftp_adapter/url.h). A parsed URL written back with
// ToString() must parse again to the same URL (with the password, which
// ToString() hides, read back as "***").
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "ftp_adapter/url.h"

namespace {

using tlsession::ftp::FtpUrl;
using tlsession::ftp::ParseFtpUrl;

void Check(bool ok) {
  if (!ok) __builtin_trap();
}

bool HasLineBreakOrNul(const std::string& s) {
  return absl::string_view(s).find_first_of(absl::string_view("\0\r\n", 3)) !=
         absl::string_view::npos;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view input(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<FtpUrl> url = ParseFtpUrl(input);
  if (!url.ok()) {
    // Errors never show the password: when a recognisable password (see the
    // seeds) appears once, between a ':' and an '@', the message must not
    // hold it, whatever else the URL has wrong.
    constexpr absl::string_view kSecret = "FUZZSECRET";
    const size_t secret = input.find(kSecret);
    if (secret != absl::string_view::npos && secret > 0 &&
        input[secret - 1] == ':' &&
        input.substr(secret + kSecret.size(), 1) == "@" &&
        input.find(kSecret, secret + 1) == absl::string_view::npos) {
      Check(url.status().message().find(kSecret) == absl::string_view::npos);
    }
    return 0;
  }
  Check(!url->host.empty());
  Check(url->port != 0);
  Check(!HasLineBreakOrNul(url->user) && !HasLineBreakOrNul(url->path));
  if (url->password.has_value()) Check(!HasLineBreakOrNul(*url->password));

  const std::string text = url->ToString();
  absl::StatusOr<FtpUrl> again = ParseFtpUrl(text);
  Check(again.ok());
  Check(again->implicit_tls == url->implicit_tls);
  Check(again->host == url->host);
  Check(again->port == url->port);
  Check(again->path == url->path);
  Check(again->user == url->user);
  if (url->password.has_value()) {
    Check(again->password.has_value() && *again->password == "***");
  } else {
    Check(!again->password.has_value());
    // Without a password, ToString() is canonical: a fixed point.
    Check(again->ToString() == text);
  }
  return 0;
}
