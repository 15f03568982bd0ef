#include "tools/ftps_flags.h"

#include <openssl/crypto.h>
#include <stdio.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "ftp_adapter/error_category.h"
#include "ftp_adapter/printable.h"
#include "tools/ftps_rate_limit.h"

namespace tlsession::ftp {
namespace {

constexpr int kExitOk = 0;
constexpr int kExitOther = 1;  // An error of no category (a bug).

// The one table from error categories to exit codes; the usage text is
// made from it.
struct ExitCode {
  int code;
  std::optional<ErrorCategory> category;  // nullopt: success.
  const char* meaning;
};
constexpr ExitCode kExitCodes[] = {
    {kExitOk, std::nullopt, "success"},
    {1, ErrorCategory::kProtocol,
     "the server broke the FTP protocol (a malformed, oversized or\n"
     "    unexpected reply, listing or transfer), or another error"},
    {2, ErrorCategory::kUsage,
     "usage or configuration error (bad option, URL, CA file, password\n"
     "    file; no password; two URLs for one local file)"},
    {3, ErrorCategory::kConnection,
     "connection or TLS error (including certificate verification)"},
    {4, ErrorCategory::kLogin, "login refused"},
    {5, ErrorCategory::kRefused,
     "the server refused a command (its reply is quoted)"},
    {6, ErrorCategory::kLocalFile,
     "local file error (including a part file or destination that is a\n"
     "    symlink or not ours)"},
    {7, ErrorCategory::kReuseRequired,
     "the server requires TLS session reuse and refused a data connection"},
};

// Kept in step with project(VERSION) in CMakeLists.txt.
constexpr char kVersion[] = "0.1.0";

constexpr char kCommands[] = R"(usage:
  ftps [OPTIONS] ls URL
  ftps [OPTIONS] get URL|'URL/DIR/*.csv' [LOCAL|DIR|-]
  ftps [OPTIONS] get --output-dir DIR [--input-file FILE] [URL...]
  ftps [OPTIONS] put LOCALFILE... URL|URL/DIR/
  ftps [OPTIONS] mirror [-R] [--delete] [--dry-run] URL DIR | DIR URL
  ftps [OPTIONS] rm|mkdir|rmdir|size URL
  ftps [OPTIONS] mv URL NEWPATH|URL
)";

constexpr char kSynopsis[] = R"(
URL is ftp://user:pass@host:port/path (explicit FTPS: AUTH TLS, still TLS
only) or ftps://user:pass@host:port/path (implicit FTPS, port 990). Without
a password in the URL it comes from --password-file, --password,
$FTPS_PASSWORD, ~/.netrc, or a prompt on the terminal (not echoed).
$FTPS_PASSWORD is used only for a URL that names a user (never for an
anonymous login); --password and --password-file need a user in the URL.
A URL without a user logs in as anonymous. mv takes a path (absolute, or
relative to URL's directory) or a URL of the same server (scheme, host,
port and user); only the path is sent. Passwords are printed as ***.

options (--name VALUE or --name=VALUE):
)";

constexpr char kDownloads[] = R"(
get without LOCAL saves to the remote file's name here; a folder as LOCAL
(get URL .) saves into it; - writes to stdout, as does a device or FIFO
(/dev/stdout). put to a URL ending in / appends the local file's name.
Downloads go to FILE.part (mode 0600, never through a symlink) and become
FILE when complete, fsynced first (see --no-fsync), with the umask's mode;
a destination that is a symlink is refused before transferring.
--continue skips a file already complete (same size, and not older than the
server's MDTM time). Everything the server sends is printed with control
characters escaped (\xNN).

Per-host defaults come from $XDG_CONFIG_HOME/ftps/config (default
~/.config/ftps/config, or --config FILE): "[host]" or "[host:port]"
sections of "cacert = FILE", "cert = FILE", "key = FILE" lines ('#'
comments; "~/" is $HOME); the command line wins. Like a key, the file must
be yours, mode 0600, not a symlink.
)";

// A flag that takes a value: |name| |value_name|, then |help|.
CliFlag Valued(std::string name, std::string value_name, std::string help,
               CliSetter set) {
  CliFlag flag{std::move(name), std::move(help), std::move(set)};
  flag.value_name = std::move(value_name);
  return flag;
}

// The same, with the error shown for a value |set| refuses.
CliFlag Checked(std::string name, std::string value_name, std::string help,
                CliSetter set, std::string bad_value) {
  CliFlag flag = Valued(std::move(name), std::move(value_name), std::move(help),
                        std::move(set));
  flag.bad_value = std::move(bad_value);
  return flag;
}

// --timeout: seconds, more than 0 and at most a day.
CliSetter SetSeconds(absl::Duration* out) {
  return [out](absl::string_view v) {
    double seconds = 0;
    if (!absl::SimpleAtod(v, &seconds) || seconds <= 0 || seconds > 86400) {
      return false;
    }
    *out = absl::Seconds(seconds);
    return true;
  };
}

// The flags that name files, servers and secrets.
void AddConnectionFlags(FtpsOptions* o, std::vector<CliFlag>* flags) {
  flags->push_back(Valued("--cacert", "FILE",
                          "trust the CAs in FILE instead of the system store",
                          SetString(&o->cacert)));
  flags->push_back(CliSwitch("--insecure", {"-k"},
                             "do not verify the server's certificate (warns)",
                             &o->insecure));
  flags->push_back(
      Checked("--tls-min", "1.2|1.3", "lowest TLS version (default 1.2)",
              SetTlsVersion(&o->tls_min), "--tls-min takes 1.2 or 1.3"));
  flags->push_back(
      Checked("--tls-max", "1.2|1.3", "highest TLS version (default 1.3)",
              SetTlsVersion(&o->tls_max), "--tls-max takes 1.2 or 1.3"));
  flags->push_back(Valued("--cert", "FILE",
                          "client certificate chain (PEM) to log in with",
                          SetString(&o->cert)));
  flags->push_back(Valued("--key", "FILE",
                          "the client certificate's private key (PEM; yours,\n"
                          "mode 0600, not a symlink)",
                          SetString(&o->key)));
  flags->push_back(Valued("--config", "FILE",
                          "per-host defaults (cacert, cert, key) from FILE\n"
                          "instead of ~/.config/ftps/config",
                          SetString(&o->config)));
  flags->push_back(Valued("--session-cache", "FILE",
                          "keep TLS sessions in FILE across runs (mode 0600)",
                          SetString(&o->session_cache)));
  flags->push_back(Valued("--session-cache-key", "FILE",
                          "encrypt the session cache with the key in FILE",
                          SetString(&o->session_cache_key)));
  CliFlag store = Valued("--session-store", "redis://[:PASSWORD@]HOST:PORT",
                         "share TLS sessions with other clients through\n"
                         "Redis (each TLS 1.3 ticket used once fleet-wide);\n"
                         "rediss:// for TLS, redis[s]-sentinel://HOST:PORT\n"
                         "[,HOST:PORT...]/MASTER_NAME through Sentinel;\n"
                         "needs --fleet-key; not with --session-cache",
                         SetString(&o->session_store));
  store.url_secret = true;  // Its password is masked in argv once read.
  flags->push_back(std::move(store));
  flags->push_back(Valued("--session-store-password-file", "FILE",
                          "the Redis password (mode 0600), instead of the URL",
                          SetString(&o->session_store_password_file)));
  flags->push_back(Valued("--redis-cacert", "FILE",
                          "rediss://: CA certificates (PEM) for Redis",
                          SetString(&o->redis_cacert)));
  flags->push_back(Valued("--redis-cert", "FILE",
                          "rediss://: client certificate (PEM) for Redis",
                          SetString(&o->redis_cert)));
  flags->push_back(Valued("--redis-key", "FILE",
                          "rediss://: the client certificate's key (PEM)",
                          SetString(&o->redis_key)));
  flags->push_back(Valued("--fleet-key", "FILE",
                          "seals what goes to Redis (32+ secret bytes, 0600)",
                          SetString(&o->fleet_key)));
}

// The password's two flags.
void AddPasswordFlags(FtpsOptions* o, std::vector<CliFlag>* flags) {
  flags->push_back(Valued("--password-file", "FILE",
                          "the password: FILE's first line; FILE must be\n"
                          "yours and mode 0600, not a symlink",
                          SetString(&o->password_file)));
  CliFlag password =
      Valued("--password", "PASS",
             "the password (visible to others in ps: prefer\n--password-file)",
             [o](absl::string_view v) {
               o->password = std::string(v);
               return true;
             });
  password.secret = true;
  flags->push_back(std::move(password));
}

// How connections and transfers behave.
void AddTransferFlags(FtpsOptions* o, std::vector<CliFlag>* flags) {
  flags->push_back(CliSwitch("--active", {},
                             "active mode (EPRT/PORT) instead of passive",
                             &o->active));
  flags->push_back(CliSwitch("--trust-pasv-address", {},
                             "connect to the address a PASV reply names",
                             &o->trust_pasv));
  flags->push_back(CliSwitch("--allow-plaintext", {},
                             "allow FTP without TLS if the server has no TLS\n"
                             "(warns on stderr before the password is sent)",
                             &o->allow_plaintext));
  flags->push_back(
      CliSwitch("--continue", {"-C"},
                "resume an interrupted get or put (REST); a part\n"
                "file is continued only if it is a regular file of\nyours",
                &o->resume));
  flags->push_back(CliSwitch("--no-session-reuse", {},
                             "do not offer the control session on data\n"
                             "connections (to measure or show what reuse buys)",
                             &o->no_reuse));
  flags->push_back(
      CliSwitch("--no-fsync", {},
                "do not fsync downloads before naming them (faster\n"
                "on slow disks; a crash may leave a file short)",
                &o->no_fsync));
  flags->push_back(CliSwitch("--no-clobber", {"-n"},
                             "get: leave an existing local file alone (the\n"
                             "download is skipped, exit 0)",
                             &o->no_clobber));
  flags->push_back(CliSwitch("--remote-time", {},
                             "get: give the file the server's modification\n"
                             "time (MDTM)",
                             &o->remote_time));
  flags->push_back(
      Checked("--retry", "N",
              "try N more times, backing off 1, 2, 4... s (at most\n"
              "30 s), after a connection error, a timeout or a\n"
              "421 reply; a download continues its part file",
              SetIntInRange(&o->retry, 0, 100),
              "--retry takes a number from 0 to 100"));
  flags->push_back(
      Checked("--timeout", "SECONDS", "timeout of every wait (default 30)",
              SetSeconds(&o->timeout), "--timeout takes a number of seconds"));
  flags->push_back(Valued("--output-dir", "DIR",
                          "get: download every URL into DIR",
                          SetString(&o->output_dir)));
  flags->push_back(CliSwitch("--reverse", {"-R"},
                             "mirror: from the local folder to the server",
                             &o->reverse));
  flags->push_back(CliSwitch("--delete", {},
                             "mirror: delete what the source does not have",
                             &o->delete_extra));
  flags->push_back(CliSwitch("--dry-run", {},
                             "mirror: print what would be done, do nothing",
                             &o->dry_run));
  flags->push_back(CliSwitch("--fail-fast", {},
                             "batches: start nothing after the first failure",
                             &o->fail_fast));
  flags->push_back(Valued("--input-file", "FILE",
                          "get: the URLs in FILE too, one a line ('#'\n"
                          "starts a comment)",
                          SetString(&o->input_file)));
  flags->push_back(Checked("--parallel", "N",
                           "batches (get of many, put of many, mirror): N\n"
                           "connections (default 1)",
                           SetIntInRange(&o->parallel, 1, 64),
                           "--parallel takes a number from 1 to 64"));
  flags->push_back(Checked(
      "--limit-rate", "RATE",
      "at most RATE bytes per second (500k, 2M, 1G:\n"
      "powers of 1024), all transfers together",
      [o](absl::string_view v) {
        std::optional<uint64_t> rate = ParseRate(v);
        if (rate) o->limit_rate = *rate;
        return rate.has_value();
      },
      "--limit-rate takes a rate such as 500k, 2M or 1G"));
  flags->push_back(CliSwitch("--json", {},
                             "ls: the MLSD facts of each entry; get, put: the\n"
                             "result; as JSON on stdout",
                             &o->json));
  flags->push_back(
      CliSwitch("--version", {}, "print the version and exit", &o->version));
  flags->push_back(Checked(
      "--progress", "bar|line|none",
      "how transfers show progress on stderr: a bar\n"
      "redrawn in place, a line every 2 s (for logs) or\n"
      "none (default: bar on a terminal, else none); a\n"
      "summary line follows every transfer",
      [o](absl::string_view v) {
        if (v != "bar" && v != "line" && v != "none") return false;
        o->progress = std::string(v);
        return true;
      },
      "--progress takes bar, line or none"));
  flags->push_back(CliSwitch("--quiet", {"-q"},
                             "no progress and no summary: only errors and\n"
                             "warnings on stderr",
                             &o->quiet));
  flags->push_back(
      CliSwitch("--verbose", {"-v"},
                "print the control dialogue (password masked) and\n"
                "whether each TLS connection resumed a session",
                &o->verbose));
}

}  // namespace

std::vector<CliFlag> FtpsFlags(FtpsOptions* o) {
  std::vector<CliFlag> flags;
  AddConnectionFlags(o, &flags);
  AddPasswordFlags(o, &flags);
  AddTransferFlags(o, &flags);
  return flags;
}

std::string FtpsUsage() {
  FtpsOptions unused;
  std::string out =
      absl::StrCat(kCommands, kSynopsis, CliFlagLines(FtpsFlags(&unused)),
                   kDownloads, "\nexit codes:\n");
  for (const ExitCode& e : kExitCodes) {
    absl::StrAppend(&out, "  ", e.code, " ", e.meaning, "\n");
  }
  return out;
}

int ExitCodeFor(const absl::Status& s) {
  if (s.ok()) return kExitOk;
  const std::optional<ErrorCategory> category = CategoryOf(s);
  for (const ExitCode& e : kExitCodes) {
    if (category && e.category == category) return e.code;
  }
  return kExitOther;
}

std::string FtpsVersion() {
  return absl::StrCat("ftps ", kVersion, " (tlsession, ",
                      OpenSSL_version(OPENSSL_VERSION), ")\n");
}

int UsageError(absl::string_view message) {
  absl::FPrintF(stderr,
                "ftps: %s\n%sRun 'ftps --help' for the options, the config "
                "file and the exit codes.\n",
                Printable(message), kCommands);
  return ExitCodeFor(
      WithCategory(absl::InvalidArgumentError(message), ErrorCategory::kUsage));
}

std::optional<int> ParseFtpsCommandLine(int argc, char** argv, FtpsOptions* o) {
  CliSyntax syntax;
  syntax.operands = &o->args;
  syntax.flag_word = "option";
  syntax.mask_operand_url_passwords = true;  // ftp://USER:PASS@HOST/ URLs.
  const absl::Status parsed = ParseCli(argc, argv, FtpsFlags(o), syntax);
  if (absl::IsCancelled(parsed)) {
    fputs(FtpsUsage().c_str(), stdout);
    return kExitOk;
  }
  if (!parsed.ok()) return UsageError(parsed.message());
  if (o->version) {
    fputs(FtpsVersion().c_str(), stdout);
    return kExitOk;
  }
  if (o->tls_min > o->tls_max) {
    return UsageError("--tls-min is above --tls-max");
  }
  return std::nullopt;
}

}  // namespace tlsession::ftp
