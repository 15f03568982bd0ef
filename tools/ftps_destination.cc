#include "tools/ftps_destination.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "ftp_adapter/error_category.h"

namespace tlsession::ftp {
namespace {

// A local-file error: "|what| '|path|': |why|".
absl::Status LocalError(absl::string_view what, const std::string& path,
                        absl::string_view why) {
  return WithCategory(
      absl::FailedPreconditionError(absl::StrCat(what, " '", path, "': ", why)),
      ErrorCategory::kLocalFile);
}

// The folder |path| is in ("." for a bare name).
std::string FolderOf(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

// OK when files can be created in the folder |path| lands in.
absl::Status CheckFolder(const std::string& path) {
  const std::string folder = FolderOf(path);
  struct stat st;
  if (stat(folder.c_str(), &st) != 0) {
    return LocalError("cannot download to", path,
                      absl::StrCat("folder '", folder, "': ", strerror(errno)));
  }
  if (!S_ISDIR(st.st_mode)) {
    return LocalError("cannot download to", path,
                      absl::StrCat("'", folder, "' is not a folder"));
  }
  if (access(folder.c_str(), W_OK | X_OK) != 0) {
    return LocalError("cannot download to", path,
                      absl::StrCat("folder '", folder, "': ", strerror(errno)));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::string> RemoteBaseName(const std::string& path) {
  const size_t slash = path.rfind('/');
  std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
  if (base.empty() || base == "." || base == "..") {
    return WithCategory(
        absl::InvalidArgumentError(absl::StrCat(
            "the remote path '", path,
            "' names no file (give a file, not a folder, to download)")),
        ErrorCategory::kUsage);
  }
  return base;
}

absl::StatusOr<Destination> ResolveDownload(const std::string& remote,
                                            const std::string& local,
                                            bool no_clobber) {
  if (local == "-") return Destination{Destination::Kind::kStream, "-"};
  std::string path = local;
  struct stat st;
  const bool is_folder =
      !local.empty() &&
      (absl::EndsWith(local, "/") ||
       (stat(local.c_str(), &st) == 0 && S_ISDIR(st.st_mode)));
  if (local.empty() || is_folder) {
    absl::StatusOr<std::string> base = RemoteBaseName(remote);
    if (!base.ok()) return base.status();
    path =
        local.empty()
            ? *base
            : absl::StrCat(local, absl::EndsWith(local, "/") ? "" : "/", *base);
  }
  // /dev/stdout, /dev/fd/3 and the like are written as they are, even when
  // they stand for a regular file (stdout redirected to one).
  if (absl::StartsWith(path, "/dev/") || absl::StartsWith(path, "/proc/")) {
    return Destination{Destination::Kind::kStream, path};
  }
  struct stat link;
  if (lstat(path.c_str(), &link) == 0) {
    const bool followed = stat(path.c_str(), &st) == 0;
    if (followed && !S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) {
      return Destination{Destination::Kind::kStream, path};
    }
    if (S_ISLNK(link.st_mode)) {
      return LocalError("not downloading to", path,
                        "it is a symlink (downloads never replace one; give "
                        "its target instead)");
    }
    if (S_ISDIR(link.st_mode)) {
      return LocalError("not downloading to", path, "it is a folder");
    }
    if (no_clobber) return Destination{Destination::Kind::kExists, path};
  }
  if (absl::Status s = CheckFolder(path); !s.ok()) return s;
  return Destination{Destination::Kind::kFile, path};
}

std::string ResolveUploadPath(const std::string& local,
                              const std::string& url_path) {
  if (!url_path.empty() && !absl::EndsWith(url_path, "/")) return url_path;
  const size_t slash = local.rfind('/');
  return absl::StrCat(
      url_path, slash == std::string::npos ? local : local.substr(slash + 1));
}

}  // namespace tlsession::ftp
