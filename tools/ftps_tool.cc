#include "tools/ftps_tool.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "base/cleanse.h"
#include "base/owned_fd.h"
#include "base/private_file.h"
#include "fleet/fleet_setup.h"
#include "ftp_adapter/credentials.h"
#include "ftp_adapter/error_category.h"
#include "ftp_adapter/ftps_client.h"
#include "ftp_adapter/glob.h"
#include "ftp_adapter/local_file.h"
#include "ftp_adapter/printable.h"
#include "ftp_adapter/remote_tree.h"
#include "ftp_adapter/url.h"
#include "session/client_session_cache.h"
#include "session/session_cache_file.h"
#include "tls/context.h"
#include "tls/socket.h"
#include "tools/ftps_batch.h"
#include "tools/ftps_config.h"
#include "tools/ftps_destination.h"
#include "tools/ftps_flags.h"
#include "tools/ftps_json.h"
#include "tools/ftps_mirror.h"
#include "tools/ftps_rate_limit.h"
#include "tools/ftps_transfer_view.h"

namespace tlsession::ftp {
namespace {

// The last segment of |path| ("dir/a.txt" gives "a.txt").
std::string BaseName(const std::string& path) {
  const size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// One file of `get --output-dir`: its URL and where it lands.
struct PlannedDownload {
  FtpUrl url;
  std::string local;
};

// The last path segment of |url| (its local file name), or a usage error.
absl::StatusOr<std::string> FileNameOf(const FtpUrl& url) {
  const size_t slash = url.path.rfind('/');
  std::string base =
      slash == std::string::npos ? url.path : url.path.substr(slash + 1);
  if (base.empty() || base == "." || base == "..") {
    return WithCategory(
        absl::InvalidArgumentError("not a file URL: " + url.ToString()),
        ErrorCategory::kUsage);
  }
  return base;
}

// The downloads of `get --output-dir DIR URL...`: URLs of one server, each
// naming a file, no two of them the same local file. Usage errors, with
// URLs shown redacted.
absl::StatusOr<std::vector<PlannedDownload>> PlanDownloads(
    const std::vector<std::string>& urls, const std::string& dir) {
  auto usage = [](std::string message) {
    return WithCategory(absl::InvalidArgumentError(message),
                        ErrorCategory::kUsage);
  };
  std::vector<PlannedDownload> plan;
  std::map<std::string, size_t> by_name;
  for (const std::string& text : urls) {
    absl::StatusOr<FtpUrl> url = ParseFtpUrl(text);
    if (!url.ok()) return usage(std::string(url.status().message()));
    const FtpUrl& first = plan.empty() ? *url : plan[0].url;
    if (!SameServer(*url, first)) {
      return usage("get --output-dir takes URLs of one server");
    }
    absl::StatusOr<std::string> name = FileNameOf(*url);
    if (!name.ok()) return name.status();
    auto [it, fresh] = by_name.emplace(*name, plan.size());
    if (!fresh) {
      return usage(absl::StrCat(plan[it->second].url.ToString(), " and ",
                                url->ToString(), " would both be saved as '",
                                dir, "/", *name, "'"));
    }
    plan.push_back({*std::move(url), absl::StrCat(dir, "/", *name)});
  }
  return plan;
}

// Runs one command line.
class Tool {
 public:
  explicit Tool(FtpsOptions o) : o_(std::move(o)) {}

  // Runs the command; returns the exit code.
  int Run() {
    if (o_.args.empty()) return UsageError("no command given");
    const std::string cmd = o_.args[0];
    const std::vector<std::string> rest(o_.args.begin() + 1, o_.args.end());
    if (cmd == "ls") return Ls(rest);
    if (cmd == "get") {
      if (!o_.output_dir.empty() || !o_.input_file.empty()) {
        return GetMany(rest);
      }
      if (!rest.empty() && HasGlob(BaseName(rest[0]))) return GetGlob(rest);
      return Get(rest);
    }
    if (cmd == "put") return rest.size() > 2 ? PutMany(rest) : Put(rest);
    if (cmd == "mirror") return MirrorCommand(rest);
    if (cmd == "mv") return Mv(rest);
    if (cmd == "rm" || cmd == "mkdir" || cmd == "rmdir" || cmd == "size") {
      return OnePath(cmd, rest);
    }
    return UsageError("unknown command '" + cmd + "'");
  }

 private:
  using Work = std::function<absl::Status(FtpsClient&, const FtpUrl&)>;

  // The commands, each with its operands |rest|; each returns the exit code.
  int Ls(const std::vector<std::string>& rest) {
    if (rest.size() != 1) return UsageError("ls takes one URL");
    return WithClient(rest[0], [&](FtpsClient& c, const FtpUrl& u) {
      if (o_.json) return ListJson(c, u.path);
      absl::StatusOr<std::string> text = c.List(u.path);
      if (!text.ok()) return text.status();
      if (text->empty()) {
        if (absl::Status s = CheckFolder(c, u.path); !s.ok()) return s;
      }
      // Line by line, escaped: names are the server's text.
      for (absl::string_view line : absl::StrSplit(*text, '\n')) {
        line = absl::StripSuffix(line, "\r");
        if (!line.empty()) absl::PrintF("%s\n", Printable(line));
      }
      return absl::OkStatus();
    });
  }

  // get URL [LOCAL|DIR|-]: the destination is decided (and checked)
  // before connecting (tools/ftps_destination.h).
  // After an empty listing of |path|: OK when |path| is a folder (CWD
  // succeeds), else the server's refusal. vsftpd answers LIST of a missing
  // path with an empty listing, not an error.
  static absl::Status CheckFolder(FtpsClient& c, const std::string& path) {
    if (path.empty()) return absl::OkStatus();
    absl::Status cwd = c.Cwd(path);
    if (cwd.ok()) return absl::OkStatus();
    return WithMessage(
        cwd, absl::StrCat("ls '", path, "': not a folder: ", cwd.message()));
  }

  // ls --json: MLSD's facts; a server without MLSD (vsftpd) gives names
  // only (NLST).
  absl::Status ListJson(FtpsClient& c, const std::string& path) {
    absl::StatusOr<std::vector<MlsdEntry>> entries = c.MachineList(path);
    int code = 0;
    if (!entries.ok() && IsServerRefusal(entries.status(), &code) &&
        (code == 500 || code == 502 || code == 504)) {
      absl::StatusOr<std::vector<std::string>> names = c.NameList(path);
      if (!names.ok()) return names.status();
      entries.emplace();
      for (const std::string& name : *names) {
        MlsdEntry e;
        e.name = name;
        entries->push_back(std::move(e));
      }
    }
    if (!entries.ok()) return entries.status();
    if (entries->empty()) {
      if (absl::Status s = CheckFolder(c, path); !s.ok()) return s;
    }
    fputs(ListingJson(*entries).c_str(), stdout);
    return absl::OkStatus();
  }

  int Get(const std::vector<std::string>& rest) {
    if (rest.empty() || rest.size() > 2) {
      return UsageError("get takes URL [LOCAL], or --output-dir DIR URL...");
    }
    absl::StatusOr<FtpUrl> url = ParseFtpUrl(rest[0]);
    if (!url.ok()) return UsageError(url.status().message());
    if (url->password) CleanseString(&*url->password);  // Parsed again.
    absl::StatusOr<Destination> dest = ResolveDownload(
        url->path, rest.size() == 2 ? rest[1] : "", o_.no_clobber);
    if (!dest.ok()) {
      if (CategoryOf(dest.status()) == ErrorCategory::kUsage) {
        return UsageError(dest.status().message());
      }
      return Finish(dest.status());
    }
    if (o_.json && dest->kind == Destination::Kind::kStream) {
      return UsageError("--json prints on stdout: not with a download to it");
    }
    if (dest->kind == Destination::Kind::kExists) {
      if (!o_.quiet)
        Note(absl::StrCat("'", dest->path,
                          "' exists: not downloaded (--no-clobber)"));
      return Finish(absl::OkStatus());
    }
    return WithClient(rest[0], [&](FtpsClient& c, const FtpUrl& u) {
      if (dest->kind == Destination::Kind::kStream) {
        return Stream(c, u.path, dest->path);
      }
      return Download(c, u.path, dest->path);
    });
  }

  int Put(const std::vector<std::string>& rest) {
    if (rest.size() != 2) return UsageError("put takes LOCALFILE URL");
    // A local file that cannot be read fails before any connection.
    if (absl::StatusOr<SourceFile> f = SourceFile::Open(rest[0]); !f.ok()) {
      return Finish(f.status());
    }
    return WithClient(rest[1], [&](FtpsClient& c, const FtpUrl& u) {
      return Upload(c, rest[0], ResolveUploadPath(rest[0], u.path));
    });
  }

  // mv URL NEWPATH: NEWPATH is a path (absolute, or relative to URL's
  // directory) or a URL of the same server; only paths reach the server.
  int Mv(const std::vector<std::string>& rest) {
    if (rest.size() != 2) {
      return UsageError("mv takes URL NEWPATH (a path or a same-server URL)");
    }
    absl::StatusOr<FtpUrl> from = ParseFtpUrl(rest[0]);
    if (!from.ok()) return UsageError(from.status().message());
    if (from->password) CleanseString(&*from->password);  // Parsed again.
    absl::StatusOr<std::string> to = RenameTarget(*from, rest[1]);
    if (!to.ok()) return UsageError(to.status().message());
    return WithClient(rest[0], [&](FtpsClient& c, const FtpUrl& u) {
      return c.Rename(u.path, *to);
    });
  }

  int OnePath(const std::string& cmd, const std::vector<std::string>& rest) {
    if (rest.size() != 1) return UsageError(cmd + " takes one URL");
    return WithClient(rest[0],
                      [&](FtpsClient& c, const FtpUrl& u) -> absl::Status {
                        if (cmd == "rm") return c.Delete(u.path);
                        if (cmd == "mkdir") return c.MakeDir(u.path);
                        if (cmd == "rmdir") return c.RemoveDir(u.path);
                        absl::StatusOr<uint64_t> size = c.Size(u.path);
                        if (!size.ok()) return size.status();
                        absl::PrintF("%d\n", *size);
                        return absl::OkStatus();
                      });
  }

  // The -v dialogue and the warnings, to stderr, escaped (above the
  // progress line when one is drawn).
  void Trace(absl::string_view line) { PrintErr(Printable(line)); }

  void Warn(absl::string_view line) {
    PrintErr(absl::StrCat("ftps: WARNING: ", Printable(line)));
  }

  void PrintErr(const std::string& line) {
    std::lock_guard<std::mutex> lock(trace_mu_);
    if (view_ != nullptr) return view_->PrintLine(line);
    absl::FPrintF(stderr, "%s\n", line);
  }

  // Makes |view| the one progress callbacks and messages go to (null: none).
  void SetView(TransferView* view) {
    std::lock_guard<std::mutex> lock(trace_mu_);
    view_ = view;
  }

  // Says |line| on stderr (escaped), as "ftps: |line|".
  void Note(absl::string_view line) {
    PrintErr(absl::StrCat("ftps: ", Printable(line)));
  }

  // The size of |local|'s part file (a regular file), 0 when there is none.
  static uint64_t PartFileSize(const std::string& local) {
    struct stat st;
    if (lstat((local + ".part").c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
      return 0;
    }
    return static_cast<uint64_t>(st.st_size);
  }

  // True when |local| is a regular file of |size| bytes, not older than
  // |mtime| when the server told it: a complete earlier download.
  static bool AlreadyComplete(const std::string& local, uint64_t size,
                              std::optional<absl::Time> mtime) {
    struct stat st;
    if (lstat(local.c_str(), &st) != 0 || !S_ISREG(st.st_mode) ||
        static_cast<uint64_t>(st.st_size) != size) {
      return false;
    }
    return !mtime || st.st_mtime >= absl::ToTimeT(*mtime);
  }

  // One download to a file, with its progress and summary (TransferView);
  // with --continue, skipped when the file is already complete.
  absl::Status Download(FtpsClient& c, const std::string& remote,
                        const std::string& local) {
    std::optional<uint64_t> total;
    if (auto s = c.Size(remote); s.ok()) total = *s;
    std::optional<absl::Time> mtime;
    if (o_.resume || o_.remote_time) {
      if (auto t = c.ModificationTime(remote); t.ok()) mtime = *t;
    }
    const bool resume = o_.resume || retrying_;
    TransferView view(ChooseProgressMode(o_.progress, o_.quiet, 2), o_.quiet,
                      2);
    if (o_.resume && total && AlreadyComplete(local, *total, mtime)) {
      view.meter().SkipFile(BaseName(remote), *total);
      End(view, c, absl::OkStatus(), "get", remote, local);
      return absl::OkStatus();
    }
    const uint64_t part = PartFileSize(local);
    if (!resume && part > 0 && !o_.quiet) {
      Note(absl::StrCat("'", local, ".part' (", part,
                        " bytes from an earlier download) is replaced; "
                        "--continue would resume it"));
    }
    view.meter().StartFile(BaseName(remote), total, resume ? part : 0);
    SetView(&view);
    absl::Status s = c.DownloadFile(remote, local, resume);
    view.meter().FinishFile(s.ok());
    SetView(nullptr);
    End(view, c, s, "get", remote, local);
    if (s.ok() && o_.remote_time && mtime) s = SetFileTime(local, *mtime);
    return s;
  }

  // --remote-time: gives |local| the modification time |mtime|.
  static absl::Status SetFileTime(const std::string& local, absl::Time mtime) {
    struct timespec times[2];
    times[0] = absl::ToTimespec(mtime);
    times[1] = times[0];
    if (utimensat(AT_FDCWD, local.c_str(), times, AT_SYMLINK_NOFOLLOW) != 0) {
      return WithCategory(
          absl::InternalError(absl::StrCat("cannot set the time of '", local,
                                           "': ", strerror(errno))),
          ErrorCategory::kLocalFile);
    }
    return absl::OkStatus();
  }

  // A download written as it arrives to |path| ("-": stdout; else a device
  // or FIFO, opened without truncating), with its progress and summary.
  absl::Status Stream(FtpsClient& c, const std::string& remote,
                      const std::string& path) {
    OwnedFd opened;
    int fd = 1;
    if (path != "-") {
      opened.reset(open(path.c_str(), O_WRONLY | O_NOCTTY | O_CLOEXEC));
      if (!opened.valid()) {
        return WithCategory(absl::InternalError(absl::StrCat(
                                "cannot open '", path, "': ", strerror(errno))),
                            ErrorCategory::kLocalFile);
      }
      fd = opened.get();
    }
    std::optional<uint64_t> total;
    if (auto s = c.Size(remote); s.ok()) total = *s;
    TransferView view(ChooseProgressMode(o_.progress, o_.quiet, 2), o_.quiet,
                      2);
    view.meter().StartFile(BaseName(remote), total, 0);
    SetView(&view);
    absl::Status s = c.Retrieve(remote, [&](absl::string_view chunk) {
      return WriteChunk(fd, path, chunk);
    });
    view.meter().FinishFile(s.ok());
    SetView(nullptr);
    End(view, c, s, "get", remote, path);
    return s;
  }

  // Ends |view| after a transfer of |c| that ended with |s|: the final
  // line, then the summary on stderr or, with --json and |s| OK, the result
  // on stdout.
  void End(TransferView& view, const FtpsClient& c, const absl::Status& s,
           absl::string_view command, const std::string& remote,
           const std::string& local) {
    view.Finish({&c}, s.ok() && !o_.json);
    if (s.ok() && o_.json) {
      fputs(TransferJson(command, remote, local, view.Summarize({&c})).c_str(),
            stdout);
    }
  }

  // Writes all of |chunk| to |fd| (the destination |path|, for errors).
  static absl::Status WriteChunk(int fd, const std::string& path,
                                 absl::string_view chunk) {
    while (!chunk.empty()) {
      const ssize_t n = write(fd, chunk.data(), chunk.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        return WithCategory(
            absl::InternalError(absl::StrCat("cannot write to '",
                                             path == "-" ? "stdout" : path,
                                             "': ", strerror(errno))),
            ErrorCategory::kLocalFile);
      }
      chunk.remove_prefix(static_cast<size_t>(n));
    }
    return absl::OkStatus();
  }

  absl::Status Upload(FtpsClient& c, const std::string& local,
                      const std::string& remote) {
    struct stat st;
    std::optional<uint64_t> total;
    if (stat(local.c_str(), &st) == 0 && S_ISREG(st.st_mode)) {
      total = static_cast<uint64_t>(st.st_size);
    }
    uint64_t already = 0;
    if (o_.resume) {
      if (auto size = c.Size(remote); size.ok()) already = *size;
    }
    TransferView view(ChooseProgressMode(o_.progress, o_.quiet, 2), o_.quiet,
                      2);
    view.meter().StartFile(BaseName(local), total, already);
    SetView(&view);
    absl::Status s = c.UploadFile(local, remote, o_.resume);
    view.meter().FinishFile(s.ok());
    SetView(nullptr);
    End(view, c, s, "put", remote, local);
    return s;
  }

  // --session-store: a cache over the Redis client store that a fleet of
  // clients shares. Configuration errors are usage errors; a Redis that
  // cannot be reached only costs full handshakes (the store fails open).
  absl::StatusOr<std::shared_ptr<ClientSessionCache>> SharedStore() {
    if (!o_.session_cache.empty() || !fleet::IsRedisUrl(o_.session_store) ||
        o_.fleet_key.empty()) {
      return WithCategory(
          absl::InvalidArgumentError(
              "--session-store takes a Redis URL (redis://, rediss://, "
              "redis[s]-sentinel://) and needs --fleet-key, "
              "and cannot be combined with --session-cache"),
          ErrorCategory::kUsage);
    }
    fleet::SharedClientCacheOptions options;
    options.url = o_.session_store;
    options.password_file = o_.session_store_password_file;
    options.redis_tls = {o_.redis_cacert, o_.redis_cert, o_.redis_key};
    options.fleet_key_file = o_.fleet_key;
    auto shared = fleet::MakeSharedClientSessionCache(options);
    if (!shared.ok()) {
      return WithCategory(shared.status(), ErrorCategory::kUsage);
    }
    return shared->cache;
  }

  // Fills what the command line left empty (CA file, client certificate
  // and key) from the config file's section for |url|'s server.
  absl::Status ApplyConfig(const FtpUrl& url) {
    const std::string path =
        o_.config.empty() ? DefaultFtpsConfigPath() : o_.config;
    if (path.empty()) return absl::OkStatus();
    const char* home = getenv("HOME");
    absl::StatusOr<FtpsConfig> config =
        LoadFtpsConfig(path, home ? home : "", !o_.config.empty());
    if (!config.ok()) {
      return WithCategory(config.status(), ErrorCategory::kUsage);
    }
    const HostDefaults d = DefaultsFor(*config, url.host, url.port);
    if (o_.cacert.empty()) o_.cacert = d.cacert;
    if (o_.cert.empty() && o_.key.empty()) {
      o_.cert = d.cert;
      o_.key = d.key;
    }
    return absl::OkStatus();
  }

  // The TLS context, made once; configuration errors are usage errors.
  absl::Status MakeContext() {
    if (context_) return absl::OkStatus();
    ContextOptions tls;
    tls.min_version = o_.tls_min;
    tls.max_version = o_.tls_max;
    tls.ca_file = o_.cacert;
    if (o_.cert.empty() != o_.key.empty()) {
      return WithCategory(
          absl::InvalidArgumentError("--cert and --key go together"),
          ErrorCategory::kUsage);
    }
    if (!o_.key.empty()) {
      // A key is a secret file: ours, 0600, not through a symlink.
      auto key = PrivateFile::Open(o_.key, "client key file");
      if (!key.ok()) return WithCategory(key.status(), ErrorCategory::kUsage);
    }
    tls.certificate_chain_file = o_.cert;
    tls.private_key_file = o_.key;
    tls.io_timeout = o_.timeout;
    tls.keylog_file = KeyLogFileFromEnvironment();
    if (o_.insecure) {
      fputs(
          "ftps: WARNING: --insecure: the server's certificate is NOT "
          "verified; anyone on the path can read and change this "
          "session\n",
          stderr);
      tls.insecure_skip_verify = true;
    }
    if (!o_.session_store.empty()) {
      auto shared = SharedStore();
      if (!shared.ok()) return shared.status();
      tls.session_cache = *shared;
    } else if (!o_.session_cache.empty()) {
      auto file =
          SessionCacheFile::Open(o_.session_cache, o_.session_cache_key);
      if (!file.ok()) {
        return WithCategory(file.status(), ErrorCategory::kUsage);
      }
      cache_file_.emplace(*std::move(file));
      ClientSessionCache::Config config;
      config.digest_key = cache_file_->digest_key();
      cache_ = std::make_shared<ClientSessionCache>(std::move(config));
      if (auto loaded = cache_file_->Load(*cache_); !loaded.ok()) {
        // A damaged or unreadable cache costs a full handshake, nothing
        // else; it is not written over at exit.
        absl::FPrintF(stderr, "ftps: warning: %s\n", loaded.status().message());
      }
      tls.session_cache = cache_;
    }
    absl::StatusOr<std::shared_ptr<const Context>> context =
        Context::Create(tls);
    if (!context.ok()) {
      return WithCategory(context.status(), ErrorCategory::kUsage);
    }
    context_ = *context;
    return absl::OkStatus();
  }

  // User and password for |url| (credentials.h).
  absl::StatusOr<Credentials> CredentialsFor(const FtpUrl& url) {
    CredentialSources sources;
    sources.password = o_.password;
    sources.password_file = o_.password_file;
    if (const char* env = getenv("FTPS_PASSWORD")) {
      sources.environment_password = env;
    }
    if (const char* home = getenv("HOME")) {
      sources.netrc_path = absl::StrCat(home, "/.netrc");
    }
    sources.warn = [](absl::string_view line) {
      absl::FPrintF(stderr, "ftps: warning: %s\n", Printable(line));
    };
    sources.prompt = PromptForPassword;
    return ResolveCredentials(url, sources);
  }

  // The FtpsClient options for |url| from the command line.
  ClientOptions ClientOptionsFor(const FtpUrl& url) {
    ClientOptions co;
    co.tls_context = context_;
    co.implicit_tls = url.implicit_tls;
    co.allow_plaintext = o_.allow_plaintext;
    co.passive = !o_.active;
    co.trust_pasv_address = o_.trust_pasv;
    co.timeout = o_.timeout;
    co.reuse_session = !o_.no_reuse;
    co.sync_downloads = !o_.no_fsync;
    co.download_mode = download_mode_;
    co.deferred_renames = renames_.get();
    // Single transfers show their progress (TransferView).
    co.progress = [this](uint64_t n) {
      if (view_ != nullptr) view_->meter().Add(n);
      if (limiter_) absl::SleepFor(limiter_->Take(n));
    };
    if (o_.verbose) co.trace = [this](absl::string_view l) { Trace(l); };
    co.warn = [this](absl::string_view l) { Warn(l); };
    return co;
  }

  // |s|, a failure to connect to |url|, with a hint when the scheme may be
  // the wrong one: no greeting in time on an ftp:// URL (the port may speak
  // implicit TLS), a TLS record that is no TLS on an ftps:// URL (the port
  // may greet in clear).
  static absl::Status WithSchemeHint(const FtpUrl& url, const absl::Status& s) {
    const std::string port = HostPort(url.host, url.port);
    if (!url.implicit_tls && absl::IsDeadlineExceeded(s)) {
      return WithMessage(
          s, absl::StrCat(s.message(), " (no FTP greeting from ", port,
                          ": if it speaks implicit TLS, use ftps://)"));
    }
    if (url.implicit_tls && absl::StrContains(s.message(), "WRONG_VERSION")) {
      return WithMessage(
          s, absl::StrCat(s.message(), " (", port,
                          " did not start TLS: if it greets in clear, use "
                          "ftp://, which secures it with AUTH TLS)"));
    }
    return s;
  }

  // Connects to |url|'s server and logs in.
  absl::StatusOr<std::unique_ptr<FtpsClient>> Open(const FtpUrl& url,
                                                   const Credentials& creds) {
    auto client =
        FtpsClient::Connect(url.host, url.port, ClientOptionsFor(url));
    if (!client.ok()) return WithSchemeHint(url, client.status());
    if (auto s = (*client)->Login(creds.user, creds.password); !s.ok()) {
      return s;
    }
    return client;
  }

  // Saves the session cache, prints |s| if it failed, returns its exit code.
  int Finish(const absl::Status& s) {
    if (cache_file_ && cache_) {
      if (auto saved = cache_file_->Save(*cache_); !saved.ok()) {
        absl::FPrintF(stderr, "ftps: warning: %s\n", saved.message());
      }
    }
    if (!s.ok()) absl::FPrintF(stderr, "ftps: %s\n", Printable(s.message()));
    return ExitCodeFor(s);
  }

  // Parses |url_text|, logs in and runs |work|; with --retry, again after
  // a transient failure (Retryable), backing off. A failed QUIT after
  // |work| succeeded is a warning.
  int WithClient(const std::string& url_text, const Work& work) {
    absl::StatusOr<FtpUrl> url = ParseFtpUrl(url_text);
    if (!url.ok()) return UsageError(url.status().message());
    if (absl::Status s = ApplyConfig(*url); !s.ok()) return Finish(s);
    if (absl::Status s = MakeContext(); !s.ok()) return Finish(s);
    absl::StatusOr<Credentials> creds = CredentialsFor(*url);
    if (url->password) CleanseString(&*url->password);  // In |creds| now.
    if (!creds.ok()) return Finish(creds.status());
    for (int attempt = 0;; ++attempt) {
      absl::Status s = AttemptWith(*url, *creds, work);
      if (s.ok() || attempt >= o_.retry || !Retryable(s)) return Finish(s);
      const absl::Duration wait =
          std::min(absl::Seconds(1) * (int64_t{1} << std::min(attempt, 5)),
                   absl::Seconds(30));
      Warn(absl::StrCat(s.message(), "; retrying in ",
                        absl::FormatDuration(wait), " (", attempt + 1, " of ",
                        o_.retry, ")"));
      absl::SleepFor(wait);
      retrying_ = true;  // A download continues its part file.
    }
  }

  // One connection: logs in, runs |work|, says QUIT.
  absl::Status AttemptWith(const FtpUrl& url, const Credentials& creds,
                           const Work& work) {
    absl::StatusOr<std::unique_ptr<FtpsClient>> client = Open(url, creds);
    if (!client.ok()) return client.status();
    absl::Status s = work(**client, url);
    absl::Status quit = (*client)->Quit();
    if (s.ok() && !quit.ok()) {
      Warn(absl::StrCat("QUIT failed after the work was done: ",
                        quit.message()));
    }
    return s;
  }

  // True for what may pass if tried again: a connection that could not be
  // made or broke, a timeout, a 421 (the server is busy or closing).
  static bool Retryable(const absl::Status& s) {
    int code = 0;
    if (IsServerRefusal(s, &code)) return code == 421;
    return absl::IsUnavailable(s) || absl::IsDeadlineExceeded(s);
  }

  // get --output-dir DIR [--parallel N] URL... and get --input-file FILE:
  // one batch (tools/ftps_batch.h) on N control connections, each data
  // connection resuming its own control connection's session.
  int GetMany(std::vector<std::string> urls) {
    if (!o_.input_file.empty()) {
      absl::Status read = ReadUrlList(o_.input_file, &urls);
      if (!read.ok()) return Finish(read);
    }
    if (urls.empty()) return UsageError("get --output-dir needs URLs");
    const std::string dir = o_.output_dir.empty() ? "." : o_.output_dir;
    absl::StatusOr<std::vector<PlannedDownload>> plan =
        PlanDownloads(urls, dir);
    if (!plan.ok()) return UsageError(plan.status().message());
    struct stat st;
    if (stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
      return Finish(WithCategory(
          absl::NotFoundError(absl::StrCat("'", dir, "' is not a directory")),
          ErrorCategory::kLocalFile));
    }
    absl::StatusOr<FtpUrl> server = Prepare(urls.front());
    for (PlannedDownload& d : *plan) {
      if (d.url.password) CleanseString(&*d.url.password);  // In creds_.
    }
    if (!server.ok()) return Finish(server.status());
    std::vector<BatchJob> jobs;
    for (const PlannedDownload& d : *plan) {
      jobs.push_back({d.url.ToString(), [this, d](FtpsClient& c) {
                        return c.DownloadFile(d.url.path, d.local, o_.resume);
                      }});
    }
    return RunJobs(*server, std::move(jobs));
  }

  // Reads the URLs of |path| (one a line; blank lines and '#' comments
  // skipped) onto |urls|.
  static absl::Status ReadUrlList(const std::string& path,
                                  std::vector<std::string>* urls) {
    std::string text;
    OwnedFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.valid()) {
      return WithCategory(absl::NotFoundError(absl::StrCat(
                              "cannot read '", path, "': ", strerror(errno))),
                          ErrorCategory::kUsage);
    }
    char buf[65536];
    for (ssize_t n; (n = read(fd.get(), buf, sizeof(buf))) > 0;) {
      text.append(buf, n);
    }
    for (absl::string_view line : absl::StrSplit(text, '\n')) {
      line = absl::StripAsciiWhitespace(line);
      if (!line.empty() && line[0] != '#') urls->emplace_back(line);
    }
    CleanseString(&text);  // URLs may hold passwords.
    return absl::OkStatus();
  }

  // get 'URL/DIR/PATTERN' [DIR]: every file of the remote folder whose name
  // matches PATTERN (fnmatch), into DIR (default: here), as one batch.
  int GetGlob(const std::vector<std::string>& rest) {
    if (rest.size() > 2) return UsageError("get of a glob takes URL [DIR]");
    const std::string dir = rest.size() == 2 ? rest[1] : ".";
    struct stat st;
    if (stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
      return Finish(WithCategory(
          absl::NotFoundError(absl::StrCat("'", dir, "' is not a directory")),
          ErrorCategory::kLocalFile));
    }
    absl::StatusOr<FtpUrl> url = Prepare(rest[0]);
    if (!url.ok()) return Finish(url.status());
    const std::string pattern = BaseName(url->path);
    const std::string folder =
        url->path.substr(0, url->path.size() - pattern.size());
    auto first = Open(*url, *creds_);
    if (!first.ok()) return Finish(first.status());
    RemoteLister lister(**first, [this](absl::string_view l) { Trace(l); });
    absl::StatusOr<std::vector<TreeEntry>> entries = lister.List(folder);
    if (!entries.ok()) return Finish(entries.status());
    std::vector<BatchJob> jobs;
    for (const TreeEntry& e : *entries) {
      if (e.dir || !GlobMatches(pattern, e.path)) continue;
      const std::string remote = JoinRemote(folder, e.path);
      const std::string local = absl::StrCat(dir, "/", e.path);
      jobs.push_back({remote, [this, remote, local](FtpsClient& c) {
                        return c.DownloadFile(remote, local, o_.resume);
                      }});
    }
    if (jobs.empty()) {
      (void)(*first)->Quit();
      return Finish(WithCategory(
          absl::NotFoundError(absl::StrCat("no file of '", folder,
                                           "' matches '", pattern, "'")),
          ErrorCategory::kRefused));
    }
    return RunJobs(*url, std::move(jobs), *std::move(first));
  }

  // put LOCALFILE... URL/DIR/: every file into the remote folder, as one
  // batch; every local file is checked before connecting.
  int PutMany(const std::vector<std::string>& rest) {
    const std::string& target = rest.back();
    if (target.empty() || target.back() != '/') {
      return UsageError("put of several files takes a folder URL ending in /");
    }
    const std::vector<std::string> files(rest.begin(), rest.end() - 1);
    for (const std::string& f : files) {
      if (absl::StatusOr<SourceFile> s = SourceFile::Open(f); !s.ok()) {
        return Finish(s.status());
      }
    }
    absl::StatusOr<FtpUrl> url = Prepare(target);
    if (!url.ok()) return Finish(url.status());
    std::vector<BatchJob> jobs;
    for (const std::string& f : files) {
      const std::string remote = JoinRemote(url->path, BaseName(f));
      jobs.push_back({remote, [this, f, remote](FtpsClient& c) {
                        return c.UploadFile(f, remote, o_.resume);
                      }});
    }
    return RunJobs(*url, std::move(jobs));
  }

  // mirror URL DIR, mirror -R DIR URL (tools/ftps_mirror.h).
  int MirrorCommand(const std::vector<std::string>& rest) {
    if (rest.size() != 2) {
      return UsageError("mirror takes URL DIR, or -R DIR URL");
    }
    MirrorSetup setup;
    setup.direction =
        o_.reverse ? MirrorDirection::kUp : MirrorDirection::kDown;
    const std::string& url_text = o_.reverse ? rest[1] : rest[0];
    setup.local_root = o_.reverse ? rest[0] : rest[1];
    setup.delete_extra = o_.delete_extra;
    setup.dry_run = o_.dry_run;
    absl::StatusOr<FtpUrl> url = Prepare(url_text);
    if (!url.ok()) return Finish(url.status());
    setup.remote_root = url->path;
    setup.batch = BatchOptionsFor(*url);
    setup.print = [](absl::string_view line) {
      absl::PrintF("%s\n", Printable(line));
    };
    auto first = Open(*url, *creds_);
    if (!first.ok()) return Finish(first.status());
    BatchResult r = RunMirror(*std::move(first), setup);
    if (!o_.quiet && !o_.dry_run) Note(BatchSummary(r));
    if (o_.dry_run && !o_.quiet) {
      Note(absl::StrCat("dry run: ", r.untried, " transfers planned"));
    }
    return Finish(r.status);
  }

  // Parses |url_text|, applies the config file, makes the TLS context and
  // resolves the credentials into creds_ (the URL's password wiped).
  absl::StatusOr<FtpUrl> Prepare(const std::string& url_text) {
    absl::StatusOr<FtpUrl> url = ParseFtpUrl(url_text);
    if (!url.ok()) {
      return WithCategory(url.status(), ErrorCategory::kUsage);
    }
    if (absl::Status s = ApplyConfig(*url); !s.ok()) return s;
    if (absl::Status s = MakeContext(); !s.ok()) return s;
    absl::StatusOr<Credentials> creds = CredentialsFor(*url);
    if (url->password) CleanseString(&*url->password);  // In |creds| now.
    if (!creds.ok()) return creds.status();
    creds_.emplace(*std::move(creds));
    // A batch's downloads are made durable together, at its end
    // (DeferredRenames): one sync instead of one per file.
    if (!o_.no_fsync) renames_ = std::make_unique<DeferredRenames>();
    return url;
  }

  // How batches to |url|'s server run (creds_ set by Prepare).
  BatchOptions BatchOptionsFor(const FtpUrl& url) {
    BatchOptions b;
    b.parallel = o_.parallel;
    b.fail_fast = o_.fail_fast;
    b.connect = [this, url] { return Open(url, *creds_); };
    b.report = [this](absl::string_view line) { Note(line); };
    b.renames = renames_.get();
    return b;
  }

  // Runs |jobs| against |url|'s server (Prepare'd) with one overall
  // progress line ("[3/24]", TransferView), prints the summary ("198 ok, 2
  // failed; 1.2 MiB in 0.4 s, ..."), returns the exit code.
  int RunJobs(const FtpUrl& url, std::vector<BatchJob> jobs,
              std::unique_ptr<FtpsClient> first = nullptr) {
    TransferView view(ChooseProgressMode(o_.progress, o_.quiet, 2), o_.quiet,
                      2);
    view.meter().SetBatch(static_cast<int>(jobs.size()), std::nullopt);
    view.meter().StartFile("", std::nullopt, 0);  // The clock starts.
    BatchOptions options = BatchOptionsFor(url);
    options.job_done = [&view](const BatchJob& job, const absl::Status& s) {
      view.meter().StartFile(BaseName(job.label), std::nullopt, 0);
      view.meter().FinishFile(s.ok());
    };
    SetView(&view);
    BatchResult r = RunBatch(jobs, options, std::move(first));
    SetView(nullptr);
    view.Finish({}, /*summary=*/false);
    if (!o_.quiet) {
      Note(absl::StrCat(BatchSummary(r), "; ",
                        RenderSummary(view.Summarize({}))));
    }
    return Finish(r.status);
  }

  FtpsOptions o_;
  // Finished downloads get 0666 less the umask, as other programs' files.
  const mode_t download_mode_ = [] {
    const mode_t mask = umask(077);
    umask(mask);
    return static_cast<mode_t>(0666 & ~mask);
  }();
  bool retrying_ = false;  // A --retry attempt is under way.
  // --limit-rate, shared by every transfer; null without a limit. Its
  // burst is a tenth of a second's worth, at least 16 KiB.
  const std::unique_ptr<TokenBucket> limiter_ =
      o_.limit_rate == 0
          ? nullptr
          : std::make_unique<TokenBucket>(
                o_.limit_rate, std::max<uint64_t>(o_.limit_rate / 10, 16384),
                [] { return absl::Now(); });
  std::shared_ptr<const Context> context_;
  std::shared_ptr<ClientSessionCache> cache_;
  std::optional<SessionCacheFile> cache_file_;
  std::optional<Credentials> creds_;  // Batches' login, set by Prepare.
  // A batch's deferred renames (set by Prepare); null otherwise.
  std::unique_ptr<DeferredRenames> renames_;
  std::mutex trace_mu_;
  // The single transfer's view, if one is under way; set under |trace_mu_|.
  TransferView* view_ = nullptr;
};

}  // namespace

int RunFtps(FtpsOptions options) { return Tool(std::move(options)).Run(); }

}  // namespace tlsession::ftp
