// ftps: an FTPS command-line client whose data connections resume the
// control connection's TLS session.
//
//   ftps [OPTIONS] ls URL
//   ftps [OPTIONS] get URL LOCALFILE
//   ftps [OPTIONS] get --output-dir DIR [--parallel N] URL...
//   ftps [OPTIONS] put LOCALFILE URL
//   ftps [OPTIONS] rm|mkdir|rmdir|size URL
//   ftps [OPTIONS] mv URL NEWPATH
//
// See Usage() for options and exit codes.
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/cord.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "ftp_adapter/ftps_client.h"
#include "ftp_adapter/netrc.h"
#include "ftp_adapter/url.h"
#include "session/client_session_cache.h"
#include "session/session_cache_file.h"
#include "tls/context.h"

namespace tlsession::ftp {
namespace {

// Exit codes, documented in Usage().
enum ExitCode {
  kOk = 0,
  kOther = 1,
  kUsage = 2,
  kConnection = 3,
  kLogin = 4,
  kRefused = 5,
  kLocalFile = 6,
  kReuseRequired = 7,
};

constexpr char kUsageText[] = R"(usage:
  ftps [OPTIONS] ls URL
  ftps [OPTIONS] get URL LOCALFILE
  ftps [OPTIONS] get --output-dir DIR [--parallel N] URL...
  ftps [OPTIONS] put LOCALFILE URL
  ftps [OPTIONS] rm|mkdir|rmdir|size URL
  ftps [OPTIONS] mv URL NEWPATH

URL is ftp://user:pass@host:port/path (explicit FTPS: AUTH TLS, still TLS
only) or ftps://user:pass@host:port/path (implicit FTPS, port 990). The
password may also come from --password, $FTPS_PASSWORD or ~/.netrc.

options:
  --cacert FILE          trust the CAs in FILE instead of the system store
  --insecure             do not verify the server's certificate (warns)
  --tls-min 1.2|1.3      lowest TLS version (default 1.2)
  --tls-max 1.2|1.3      highest TLS version (default 1.3)
  --session-cache FILE   keep TLS sessions in FILE across runs (mode 0600)
  --session-cache-key F  encrypt the session cache with the key in F
  --password PASS        the password (else URL, $FTPS_PASSWORD, ~/.netrc)
  --active               active mode (EPRT/PORT) instead of passive
  --trust-pasv-address   connect to the address a PASV reply names
  --allow-plaintext      allow FTP without TLS if the server has no TLS
  --continue             resume an interrupted get or put (REST)
  --no-session-reuse     do not offer the control session on data
                         connections (to measure or show what reuse buys)
  --timeout SECONDS      timeout of every wait (default 30)
  -v, --verbose          print the control dialogue (password masked) and
                         whether each TLS connection resumed a session
  -h, --help             this text

exit codes:
  0 success
  1 other error
  2 usage or configuration error (bad option, URL, CA file, no password)
  3 connection or TLS error (including certificate verification)
  4 login refused
  5 the server refused a command (its reply is quoted)
  6 local file error
  7 the server requires TLS session reuse and refused a data connection
)";

struct Options {
  std::string cacert;
  bool insecure = false;
  uint16_t tls_min = TLS1_2_VERSION;
  uint16_t tls_max = TLS1_3_VERSION;
  std::string session_cache;
  std::string session_cache_key;
  std::optional<std::string> password;
  bool active = false;
  bool trust_pasv = false;
  bool allow_plaintext = false;
  bool resume = false;
  bool no_reuse = false;
  absl::Duration timeout = absl::Seconds(30);
  bool verbose = false;
  std::string output_dir;
  int parallel = 1;
  std::vector<std::string> args;  // The command and its operands.
};

int UsageError(const std::string& message) {
  absl::FPrintF(stderr, "ftps: %s\n\n%s", message, kUsageText);
  return kUsage;
}

bool ParseVersion(const std::string& text, uint16_t* out) {
  if (text == "1.2") {
    *out = TLS1_2_VERSION;
  } else if (text == "1.3") {
    *out = TLS1_3_VERSION;
  } else {
    return false;
  }
  return true;
}

// Parses argv; returns an exit code (kUsage) on error, -1 to go on.
int ParseArgs(int argc, char** argv, Options* o) {
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&](std::string* out) {
      if (i + 1 >= argc) return false;
      *out = argv[++i];
      return true;
    };
    std::string v;
    if (a == "-h" || a == "--help") {
      fputs(kUsageText, stdout);
      exit(kOk);
    } else if (a == "-v" || a == "--verbose") {
      o->verbose = true;
    } else if (a == "--insecure" || a == "-k") {
      o->insecure = true;
    } else if (a == "--active") {
      o->active = true;
    } else if (a == "--trust-pasv-address") {
      o->trust_pasv = true;
    } else if (a == "--allow-plaintext") {
      o->allow_plaintext = true;
    } else if (a == "--no-session-reuse") {
      o->no_reuse = true;
    } else if (a == "--continue" || a == "-C") {
      o->resume = true;
    } else if (a == "--cacert") {
      if (!value(&o->cacert)) return UsageError("--cacert needs a FILE");
    } else if (a == "--session-cache") {
      if (!value(&o->session_cache)) {
        return UsageError("--session-cache needs a FILE");
      }
    } else if (a == "--session-cache-key") {
      if (!value(&o->session_cache_key)) {
        return UsageError("--session-cache-key needs a FILE");
      }
    } else if (a == "--password") {
      if (!value(&v)) return UsageError("--password needs a value");
      o->password = v;
    } else if (a == "--tls-min" || a == "--tls-max") {
      if (!value(&v) ||
          !ParseVersion(v, a == "--tls-min" ? &o->tls_min : &o->tls_max)) {
        return UsageError(a + " takes 1.2 or 1.3");
      }
    } else if (a == "--timeout") {
      double seconds = 0;
      if (!value(&v) || !absl::SimpleAtod(v, &seconds) || seconds <= 0 ||
          seconds > 86400) {
        return UsageError("--timeout takes a number of seconds");
      }
      o->timeout = absl::Seconds(seconds);
    } else if (a == "--output-dir") {
      if (!value(&o->output_dir)) return UsageError("--output-dir needs DIR");
    } else if (a == "--parallel") {
      if (!value(&v) || !absl::SimpleAtoi(v, &o->parallel) ||
          o->parallel < 1 || o->parallel > 64) {
        return UsageError("--parallel takes a number from 1 to 64");
      }
    } else if (a == "--") {
      for (++i; i < argc; ++i) o->args.push_back(argv[i]);
    } else if (absl::StartsWith(a, "-") && a.size() > 1) {
      return UsageError("unknown option " + a);
    } else {
      o->args.push_back(a);
    }
  }
  if (o->tls_min > o->tls_max) {
    return UsageError("--tls-min is above --tls-max");
  }
  return -1;
}

int ExitCodeFor(const absl::Status& s, bool during_login) {
  if (s.ok()) return kOk;
  if (IsSessionReuseRefusal(s)) return kReuseRequired;
  int code = 0;
  if (IsServerRefusal(s, &code)) {
    return during_login && (code == 530 || code == 331 || code == 332)
               ? kLogin
               : kRefused;
  }
  switch (s.code()) {
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kDeadlineExceeded:
    case absl::StatusCode::kUnauthenticated:
    case absl::StatusCode::kDataLoss:
      return kConnection;
    case absl::StatusCode::kNotFound:
    case absl::StatusCode::kPermissionDenied:
    case absl::StatusCode::kResourceExhausted:
      return kLocalFile;
    case absl::StatusCode::kInvalidArgument:
      return kUsage;  // A bad URL, option value, CA file or missing password.
    default:
      return kOther;
  }
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Resolves the password: --password, the URL, $FTPS_PASSWORD, ~/.netrc.
absl::StatusOr<std::pair<std::string, std::string>> Credentials(
    const Options& o, const FtpUrl& url) {
  std::string user = url.user;
  if (o.password) return std::make_pair(user.empty() ? "anonymous" : user, *o.password);
  if (url.password) return std::make_pair(user, *url.password);
  if (const char* env = getenv("FTPS_PASSWORD")) {
    return std::make_pair(user.empty() ? "anonymous" : user, std::string(env));
  }
  if (const char* home = getenv("HOME")) {
    std::string netrc = ReadFile(absl::StrCat(home, "/.netrc"));
    if (!netrc.empty()) {
      auto entry = LookupNetrc(netrc, url.host, user);
      if (!entry.ok()) {
        return absl::InvalidArgumentError(
            absl::StrCat("~/.netrc: ", entry.status().message()));
      }
      if (*entry) {
        return std::make_pair(user.empty() ? (*entry)->login : user,
                              (*entry)->password);
      }
    }
  }
  if (user.empty() || user == "anonymous" || user == "ftp") {
    return std::make_pair(std::string("anonymous"),
                          std::string("anonymous@"));
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "no password for ", user, "@", url.host,
      ": give it in the URL, --password, $FTPS_PASSWORD or ~/.netrc"));
}

// Prints a progress line on stderr when it is a terminal and the transfer
// is long; nothing otherwise.
class Progress {
 public:
  explicit Progress(std::optional<uint64_t> total)
      : total_(total), tty_(isatty(2)), start_(absl::Now()) {}
  ~Progress() {
    if (shown_) fputs("\n", stderr);
  }
  void Add(size_t n) {
    done_ += n;
    const absl::Time now = absl::Now();
    if (!tty_ || now - start_ < absl::Seconds(1) ||
        now - last_ < absl::Milliseconds(200)) {
      return;
    }
    last_ = now;
    shown_ = true;
    const double secs = absl::ToDoubleSeconds(now - start_);
    const double rate = done_ / secs;
    std::string eta = "--";
    if (total_ && rate > 0 && *total_ >= done_) {
      eta = absl::StrFormat("%.0fs", (*total_ - done_) / rate);
    }
    absl::FPrintF(stderr, "\r  %8.1f MiB  %7.1f MiB/s  ETA %-6s",
                  done_ / 1048576.0, rate / 1048576.0, eta);
  }

 private:
  const std::optional<uint64_t> total_;
  const bool tty_;
  const absl::Time start_;
  absl::Time last_ = absl::InfinitePast();
  uint64_t done_ = 0;
  bool shown_ = false;
};

class Tool {
 public:
  explicit Tool(Options o) : o_(std::move(o)) {}

  int Run() {
    if (o_.args.empty()) return UsageError("no command given");
    const std::string cmd = o_.args[0];
    std::vector<std::string> rest(o_.args.begin() + 1, o_.args.end());
    if (cmd == "ls") {
      if (rest.size() != 1) return UsageError("ls takes one URL");
      return WithClient(rest[0], [&](FtpsClient& c, const FtpUrl& u) {
        auto text = c.List(u.path);
        if (!text.ok()) return text.status();
        fwrite(text->data(), 1, text->size(), stdout);
        return absl::OkStatus();
      });
    }
    if (cmd == "get") {
      if (!o_.output_dir.empty()) return GetMany(rest);
      if (rest.size() != 2) {
        return UsageError("get takes URL LOCALFILE, or --output-dir DIR URL...");
      }
      return WithClient(rest[0], [&](FtpsClient& c, const FtpUrl& u) {
        return Download(c, u.path, rest[1]);
      });
    }
    if (cmd == "put") {
      if (rest.size() != 2) return UsageError("put takes LOCALFILE URL");
      struct stat st;
      if (stat(rest[0].c_str(), &st) != 0) {
        absl::FPrintF(stderr, "ftps: cannot read '%s'\n", rest[0]);
        return kLocalFile;
      }
      return WithClient(rest[1], [&](FtpsClient& c, const FtpUrl& u) {
        return Upload(c, rest[0], u.path);
      });
    }
    if (cmd == "rm" || cmd == "mkdir" || cmd == "rmdir" || cmd == "size") {
      if (rest.size() != 1) return UsageError(cmd + " takes one URL");
      return WithClient(rest[0], [&](FtpsClient& c,
                                     const FtpUrl& u) -> absl::Status {
        if (cmd == "rm") return c.Delete(u.path);
        if (cmd == "mkdir") return c.MakeDir(u.path);
        if (cmd == "rmdir") return c.RemoveDir(u.path);
        auto size = c.Size(u.path);
        if (!size.ok()) return size.status();
        absl::PrintF("%d\n", *size);
        return absl::OkStatus();
      });
    }
    if (cmd == "mv") {
      if (rest.size() != 2) return UsageError("mv takes URL NEWPATH");
      return WithClient(rest[0], [&](FtpsClient& c, const FtpUrl& u) {
        return c.Rename(u.path, rest[1]);
      });
    }
    return UsageError("unknown command '" + cmd + "'");
  }

 private:
  using Work = std::function<absl::Status(FtpsClient&, const FtpUrl&)>;

  void Trace(absl::string_view line) {
    std::lock_guard<std::mutex> lock(trace_mu_);
    absl::FPrintF(stderr, "%s\n", line);
  }

  absl::Status Download(FtpsClient& c, const std::string& remote,
                        const std::string& local) {
    // A progress bar needs the size: ask only when someone will see it.
    std::optional<uint64_t> total;
    if (isatty(2)) {
      if (auto s = c.Size(remote); s.ok()) total = *s;
    }
    Progress progress(total);
    progress_ = &progress;
    absl::Status s = c.DownloadFile(remote, local, o_.resume);
    progress_ = nullptr;
    return s;
  }

  absl::Status Upload(FtpsClient& c, const std::string& local,
                      const std::string& remote) {
    struct stat st;
    std::optional<uint64_t> total;
    if (stat(local.c_str(), &st) == 0) total = static_cast<uint64_t>(st.st_size);
    Progress progress(total);
    progress_ = &progress;
    absl::Status s = c.UploadFile(local, remote, o_.resume);
    progress_ = nullptr;
    return s;
  }

  absl::StatusOr<std::shared_ptr<const Context>> MakeContext() {
    ContextOptions tls;
    tls.min_version = o_.tls_min;
    tls.max_version = o_.tls_max;
    tls.ca_file = o_.cacert;
    tls.io_timeout = o_.timeout;
    tls.keylog_file = KeyLogFileFromEnvironment();
    if (o_.insecure) {
      fputs("ftps: WARNING: --insecure: the server's certificate is NOT "
            "verified; anyone on the path can read and change this "
            "session\n",
            stderr);
      tls.insecure_skip_verify = true;
    }
    if (!o_.session_cache.empty()) {
      auto file = SessionCacheFile::Open(o_.session_cache,
                                         o_.session_cache_key);
      if (!file.ok()) return file.status();
      cache_file_.emplace(*std::move(file));
      ClientSessionCache::Config config;
      config.digest_key = cache_file_->digest_key();
      cache_ = std::make_shared<ClientSessionCache>(std::move(config));
      auto loaded = cache_file_->Load(*cache_);
      if (!loaded.ok()) {
        // A damaged or unreadable cache costs a full handshake, nothing
        // else; it is not written over at exit.
        absl::FPrintF(stderr, "ftps: warning: %s\n", loaded.status().message());
      }
      tls.session_cache = cache_;
    }
    return Context::Create(tls);
  }

  absl::StatusOr<std::unique_ptr<FtpsClient>> Open(const FtpUrl& url,
                                                   bool* during_login) {
    if (!context_) {
      auto ctx = MakeContext();
      if (!ctx.ok()) return ctx.status();
      context_ = *ctx;
    }
    auto creds = Credentials(o_, url);
    if (!creds.ok()) return creds.status();
    ClientOptions co;
    co.tls_context = context_;
    co.implicit_tls = url.implicit_tls;
    co.allow_plaintext = o_.allow_plaintext;
    co.passive = !o_.active;
    co.trust_pasv_address = o_.trust_pasv;
    co.timeout = o_.timeout;
    co.reuse_session = !o_.no_reuse;
    // Single transfers show a progress bar (when stderr is a terminal and
    // the transfer is long); parallel ones do not.
    co.progress = [this](uint64_t n) {
      if (progress_ != nullptr) progress_->Add(n);
    };
    if (o_.verbose) co.trace = [this](absl::string_view l) { Trace(l); };
    auto client = FtpsClient::Connect(url.host, url.port, co);
    if (!client.ok()) return client.status();
    *during_login = true;
    if (auto s = (*client)->Login(creds->first, creds->second); !s.ok()) {
      return s;
    }
    *during_login = false;
    return client;
  }

  int Finish(const absl::Status& s, bool during_login) {
    if (cache_file_ && cache_) {
      if (auto saved = cache_file_->Save(*cache_); !saved.ok()) {
        absl::FPrintF(stderr, "ftps: warning: %s\n", saved.message());
      }
    }
    if (!s.ok()) absl::FPrintF(stderr, "ftps: %s\n", s.message());
    return ExitCodeFor(s, during_login);
  }

  int WithClient(const std::string& url_text, const Work& work) {
    auto url = ParseFtpUrl(url_text);
    if (!url.ok()) return UsageError(std::string(url.status().message()));
    bool during_login = false;
    auto client = Open(*url, &during_login);
    if (!client.ok()) return Finish(client.status(), during_login);
    absl::Status s = work(**client, *url);
    absl::Status quit = (*client)->Quit();
    if (s.ok() && !quit.ok()) s = quit;
    return Finish(s, false);
  }

  // get --output-dir DIR [--parallel N] URL...: N control connections, each
  // data connection resuming its own control connection's session.
  int GetMany(const std::vector<std::string>& urls) {
    if (urls.empty()) return UsageError("get --output-dir needs URLs");
    struct stat st;
    if (stat(o_.output_dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
      absl::FPrintF(stderr, "ftps: '%s' is not a directory\n", o_.output_dir);
      return kLocalFile;
    }
    std::vector<FtpUrl> parsed;
    for (const std::string& u : urls) {
      auto url = ParseFtpUrl(u);
      if (!url.ok()) return UsageError(std::string(url.status().message()));
      if (!parsed.empty() &&
          (url->host != parsed[0].host || url->port != parsed[0].port ||
           url->user != parsed[0].user ||
           url->implicit_tls != parsed[0].implicit_tls)) {
        return UsageError("get --output-dir takes URLs of one server");
      }
      size_t slash = url->path.rfind('/');
      std::string base = slash == std::string::npos
                             ? url->path
                             : url->path.substr(slash + 1);
      if (base.empty() || base == "." || base == "..") {
        return UsageError("not a file URL: " + u);
      }
      parsed.push_back(*std::move(url));
    }
    auto ctx = MakeContext();
    if (!ctx.ok()) return Finish(ctx.status(), false);
    context_ = *ctx;
    const int workers = std::min<int>(o_.parallel, parsed.size());
    std::atomic<size_t> next{0};
    std::mutex mu;
    absl::Status first_error;
    bool error_in_login = false;
    auto worker = [&] {
      bool during_login = false;
      auto client = Open(parsed[0], &during_login);
      if (!client.ok()) {
        std::lock_guard<std::mutex> lock(mu);
        if (first_error.ok()) {
          first_error = client.status();
          error_in_login = during_login;
        }
        return;
      }
      for (size_t i; (i = next++) < parsed.size();) {
        const std::string& path = parsed[i].path;
        std::string base = path.substr(path.rfind('/') + 1);
        absl::Status s = (*client)->DownloadFile(
            path, absl::StrCat(o_.output_dir, "/", base), o_.resume);
        if (!s.ok()) {
          std::lock_guard<std::mutex> lock(mu);
          if (first_error.ok()) {
            first_error = absl::Status(
                s.code(), absl::StrCat(parsed[i].ToString(), ": ", s.message()));
            // Keep the payloads (the server's reply code, the reuse
            // refusal): ExitCodeFor reads them.
            s.ForEachPayload(
                [&](absl::string_view type, const absl::Cord& payload) {
                  first_error.SetPayload(type, payload);
                });
          }
          if (IsSessionReuseRefusal(s)) first_error = s;
        }
      }
      (void)(*client)->Quit();
    };
    std::vector<std::thread> threads;
    for (int i = 0; i < workers; ++i) threads.emplace_back(worker);
    for (auto& t : threads) t.join();
    return Finish(first_error, error_in_login);
  }

  Options o_;
  std::shared_ptr<const Context> context_;
  std::shared_ptr<ClientSessionCache> cache_;
  std::optional<SessionCacheFile> cache_file_;
  std::mutex trace_mu_;
  Progress* progress_ = nullptr;  // The single transfer under way, if any.
};

}  // namespace
}  // namespace tlsession::ftp

int main(int argc, char** argv) {
  tlsession::ftp::Options options;
  int code = tlsession::ftp::ParseArgs(argc, argv, &options);
  if (code >= 0) return code;
  return tlsession::ftp::Tool(std::move(options)).Run();
}
