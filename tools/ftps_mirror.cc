#include "tools/ftps_mirror.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <utility>

#include "absl/strings/str_cat.h"
#include "ftp_adapter/error_category.h"

namespace tlsession::ftp {
namespace {

// |t| cut down to a multiple of |precision| since the epoch.
absl::Time Floor(absl::Time t, absl::Duration precision) {
  return absl::UnixEpoch() + absl::Floor(t - absl::UnixEpoch(), precision);
}

absl::Status LocalError(absl::string_view what, const std::string& path) {
  return WithCategory(absl::InternalError(absl::StrCat(what, " '", path,
                                                       "': ", strerror(errno))),
                      ErrorCategory::kLocalFile);
}

// Adds the entries of the folder |rel| under |root| to |out|, recursing.
absl::Status WalkLocal(const std::string& root, const std::string& rel,
                       std::vector<TreeEntry>* out) {
  const std::string dir = rel.empty() ? root : absl::StrCat(root, "/", rel);
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return LocalError("cannot read the folder", dir);
  std::vector<std::string> names;
  while (dirent* e = readdir(d)) {
    if (IsSafeName(e->d_name)) names.push_back(e->d_name);
  }
  closedir(d);
  for (const std::string& name : names) {
    const std::string path = rel.empty() ? name : absl::StrCat(rel, "/", name);
    struct stat st;
    if (lstat(absl::StrCat(root, "/", path).c_str(), &st) != 0) continue;
    if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode)) continue;  // Links...
    TreeEntry e;
    e.path = path;
    e.dir = S_ISDIR(st.st_mode);
    e.size = e.dir ? 0 : static_cast<uint64_t>(st.st_size);
    e.modify = absl::TimeFromTimespec(st.st_mtim);
    e.precision = absl::Nanoseconds(1);
    out->push_back(e);
    if (e.dir) {
      if (absl::Status s = WalkLocal(root, path, out); !s.ok()) return s;
    }
  }
  return absl::OkStatus();
}

// Gives |path| the time |t| (a finished download: the next mirror then
// sees it unchanged).
absl::Status SetLocalTime(const std::string& path, absl::Time t) {
  struct timespec times[2];
  times[0] = absl::ToTimespec(t);
  times[1] = times[0];
  if (utimensat(AT_FDCWD, path.c_str(), times, AT_SYMLINK_NOFOLLOW) != 0) {
    return LocalError("cannot set the time of", path);
  }
  return absl::OkStatus();
}

// The mirror's steps, in order.
class Mirror {
 public:
  Mirror(const MirrorSetup& setup, std::unique_ptr<FtpsClient> client)
      : setup_(setup), client_(std::move(client)) {}

  BatchResult Run() {
    absl::StatusOr<MirrorPlan> plan = Plan();
    if (!plan.ok()) {
      BatchResult r;
      r.status = plan.status();
      (void)client_->Quit();
      return r;
    }
    if (setup_.dry_run) return DryRun(*plan);
    BatchResult before;  // Deletes and folders, on this connection.
    for (const TreeEntry& e : plan->deletes) Count(&before, e.path, Delete(e));
    for (const std::string& p : plan->make_dirs) {
      Count(&before, p, MakeDir(p));
    }
    std::vector<BatchJob> jobs;
    for (const TreeEntry& e : plan->transfers) jobs.push_back(Job(e));
    BatchResult r = RunBatch(jobs, setup_.batch, std::move(client_));
    r.failed += before.failed;
    if (!before.status.ok()) r.status = before.status;
    return r;
  }

 private:
  bool down() const { return setup_.direction == MirrorDirection::kDown; }

  std::string Local(const std::string& rel) const {
    return absl::StrCat(setup_.local_root, "/", rel);
  }
  std::string Remote(const std::string& rel) const {
    return JoinRemote(setup_.remote_root, rel);
  }

  // Both walks and their comparison.
  absl::StatusOr<MirrorPlan> Plan() {
    if (absl::Status s = CheckRemoteRoot(); !s.ok()) return s;
    RemoteLister lister(*client_, setup_.print);
    absl::StatusOr<std::vector<TreeEntry>> remote =
        lister.Walk(setup_.remote_root);
    if (!remote.ok()) return remote.status();
    struct stat st;
    if (down() && lstat(setup_.local_root.c_str(), &st) != 0 &&
        !setup_.dry_run && mkdir(setup_.local_root.c_str(), 0777) != 0) {
      return LocalError("cannot make the folder", setup_.local_root);
    }
    absl::StatusOr<std::vector<TreeEntry>> local =
        WalkLocalTree(setup_.local_root);
    if (!local.ok()) return local.status();
    MirrorPlan plan = down() ? PlanMirror(*remote, *local, setup_.delete_extra)
                             : PlanMirror(*local, *remote, setup_.delete_extra);
    for (const std::string& p : plan.conflicts) {
      setup_.batch.report(absl::StrCat(
          p,
          ": a file on one side and a folder on the other; left alone "
          "(--delete replaces it)"));
    }
    return plan;
  }

  // A missing remote root is made for an upload, and an error for a
  // download: some servers (vsftpd) list a missing folder as empty, which
  // --delete would take for "delete everything here".
  absl::Status CheckRemoteRoot() {
    if (setup_.remote_root.empty() || setup_.remote_root == "/") {
      return absl::OkStatus();
    }
    if (!down()) {
      if (!setup_.dry_run) (void)client_->MakeDir(setup_.remote_root);
      return absl::OkStatus();  // Made, or there already.
    }
    absl::StatusOr<std::string> here = client_->Pwd();
    if (!here.ok()) return here.status();
    if (absl::Status s = client_->Cwd(setup_.remote_root); !s.ok()) return s;
    return client_->Cwd(*here);
  }

  BatchResult DryRun(const MirrorPlan& plan) {
    for (const TreeEntry& e : plan.deletes) {
      setup_.print(absl::StrCat("delete ", e.path));
    }
    for (const std::string& p : plan.make_dirs) {
      setup_.print(absl::StrCat("mkdir ", p));
    }
    for (const TreeEntry& e : plan.transfers) {
      setup_.print(absl::StrCat(down() ? "get " : "put ", e.path, " (", e.size,
                                " bytes)"));
    }
    (void)client_->Quit();
    BatchResult r;
    r.untried = plan.transfers.size();
    return r;
  }

  absl::Status Delete(const TreeEntry& e) {
    if (!down()) {
      return e.dir ? client_->RemoveDir(Remote(e.path))
                   : client_->Delete(Remote(e.path));
    }
    const std::string path = Local(e.path);
    if ((e.dir ? rmdir(path.c_str()) : unlink(path.c_str())) != 0) {
      return LocalError("cannot delete", path);
    }
    return absl::OkStatus();
  }

  absl::Status MakeDir(const std::string& rel) {
    if (!down()) return client_->MakeDir(Remote(rel));
    if (mkdir(Local(rel).c_str(), 0777) != 0 && errno != EEXIST) {
      return LocalError("cannot make the folder", Local(rel));
    }
    return absl::OkStatus();
  }

  // Adds the outcome |s| of the step on |path| to |r|, reporting a failure.
  // Only failures count: the summary counts files.
  void Count(BatchResult* r, const std::string& path, const absl::Status& s) {
    if (s.ok()) return;
    ++r->failed;
    setup_.batch.report(absl::StrCat(path, ": ", s.message()));
    if (r->status.ok()) r->status = s;
  }

  BatchJob Job(const TreeEntry& e) {
    const std::string remote = Remote(e.path);
    const std::string local = Local(e.path);
    if (!down()) {
      return {remote, [remote, local](FtpsClient& c) {
                return c.UploadFile(local, remote);
              }};
    }
    const std::optional<absl::Time> modify = e.modify;
    // A deferred rename (a batch's) keeps the part file's time.
    const std::string timed =
        setup_.batch.renames != nullptr ? local + ".part" : local;
    return {remote, [remote, local, modify, timed](FtpsClient& c) {
              absl::Status s = c.DownloadFile(remote, local);
              if (s.ok() && modify) s = SetLocalTime(timed, *modify);
              return s;
            }};
  }

  const MirrorSetup& setup_;
  std::unique_ptr<FtpsClient> client_;
};

}  // namespace

bool NeedsTransfer(const TreeEntry& source, const TreeEntry& dest) {
  if (source.dir) return false;
  if (source.size != dest.size) return true;
  if (!source.modify || !dest.modify) return false;
  const absl::Duration p = std::max(source.precision, dest.precision);
  return Floor(*source.modify, p) > Floor(*dest.modify, p);
}

MirrorPlan PlanMirror(const std::vector<TreeEntry>& source,
                      const std::vector<TreeEntry>& dest, bool delete_extra) {
  std::map<std::string, const TreeEntry*> there;
  for (const TreeEntry& d : dest) there[d.path] = &d;
  std::map<std::string, bool> wanted;  // Path -> is a folder.
  MirrorPlan plan;
  for (const TreeEntry& s : source) {
    wanted[s.path] = s.dir;
    auto it = there.find(s.path);
    const TreeEntry* d = it == there.end() ? nullptr : it->second;
    if (d != nullptr && d->dir != s.dir) {
      if (!delete_extra) {
        plan.conflicts.push_back(s.path);
        continue;
      }
      d = nullptr;  // Deleted below, then made anew.
    }
    if (s.dir) {
      if (d == nullptr) plan.make_dirs.push_back(s.path);
    } else if (d == nullptr || NeedsTransfer(s, *d)) {
      plan.transfers.push_back(s);
    }
  }
  if (delete_extra) {
    for (const TreeEntry& d : dest) {
      auto it = wanted.find(d.path);
      if (it == wanted.end() || it->second != d.dir) plan.deletes.push_back(d);
    }
    std::sort(plan.deletes.begin(), plan.deletes.end(),
              [](const TreeEntry& a, const TreeEntry& b) {
                return a.path > b.path;  // Contents before their folder.
              });
  }
  return plan;
}

absl::StatusOr<std::vector<TreeEntry>> WalkLocalTree(const std::string& root) {
  std::vector<TreeEntry> out;
  struct stat st;
  if (lstat(root.c_str(), &st) != 0 && errno == ENOENT) return out;
  if (absl::Status s = WalkLocal(root, "", &out); !s.ok()) return s;
  std::sort(out.begin(), out.end(), [](const TreeEntry& a, const TreeEntry& b) {
    return a.path < b.path;
  });
  return out;
}

BatchResult RunMirror(std::unique_ptr<FtpsClient> client,
                      const MirrorSetup& setup) {
  return Mirror(setup, std::move(client)).Run();
}

}  // namespace tlsession::ftp
