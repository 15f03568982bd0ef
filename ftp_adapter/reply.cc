#include "ftp_adapter/reply.h"

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "ftp_adapter/printable.h"

namespace tlsession::ftp {
namespace {

// Longest Reply::ToString().
constexpr size_t kMaxToString = 512;

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// The reply code that |line| starts with (three digits, the first 1-5), or 0.
int CodeOf(absl::string_view line) {
  if (line.size() < 3 || line[0] < '1' || line[0] > '5' || !IsDigit(line[1]) ||
      !IsDigit(line[2])) {
    return 0;
  }
  return (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
}

}  // namespace

std::string Reply::text() const { return absl::StrJoin(lines, "\n"); }

std::string Reply::ToString() const {
  return Printable(absl::StrJoin(lines, " | "), kMaxToString);
}

bool Reply::is_preliminary() const { return code / 100 == 1; }
bool Reply::is_completion() const { return code / 100 == 2; }
bool Reply::is_intermediate() const { return code / 100 == 3; }
bool Reply::is_transient_failure() const { return code / 100 == 4; }
bool Reply::is_permanent_failure() const { return code / 100 == 5; }

ReplyParser::ReplyParser(size_t max_lines) : max_lines_(max_lines) {}

absl::StatusOr<std::optional<Reply>> ReplyParser::AddLine(
    absl::string_view line) {
  if (pending_.lines.empty()) {
    const int code = CodeOf(line);
    if (code == 0 || (line.size() > 3 && line[3] != ' ' && line[3] != '-')) {
      return absl::InvalidArgumentError(absl::StrCat(
          "malformed FTP reply line ", QuoteExcerpt(line),
          ": expected a three-digit code 100-599 then ' ' or '-'"));
    }
    if (max_lines_ == 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "FTP reply ", QuoteExcerpt(line), " has more than 0 lines"));
    }
    pending_.code = code;
    pending_.lines.emplace_back(line);
    if (line.size() == 3 || line[3] == ' ') {
      return std::optional<Reply>(std::exchange(pending_, Reply()));
    }
    return std::optional<Reply>();
  }

  if (pending_.lines.size() >= max_lines_) {
    Reply dropped = std::exchange(pending_, Reply());
    return absl::InvalidArgumentError(
        absl::StrCat("FTP reply ", QuoteExcerpt(dropped.lines.front()),
                     " has more than ", max_lines_, " lines"));
  }
  pending_.lines.emplace_back(line);
  if (CodeOf(line) == pending_.code && (line.size() == 3 || line[3] == ' ')) {
    return std::optional<Reply>(std::exchange(pending_, Reply()));
  }
  return std::optional<Reply>();
}

}  // namespace tlsession::ftp
