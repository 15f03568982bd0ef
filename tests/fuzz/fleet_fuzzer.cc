// Fuzzes what fleet/ reads from users and from Redis. The first byte picks:
//   0: ParseRedisUrl and RedactUrl (a flag value): a password never
//      survives redaction, and errors quote the URL only redacted.
//   1: ParseRedisReplies (what Redis sends), with hiredis's reader and the
//      client's conversion: no crash, no leak.
//   2: FleetKey::Open of a value read from Redis: refused unless it was
//      sealed for that name (then Seal/Open round-trips), and BoringSSL's
//      error queue is left empty (a stale error would fail the handshake
//      that goes on without the session).
#include <openssl/err.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "base/redact_url.h"
#include "base/secret.h"
#include "fleet/fleet_key.h"
#include "fleet/redis_reply.h"
#include "fleet/redis_url.h"

namespace {

using tlsession::Secret;
using tlsession::fleet::FleetKey;

void Check(bool ok) {
  if (!ok) __builtin_trap();
}

// True when |secret| occurs in |url| and only inside its password: between
// the first ':' after "SCHEME://" and the last '@' (all of the credentials
// when they hold no ':'), as RedactUrl reads it.
bool OnlyInPassword(absl::string_view url, absl::string_view secret) {
  const size_t at = url.rfind('@');
  const size_t first = url.find(secret);
  if (at == absl::string_view::npos || first == absl::string_view::npos) {
    return false;
  }
  const size_t scheme_end = url.find("://");
  size_t begin = scheme_end < at ? scheme_end + 3 : 0;
  const size_t colon = url.find(':', begin);
  if (colon < at) begin = colon + 1;
  return first >= begin && url.rfind(secret) + secret.size() <= at;
}

void FuzzUrl(absl::string_view input) {
  auto url = tlsession::fleet::ParseRedisUrl(input);
  constexpr absl::string_view kSecret = "FUZZSECRET";
  const std::string redacted_url = tlsession::RedactUrl(input);
  const absl::string_view redacted = redacted_url;
  // A password never survives redaction, and errors quote the URL only
  // redacted.
  if (OnlyInPassword(input, kSecret)) {
    Check(redacted.find(kSecret) == absl::string_view::npos);
  }
  if (!url.ok()) {
    Check(url.status().message().find(kSecret) == absl::string_view::npos ||
          redacted.find(kSecret) != absl::string_view::npos);
    return;
  }
  Check(!url->host.empty());
  Check(url->port != 0);
}

void FuzzReplies(absl::string_view input) {
  auto replies = tlsession::fleet::ParseRedisReplies(input);
  if (replies.ok()) Check(replies->size() <= input.size());
}

void FuzzOpen(absl::string_view input) {
  static const std::shared_ptr<const FleetKey> key = *FleetKey::FromSecret(
      Secret(std::string("tlsession-fuzz-fleet-key-32bytes")));
  const std::string name = key->KeyName("s", "fuzz");
  auto opened = key->Open(name, input);
  Check(ERR_peek_error() == 0);
  if (opened.ok()) return;  // Only a value sealed for |name| opens.
  // Sealing the input and opening it again gives it back; under another
  // name it does not open.
  const std::string sealed = key->Seal(name, input);
  auto again = key->Open(name, sealed);
  Check(again.ok() && again->view() == input);
  Check(!key->Open(key->KeyName("s", "other"), sealed).ok());
  Check(ERR_peek_error() == 0);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const absl::string_view input(reinterpret_cast<const char*>(data) + 1,
                                size - 1);
  switch (data[0] % 3) {
    case 0:
      FuzzUrl(input);
      break;
    case 1:
      FuzzReplies(input);
      break;
    default:
      FuzzOpen(input);
  }
  return 0;
}
