#include "ftp_adapter/credentials.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "base/cleanse.h"
#include "base/owned_fd.h"
#include "ftp_adapter/error_category.h"
#include "ftp_adapter/netrc.h"

namespace tlsession::ftp {
namespace {

constexpr size_t kMaxSecretFile = 1 << 20;  // A .netrc is far smaller.

absl::Status UsageError(absl::string_view message) {
  return WithCategory(absl::InvalidArgumentError(message),
                      ErrorCategory::kUsage);
}

// True for the users of an anonymous login.
bool IsAnonymous(const std::string& user) {
  return user.empty() || user == "anonymous" || user == "ftp";
}

// Opens |path| for reading without following a symlink, nor waiting on a
// FIFO (the caller's fstat check refuses what is not a regular file); an
// invalid OwnedFd and errno on failure (ELOOP for a symlink).
OwnedFd OpenNoFollow(const std::string& path) {
  return OwnedFd(
      open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
}

// Everything in |fd| (of |size| bytes by fstat), at most kMaxSecretFile
// bytes, read straight into the string returned (reserved ahead, so that
// no copy of a secret is left behind in freed memory).
absl::StatusOr<std::string> ReadAllOf(int fd, const std::string& path,
                                      off_t size) {
  std::string out;
  out.reserve(static_cast<size_t>(std::max<off_t>(0, size)) + 4096);
  for (;;) {
    const size_t have = out.size();
    out.resize(std::max(out.capacity(), have + 4096));
    const ssize_t n = read(fd, &out[have], out.size() - have);
    out.resize(have + static_cast<size_t>(std::max<ssize_t>(n, 0)));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      CleanseString(&out);
      return UsageError(
          absl::StrCat("cannot read '", path, "': ", strerror(err)));
    }
    if (n == 0) return out;
    if (out.size() > kMaxSecretFile) {
      CleanseString(&out);
      return UsageError(absl::StrCat("'", path, "' is larger than 1 MiB"));
    }
  }
}

// Why the password file |st| may not be used, or "".
std::string WhyNotAPasswordFile(const struct stat& st) {
  if (!S_ISREG(st.st_mode)) return "it is not a regular file";
  if (st.st_uid != geteuid()) {
    return absl::StrCat("it is owned by user ", st.st_uid, ", not by you");
  }
  if ((st.st_mode & 077) != 0) {
    return absl::StrFormat(
        "others may read or change it (mode %04o): it must have mode 0600 "
        "(chmod 600)",
        st.st_mode & 07777);
  }
  return "";
}

// The password from --password or --password-file, if either was given.
absl::StatusOr<std::optional<std::string>> ExplicitPassword(
    const FtpUrl& url, const CredentialSources& sources) {
  if (!sources.password && sources.password_file.empty()) {
    return std::optional<std::string>();
  }
  if (url.user.empty()) {
    return UsageError(
        absl::StrCat(sources.password ? "--password" : "--password-file",
                     " is for the user the URL names, and ", url.ToString(),
                     " names no user: write ftp://USER@HOST/..."));
  }
  if (sources.password) return sources.password;
  absl::StatusOr<std::string> read = ReadPasswordFile(sources.password_file);
  if (!read.ok()) return read.status();
  return std::optional<std::string>(*std::move(read));
}

// The credentials ~/.netrc holds for |url|, if any.
absl::StatusOr<std::optional<Credentials>> NetrcCredentials(
    const FtpUrl& url, const CredentialSources& sources) {
  if (sources.netrc_path.empty()) return std::optional<Credentials>();
  absl::StatusOr<std::string> contents =
      ReadNetrcFile(sources.netrc_path, sources.warn);
  if (!contents.ok()) return contents.status();
  auto entry = LookupNetrc(*contents, url.host, url.user);
  CleanseString(&*contents);
  if (!entry.ok()) {
    return UsageError(
        absl::StrCat(sources.netrc_path, ": ", entry.status().message()));
  }
  if (!*entry) return std::optional<Credentials>();
  Credentials found(url.user.empty() ? (*entry)->login : url.user,
                    std::move((*entry)->password));
  CleanseString(&(*entry)->password);
  return std::optional<Credentials>(std::move(found));
}

}  // namespace

Credentials::Credentials(std::string user, std::string password)
    : user(std::move(user)), password(std::move(password)) {}

Credentials::~Credentials() { CleanseString(&password); }

absl::StatusOr<Credentials> ResolveCredentials(
    const FtpUrl& url, const CredentialSources& sources) {
  absl::StatusOr<std::optional<std::string>> given =
      ExplicitPassword(url, sources);
  if (!given.ok()) return given.status();
  if (*given) return Credentials(url.user, std::move(**given));
  if (url.password) return Credentials(url.user, *url.password);
  if (sources.environment_password && !IsAnonymous(url.user)) {
    return Credentials(url.user, *sources.environment_password);
  }
  absl::StatusOr<std::optional<Credentials>> netrc =
      NetrcCredentials(url, sources);
  if (!netrc.ok()) return netrc.status();
  if (*netrc) return std::move(**netrc);
  if (IsAnonymous(url.user)) return Credentials("anonymous", "anonymous@");
  if (sources.prompt) {
    const bool v6 = url.host.find(':') != std::string::npos;  // "[::1]".
    auto typed = sources.prompt(
        absl::StrCat("Password for ", url.user, "@", v6 ? "[" : "", url.host,
                     v6 ? "]" : "", ":", url.port, ": "));
    if (!typed.ok()) return typed.status();
    if (*typed) return Credentials(url.user, std::move(**typed));
  }
  return UsageError(absl::StrCat(
      "no password for ", url.user, "@", url.host,
      ": give it with --password-file, --password, $FTPS_PASSWORD or "
      "~/.netrc, or run on a terminal to be asked"));
}

absl::StatusOr<std::string> ReadPasswordFile(const std::string& path) {
  OwnedFd fd = OpenNoFollow(path);
  if (!fd.valid()) {
    return UsageError(absl::StrCat(
        "cannot use password file '", path,
        "': ", errno == ELOOP ? "it is a symlink" : strerror(errno)));
  }
  struct stat st;
  if (fstat(fd.get(), &st) != 0) {
    return UsageError(absl::StrCat("cannot use password file '", path,
                                   "': ", strerror(errno)));
  }
  if (std::string why = WhyNotAPasswordFile(st); !why.empty()) {
    return UsageError(
        absl::StrCat("not using password file '", path, "': ", why));
  }
  absl::StatusOr<std::string> contents = ReadAllOf(fd.get(), path, st.st_size);
  if (!contents.ok()) return contents.status();
  std::string password = contents->substr(0, contents->find('\n'));
  CleanseString(&*contents);
  if (!password.empty() && password.back() == '\r') password.pop_back();
  return password;
}

absl::StatusOr<std::string> ReadNetrcFile(
    const std::string& path,
    const std::function<void(absl::string_view)>& warn) {
  auto say = [&](absl::string_view what) {
    if (warn) warn(absl::StrCat(path, ": ", what));
  };
  OwnedFd fd = OpenNoFollow(path);
  if (!fd.valid()) {
    if (errno == ELOOP) say("a symlink: not reading it");
    if (errno == ENOENT || errno == ELOOP) return std::string();
    return UsageError(
        absl::StrCat("cannot read '", path, "': ", strerror(errno)));
  }
  struct stat st;
  if (fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
    say("not a regular file: not reading it");
    return std::string();
  }
  if (st.st_uid != geteuid()) {
    say(absl::StrCat("owned by user ", st.st_uid, ", not by you"));
  }
  if ((st.st_mode & 077) != 0) {
    say(absl::StrFormat(
        "others may read or change it (mode %04o), and so its passwords: "
        "chmod 600 %s",
        st.st_mode & 07777, path));
  }
  return ReadAllOf(fd.get(), path, st.st_size);
}

absl::StatusOr<std::optional<std::string>> PromptForPassword(
    const std::string& prompt) {
  if (!isatty(STDIN_FILENO)) return std::optional<std::string>();
  OwnedFd tty(open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC));
  termios saved;
  if (!tty.valid() || tcgetattr(tty.get(), &saved) != 0) {
    return std::optional<std::string>();
  }
  termios quiet = saved;
  quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
  quiet.c_lflag |= ECHONL;  // The Enter still shows as a new line.
  if (tcsetattr(tty.get(), TCSAFLUSH, &quiet) != 0) {
    return std::optional<std::string>();
  }
  (void)!write(tty.get(), prompt.data(), prompt.size());
  std::string line;
  line.reserve(4096);  // No reallocation leaves a copy behind.
  char c = 0;
  while (line.size() < 4096) {
    const ssize_t n = read(tty.get(), &c, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0 || c == '\n') break;
    line.push_back(c);
  }
  c = 0;
  tcsetattr(tty.get(), TCSAFLUSH, &saved);
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return std::optional<std::string>(std::move(line));
}

}  // namespace tlsession::ftp
