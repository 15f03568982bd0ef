// RemoteLister: directory listings of one FtpsClient as entries with sizes
// and times, one directory or a whole tree (for mirror and globs). MLSD
// where the server has it; LIST (ftp_adapter/list_line.h) from the first
// refusal of MLSD on (vsftpd has none), with times to the minute only.
#ifndef TLSESSION_FTP_ADAPTER_REMOTE_TREE_H_
#define TLSESSION_FTP_ADAPTER_REMOTE_TREE_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "ftp_adapter/ftps_client.h"

namespace tlsession::ftp {

// A file or directory of a tree (remote or local).
struct TreeEntry {
  std::string path;  // Relative to the tree's root, '/'-separated.
  bool dir = false;
  uint64_t size = 0;
  std::optional<absl::Time> modify;  // UTC; nullopt when not known.
  // How exact |modify| is: a second from MLSD, a minute or a day from LIST.
  absl::Duration precision = absl::Seconds(1);
};

// True when |name| may be one segment of a local path: not empty, ".",
// "..", and without '/' or NUL. Names from a server that fail this are
// skipped, never followed.
bool IsSafeName(absl::string_view name);

// Joins a remote directory and a relative path ("" and "a" give "a";
// "d/" and "a" give "d/a").
std::string JoinRemote(absl::string_view dir, absl::string_view rel);

class RemoteLister {
 public:
  // Lists over |client|, which must outlive the lister. |note| receives
  // one line per entry skipped (an unsafe name, a line not understood);
  // may be null.
  RemoteLister(FtpsClient& client, std::function<void(absl::string_view)> note);

  // The files and directories directly in |dir| (symlinks and other
  // types skipped), |path| being the bare name.
  absl::StatusOr<std::vector<TreeEntry>> List(const std::string& dir);

  // Every file and directory under |root|, paths relative to it, sorted
  // (a directory before its contents). Fails on the first listing that
  // fails.
  absl::StatusOr<std::vector<TreeEntry>> Walk(const std::string& root);

  // True once the server refused MLSD (listings are LIST from then on).
  bool uses_list() const { return use_list_; }

 private:
  absl::StatusOr<std::vector<TreeEntry>> ListWithMlsd(const std::string& dir);
  absl::StatusOr<std::vector<TreeEntry>> ListWithList(const std::string& dir);
  void Note(absl::string_view line) {
    if (note_) note_(line);
  }

  FtpsClient& client_;
  std::function<void(absl::string_view)> note_;
  bool use_list_ = false;
};

}  // namespace tlsession::ftp

#endif  // TLSESSION_FTP_ADAPTER_REMOTE_TREE_H_
