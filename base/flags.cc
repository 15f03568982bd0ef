#include "base/flags.h"

#include <openssl/ssl.h>
#include <stdio.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace tlsession::fleet {

std::function<bool(absl::string_view)> SetString(std::string* out) {
  return [out](absl::string_view v) {
    *out = std::string(v);
    return true;
  };
}

std::function<bool(absl::string_view)> SetInt(int* out) {
  return [out](absl::string_view v) { return absl::SimpleAtoi(v, out); };
}

std::function<bool(absl::string_view)> SetDuration(absl::Duration* out) {
  return [out](absl::string_view v) {
    return absl::ParseDuration(v, out) && *out >= absl::ZeroDuration();
  };
}

std::function<bool(absl::string_view)> SetTlsVersion(uint16_t* out) {
  return [out](absl::string_view v) {
    if (v != "1.2" && v != "1.3") return false;
    *out = v == "1.2" ? TLS1_2_VERSION : TLS1_3_VERSION;
    return true;
  };
}

absl::Status ParseCli(int argc, char** argv,
                      const std::vector<CliFlag>& flags) {
  for (int i = 1; i < argc; ++i) {
    absl::string_view arg = argv[i];
    if (arg == "-h" || arg == "--help") return absl::CancelledError("help");
    absl::string_view name = arg, value;
    const size_t eq = arg.find('=');
    const bool inline_value = eq != absl::string_view::npos;
    if (inline_value) {
      name = arg.substr(0, eq);
      value = arg.substr(eq + 1);
    }
    const CliFlag* flag = nullptr;
    for (const CliFlag& f : flags) {
      if (f.name == name) flag = &f;
    }
    if (flag == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat("unknown flag ", name));
    }
    if (flag->takes_value && !inline_value) {
      if (i + 1 >= argc) {
        return absl::InvalidArgumentError(absl::StrCat(name, " needs a value"));
      }
      value = argv[++i];
    }
    if (!flag->set(value)) {
      return absl::InvalidArgumentError(
          absl::StrCat("bad value for ", name, " (", flag->help, ")"));
    }
  }
  return absl::OkStatus();
}

std::string CliUsage(absl::string_view synopsis,
                     const std::vector<CliFlag>& flags) {
  std::string out = absl::StrCat("usage: ", synopsis, "\n");
  for (const CliFlag& f : flags) {
    absl::StrAppend(&out, absl::StrFormat("  %-24s %s\n",
                                          f.takes_value ? f.name + " V" : f.name,
                                          f.help));
  }
  return out;
}

std::optional<int> ParseCliOrExitCode(int argc, char** argv,
                                      const std::vector<CliFlag>& flags,
                                      absl::string_view tool,
                                      absl::string_view synopsis) {
  const absl::Status parsed = ParseCli(argc, argv, flags);
  if (parsed.ok()) return std::nullopt;
  const bool help = absl::IsCancelled(parsed);
  if (!help) absl::FPrintF(stderr, "%s: %s\n", tool, parsed.message());
  absl::FPrintF(help ? stdout : stderr, "%s", CliUsage(synopsis, flags));
  return help ? 0 : 2;
}

}  // namespace tlsession::fleet
