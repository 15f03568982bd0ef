#include "base/flags.h"

#include <openssl/ssl.h>
#include <stdio.h>
#include <string.h>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "base/redact_url.h"

namespace tlsession {
namespace {

// Where help text starts in CliFlagLines: two spaces, the names, a space.
constexpr size_t kHelpColumn = 25;

// The flag of |flags| spelled |name|, or null.
const CliFlag* FindFlag(const std::vector<CliFlag>& flags,
                        absl::string_view name) {
  for (const CliFlag& f : flags) {
    if (f.name == name) return &f;
    for (const std::string& alias : f.aliases) {
      if (alias == name) return &f;
    }
  }
  return nullptr;
}

// True for a word that is a flag, not an operand ("-" alone is an operand).
bool LooksLikeFlag(absl::string_view word) {
  return word.size() > 1 && word[0] == '-';
}

// Copies |word| (part of argv) into |syntax|' operands, then masks a URL
// password in it when |syntax| says so.
void AddOperand(const CliSyntax& syntax, char* word) {
  syntax.operands->emplace_back(word);
  if (syntax.mask_operand_url_passwords) MaskUrlSecret(word);
}

// Overwrites |text| (part of argv) with '*'.
void Mask(char* text) { memset(text, '*', strlen(text)); }

// Reads the flag at argv[*i] (|name|, and |value| when given inline after
// '='), taking its value from argv[*i + 1] when it needs one.
absl::Status ApplyFlag(const CliFlag& flag, absl::string_view name,
                       std::optional<char*> inline_value, int argc, char** argv,
                       int* i) {
  if (!flag.takes_value && inline_value) {
    return absl::InvalidArgumentError(absl::StrCat(name, " takes no value"));
  }
  char* value = nullptr;
  if (inline_value) {
    value = *inline_value;
  } else if (flag.takes_value) {
    if (*i + 1 >= argc) {
      return absl::InvalidArgumentError(absl::StrCat(name, " needs a value"));
    }
    value = argv[++*i];
  }
  const bool accepted = flag.set(value == nullptr ? "" : value);
  if (flag.secret && value != nullptr) Mask(value);
  if (flag.url_secret && value != nullptr) MaskUrlSecret(value);
  if (accepted) return absl::OkStatus();
  return absl::InvalidArgumentError(
      flag.bad_value.empty()
          ? absl::StrCat("bad value for ", name, " (", flag.help, ")")
          : flag.bad_value);
}

// The names of |f| as the usage shows them: single-dash spellings first,
// then the value's placeholder.
std::string NamesOf(const CliFlag& f) {
  std::vector<std::string> names;
  for (const std::string& a : f.aliases) {
    if (!absl::StartsWith(a, "--")) names.push_back(a);
  }
  names.push_back(f.name);
  for (const std::string& a : f.aliases) {
    if (absl::StartsWith(a, "--")) names.push_back(a);
  }
  std::string out = absl::StrJoin(names, ", ");
  if (f.takes_value) absl::StrAppend(&out, " ", f.value_name);
  return out;
}

// One flag's lines of the usage: its names, then its help from kHelpColumn
// (on the next line when the names reach it).
std::string FlagLines(absl::string_view names, absl::string_view help) {
  const std::string indent(kHelpColumn, ' ');
  std::string out = absl::StrCat("  ", names);
  bool first = true;
  for (absl::string_view line : absl::StrSplit(help, '\n')) {
    if (first && out.size() < kHelpColumn) {
      out.append(kHelpColumn - out.size(), ' ');
    } else {
      absl::StrAppend(&out, "\n", indent);
    }
    absl::StrAppend(&out, line);
    first = false;
  }
  return out + "\n";
}

}  // namespace

CliFlag CliSwitch(std::string name, std::vector<std::string> aliases,
                  std::string help, bool* out) {
  CliFlag flag{std::move(name), std::move(help),
               [out](absl::string_view) { return *out = true; }};
  flag.takes_value = false;
  flag.aliases = std::move(aliases);
  return flag;
}

CliSetter SetString(std::string* out) {
  return [out](absl::string_view v) {
    *out = std::string(v);
    return true;
  };
}

CliSetter SetInt(int* out) {
  return [out](absl::string_view v) { return absl::SimpleAtoi(v, out); };
}

CliSetter SetIntInRange(int* out, int min, int max) {
  return [out, min, max](absl::string_view v) {
    int n = 0;
    if (!absl::SimpleAtoi(v, &n) || n < min || n > max) return false;
    *out = n;
    return true;
  };
}

CliSetter SetDuration(absl::Duration* out) {
  return [out](absl::string_view v) {
    return absl::ParseDuration(v, out) && *out >= absl::ZeroDuration();
  };
}

CliSetter SetTlsVersion(uint16_t* out) {
  return [out](absl::string_view v) {
    if (v != "1.2" && v != "1.3") return false;
    *out = v == "1.2" ? TLS1_2_VERSION : TLS1_3_VERSION;
    return true;
  };
}

absl::Status ParseCli(int argc, char** argv, const std::vector<CliFlag>& flags,
                      const CliSyntax& syntax) {
  for (int i = 1; i < argc; ++i) {
    const absl::string_view arg = argv[i];
    if (arg == "-h" || arg == "--help") return absl::CancelledError("help");
    if (syntax.operands != nullptr && arg == "--") {
      for (int j = i + 1; j < argc; ++j) AddOperand(syntax, argv[j]);
      break;
    }
    if (syntax.operands != nullptr && !LooksLikeFlag(arg)) {
      AddOperand(syntax, argv[i]);
      continue;
    }
    const size_t eq = arg.find('=');
    const absl::string_view name = arg.substr(0, eq);
    const CliFlag* flag = FindFlag(flags, name);
    if (flag == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("unknown ", syntax.flag_word, " ", name));
    }
    std::optional<char*> inline_value;
    if (eq != absl::string_view::npos) inline_value = argv[i] + eq + 1;
    absl::Status s = ApplyFlag(*flag, name, inline_value, argc, argv, &i);
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

std::string CliFlagLines(const std::vector<CliFlag>& flags) {
  std::string out;
  for (const CliFlag& f : flags) out += FlagLines(NamesOf(f), f.help);
  return out + FlagLines("-h, --help", "this text");
}

std::string CliUsage(absl::string_view synopsis,
                     const std::vector<CliFlag>& flags) {
  return absl::StrCat("usage: ", synopsis, "\n", CliFlagLines(flags));
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

}  // namespace tlsession
