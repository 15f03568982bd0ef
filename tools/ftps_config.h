// The ftps tool's config file: per-host defaults for what the command line
// may also say (CA file, client certificate and key).
//
//   # ~/.config/ftps/config ($XDG_CONFIG_HOME/ftps/config), or --config FILE
//   [ftp.example.org]          # a host, or host:port (tried first)
//   cacert = /etc/ftps/example-ca.pem
//   cert = ~/.config/ftps/client.pem
//   key = ~/.config/ftps/client.key
//
// Lines are "name = value" under a "[host]" section; '#' starts a comment
// line; "~/" at the start of a value is $HOME. Options given on the command
// line win. The file is read like a secret file (base/private_file.h): not
// through a symlink, a regular file of ours that no one else may read or
// write.
#ifndef TLSESSION_TOOLS_FTPS_CONFIG_H_
#define TLSESSION_TOOLS_FTPS_CONFIG_H_

#include <map>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace tlsession::ftp {

// The defaults of one host.
struct HostDefaults {
  std::string cacert;
  std::string cert;
  std::string key;
};

// Per-host defaults, by section name ("host" or "host:port").
using FtpsConfig = std::map<std::string, HostDefaults>;

// Parses the config file's |text|; |home| replaces a leading "~/". An
// InvalidArgument naming the line for a setting outside a section, an
// unknown name, a line that is not "name = value", or an empty section.
absl::StatusOr<FtpsConfig> ParseFtpsConfig(absl::string_view text,
                                           const std::string& home);

// Reads and parses |path| (checked as a secret file). With |required|
// false, a file that does not exist is an empty config.
absl::StatusOr<FtpsConfig> LoadFtpsConfig(const std::string& path,
                                          const std::string& home,
                                          bool required);

// The config file's default path: $XDG_CONFIG_HOME/ftps/config, else
// $HOME/.config/ftps/config; "" with neither set.
std::string DefaultFtpsConfigPath();

// The defaults for |host| and |port|: the "host:port" section, else the
// "host" one, else none.
HostDefaults DefaultsFor(const FtpsConfig& config, const std::string& host,
                         int port);

}  // namespace tlsession::ftp

#endif  // TLSESSION_TOOLS_FTPS_CONFIG_H_
