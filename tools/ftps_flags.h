// The ftps tool's command line: its options, their one table on the shared
// parser (base/flags.h), the usage text made from that table, and the exit
// codes.
#ifndef TLSESSION_TOOLS_FTPS_FLAGS_H_
#define TLSESSION_TOOLS_FTPS_FLAGS_H_

#include <openssl/ssl.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "base/flags.h"

namespace tlsession::ftp {

// The command line, parsed.
struct FtpsOptions {
  std::string cacert;
  bool insecure = false;
  uint16_t tls_min = TLS1_2_VERSION;
  uint16_t tls_max = TLS1_3_VERSION;
  std::string session_cache;
  std::string session_cache_key;
  std::string session_store;  // redis://...
  std::string session_store_password_file;
  // TLS to Redis (rediss:// session stores): trust roots, client cert, key.
  std::string redis_cacert, redis_cert, redis_key;
  std::string fleet_key;
  std::optional<std::string> password;
  std::string password_file;
  bool active = false;
  bool trust_pasv = false;
  bool allow_plaintext = false;
  bool resume = false;
  bool no_reuse = false;
  bool no_fsync = false;
  bool no_clobber = false;   // get: never replace an existing file.
  bool remote_time = false;  // get: the file gets the remote MDTM time.
  int retry = 0;             // Attempts after the first on a transient error.
  absl::Duration timeout = absl::Seconds(30);
  bool verbose = false;
  bool quiet = false;    // No progress, no summary: errors and warnings only.
  std::string progress;  // "bar", "line" or "none"; empty: bar on a terminal.
  std::string output_dir;
  int parallel = 1;
  bool reverse = false;       // mirror -R: local folder to server.
  bool delete_extra = false;  // mirror --delete.
  bool dry_run = false;       // mirror --dry-run: print, change nothing.
  bool fail_fast = false;     // Batches stop at the first failure.
  std::string input_file;     // get --input-file FILE: URLs, one a line.
  std::string cert;           // Client certificate chain (PEM).
  std::string key;            // Its private key (PEM; a secret file).
  std::string config;         // --config FILE; empty: the default path.
  uint64_t limit_rate = 0;    // Bytes per second; 0: no limit.
  bool json = false;          // ls and transfer results as JSON on stdout.
  bool version = false;
  std::vector<std::string> args;  // The command and its operands.
};

// The flag table over |o|: each entry sets a field of |o|, which must
// outlive the table. A new option is one entry there and one field above.
std::vector<CliFlag> FtpsFlags(FtpsOptions* o);

// The usage text: commands, URLs, options (from FtpsFlags) and exit codes.
std::string FtpsUsage();

// The exit code for |s|: 0 for OK, else its error category's code; 1 for an
// error of no category.
int ExitCodeFor(const absl::Status& s);

// The version line `ftps --version` prints.
std::string FtpsVersion();

// Prints "ftps: |message|", the commands' synopsis and a pointer to --help
// on stderr; returns the exit code of a usage error (2).
int UsageError(absl::string_view message);

// Parses argv into |o|: nullopt to go on, else the exit code to leave with
// (0 after printing the usage for --help or the version for --version, 2
// after a usage error). A
// password on the command line is overwritten in argv once copied, so that
// ps shows it only for a moment.
std::optional<int> ParseFtpsCommandLine(int argc, char** argv, FtpsOptions* o);

}  // namespace tlsession::ftp

#endif  // TLSESSION_TOOLS_FTPS_FLAGS_H_
