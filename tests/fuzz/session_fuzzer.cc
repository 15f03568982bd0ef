// Fuzzes serialized sessions (session/session.h, tls/context.h): the bytes a
// session cache file or a caller's own store hands back.
// Session::ParseUnchecked and Context::SessionFromBytes on a client Context
// made once; a parsed session's accessors, and a ToBytes() round trip.
// BoringSSL is built from source with the same flags (--config=fuzz), so
// coverage guides the fuzzer through its session parser too and ASan/UBSan
// check it. Without BoringSSL's fuzzer mode (BORINGSSL_UNSAFE_FUZZER_MODE):
// nothing here is behind a signature, MAC or random number that the fuzzer
// would need to get past.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "session/session.h"
#include "tests/fuzz/fuzz_common.h"
#include "tls/context.h"

namespace {

using tlsession::Context;
using tlsession::Session;

void Check(bool ok) {
  if (!ok) __builtin_trap();
}

const Context& ClientContext() {
  // Made once and kept for the whole run (still reachable: no leak).
  static const std::shared_ptr<const Context>* const context = [] {
    absl::StatusOr<std::shared_ptr<const Context>> c =
        Context::Create(tlsession::fuzz::FuzzClientOptions());
    Check(c.ok());
    return new std::shared_ptr<const Context>(*std::move(c));
  }();
  return **context;
}

void Exercise(const Session& s) {
  Check(!s.empty());
  (void)s.id();
  (void)s.time();
  (void)s.timeout();
  (void)s.expiry();
  (void)s.ticket_lifetime_hint();
  (void)s.has_ticket();
  (void)s.protocol_version();
  (void)s.is_resumable();
  (void)s.is_single_use();
  (void)s.context_id();
  (void)s.peer_certificate_expiry();
  Check(s == Session(s));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view input(reinterpret_cast<const char*>(data), size);
  const Context& context = ClientContext();

  absl::StatusOr<Session> parsed =
      Session::ParseUnchecked(input, context.ssl_ctx());
  absl::StatusOr<Session> checked = context.SessionFromBytes(input);
  // The identity check only ever refuses more.
  if (checked.ok()) Check(parsed.ok());
  if (!parsed.ok()) return 0;
  Exercise(*parsed);
  if (checked.ok()) {
    Exercise(*checked);
    Check(checked->context_id() == context.id());
  }

  // What parses serializes, and parses back to an equal session.
  absl::StatusOr<std::string> bytes = parsed->ToBytes();
  Check(bytes.ok());
  absl::StatusOr<Session> again =
      Session::ParseUnchecked(*bytes, context.ssl_ctx());
  Check(again.ok());
  Check(*again == *parsed);
  Check(again->context_id() == parsed->context_id());
  Check(again->protocol_version() == parsed->protocol_version());
  Check(context.SessionFromBytes(*bytes).ok() == checked.ok());
  return 0;
}
