#include "ftp_adapter/remote_tree.h"

#include <algorithm>
#include <deque>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "ftp_adapter/list_line.h"

namespace tlsession::ftp {

bool IsSafeName(absl::string_view name) {
  return !name.empty() && name != "." && name != ".." &&
         name.find('/') == absl::string_view::npos &&
         name.find('\0') == absl::string_view::npos;
}

std::string JoinRemote(absl::string_view dir, absl::string_view rel) {
  if (dir.empty()) return std::string(rel);
  if (rel.empty()) return std::string(dir);
  return absl::StrCat(absl::StripSuffix(dir, "/"), "/", rel);
}

RemoteLister::RemoteLister(FtpsClient& client,
                           std::function<void(absl::string_view)> note)
    : client_(client), note_(std::move(note)) {}

absl::StatusOr<std::vector<TreeEntry>> RemoteLister::List(
    const std::string& dir) {
  if (!use_list_) {
    absl::StatusOr<std::vector<TreeEntry>> entries = ListWithMlsd(dir);
    int code = 0;
    if (entries.ok() || !IsServerRefusal(entries.status(), &code) ||
        (code != 500 && code != 502 && code != 504)) {
      return entries;
    }
    use_list_ = true;  // No MLSD here: LIST from now on.
  }
  return ListWithList(dir);
}

absl::StatusOr<std::vector<TreeEntry>> RemoteLister::ListWithMlsd(
    const std::string& dir) {
  absl::StatusOr<std::vector<MlsdEntry>> listed = client_.MachineList(dir);
  if (!listed.ok()) return listed.status();
  std::vector<TreeEntry> out;
  for (const MlsdEntry& m : *listed) {
    if (m.type != "file" && m.type != "dir") continue;  // cdir, pdir, links.
    if (!IsSafeName(m.name)) {
      Note(absl::StrCat("skipping the entry '", m.name, "' of '", dir, "'"));
      continue;
    }
    TreeEntry e;
    e.path = m.name;
    e.dir = m.type == "dir";
    e.size = e.dir ? 0 : m.size.value_or(0);
    e.modify = m.modify;
    out.push_back(std::move(e));
  }
  return out;
}

absl::StatusOr<std::vector<TreeEntry>> RemoteLister::ListWithList(
    const std::string& dir) {
  absl::StatusOr<std::string> text = client_.List(dir);
  if (!text.ok()) return text.status();
  const absl::Time now = absl::Now();
  std::vector<TreeEntry> out;
  for (absl::string_view line : absl::StrSplit(*text, '\n')) {
    line = absl::StripSuffix(line, "\r");
    if (line.empty() || absl::StartsWith(line, "total ")) continue;
    absl::StatusOr<ListEntry> l = ParseListLine(line, now);
    if (!l.ok()) {
      Note(l.status().message());
      continue;
    }
    if (l->type != 'd' && l->type != '-') continue;  // Links, devices.
    if (!IsSafeName(l->name)) {
      if (l->name != "." && l->name != "..") {
        Note(absl::StrCat("skipping the entry '", l->name, "' of '", dir, "'"));
      }
      continue;
    }
    TreeEntry e;
    e.path = l->name;
    e.dir = l->type == 'd';
    e.size = e.dir ? 0 : l->size;
    e.modify = l->modify;
    e.precision = l->precision;
    out.push_back(std::move(e));
  }
  return out;
}

absl::StatusOr<std::vector<TreeEntry>> RemoteLister::Walk(
    const std::string& root) {
  std::vector<TreeEntry> all;
  std::deque<std::string> dirs = {""};
  while (!dirs.empty()) {
    const std::string rel = dirs.front();
    dirs.pop_front();
    absl::StatusOr<std::vector<TreeEntry>> entries =
        List(JoinRemote(root, rel));
    if (!entries.ok()) return entries.status();
    for (TreeEntry& e : *entries) {
      e.path = rel.empty() ? e.path : absl::StrCat(rel, "/", e.path);
      if (e.dir) dirs.push_back(e.path);
      all.push_back(std::move(e));
    }
  }
  std::sort(all.begin(), all.end(), [](const TreeEntry& a, const TreeEntry& b) {
    return a.path < b.path;
  });
  return all;
}

}  // namespace tlsession::ftp
