#include "base/private_file.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/mem.h>

#include <algorithm>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "base/cleanse.h"

namespace tlsession {
namespace {

absl::Status OpenError(const std::string& path, absl::string_view what,
                       int err) {
  const std::string message = absl::StrCat(
      "cannot open ", what, " '", path,
      "': ", err == ELOOP ? "it is a symbolic link" : strerror(err));
  if (err == ENOENT) return absl::NotFoundError(message);
  return absl::PermissionDeniedError(message);
}

// Why the file behind |st| may not hold secrets, or "" when it may.
std::string Unfit(const struct stat& st) {
  if (!S_ISREG(st.st_mode)) return "it is not a regular file";
  if (st.st_uid != geteuid()) return "it is owned by another user";
  if (st.st_mode & 077) {
    // The mode in octal, as chmod takes it.
    return absl::StrFormat(
        "group or others can read or write it (mode %03o); make it private "
        "with chmod 600",
        st.st_mode & 0777);
  }
  return "";
}

}  // namespace

PrivateFile& PrivateFile::operator=(PrivateFile&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) close(fd_);
    fd_ = std::exchange(other.fd_, -1);
  }
  return *this;
}

PrivateFile::~PrivateFile() {
  if (fd_ >= 0) close(fd_);
}

absl::StatusOr<PrivateFile> PrivateFile::OpenWithFlags(const std::string& path,
                                                       absl::string_view what,
                                                       int flags) {
  // O_NONBLOCK: a FIFO planted at |path| must not hang the open.
  const int fd =
      open(path.c_str(), flags | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0600);
  if (fd < 0) return OpenError(path, what, errno);
  PrivateFile file(fd);
  struct stat st;
  if (fstat(fd, &st) != 0) return OpenError(path, what, errno);
  if (std::string why = Unfit(st); !why.empty()) {
    return absl::PermissionDeniedError(
        absl::StrCat("refusing ", what, " '", path, "': ", why));
  }
  // A regular file: blocking reads from here on.
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  return file;
}

absl::StatusOr<PrivateFile> PrivateFile::Open(const std::string& path,
                                              absl::string_view what,
                                              bool writable) {
  return OpenWithFlags(path, what, writable ? O_RDWR : O_RDONLY);
}

absl::StatusOr<PrivateFile> PrivateFile::OpenOrCreate(const std::string& path,
                                                      absl::string_view what) {
  return OpenWithFlags(path, what, O_RDWR | O_CREAT);
}

absl::StatusOr<std::string> PrivateFile::ReadAll(const std::string& path,
                                                 size_t max_size) const {
  // Sized from fstat so that the usual file is read without growing; a file
  // that grows meanwhile grows |data| through AppendWiping. Every buffer
  // that held its bytes is wiped, on every path.
  std::string data;
  struct stat st;
  if (fstat(fd_, &st) == 0 && st.st_size > 0) {
    data.reserve(std::min(static_cast<size_t>(st.st_size), max_size) + 1);
  }
  char buf[65536];
  absl::Status status = absl::OkStatus();
  for (off_t offset = 0;;) {
    const ssize_t n = pread(fd_, buf, sizeof(buf), offset);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      status = absl::InternalError(
          absl::StrCat("reading '", path, "': ", strerror(errno)));
      break;
    }
    if (n == 0) break;
    AppendWiping(&data, buf, static_cast<size_t>(n));
    offset += n;
    if (data.size() > max_size) {
      status = absl::InvalidArgumentError(
          absl::StrCat("'", path, "' is larger than ", max_size, " bytes"));
      break;
    }
  }
  OPENSSL_cleanse(buf, sizeof(buf));
  if (!status.ok()) {
    Secret::Wipe(data);
    return status;
  }
  return data;
}

absl::StatusOr<Secret> ReadKeyFile(const std::string& path,
                                   absl::string_view what, size_t min_size) {
  absl::StatusOr<PrivateFile> file = PrivateFile::Open(path, what);
  if (!file.ok()) return file.status();
  absl::StatusOr<std::string> bytes = file->ReadAll(path, 64 << 10);
  if (!bytes.ok()) return bytes.status();
  Secret secret(std::move(*bytes));
  if (secret.size() < min_size) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " '", path, "' holds ", secret.size(),
                     " bytes; it needs at least ", min_size,
                     " secret bytes (for example: head -c 32 /dev/urandom)"));
  }
  return secret;
}

}  // namespace tlsession
