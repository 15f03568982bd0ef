// Where the ftps tool's transfers land, decided before any byte moves: the
// local side of `get URL [LOCAL]` and the remote path of `put FILE URL`.
#ifndef TLSESSION_TOOLS_FTPS_DESTINATION_H_
#define TLSESSION_TOOLS_FTPS_DESTINATION_H_

#include <string>

#include "absl/status/statusor.h"

namespace tlsession::ftp {

// Where one download goes.
struct Destination {
  enum class Kind {
    kFile,    // A regular file, through "<path>.part" (local_file.h).
    kStream,  // Written as bytes arrive: stdout ("-") or what is neither a
              // file nor a folder (/dev/stdout, /dev/null, a FIFO).
    kExists,  // --no-clobber and |path| exists: nothing to do.
  };
  Kind kind = Kind::kFile;
  std::string path;  // The file, or what to open ("-": stdout).
};

// The last segment of the remote |path| ("dir/a.txt" gives "a.txt"); a
// usage error (ErrorCategory::kUsage) when there is none: "", ".", ".." or
// a path ending in '/'.
absl::StatusOr<std::string> RemoteBaseName(const std::string& path);

// Decides where the download of the remote |remote| goes for the local
// operand |local|, checking what can be checked before transferring:
//  - "" (none given): the remote base name in the current folder;
//  - "-": stdout;
//  - an existing folder (followed through a symlink), or a name ending in
//    '/': the remote base name inside it (`get URL .`);
//  - a path under /dev/ or /proc/ (/dev/stdout, /dev/fd/3, even when it
//    stands for a regular file), or an existing path that is neither a
//    regular file nor a folder once symlinks are followed (a FIFO): a
//    stream;
//  - a symlink to anything else: an error, as the download never replaces
//    a symlink (exit 6, said now rather than after the transfer);
//  - an existing regular file: kExists with |no_clobber|, else replaced;
//  - a folder that does not exist or that we cannot write to: an error.
// Errors carry ErrorCategory::kLocalFile (or kUsage for a remote path with
// no base name).
absl::StatusOr<Destination> ResolveDownload(const std::string& remote,
                                            const std::string& local,
                                            bool no_clobber);

// The remote path for `put LOCAL URL` where |url_path| is the URL's path:
// the local file's base name appended when |url_path| is empty (the login
// folder) or ends in '/'.
std::string ResolveUploadPath(const std::string& local,
                              const std::string& url_path);

}  // namespace tlsession::ftp

#endif  // TLSESSION_TOOLS_FTPS_DESTINATION_H_
