// The ftps tool's progress on the terminal: draws a ProgressMeter
// (tools/ftps_progress.h) on stderr, from a ticker thread so that a stall
// shows while no byte arrives, and always ends with a final line.
#ifndef TLSESSION_TOOLS_FTPS_PROGRESS_DISPLAY_H_
#define TLSESSION_TOOLS_FTPS_PROGRESS_DISPLAY_H_

#include <condition_variable>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "absl/strings/string_view.h"
#include "tools/ftps_progress.h"

namespace tlsession::ftp {

// --progress=bar|line|none.
enum class ProgressMode {
  kBar,   // One line redrawn in place (\r) four times a second.
  kLine,  // A line every two seconds, for logs.
  kNone,  // Nothing but what the caller prints (the summary).
};

// "bar", "line" or "none" as a ProgressMode; nullopt for anything else.
std::optional<ProgressMode> ParseProgressMode(absl::string_view text);

// Draws |meter| on the file descriptor |fd| until Stop(). Thread-safe.
class ProgressDisplay {
 public:
  // Starts drawing |meter| (not owned; it must outlive the display) in
  // |mode|, as wide as the terminal on |fd| (TerminalWidth, read at every
  // redraw).
  ProgressDisplay(const ProgressMeter* meter, ProgressMode mode, int fd);
  // Stop().
  ~ProgressDisplay();
  ProgressDisplay(const ProgressDisplay&) = delete;
  ProgressDisplay& operator=(const ProgressDisplay&) = delete;

  // Stops the ticker and, when a file was started, draws the final line
  // (its meter should be Finish()ed first) and ends it with a newline.
  // Later calls do nothing.
  void Stop();

  // Prints |line| and a newline on |fd| above the progress line (which is
  // drawn again at the next tick), so that messages and the bar do not mix.
  // |line| must already be escaped.
  void PrintLine(absl::string_view line);

 private:
  // The ticker: redraws until stopped.
  void Tick();
  // Draws the line now (|final|: with a newline). Needs |mu_|.
  void DrawLocked(bool final);

  const ProgressMeter* const meter_;
  const ProgressMode mode_;
  const int fd_;
  std::mutex mu_;
  std::condition_variable wake_;
  bool stopped_ = false;
  size_t drawn_columns_ = 0;  // Of the bar on screen (kBar); 0: none.
  std::thread ticker_;
};

}  // namespace tlsession::ftp

#endif  // TLSESSION_TOOLS_FTPS_PROGRESS_DISPLAY_H_
