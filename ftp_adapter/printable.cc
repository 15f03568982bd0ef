#include "ftp_adapter/printable.h"

#include <algorithm>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace tlsession::ftp {
namespace {

// Longest excerpt of input quoted in an error message.
constexpr size_t kMaxQuoted = 80;

bool InRange(unsigned char c, unsigned char low, unsigned char high) {
  return c >= low && c <= high;
}

// The length of the valid UTF-8 sequence at the start of |text| (1 to 4),
// or 0 when it does not start with one. Overlong forms, surrogates and
// code points above U+10FFFF are not valid (RFC 3629).
size_t Utf8Length(absl::string_view text) {
  const auto at = [&](size_t i) { return static_cast<unsigned char>(text[i]); };
  const unsigned char lead = at(0);
  if (lead < 0x80) return 1;
  size_t length = 0;
  unsigned char low = 0x80, high = 0xBF;  // The second byte's range.
  if (InRange(lead, 0xC2, 0xDF)) {
    length = 2;
  } else if (InRange(lead, 0xE0, 0xEF)) {
    length = 3;
    if (lead == 0xE0) low = 0xA0;
    if (lead == 0xED) high = 0x9F;
  } else if (InRange(lead, 0xF0, 0xF4)) {
    length = 4;
    if (lead == 0xF0) low = 0x90;
    if (lead == 0xF4) high = 0x8F;
  } else {
    return 0;
  }
  if (text.size() < length || !InRange(at(1), low, high)) return 0;
  for (size_t i = 2; i < length; ++i) {
    if (!InRange(at(i), 0x80, 0xBF)) return 0;
  }
  return length;
}

// True for a sequence that must be escaped although it is valid UTF-8: a
// C0 control, DEL or a C1 control (U+0080..U+009F: 0xC2 0x80..0x9F).
bool IsControl(absl::string_view unit) {
  const auto c = static_cast<unsigned char>(unit[0]);
  if (unit.size() == 1) return c < 0x20 || c == 0x7F;
  return unit.size() == 2 && c == 0xC2 &&
         InRange(static_cast<unsigned char>(unit[1]), 0x80, 0x9F);
}

// Appends |bytes| to |out| as \xNN each.
void AppendEscaped(absl::string_view bytes, std::string* out) {
  for (char c : bytes) {
    absl::StrAppend(out, "\\x",
                    absl::Hex(static_cast<unsigned char>(c), absl::kZeroPad2));
  }
}

}  // namespace

std::string Printable(absl::string_view text, size_t max_size) {
  std::string out;
  out.reserve(std::min(text.size(), max_size));
  size_t cut = 0;  // Where to cut for "..." to fit in |max_size|.
  while (!text.empty()) {
    size_t length = Utf8Length(text);
    const bool escape = length == 0 || IsControl(text.substr(0, length));
    if (length == 0) length = 1;  // A stray byte, escaped alone.
    const absl::string_view unit = text.substr(0, length);
    text.remove_prefix(length);
    if (out.size() + (escape ? 4 * length : length) > max_size) {
      out.resize(cut);
      return out + "...";
    }
    if (escape) {
      AppendEscaped(unit, &out);
    } else {
      out.append(unit.data(), unit.size());
    }
    if (max_size >= 3 && out.size() <= max_size - 3) cut = out.size();
  }
  return out;
}

std::string QuoteExcerpt(absl::string_view text) {
  std::string out =
      absl::StrCat("'", absl::CHexEscape(text.substr(0, kMaxQuoted)), "'");
  if (text.size() > kMaxQuoted) out += "...";
  return out;
}

}  // namespace tlsession::ftp
