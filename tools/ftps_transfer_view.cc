#include "tools/ftps_transfer_view.h"

#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace tlsession::ftp {

ProgressMode ChooseProgressMode(const std::string& progress, bool quiet,
                                int fd) {
  if (quiet) return ProgressMode::kNone;
  if (std::optional<ProgressMode> mode = ParseProgressMode(progress)) {
    return *mode;
  }
  return isatty(fd) ? ProgressMode::kBar : ProgressMode::kNone;
}

TransferView::TransferView(ProgressMode mode, bool quiet, int fd)
    : quiet_(quiet),
      fd_(fd),
      meter_([] { return absl::Now(); }),
      display_(&meter_, quiet ? ProgressMode::kNone : mode, fd) {}

void TransferView::Finish(const std::vector<const FtpsClient*>& clients,
                          bool print_summary) {
  if (finished_) return;
  finished_ = true;
  meter_.Finish();
  display_.Stop();
  if (!print_summary || quiet_ ||
      meter_.Snapshot().start == absl::InfinitePast())
    return;
  const TransferSummary summary = Summarize(clients);
  const std::string line = absl::StrCat(RenderSummary(summary), "\n");
  for (absl::string_view rest = line; !rest.empty();) {
    const ssize_t n = write(fd_, rest.data(), rest.size());
    if (n <= 0) break;
    rest.remove_prefix(static_cast<size_t>(n));
  }
}

TransferSummary TransferView::Summarize(
    const std::vector<const FtpsClient*>& clients) const {
  TransferSummary summary = meter_.Summary();
  for (const FtpsClient* c : clients) {
    if (c == nullptr) continue;
    if (summary.tls_version.empty()) {
      summary.tls_version = c->control_tls_version();
    }
    for (const DataConnectionInfo& d : c->data_connections()) {
      if (!d.tls) continue;
      ++summary.data_connections;
      summary.data_resumed += d.session_reused;
    }
  }
  return summary;
}

void TransferView::PrintLine(absl::string_view line) {
  display_.PrintLine(line);
}

}  // namespace tlsession::ftp
