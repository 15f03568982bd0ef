// The tools' command-line parser. Flags are spelled with dashes
// (--session-store, --max-version), take their value as "--name value" or
// "--name=value", may have other spellings ("-v" for "--verbose"), and may
// be switches that take none. A tool that takes operands (commands, URLs)
// gets the words that are not flags, and every word after "--". One table per
// tool names each flag once, with its help, and the usage text is made from
// that table.
#ifndef TLSESSION_BASE_FLAGS_H_
#define TLSESSION_BASE_FLAGS_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace tlsession {

// A setter takes a flag's value ("" for a switch) and returns false when it
// is not acceptable.
using CliSetter = std::function<bool(absl::string_view value)>;

struct CliFlag {
  std::string name;  // With its dashes: "--port".
  std::string help;  // Shown by CliUsage; "\n" starts another line.
  CliSetter set;
  bool takes_value = true;
  // The value's placeholder in the usage text: "--port V".
  std::string value_name = "V";
  // Other spellings of the flag: "-v" beside "--verbose".
  std::vector<std::string> aliases = {};
  // The error for a value |set| refuses; empty: "bad value for NAME (HELP)".
  std::string bad_value = {};
  // The value is overwritten with '*' in argv once read, so that ps shows it
  // only for a moment (a password).
  bool secret = false;
  // The value may be a URL holding a password (redis://USER:PASSWORD@HOST):
  // once read, that password is overwritten with '*' in argv by
  // MaskUrlSecret (base/redact_url.h), and the rest stays readable.
  bool url_secret = false;
};

// A switch: a flag that takes no value and sets |*out| to true.
CliFlag CliSwitch(std::string name, std::vector<std::string> aliases,
                  std::string help, bool* out);

// Setters for the usual kinds of values.
CliSetter SetString(std::string* out);
CliSetter SetInt(int* out);
// An integer from |min| to |max|.
CliSetter SetIntInRange(int* out, int min, int max);
// absl::ParseDuration's syntax: "5ms", "1h", "90s"; not negative.
CliSetter SetDuration(absl::Duration* out);
// "1.2" or "1.3", as BoringSSL's TLS1_2_VERSION or TLS1_3_VERSION.
CliSetter SetTlsVersion(uint16_t* out);

// How a tool's command line is read besides its flags.
struct CliSyntax {
  // Where the operands go (words that do not start with '-', and every word
  // after "--"); null: an operand is an error.
  std::vector<std::string>* operands = nullptr;
  // What errors call a flag: "unknown flag --x" or "unknown option --x".
  std::string flag_word = "flag";
  // Operands may be URLs holding passwords (ftp://USER:PASSWORD@HOST/):
  // MaskUrlSecret is applied to each in argv once it is copied.
  bool mask_operand_url_passwords = false;
};

// Parses argv[1..] against |flags|. InvalidArgument naming the flag on an
// unknown flag, a missing value, a value given to a switch or a value its
// setter refuses (values are never quoted: a URL may hold a password).
// "-h"/"--help" gives Cancelled.
absl::Status ParseCli(int argc, char** argv, const std::vector<CliFlag>& flags,
                      const CliSyntax& syntax = {});

// One line per flag ("  --cacert FILE   trust ..."), then "-h, --help".
std::string CliFlagLines(const std::vector<CliFlag>& flags);

// "usage: |synopsis|", then CliFlagLines.
std::string CliUsage(absl::string_view synopsis,
                     const std::vector<CliFlag>& flags);

// ParseCli for a tool's main(): nullopt when the tool should go on, else the
// exit code after printing what ParseCli said (prefixed "|tool|: ") and the
// usage on stderr (2), or the usage alone on stdout for -h/--help (0).
std::optional<int> ParseCliOrExitCode(int argc, char** argv,
                                      const std::vector<CliFlag>& flags,
                                      absl::string_view tool,
                                      absl::string_view synopsis);

}  // namespace tlsession

#endif  // TLSESSION_BASE_FLAGS_H_
