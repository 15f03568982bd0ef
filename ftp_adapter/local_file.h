// Local files of transfers: the part file a download lands in, and the file
// an upload reads. Safe in folders that others can write to (a shared
// folder without the sticky bit): no path is followed through a symlink
// that someone else may have planted, a part file is ours alone (created
// O_CREAT|O_EXCL|O_NOFOLLOW, mode 0600, or continued only when it is a
// regular file we own), and the finished download never replaces a symlink
// or anything but a regular file.
//
// Errors name the file and why, and carry ErrorCategory::kLocalFile; a full
// disk or quota (ENOSPC, EDQUOT) is ResourceExhausted.
#ifndef TLSESSION_FTP_ADAPTER_LOCAL_FILE_H_
#define TLSESSION_FTP_ADAPTER_LOCAL_FILE_H_

#include <sys/stat.h>
#include <sys/types.h>

#include <sys/types.h>
#include <cstddef>
#include <cstdint>

#include <mutex>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "base/owned_fd.h"

namespace tlsession::ftp {

class DeferredRenames;  // Below.

// Where one download to |path| lands: "<path>.part", renamed to |path| by
// Commit() once the transfer is known complete, so that a failed download
// never leaves a file that looks complete, and an interrupted one leaves
// what arrived for a later resume.
class PartFile {
 public:
  enum class Start {
    kFresh,   // From byte 0: an existing part file is replaced.
    kResume,  // Continue an existing part file (or start one if none).
  };

  // Prepares the download. Fresh, nothing is touched until the first byte
  // (or Commit()): a refused transfer leaves no file behind. Resume, an
  // existing part file is opened without following a symlink and used only
  // when it is a regular file owned by this user with no other hard link;
  // anything else is an error (never overwritten, never followed).
  static absl::StatusOr<PartFile> Open(std::string path, Start start);

  PartFile(PartFile&&) = default;
  PartFile& operator=(PartFile&&) = delete;
  // Writes what is still buffered and closes the part file without renaming
  // it: what arrived stays for a resume.
  ~PartFile();

  const std::string& path() const { return path_; }
  const std::string& part_path() const { return part_path_; }
  // The bytes in the part file: where a resumed transfer starts, then how
  // much has arrived.
  uint64_t size() const { return size_; }

  // Appends |bytes|, creating the part file on the first call of a fresh
  // download: an existing "<path>.part" (a file, or a symlink planted by
  // someone else, which is not followed) is unlinked and the part file
  // created anew with O_CREAT|O_EXCL|O_NOFOLLOW, mode 0600. Bytes are
  // gathered into writes of kFlushAt (a download arrives one TLS record,
  // 16 KiB at most, at a time); Commit() and the destructor write the rest.
  absl::Status Write(absl::string_view bytes);

  // The size of the writes Write() gathers bytes into.
  static constexpr size_t kFlushAt = 256 * 1024;
  // Written bytes after which the kernel is asked to start writing them
  // back (sync_file_range), so that Commit()'s fsync has little left.
  static constexpr uint64_t kWritebackEvery = 8 << 20;

  // Empties the part file, to download again from byte 0.
  absl::Status Restart();

  // What Commit() makes sure of before it renames.
  enum class Sync {
    kToDisk,     // fsync: after a crash or a power loss, |path| holds the
                 // whole download or does not exist.
    kPageCache,  // No fsync, as curl and wget: faster (about a third on a
                 // large file on a slow disk); a crash may leave |path|
                 // short or empty.
  };

  // Makes the download |path|: creates the part file if nothing arrived,
  // fsyncs it (kToDisk), checks that "<path>.part" is still this very file and
  // that |path| is not a symlink or anything but a regular file, gives it
  // |mode| (fchmod, before the rename: the part file stays 0600 until then)
  // and renames. The PartFile is finished afterwards.
  absl::Status Commit(Sync sync = Sync::kToDisk, mode_t mode = 0600);

  // Like Commit(kToDisk), but for a batch: writes what is gathered, sets
  // |mode| and hands the part file to |later|, which syncs every part file
  // it holds at once and only then renames them (DeferredRenames). The
  // PartFile is finished afterwards.
  absl::Status CommitLater(mode_t mode, DeferredRenames* later);

 private:
  PartFile(std::string path, OwnedFd fd, uint64_t size);
  // Creates the part file of a fresh download (see Write()).
  absl::Status Create();
  // Writes the gathered bytes (none when the file is closed).
  absl::Status Flush();
  // write(2)s all of |bytes|.
  absl::Status WriteAll(absl::string_view bytes);

  std::string path_;
  std::string part_path_;
  OwnedFd fd_;              // Invalid until created (fresh) and after Commit().
  uint64_t size_ = 0;       // Bytes written and gathered.
  std::string pending_;     // Gathered, not yet written.
  uint64_t unstarted_ = 0;  // Written since writeback was last started.
};

// The renames of a batch's downloads, made durable together at its end:
// one syncfs(2) per file system instead of one fsync per file (each a
// journal commit), then every rename, then one fsync per folder.
// Whole-or-absent still holds: no download gets its name before syncfs
// returned, which is after the file system's dirty data, the part files'
// among it, is on disk; one interrupted before Commit() keeps its part
// file, for --continue. The price: syncfs also writes other programs'
// dirty data on that file system. Thread-safe.
class DeferredRenames {
 public:
  DeferredRenames() = default;
  DeferredRenames(const DeferredRenames&) = delete;
  DeferredRenames& operator=(const DeferredRenames&) = delete;

  // Records that the part file |part_path|, as |st| describes it, is
  // complete and is to be renamed to |path|. Commit() renames it only if
  // it still has that device, inode and size (the descriptor is closed
  // meanwhile, so an inode number alone could have been reused; the time
  // may change: mirror sets it).
  void Add(std::string part_path, std::string path, const struct stat& st);

  // What Commit() could not rename: the final path and why.
  struct Failure {
    std::string path;
    absl::Status status;
  };

  // Syncs, renames (each part file checked to be the one recorded, and its
  // destination not a symlink or other non-regular file) and syncs the
  // folders; forgets what it held. Returns the renames that failed.
  std::vector<Failure> Commit();

  // How many renames are held.
  size_t size() const;

 private:
  struct Pending {
    std::string part_path;
    std::string path;
    struct stat st;
  };
  mutable std::mutex mu_;
  std::vector<Pending> pending_;  // Guarded by mu_.
};

// The file an upload reads.
class SourceFile {
 public:
  // Opens |path| for reading.
  static absl::StatusOr<SourceFile> Open(const std::string& path);

  const std::string& path() const { return path_; }
  // Its size when opened (0 for what is not a regular file).
  uint64_t size() const { return size_; }

  // Continues from byte |offset| (a resumed upload).
  absl::Status Seek(uint64_t offset);
  // Reads up to |len| bytes; 0 at the end.
  absl::StatusOr<size_t> Read(char* buf, size_t len);

 private:
  SourceFile(std::string path, OwnedFd fd, uint64_t size)
      : path_(std::move(path)), fd_(std::move(fd)), size_(size) {}

  std::string path_;
  OwnedFd fd_;
  uint64_t size_ = 0;
};

}  // namespace tlsession::ftp

#endif  // TLSESSION_FTP_ADAPTER_LOCAL_FILE_H_
