// Fuzzes the MLSD fact-line and FTP timestamp parsers (ftp_adapter/mlsd.h)
// on the whole input, checking what a parsed entry or time promises.
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "ftp_adapter/mlsd.h"

namespace {

using tlsession::ftp::MlsdEntry;
using tlsession::ftp::ParseFtpTime;
using tlsession::ftp::ParseMlsdLine;

void Check(bool ok) {
  if (!ok) __builtin_trap();
}

void CheckTime(absl::string_view text) {
  absl::StatusOr<absl::Time> t = ParseFtpTime(text);
  if (!t.ok()) return;
  Check(text.size() >= 14);
  // Whole seconds formatted back parse back to the same second (years of
  // four digits only; a leap second comes back as the next minute's 0).
  const absl::Time whole = absl::FromUnixSeconds(absl::ToUnixSeconds(*t));
  Check(*t - whole >= absl::ZeroDuration() && *t - whole < absl::Seconds(1));
  const std::string formatted =
      absl::FormatTime("%Y%m%d%H%M%S", whole, absl::UTCTimeZone());
  if (formatted.size() == 14) {
    absl::StatusOr<absl::Time> again = ParseFtpTime(formatted);
    Check(again.ok() && *again == whole);
  }
}

void CheckEntry(absl::string_view line) {
  absl::StatusOr<MlsdEntry> entry = ParseMlsdLine(line);
  if (!entry.ok()) return;
  Check(!entry->name.empty());
  Check(absl::string_view(entry->name)
            .find_first_of(absl::string_view("\0\r\n", 3)) ==
        absl::string_view::npos);
  // The name is the line's tail, after the facts and one space.
  Check(line.size() > entry->name.size() &&
        line.substr(line.size() - entry->name.size()) == entry->name &&
        line[line.size() - entry->name.size() - 1] == ' ');
  for (const auto& [name, value] : entry->facts) {
    Check(!name.empty() && name == absl::AsciiStrToLower(name));
    Check(name.find_first_of("=; ") == std::string::npos);
    Check(value.find(';') == std::string::npos);
  }
  auto type = entry->facts.find("type");
  Check(type == entry->facts.end()
            ? entry->type.empty()
            : entry->type == absl::AsciiStrToLower(type->second));
  const bool has_size =
      entry->facts.count("size") || entry->facts.count("sizd");
  Check(entry->size.has_value() == has_size);
  auto modify = entry->facts.find("modify");
  Check(entry->modify.has_value() == (modify != entry->facts.end()));
  if (modify != entry->facts.end()) {
    absl::StatusOr<absl::Time> t = ParseFtpTime(modify->second);
    Check(t.ok() && *t == *entry->modify);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view input(reinterpret_cast<const char*>(data), size);
  CheckEntry(input);
  CheckTime(input);
  // MDTM replies carry the time after "213 ".
  if (input.size() > 4 && input.substr(0, 4) == "213 ") {
    CheckTime(input.substr(4));
  }
  return 0;
}
