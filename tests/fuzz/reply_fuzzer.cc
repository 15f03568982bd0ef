// Fuzzes ReplyParser (ftp_adapter/reply.h): the input is a control
// connection's lines, split on '\n' (a trailing '\r' is kept, as a line reader
// that failed to strip it would pass it on). Two parsers read the same lines:
// the default bound, and a bound of 3 lines so that the bound is hit often.
// Every Reply returned must be well formed, and its text printable once
// escaped (ftp_adapter/printable.h).
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "ftp_adapter/printable.h"
#include "ftp_adapter/reply.h"

namespace {

using tlsession::ftp::Reply;
using tlsession::ftp::ReplyParser;

void Check(bool ok) {
  if (!ok) __builtin_trap();
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// True when |line| is "ddd" or "ddd " + text, ddd being |code|.
bool IsLastLineOf(const std::string& line, int code) {
  return line.size() >= 3 && IsDigit(line[0]) && IsDigit(line[1]) &&
         IsDigit(line[2]) &&
         (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0') ==
             code &&
         (line.size() == 3 || line[3] == ' ');
}

void CheckReply(const Reply& reply, size_t max_lines) {
  Check(reply.code >= 100 && reply.code <= 599);
  Check(!reply.lines.empty());
  Check(reply.lines.size() <= max_lines);
  const std::string& first = reply.lines.front();
  if (reply.lines.size() == 1) {
    Check(IsLastLineOf(first, reply.code));
  } else {
    Check(first.size() >= 4 && first[3] == '-');
    Check(IsLastLineOf(reply.lines.back(), reply.code));
    // The reply ends at its first closing line.
    for (size_t i = 1; i + 1 < reply.lines.size(); ++i) {
      Check(!IsLastLineOf(reply.lines[i], reply.code));
    }
  }
  Check(first.compare(0, 3, std::to_string(reply.code)) == 0);
  // Exactly one category.
  Check(reply.is_preliminary() + reply.is_completion() +
            reply.is_intermediate() + reply.is_transient_failure() +
            reply.is_permanent_failure() ==
        1);
  // ToString: bounded and free of control characters, C1 ones (U+0080 to
  // U+009F, 0xC2 0x80..0x9F in UTF-8) included.
  const std::string s = reply.ToString();
  Check(s.size() <= 512);
  for (size_t i = 0; i < s.size(); ++i) {
    const unsigned char u = static_cast<unsigned char>(s[i]);
    Check(u >= 0x20 && u != 0x7F);
    if (u == 0xC2 && i + 1 < s.size()) {
      const unsigned char next = static_cast<unsigned char>(s[i + 1]);
      Check(next < 0x80 || next > 0x9F);
    }
  }
  // Printable text has nothing left to escape.
  const std::string printable = tlsession::ftp::Printable(reply.text());
  Check(tlsession::ftp::Printable(printable) == printable);
  size_t text_size = 0;
  for (const std::string& line : reply.lines) text_size += line.size() + 1;
  Check(reply.text().size() == text_size - 1);
}

void Feed(ReplyParser& parser, size_t max_lines, absl::string_view line) {
  absl::StatusOr<std::optional<Reply>> result = parser.AddLine(line);
  if (!result.ok()) {
    Check(!result.status().message().empty());
    return;
  }
  if (result->has_value()) CheckReply(**result, max_lines);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view input(reinterpret_cast<const char*>(data), size);
  ReplyParser parser;
  ReplyParser small(3);
  ReplyParser none(0);
  size_t start = 0;
  while (start <= input.size()) {
    size_t end = input.find('\n', start);
    if (end == absl::string_view::npos) end = input.size();
    const absl::string_view line = input.substr(start, end - start);
    Feed(parser, 10000, line);
    Feed(small, 3, line);
    // A bound of 0 rejects every reply.
    Check(!none.AddLine(line).ok());
    start = end + 1;
  }
  return 0;
}
