// Files that hold secrets (key files, session cache files, password files),
// opened the way ssh opens private keys: never through a symlink
// (O_NOFOLLOW), never blocking on a FIFO or device (O_NONBLOCK, then fstat),
// only a regular file owned by this user that neither group nor others can
// read or write.
#ifndef TLSESSION_BASE_PRIVATE_FILE_H_
#define TLSESSION_BASE_PRIVATE_FILE_H_

#include <cstddef>
#include <string>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "base/secret.h"

namespace tlsession {

// An open descriptor of a checked private file; closed when destroyed.
class PrivateFile {
 public:
  PrivateFile() = default;
  PrivateFile(PrivateFile&& other) noexcept
      : fd_(std::exchange(other.fd_, -1)) {}
  PrivateFile& operator=(PrivateFile&& other) noexcept;
  PrivateFile(const PrivateFile&) = delete;
  PrivateFile& operator=(const PrivateFile&) = delete;
  ~PrivateFile();

  // Opens |path| for reading (|writable| false) or reading and writing, and
  // checks it as above. |what| names the file in errors ("session cache key
  // file"). NotFound when it does not exist; PermissionDenied, naming the
  // reason, when it fails a check.
  static absl::StatusOr<PrivateFile> Open(const std::string& path,
                                          absl::string_view what,
                                          bool writable = false);

  // Like Open, creating the file (mode 0600) when it does not exist.
  static absl::StatusOr<PrivateFile> OpenOrCreate(const std::string& path,
                                                  absl::string_view what);

  // Reads the whole file from its start; fails beyond |max_size| bytes.
  absl::StatusOr<std::string> ReadAll(const std::string& path,
                                      size_t max_size) const;

  int fd() const { return fd_; }

 private:
  explicit PrivateFile(int fd) : fd_(fd) {}
  static absl::StatusOr<PrivateFile> OpenWithFlags(const std::string& path,
                                                   absl::string_view what,
                                                   int flags);
  int fd_ = -1;
};

// Reads a key file: a private file (checked as above) of |min_size| to 64
// KiB bytes. The bytes are returned as a Secret; nothing else keeps them.
absl::StatusOr<Secret> ReadKeyFile(const std::string& path,
                                   absl::string_view what, size_t min_size);

}  // namespace tlsession

#endif  // TLSESSION_BASE_PRIVATE_FILE_H_
