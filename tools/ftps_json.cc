#include "tools/ftps_json.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "ftp_adapter/printable.h"

namespace tlsession::ftp {

std::string JsonString(absl::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    const unsigned char u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      absl::StrAppend(&out, "\\", std::string(1, c));
    } else if (c == '\n') {
      out += "\\n";
    } else if (u < 0x20 || u == 0x7F) {
      absl::StrAppendFormat(&out, "\\u%04x", u);
    } else {
      out += c;
    }
  }
  return out + "\"";
}

std::string ListingJson(const std::vector<MlsdEntry>& entries) {
  std::string out = "[";
  for (size_t i = 0; i < entries.size(); ++i) {
    absl::StrAppend(&out, i == 0 ? "\n  " : ",\n  ",
                    "{\"name\": ", JsonString(Printable(entries[i].name)));
    for (const auto& [fact, value] : entries[i].facts) {
      absl::StrAppend(&out, ", ", JsonString(Printable(fact)), ": ",
                      JsonString(Printable(value)));
    }
    out += "}";
  }
  return absl::StrCat(out, entries.empty() ? "]\n" : "\n]\n");
}

std::string TransferJson(absl::string_view command, absl::string_view remote,
                         absl::string_view local, const TransferSummary& s) {
  return absl::StrFormat(
      "{\"command\": %s, \"remote\": %s, \"local\": %s, \"bytes\": %d, "
      "\"resumed\": %d, \"skipped\": %s, \"seconds\": %.3f, \"tls\": %s, "
      "\"data_connections\": %d, \"data_resumed\": %d}\n",
      JsonString(command), JsonString(Printable(remote)),
      JsonString(Printable(local)), s.bytes, s.resumed,
      s.skipped > 0 ? "true" : "false", absl::ToDoubleSeconds(s.elapsed),
      JsonString(s.tls_version), s.data_connections, s.data_resumed);
}

}  // namespace tlsession::ftp
