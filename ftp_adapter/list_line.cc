#include "ftp_adapter/list_line.h"

#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace tlsession::ftp {
namespace {

constexpr const char* kMonths[] = {"jan", "feb", "mar", "apr", "may", "jun",
                                   "jul", "aug", "sep", "oct", "nov", "dec"};

absl::Status Bad(absl::string_view line, absl::string_view why) {
  return absl::InvalidArgumentError(
      absl::StrCat("unrecognised LIST line (", why, "): \"", line, "\""));
}

// The first |n| space-separated words of |line|, and the rest after the
// single space that ends the last of them (the name, spaces kept).
bool SplitWords(absl::string_view line, size_t n,
                std::vector<absl::string_view>* words,
                absl::string_view* rest) {
  size_t i = 0;
  while (words->size() < n) {
    while (i < line.size() && line[i] == ' ') ++i;
    const size_t start = i;
    while (i < line.size() && line[i] != ' ') ++i;
    if (start == i) return false;
    words->push_back(line.substr(start, i - start));
  }
  if (i >= line.size()) return false;
  *rest = line.substr(i + 1);
  return true;
}

// The month 1-12 of "Dec", or 0.
int MonthOf(absl::string_view word) {
  const std::string lower = absl::AsciiStrToLower(word);
  for (int m = 0; m < 12; ++m) {
    if (lower == kMonths[m]) return m + 1;
  }
  return 0;
}

// The time of "Dec" "04" "23:10" (or "2025"), see ParseListLine.
bool ParseWhen(absl::string_view month, absl::string_view day,
               absl::string_view time_or_year, absl::Time now, ListEntry* e) {
  const int m = MonthOf(month);
  int d = 0;
  if (m == 0 || !absl::SimpleAtoi(day, &d) || d < 1 || d > 31) return false;
  const absl::TimeZone utc = absl::UTCTimeZone();
  int year = 0, hour = 0, minute = 0;
  if (time_or_year.size() == 5 && time_or_year[2] == ':') {
    if (!absl::SimpleAtoi(time_or_year.substr(0, 2), &hour) ||
        !absl::SimpleAtoi(time_or_year.substr(3), &minute) || hour > 23 ||
        minute > 59) {
      return false;
    }
    year = static_cast<int>(absl::ToCivilYear(now, utc).year());
    e->precision = absl::Minutes(1);
    e->modify =
        absl::FromCivil(absl::CivilMinute(year, m, d, hour, minute), utc);
    if (e->modify > now + absl::Hours(24)) {
      e->modify =
          absl::FromCivil(absl::CivilMinute(year - 1, m, d, hour, minute), utc);
    }
    return true;
  }
  if (!absl::SimpleAtoi(time_or_year, &year) || year < 1970 || year > 9999) {
    return false;
  }
  e->precision = absl::Hours(24);
  e->modify = absl::FromCivil(absl::CivilDay(year, m, d), utc);
  return true;
}

}  // namespace

absl::StatusOr<ListEntry> ParseListLine(absl::string_view line,
                                        absl::Time now) {
  std::vector<absl::string_view> w;
  absl::string_view name;
  if (!SplitWords(line, 8, &w, &name)) return Bad(line, "too few fields");
  if (w[0].size() < 10) return Bad(line, "no permissions field");
  ListEntry e;
  e.type = w[0][0];
  if (!absl::SimpleAtoi(w[4], &e.size)) return Bad(line, "bad size");
  if (!ParseWhen(w[5], w[6], w[7], now, &e)) return Bad(line, "bad date");
  if (e.type == 'l') {
    const size_t arrow = name.find(" -> ");
    if (arrow != absl::string_view::npos) name = name.substr(0, arrow);
  }
  if (name.empty() ||
      name.find_first_of(std::string("\0\r\n", 3)) != absl::string_view::npos) {
    return Bad(line, "bad name");
  }
  e.name = std::string(name);
  return e;
}

}  // namespace tlsession::ftp
