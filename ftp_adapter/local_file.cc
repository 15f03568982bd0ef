#include "ftp_adapter/local_file.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <map>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "ftp_adapter/error_category.h"

namespace tlsession::ftp {
namespace {

// A local-file error: |code|, "|what| '|path|': |why|".
absl::Status FileError(absl::StatusCode code, absl::string_view what,
                       const std::string& path, absl::string_view why) {
  return WithCategory(
      absl::Status(code, absl::StrCat(what, " '", path, "': ", why)),
      ErrorCategory::kLocalFile);
}

// FileError() with strerror(|err|) as the reason.
absl::Status ErrnoError(absl::string_view what, const std::string& path,
                        int err) {
  // A full disk or quota is ResourceExhausted: batches stop on it.
  const absl::StatusCode code =
      err == ENOENT                    ? absl::StatusCode::kNotFound
      : err == EACCES                  ? absl::StatusCode::kPermissionDenied
      : err == ENOSPC || err == EDQUOT ? absl::StatusCode::kResourceExhausted
                                       : absl::StatusCode::kInternal;
  return FileError(code, what, path, strerror(err));
}

// Why the part file |st| may not be continued, or "" when it may: it must be
// a regular file of ours that no other name links to (a hard link planted
// in a shared folder would make us write to its other name).
std::string WhyNotResumable(const struct stat& st) {
  if (!S_ISREG(st.st_mode)) return "it is not a regular file";
  if (st.st_uid != geteuid()) {
    return absl::StrCat("it is owned by user ", st.st_uid, ", not by us");
  }
  if (st.st_nlink != 1) return "it has other hard links";
  return "";
}

// Opens an existing part file for a resume. An invalid OwnedFd when there
// is none.
absl::StatusOr<OwnedFd> OpenForResume(const std::string& part, uint64_t* size) {
  // O_NONBLOCK: a FIFO planted in the part file's place must not block us
  // (it fails here, or at the fstat check).
  OwnedFd fd(open(part.c_str(),
                  O_WRONLY | O_APPEND | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
  if (!fd.valid()) {
    if (errno == ENOENT) return OwnedFd();
    if (errno == ELOOP) {
      return FileError(absl::StatusCode::kFailedPrecondition,
                       "not resuming into", part,
                       "it is a symlink (someone else may have planted it)");
    }
    return ErrnoError("cannot resume", part, errno);
  }
  struct stat st;
  if (fstat(fd.get(), &st) != 0)
    return ErrnoError("cannot resume", part, errno);
  if (std::string why = WhyNotResumable(st); !why.empty()) {
    return FileError(absl::StatusCode::kFailedPrecondition, "not resuming into",
                     part, why);
  }
  *size = static_cast<uint64_t>(st.st_size);
  return fd;
}

// True when |fd| is the file that |path| names (not a symlink to it, not
// another file put in its place).
bool NamesTheSameFile(const std::string& path, int fd) {
  struct stat by_name, by_fd;
  return lstat(path.c_str(), &by_name) == 0 && fstat(fd, &by_fd) == 0 &&
         S_ISREG(by_name.st_mode) && by_name.st_dev == by_fd.st_dev &&
         by_name.st_ino == by_fd.st_ino;
}

}  // namespace

PartFile::PartFile(std::string path, OwnedFd fd, uint64_t size)
    : path_(std::move(path)),
      part_path_(path_ + ".part"),
      fd_(std::move(fd)),
      size_(size) {}

absl::StatusOr<PartFile> PartFile::Open(std::string path, Start start) {
  uint64_t size = 0;
  OwnedFd fd;
  if (start == Start::kResume) {
    absl::StatusOr<OwnedFd> resumed = OpenForResume(path + ".part", &size);
    if (!resumed.ok()) return resumed.status();
    fd = *std::move(resumed);
  }
  return PartFile(std::move(path), std::move(fd), size);
}

absl::Status PartFile::Create() {
  // Twice at most: once over an old part file (or a planted symlink), which
  // is unlinked, never followed; a second EEXIST means someone races us.
  for (int attempt = 0; attempt < 2; ++attempt) {
    fd_.reset(open(part_path_.c_str(),
                   O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (fd_.valid()) return absl::OkStatus();
    if (errno != EEXIST) return ErrnoError("cannot create", part_path_, errno);
    if (unlink(part_path_.c_str()) != 0 && errno != ENOENT) {
      return ErrnoError("cannot replace", part_path_, errno);
    }
  }
  return FileError(absl::StatusCode::kAborted, "cannot create", part_path_,
                   "something else creates it at the same time");
}

PartFile::~PartFile() {
  // What arrived stays for a resume; a write that fails now only makes the
  // part file a shorter prefix of the remote file.
  (void)Flush();
}

absl::Status PartFile::Write(absl::string_view bytes) {
  if (!fd_.valid()) {
    if (absl::Status s = Create(); !s.ok()) return s;
  }
  size_ += bytes.size();
  if (pending_.empty() && bytes.size() >= kFlushAt) return WriteAll(bytes);
  pending_.append(bytes.data(), bytes.size());
  return pending_.size() >= kFlushAt ? Flush() : absl::OkStatus();
}

absl::Status PartFile::Flush() {
  if (pending_.empty() || !fd_.valid()) return absl::OkStatus();
  absl::Status s = WriteAll(pending_);
  pending_.clear();
  return s;
}

absl::Status PartFile::WriteAll(absl::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = write(fd_.get(), bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoError("cannot write", part_path_, errno);
    bytes.remove_prefix(static_cast<size_t>(n));
    unstarted_ += static_cast<uint64_t>(n);
  }
  if (unstarted_ >= kWritebackEvery) {
    // Starts writing back what the page cache holds, without waiting: the
    // fsync before the rename then waits only for the last few MiB instead
    // of the whole file (a large download's fsync cost, mostly hidden).
    (void)sync_file_range(fd_.get(), 0, 0, SYNC_FILE_RANGE_WRITE);
    unstarted_ = 0;
  }
  return absl::OkStatus();
}

absl::Status PartFile::Restart() {
  pending_.clear();
  if (fd_.valid() && ftruncate(fd_.get(), 0) != 0) {
    return ErrnoError("cannot empty", part_path_, errno);
  }
  size_ = 0;
  return absl::OkStatus();
}

absl::Status PartFile::Commit(Sync sync, mode_t mode) {
  if (!fd_.valid()) {
    if (absl::Status s = Create(); !s.ok()) return s;
  }
  if (absl::Status s = Flush(); !s.ok()) return s;
  OwnedFd fd = std::move(fd_);
  if (sync == Sync::kToDisk && fsync(fd.get()) != 0) {
    return ErrnoError("cannot write", part_path_, errno);
  }
  if (!NamesTheSameFile(part_path_, fd.get())) {
    return FileError(absl::StatusCode::kAborted, "not renaming", part_path_,
                     "it was replaced during the download");
  }
  struct stat st;
  if (lstat(path_.c_str(), &st) == 0 && !S_ISREG(st.st_mode)) {
    return FileError(
        absl::StatusCode::kFailedPrecondition, "not replacing", path_,
        S_ISLNK(st.st_mode) ? "it is a symlink" : "it is not a regular file");
  }
  if (mode != 0600 && fchmod(fd.get(), mode) != 0) {
    return ErrnoError("cannot set the mode of", part_path_, errno);
  }
  if (rename(part_path_.c_str(), path_.c_str()) != 0) {
    return ErrnoError(absl::StrCat("cannot rename '", part_path_, "' to"),
                      path_, errno);
  }
  return absl::OkStatus();
}

absl::Status PartFile::CommitLater(mode_t mode, DeferredRenames* later) {
  if (!fd_.valid()) {
    if (absl::Status s = Create(); !s.ok()) return s;
  }
  if (absl::Status s = Flush(); !s.ok()) return s;
  OwnedFd fd = std::move(fd_);
  struct stat st;
  if (fstat(fd.get(), &st) != 0) {
    return ErrnoError("cannot read", part_path_, errno);
  }
  if (mode != 0600 && fchmod(fd.get(), mode) != 0) {
    return ErrnoError("cannot set the mode of", part_path_, errno);
  }
  later->Add(part_path_, path_, st);
  return absl::OkStatus();
}

void DeferredRenames::Add(std::string part_path, std::string path,
                          const struct stat& st) {
  std::lock_guard<std::mutex> lock(mu_);
  pending_.push_back({std::move(part_path), std::move(path), st});
}

size_t DeferredRenames::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return pending_.size();
}

namespace {

// The folder of |path| ("." for a bare name).
std::string FolderOf(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

// fsync(2)s the folder |dir| (its entries: renames made durable).
absl::Status SyncFolder(const std::string& dir) {
  OwnedFd fd(open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid()) return ErrnoError("cannot open the folder", dir, errno);
  if (fsync(fd.get()) != 0) {
    return ErrnoError("cannot sync", dir, errno);
  }
  return absl::OkStatus();
}

}  // namespace

namespace {

// syncfs(2)s the file system that holds the folder |dir|.
absl::Status SyncFileSystemOf(const std::string& dir) {
  OwnedFd fd(open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid()) return ErrnoError("cannot open the folder", dir, errno);
  if (syncfs(fd.get()) != 0) return ErrnoError("cannot sync", dir, errno);
  return absl::OkStatus();
}

}  // namespace

std::vector<DeferredRenames::Failure> DeferredRenames::Commit() {
  std::vector<Pending> pending;
  {
    std::lock_guard<std::mutex> lock(mu_);
    pending.swap(pending_);
  }
  std::vector<Failure> failures;
  std::set<std::string> folders;
  std::map<dev_t, std::string> file_systems;  // A folder on each.
  for (const Pending& p : pending) {
    folders.insert(FolderOf(p.path));
    file_systems.emplace(p.st.st_dev, FolderOf(p.part_path));
  }
  // One syncfs per file system for the whole batch: one fsync per file
  // would cost a journal commit each (measured in docs/benchmarks.md).
  for (const auto& [dev, dir] : file_systems) {
    if (absl::Status s = SyncFileSystemOf(dir); !s.ok()) {
      for (const Pending& p : pending) failures.push_back({p.path, s});
      return failures;  // Nothing renamed: the part files stay.
    }
  }
  for (const Pending& p : pending) {
    struct stat st;
    if (lstat(p.part_path.c_str(), &st) != 0 || !S_ISREG(st.st_mode) ||
        st.st_dev != p.st.st_dev || st.st_ino != p.st.st_ino ||
        st.st_size != p.st.st_size) {
      failures.push_back(
          {p.path, FileError(absl::StatusCode::kAborted, "not renaming",
                             p.part_path, "it was replaced meanwhile")});
      continue;
    }
    if (lstat(p.path.c_str(), &st) == 0 && !S_ISREG(st.st_mode)) {
      failures.push_back(
          {p.path,
           FileError(absl::StatusCode::kFailedPrecondition, "not replacing",
                     p.path,
                     S_ISLNK(st.st_mode) ? "it is a symlink"
                                         : "it is not a regular file")});
      continue;
    }
    if (rename(p.part_path.c_str(), p.path.c_str()) != 0) {
      failures.push_back({p.path, ErrnoError(absl::StrCat("cannot rename '",
                                                          p.part_path, "' to"),
                                             p.path, errno)});
    }
  }
  for (const std::string& dir : folders) {
    (void)SyncFolder(dir);  // The renames, durable.
  }
  return failures;
}

absl::StatusOr<SourceFile> SourceFile::Open(const std::string& path) {
  OwnedFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return ErrnoError("cannot read", path, errno);
  struct stat st;
  if (fstat(fd.get(), &st) != 0) return ErrnoError("cannot read", path, errno);
  if (S_ISDIR(st.st_mode)) {
    return FileError(absl::StatusCode::kFailedPrecondition, "cannot upload",
                     path, "it is a folder");
  }
  const uint64_t size = S_ISREG(st.st_mode) ? st.st_size : 0;
  return SourceFile(path, std::move(fd), size);
}

absl::Status SourceFile::Seek(uint64_t offset) {
  if (lseek(fd_.get(), static_cast<off_t>(offset), SEEK_SET) < 0) {
    return ErrnoError(absl::StrCat("cannot continue at byte ", offset, " of"),
                      path_, errno);
  }
  return absl::OkStatus();
}

absl::StatusOr<size_t> SourceFile::Read(char* buf, size_t len) {
  for (;;) {
    const ssize_t n = read(fd_.get(), buf, len);
    if (n >= 0) return static_cast<size_t>(n);
    if (errno != EINTR) return ErrnoError("cannot read", path_, errno);
  }
}

}  // namespace tlsession::ftp
