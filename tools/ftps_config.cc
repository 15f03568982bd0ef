#include "tools/ftps_config.h"

#include <stdlib.h>

#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "base/private_file.h"
#include "ftp_adapter/printable.h"

namespace tlsession::ftp {
namespace {

// An error about line |n| of the config file.
absl::Status LineError(int n, absl::string_view why) {
  return absl::InvalidArgumentError(
      absl::StrCat("config file line ", n, ": ", why));
}

// Sets |name| of |out| to |value|; false for an unknown name.
bool Set(absl::string_view name, std::string value, HostDefaults* out) {
  if (name == "cacert") {
    out->cacert = std::move(value);
  } else if (name == "cert") {
    out->cert = std::move(value);
  } else if (name == "key") {
    out->key = std::move(value);
  } else {
    return false;
  }
  return true;
}

}  // namespace

absl::StatusOr<FtpsConfig> ParseFtpsConfig(absl::string_view text,
                                           const std::string& home) {
  FtpsConfig config;
  HostDefaults* section = nullptr;
  int n = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++n;
    line = absl::StripAsciiWhitespace(line);
    if (line.empty() || line[0] == '#') continue;
    if (line.front() == '[') {
      if (line.back() != ']' || line.size() < 3) {
        return LineError(n, "a section is [host] or [host:port]");
      }
      section = &config[std::string(line.substr(1, line.size() - 2))];
      continue;
    }
    const size_t eq = line.find('=');
    if (eq == absl::string_view::npos) {
      return LineError(n, "expected name = value");
    }
    if (section == nullptr) {
      return LineError(n, "a setting before any [host] section");
    }
    const absl::string_view name =
        absl::StripAsciiWhitespace(line.substr(0, eq));
    std::string value(absl::StripAsciiWhitespace(line.substr(eq + 1)));
    if (absl::StartsWith(value, "~/") && !home.empty()) {
      value = absl::StrCat(home, value.substr(1));
    }
    if (!Set(name, std::move(value), section)) {
      return LineError(n, absl::StrCat("unknown setting ", QuoteExcerpt(name),
                                       " (cacert, cert, key)"));
    }
  }
  return config;
}

absl::StatusOr<FtpsConfig> LoadFtpsConfig(const std::string& path,
                                          const std::string& home,
                                          bool required) {
  absl::StatusOr<PrivateFile> file = PrivateFile::Open(path, "config file");
  if (absl::IsNotFound(file.status()) && !required) return FtpsConfig();
  if (!file.ok()) return file.status();
  absl::StatusOr<std::string> text = file->ReadAll(path, 64 * 1024);
  if (!text.ok()) return text.status();
  absl::StatusOr<FtpsConfig> config = ParseFtpsConfig(*text, home);
  if (!config.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", path, "': ", config.status().message()));
  }
  return config;
}

std::string DefaultFtpsConfigPath() {
  const char* xdg = getenv("XDG_CONFIG_HOME");
  if (xdg != nullptr && xdg[0] == '/') return absl::StrCat(xdg, "/ftps/config");
  const char* home = getenv("HOME");
  if (home != nullptr && home[0] != '\0') {
    return absl::StrCat(home, "/.config/ftps/config");
  }
  return "";
}

HostDefaults DefaultsFor(const FtpsConfig& config, const std::string& host,
                         int port) {
  const std::string name =
      host.find(':') != std::string::npos ? absl::StrCat("[", host, "]") : host;
  if (auto it = config.find(absl::StrCat(name, ":", port));
      it != config.end()) {
    return it->second;
  }
  if (auto it = config.find(name); it != config.end()) return it->second;
  if (auto it = config.find(host); it != config.end()) return it->second;
  return HostDefaults();
}

}  // namespace tlsession::ftp
