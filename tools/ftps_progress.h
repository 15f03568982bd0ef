// Progress of the ftps tool's transfers: a meter the transfers feed (from
// any thread), and the pure functions that turn a snapshot of it, the time
// and the terminal's width into a progress line and a one-line summary.
// The terminal side (redrawing, the ticker that makes a stall visible) is
// tools/ftps_progress_display.h.
#ifndef TLSESSION_TOOLS_FTPS_PROGRESS_H_
#define TLSESSION_TOOLS_FTPS_PROGRESS_H_

#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <utility>

#include "absl/time/time.h"
#include "base/mutex.h"

namespace tlsession::ftp {

// The current rate of a transfer: bytes per second over the last |window|,
// from (time, cumulative bytes) samples. Not thread-safe (ProgressMeter
// holds it under its lock).
class RateWindow {
 public:
  explicit RateWindow(absl::Duration window = absl::Seconds(5))
      : window_(window) {}

  // Forgets every sample and starts counting from |bytes| at |now|.
  void Reset(absl::Time now, uint64_t bytes);
  // Records that |bytes| (cumulative, never less than before) had moved by
  // |now|. Samples closer than a tenth of the window are merged.
  void Record(absl::Time now, uint64_t bytes);
  // Returns the bytes per second between the oldest sample inside the
  // window (or the last one before it) and (|now|, the newest sample's
  // bytes): a stall makes it fall towards 0 as |now| moves on. 0 with no
  // sample or no time elapsed.
  double BytesPerSecond(absl::Time now) const;

 private:
  absl::Duration window_;
  std::deque<std::pair<absl::Time, uint64_t>> samples_;
};

// What the progress line shows, at one moment.
struct ProgressSnapshot {
  std::string name;      // The file under way (raw; rendering escapes it).
  uint64_t done = 0;     // Bytes the files hold so far, resumed ones included.
  uint64_t resumed = 0;  // Of |done|, bytes that were there before this run.
  uint64_t moved = 0;    // Bytes this run moved (the final line's rate).
  std::optional<uint64_t> total;            // nullopt: unknown.
  int files_done = 0;                       // Finished or skipped.
  int files_total = 1;                      // More than 1: a batch ("[3/200]").
  absl::Time start = absl::InfinitePast();  // The meter's first file.
  absl::Time last_byte = absl::InfinitePast();  // When bytes last moved.
  double rate = 0;        // Bytes per second over the moving window.
  bool finished = false;  // Every file is done (the final line).
};

// How long without a byte before the line says "stalled".
inline constexpr absl::Duration kStallAfter = absl::Seconds(3);

// Returns the progress line for |s| at |now| in a terminal |width| columns
// wide: at most width - 1 columns (never wraps; at least 20 assumed), fields
// dropped from the least important as the width shrinks (the bar first,
// then the name, elapsed time, ETA, rate, the batch's file count; the byte
// counts and the percentage last). |bar| false leaves out the bar
// (--progress=line). Shows the percentage and bar when the total is known,
// "stalled Ns" instead of the rate and ETA once no byte moved for kStallAfter,
// and on the final line
// (|s|.finished) the average rate and the elapsed time. The name is escaped
// (ftp_adapter/printable.h).
std::string RenderProgressLine(const ProgressSnapshot& s, absl::Time now,
                               int width, bool bar);

// What a run moved, for its one-line summary.
struct TransferSummary {
  uint64_t bytes = 0;    // Moved during this run.
  uint64_t resumed = 0;  // Already there (a resumed part file).
  int files = 0;         // Transferred.
  int skipped = 0;       // Already complete (--continue), not transferred.
  absl::Duration elapsed;
  std::string tls_version;  // "TLSv1.3"; empty: no TLS or unknown.
  int data_connections = 0;
  int data_resumed = 0;  // Data connections that resumed a session.
};

// Returns "300.0 MiB in 1.6 s, 187 MiB/s, 1 file, TLS 1.3, 3/3 data
// connections resumed" ("2 files", ", 1 skipped", ", 1.0 MiB resumed" when
// there are; no rate for nothing moved; no TLS part without a version).
std::string RenderSummary(const TransferSummary& s);

// "300.0 MiB", "4.0 KiB", "17 B": |bytes| in binary units, one decimal.
std::string FormatBytes(uint64_t bytes);

// The number of columns of the terminal on |fd|: $COLUMNS when it is a
// positive number, else TIOCGWINSZ, else 80.
int TerminalWidth(int fd);

// Counts what transfers move, for the progress line and the summary. Every
// method is thread-safe: the workers of a batch feed one meter. Times come
// from |clock| (tests inject one).
class ProgressMeter {
 public:
  explicit ProgressMeter(std::function<absl::Time()> clock);

  // A batch of |files| files (the line shows "[done/files]") of |bytes|
  // bytes in all when known. Without a call: one file, its total the size
  // StartFile gives.
  void SetBatch(int files, std::optional<uint64_t> bytes);
  // A file starts: |name| shown, |size| its size when known, |resumed| the
  // bytes already there (counted as done, not in the rate).
  void StartFile(std::string name, std::optional<uint64_t> size,
                 uint64_t resumed);
  // |n| more bytes moved.
  void Add(uint64_t n);
  // The current file is done: complete (|ok|) or not.
  void FinishFile(bool ok);
  // A file found complete and not transferred (|size| bytes).
  void SkipFile(std::string name, uint64_t size);
  // Marks the meter finished (the final line).
  void Finish();

  // The state now, its rate over the moving window.
  ProgressSnapshot Snapshot() const;
  // Bytes moved by this run (resumed and skipped ones not included), files
  // transferred and skipped, time since the first file started.
  TransferSummary Summary() const;
  absl::Time Now() const { return clock_(); }

 private:
  const std::function<absl::Time()> clock_;
  mutable Mutex mu_;
  ProgressSnapshot s_;  // Its rate is filled in by Snapshot().
  bool batch_ = false;
  int transferred_ = 0;
  int skipped_ = 0;
  RateWindow window_;
};

}  // namespace tlsession::ftp

#endif  // TLSESSION_TOOLS_FTPS_PROGRESS_H_
