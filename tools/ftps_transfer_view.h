// What the ftps tool shows of one command's transfers on stderr: the
// progress (a ProgressMeter drawn by a ProgressDisplay) while they run, the
// final line and the one-line summary when they end. Batches feed meter()
// from every worker, after meter().SetBatch().
#ifndef TLSESSION_TOOLS_FTPS_TRANSFER_VIEW_H_
#define TLSESSION_TOOLS_FTPS_TRANSFER_VIEW_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "ftp_adapter/ftps_client.h"
#include "tools/ftps_progress.h"
#include "tools/ftps_progress_display.h"

namespace tlsession::ftp {

// The progress mode of a command line: |progress| ("bar", "line", "none")
// when given, else a bar when |fd| is a terminal and none otherwise; none
// when |quiet|.
ProgressMode ChooseProgressMode(const std::string& progress, bool quiet,
                                int fd);

class TransferView {
 public:
  // Shows progress in |mode| on the file descriptor |fd|, and a summary at
  // Finish() unless |quiet|. Times come from the real clock.
  TransferView(ProgressMode mode, bool quiet, int fd);

  // The meter the transfers feed; owned by the view.
  ProgressMeter& meter() { return meter_; }

  // Ends the progress (the final line) and, when |summary| and unless
  // quiet or nothing was started, prints the summary with the TLS facts of
  // |clients| (not owned; null ones are skipped): the control connection's
  // TLS version and how many TLS data connections resumed. Later calls do
  // nothing.
  void Finish(const std::vector<const FtpsClient*>& clients, bool summary);

  // The meter's summary with the TLS facts of |clients| (as Finish
  // prints it).
  TransferSummary Summarize(
      const std::vector<const FtpsClient*>& clients) const;

  // Prints |line| (escaped already) above the progress line.
  void PrintLine(absl::string_view line);

 private:
  const bool quiet_;
  const int fd_;
  ProgressMeter meter_;
  ProgressDisplay display_;
  bool finished_ = false;
};

}  // namespace tlsession::ftp

#endif  // TLSESSION_TOOLS_FTPS_TRANSFER_VIEW_H_
