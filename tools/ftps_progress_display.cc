#include "tools/ftps_progress_display.h"

#include <unistd.h>

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace tlsession::ftp {
namespace {

// Writes all of |text| to |fd|, giving up on an error (a closed terminal
// must not stop a transfer).
void WriteAll(int fd, absl::string_view text) {
  while (!text.empty()) {
    const ssize_t n = write(fd, text.data(), text.size());
    if (n <= 0) return;
    text.remove_prefix(static_cast<size_t>(n));
  }
}

}  // namespace

std::optional<ProgressMode> ParseProgressMode(absl::string_view text) {
  if (text == "bar") return ProgressMode::kBar;
  if (text == "line") return ProgressMode::kLine;
  if (text == "none") return ProgressMode::kNone;
  return std::nullopt;
}

ProgressDisplay::ProgressDisplay(const ProgressMeter* meter, ProgressMode mode,
                                 int fd)
    : meter_(meter), mode_(mode), fd_(fd) {
  if (mode_ != ProgressMode::kNone) ticker_ = std::thread([this] { Tick(); });
}

ProgressDisplay::~ProgressDisplay() { Stop(); }

void ProgressDisplay::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopped_) return;
    stopped_ = true;
    if (mode_ != ProgressMode::kNone &&
        meter_->Snapshot().start != absl::InfinitePast()) {
      DrawLocked(/*final=*/true);
    }
  }
  wake_.notify_all();
  if (ticker_.joinable()) ticker_.join();
}

void ProgressDisplay::PrintLine(absl::string_view line) {
  std::lock_guard<std::mutex> lock(mu_);
  std::string out;
  if (drawn_columns_ > 0) {
    out = absl::StrCat("\r", std::string(drawn_columns_, ' '), "\r");
    drawn_columns_ = 0;
  }
  absl::StrAppend(&out, line, "\n");
  WriteAll(fd_, out);
}

void ProgressDisplay::Tick() {
  const absl::Duration period =
      mode_ == ProgressMode::kBar ? absl::Milliseconds(250) : absl::Seconds(2);
  std::unique_lock<std::mutex> lock(mu_);
  while (!wake_.wait_for(lock, absl::ToChronoMilliseconds(period),
                         [this] { return stopped_; })) {
    if (meter_->Snapshot().start != absl::InfinitePast()) {
      DrawLocked(/*final=*/false);
    }
  }
}

void ProgressDisplay::DrawLocked(bool final) {
  const int width = TerminalWidth(fd_);
  const std::string line = RenderProgressLine(
      meter_->Snapshot(), meter_->Now(), width, mode_ == ProgressMode::kBar);
  if (mode_ == ProgressMode::kLine) {
    WriteAll(fd_, absl::StrCat(line, "\n"));
    return;
  }
  // Over the previous bar: pad with spaces where it was longer.
  size_t columns = 0;
  for (unsigned char c : line) columns += (c & 0xC0) != 0x80;
  std::string out = absl::StrCat("\r", line);
  // Never past width - 1 columns, even if the terminal shrank.
  const size_t erase =
      std::min<size_t>(drawn_columns_, std::max(width, 20) - 1);
  if (erase > columns) out.append(erase - columns, ' ');
  drawn_columns_ = final ? 0 : columns;
  if (final) out += "\n";
  WriteAll(fd_, out);
}

}  // namespace tlsession::ftp
