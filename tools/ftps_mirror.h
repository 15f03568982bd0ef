// `ftps mirror URL DIR` and `ftps mirror -R DIR URL`: makes the destination
// tree hold the source tree's files, transferring only what changed (by
// size and time), deleting what the source lacks only with --delete, the
// transfers a batch (tools/ftps_batch.h) on --parallel connections.
//
// What "changed" means: the destination lacks the file, or its size
// differs, or the source's modification time is later than the
// destination's, both cut to the coarser of their precisions (a second
// with MLSD, a minute with LIST, as vsftpd lists). Downloads get the
// remote time, so the next mirror sees them unchanged; uploads are newer
// on the server than their source, so the same holds. Symlinks are not
// followed on either side.
#ifndef TLSESSION_TOOLS_FTPS_MIRROR_H_
#define TLSESSION_TOOLS_FTPS_MIRROR_H_

#include <sys/types.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "ftp_adapter/ftps_client.h"
#include "ftp_adapter/remote_tree.h"
#include "tools/ftps_batch.h"

namespace tlsession::ftp {

enum class MirrorDirection {
  kDown,  // Server to local folder.
  kUp,    // Local folder to server (-R).
};

// What a mirror does, relative paths throughout.
struct MirrorPlan {
  std::vector<std::string> make_dirs;  // Parents before children.
  std::vector<TreeEntry> transfers;    // Source entries (files).
  std::vector<TreeEntry> deletes;      // Destination entries, deepest first.
  // Paths that are a file on one side and a folder on the other, left
  // alone (without --delete, the destination's is not removed).
  std::vector<std::string> conflicts;
};

// True when |source| must be transferred over |dest| (same path), as the
// header says.
bool NeedsTransfer(const TreeEntry& source, const TreeEntry& dest);

// Compares |source| and |dest| (each sorted by path, as Walk and
// WalkLocalTree return them). With |delete_extra|, what only |dest| has is
// deleted, and an entry whose type differs is deleted and replaced.
MirrorPlan PlanMirror(const std::vector<TreeEntry>& source,
                      const std::vector<TreeEntry>& dest, bool delete_extra);

// Every regular file and folder under |root| (not following symlinks;
// other types skipped), sorted by path, times to the nanosecond. An empty
// list when |root| does not exist; a kLocalFile error when it cannot be
// read.
absl::StatusOr<std::vector<TreeEntry>> WalkLocalTree(const std::string& root);

struct MirrorSetup {
  MirrorDirection direction = MirrorDirection::kDown;
  std::string remote_root;  // A path on the server.
  std::string local_root;   // A local folder (made when missing).
  bool delete_extra = false;
  bool dry_run = false;  // Print the plan on stdout, change nothing.
  BatchOptions batch;    // parallel, fail_fast, connect, report.
  // Receives the dry run's lines and notes ("skipping ..."); not null.
  std::function<void(absl::string_view)> print;
};

// Runs the mirror: walks both trees (the remote one over |client|, which
// then serves as the batch's first connection), makes folders, deletes
// (with delete_extra), then transfers. Returns the batch's result; a walk
// that fails is the result's status with nothing changed.
BatchResult RunMirror(std::unique_ptr<FtpsClient> client,
                      const MirrorSetup& setup);

}  // namespace tlsession::ftp

#endif  // TLSESSION_TOOLS_FTPS_MIRROR_H_
