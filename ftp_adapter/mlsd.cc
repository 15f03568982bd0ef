#include "ftp_adapter/mlsd.h"

#include <limits>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "ftp_adapter/printable.h"

namespace tlsession::ftp {
namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// The value of the |count| digits of |text| at |pos| (the caller has checked
// that they are digits).
int DigitsValue(absl::string_view text, size_t pos, size_t count) {
  int value = 0;
  for (size_t i = pos; i < pos + count; ++i)
    value = value * 10 + (text[i] - '0');
  return value;
}

// Parses a size fact's value: one or more digits, fitting in uint64_t.
std::optional<uint64_t> ParseSize(absl::string_view text) {
  if (text.empty()) return std::nullopt;
  uint64_t value = 0;
  for (char c : text) {
    if (!IsDigit(c)) return std::nullopt;
    const uint64_t digit = static_cast<uint64_t>(c - '0');
    if (value > (std::numeric_limits<uint64_t>::max() - digit) / 10) {
      return std::nullopt;
    }
    value = value * 10 + digit;
  }
  return value;
}

// True for a valid fact name: printable ASCII other than ' ', ';' and '='.
bool IsFactName(absl::string_view name) {
  if (name.empty()) return false;
  for (char c : name) {
    if (c < 0x21 || c > 0x7E || c == ';' || c == '=') return false;
  }
  return true;
}

}  // namespace

absl::StatusOr<absl::Time> ParseFtpTime(absl::string_view text) {
  auto error = [&](absl::string_view why) {
    return absl::InvalidArgumentError(
        absl::StrCat("FTP time ", QuoteExcerpt(text), " ", why,
                     " (expected YYYYMMDDHHMMSS with an optional .fraction)"));
  };
  if (text.size() < 14) return error("is too short");
  for (size_t i = 0; i < 14; ++i) {
    if (!IsDigit(text[i])) return error("has a non-digit in its first 14");
  }
  absl::string_view fraction;
  if (text.size() > 14) {
    if (text[14] != '.') {
      return error("has something other than '.fraction' after its 14 digits");
    }
    fraction = text.substr(15);
    if (fraction.empty()) return error("has no digits after '.'");
    for (char c : fraction) {
      if (!IsDigit(c)) return error("has a non-digit in its fraction");
    }
  }
  const int year = DigitsValue(text, 0, 4);
  const int month = DigitsValue(text, 4, 2);
  const int day = DigitsValue(text, 6, 2);
  const int hour = DigitsValue(text, 8, 2);
  const int minute = DigitsValue(text, 10, 2);
  const int second = DigitsValue(text, 12, 2);
  if (month < 1 || month > 12) return error("has a month not in 01..12");
  const absl::CivilDay civil_day(year, month, day);
  if (day < 1 || civil_day.month() != month || civil_day.day() != day) {
    return error("has a day that its month does not have");
  }
  if (hour > 23) return error("has an hour not in 00..23");
  if (minute > 59) return error("has a minute not in 00..59");
  if (second > 60) return error("has a second not in 00..60");
  int64_t nanos = 0;
  for (size_t i = 0; i < 9; ++i) {
    nanos = nanos * 10 + (i < fraction.size() ? fraction[i] - '0' : 0);
  }
  const absl::CivilSecond civil(year, month, day, hour, minute, second);
  return absl::FromCivil(civil, absl::UTCTimeZone()) + absl::Nanoseconds(nanos);
}

namespace {

// The "fact=value;" list at the start of |line| into |entry|: "" and |*pos|
// at the space before the name, or why the list is malformed.
std::string ParseFacts(absl::string_view line, MlsdEntry* entry, size_t* pos) {
  while (true) {
    if (*pos >= line.size()) return "no space and name after the facts";
    if (line[*pos] == ' ') return "";
    const size_t semi = line.find(';', *pos);
    if (semi == absl::string_view::npos) {
      return absl::StrCat(
          QuoteExcerpt(line.substr(*pos)),
          " is neither a fact ended by ';' nor ' ' then the name (is the "
          "space before the name missing?)");
    }
    const absl::string_view fact = line.substr(*pos, semi - *pos);
    const size_t eq = fact.find('=');
    if (eq == absl::string_view::npos || !IsFactName(fact.substr(0, eq))) {
      return absl::StrCat("malformed fact ", QuoteExcerpt(fact),
                          " (expected name=value with a printable ASCII "
                          "name; is the space before the name missing?)");
    }
    std::string name = absl::AsciiStrToLower(fact.substr(0, eq));
    const absl::string_view value = fact.substr(eq + 1);
    if (!entry->facts.emplace(name, std::string(value)).second) {
      return absl::StrCat("fact ", QuoteExcerpt(name), " appears twice");
    }
    *pos = semi + 1;
  }
}

// The type, size and modify facts of |entry| into its fields: "", or why
// one is malformed.
std::string ParseKnownFacts(MlsdEntry* entry) {
  if (auto it = entry->facts.find("type"); it != entry->facts.end()) {
    entry->type = absl::AsciiStrToLower(it->second);
  }
  auto size_it = entry->facts.find("size");
  if (size_it == entry->facts.end()) size_it = entry->facts.find("sizd");
  if (size_it != entry->facts.end()) {
    entry->size = ParseSize(size_it->second);
    if (!entry->size.has_value()) {
      return absl::StrCat(size_it->first, " ", QuoteExcerpt(size_it->second),
                          " is not a decimal number below 2^64");
    }
  }
  if (auto it = entry->facts.find("modify"); it != entry->facts.end()) {
    absl::StatusOr<absl::Time> modify = ParseFtpTime(it->second);
    if (!modify.ok()) return std::string(modify.status().message());
    entry->modify = *modify;
  }
  return "";
}

}  // namespace

absl::StatusOr<MlsdEntry> ParseMlsdLine(absl::string_view line) {
  auto error = [&](absl::string_view why) {
    return absl::InvalidArgumentError(
        absl::StrCat("MLSD line ", QuoteExcerpt(line), ": ", why));
  };
  MlsdEntry entry;
  size_t pos = 0;
  if (std::string why = ParseFacts(line, &entry, &pos); !why.empty()) {
    return error(why);
  }
  const absl::string_view name = line.substr(pos + 1);
  if (name.empty()) return error("the name is empty");
  if (name.find_first_of(absl::string_view("\0\r\n", 3)) !=
      absl::string_view::npos) {
    return error("the name contains NUL, CR or LF");
  }
  entry.name = std::string(name);
  if (std::string why = ParseKnownFacts(&entry); !why.empty()) {
    return error(why);
  }
  return entry;
}

}  // namespace tlsession::ftp
