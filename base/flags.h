// A small command-line parser for fleet/'s tools, whose flags are spelled
// with dashes (--session-store, --max-version) as in the rest of the
// project's tools: "--name value" and "--name=value".
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

namespace tlsession::fleet {

struct CliFlag {
  std::string name;  // With its dashes: "--port".
  std::string help;  // One line, shown by CliUsage.
  // Takes the value (or "" for a switch); false when it is not acceptable.
  std::function<bool(absl::string_view value)> set;
  bool takes_value = true;
};

// Setters for the usual kinds of values.
std::function<bool(absl::string_view)> SetString(std::string* out);
std::function<bool(absl::string_view)> SetInt(int* out);
// absl::ParseDuration's syntax: "5ms", "1h", "90s".
std::function<bool(absl::string_view)> SetDuration(absl::Duration* out);
// "1.2" or "1.3", as BoringSSL's TLS1_2_VERSION or TLS1_3_VERSION.
std::function<bool(absl::string_view)> SetTlsVersion(uint16_t* out);

// Parses argv[1..] against |flags|. InvalidArgument naming the flag on an
// unknown flag, a missing value or a value its setter refuses (values are
// never quoted: a URL may hold a password). "-h"/"--help" gives Cancelled.
absl::Status ParseCli(int argc, char** argv, const std::vector<CliFlag>& flags);

// "usage: ...", then one line per flag.
std::string CliUsage(absl::string_view synopsis,
                     const std::vector<CliFlag>& flags);

// ParseCli for a tool's main(): nullopt when the tool should go on, else the
// exit code after printing what ParseCli said (prefixed "|tool|: ") and the
// usage on stderr (2), or the usage alone on stdout for -h/--help (0).
std::optional<int> ParseCliOrExitCode(int argc, char** argv,
                                      const std::vector<CliFlag>& flags,
                                      absl::string_view tool,
                                      absl::string_view synopsis);

}  // namespace tlsession::fleet

#endif  // TLSESSION_BASE_FLAGS_H_
