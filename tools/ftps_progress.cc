#include "tools/ftps_progress.h"

#include <stdlib.h>
#include <sys/ioctl.h>

#include <algorithm>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "ftp_adapter/printable.h"

namespace tlsession::ftp {
namespace {

// The columns |text| (valid UTF-8) takes: one per character.
size_t Columns(absl::string_view text) {
  size_t n = 0;
  for (unsigned char c : text) n += (c & 0xC0) != 0x80;
  return n;
}

// |text| cut to at most |columns| characters, "..." ending a cut one.
std::string FitColumns(absl::string_view text, size_t columns) {
  if (Columns(text) <= columns) return std::string(text);
  if (columns <= 3) return std::string(columns, '.');
  size_t keep = 0, seen = 0;
  while (keep < text.size()) {
    const bool starts = (static_cast<unsigned char>(text[keep]) & 0xC0) != 0x80;
    if (starts && seen == columns - 3) break;
    seen += starts;
    ++keep;
  }
  return absl::StrCat(text.substr(0, keep), "...");
}

// "0:07", "12:34", "1:02:03".
std::string FormatClock(absl::Duration d) {
  const int64_t secs = std::max<int64_t>(0, absl::ToInt64Seconds(d));
  if (secs < 3600) return absl::StrFormat("%d:%02d", secs / 60, secs % 60);
  return absl::StrFormat("%d:%02d:%02d", secs / 3600, secs / 60 % 60,
                         secs % 60);
}

// "187.3 MiB/s".
std::string FormatRate(double bytes_per_second) {
  return absl::StrCat(
      FormatBytes(static_cast<uint64_t>(std::max(0.0, bytes_per_second))),
      "/s");
}

// A field of the progress line; the lower |drop_order|, the sooner it goes
// when the line is too wide.
struct Field {
  std::string text;
  int drop_order;
};

// The percentage (floored: 100% only when complete), or "" without a total.
std::string Percent(const ProgressSnapshot& s) {
  if (!s.total) return "";
  if (*s.total == 0 || s.done >= *s.total) return "100%";
  return absl::StrCat(s.done * 100 / *s.total, "%");
}

// "[=========>          ]" |width| columns wide, for |fraction| done.
std::string Bar(double fraction, size_t width) {
  const size_t inner = width - 2;
  const size_t full = static_cast<size_t>(std::clamp(fraction, 0.0, 1.0) *
                                          static_cast<double>(inner));
  std::string bar = absl::StrCat("[", std::string(full, '='));
  if (full < inner)
    absl::StrAppend(&bar, ">", std::string(inner - full - 1, ' '));
  return bar + "]";
}

// The rate field: the current rate, "stalled Ns", or on the final line the
// average rate.
std::string RateField(const ProgressSnapshot& s, absl::Time now) {
  if (s.finished) {
    const double secs = absl::ToDoubleSeconds(now - s.start);
    return secs > 0 ? FormatRate(s.moved / secs) : "";
  }
  const absl::Time quiet_since =
      s.last_byte == absl::InfinitePast() ? s.start : s.last_byte;
  if (now - quiet_since >= kStallAfter) {
    return absl::StrCat("stalled ", absl::ToInt64Seconds(now - quiet_since),
                        "s");
  }
  return FormatRate(s.rate);
}

// The ETA field, "" when it cannot be told (or on the final line).
std::string EtaField(const ProgressSnapshot& s, absl::Time now) {
  if (s.finished || !s.total || s.done > *s.total || s.rate <= 0) return "";
  const absl::Time quiet_since =
      s.last_byte == absl::InfinitePast() ? s.start : s.last_byte;
  if (now - quiet_since >= kStallAfter) return "";
  return absl::StrCat("ETA ",
                      FormatClock(absl::Seconds((*s.total - s.done) / s.rate)));
}

// The fields of the line but the bar, in display order.
std::vector<Field> Fields(const ProgressSnapshot& s, absl::Time now) {
  std::vector<Field> f;
  if (s.files_total > 1) {
    f.push_back({absl::StrCat("[", s.files_done, "/", s.files_total, "]"), 7});
  }
  if (!s.name.empty()) f.push_back({FitColumns(Printable(s.name), 30), 2});
  f.push_back({Percent(s), 9});
  std::string bytes = FormatBytes(s.done);
  if (s.total) absl::StrAppend(&bytes, " / ", FormatBytes(*s.total));
  f.push_back({bytes, 8});
  f.push_back({RateField(s, now), 6});
  const std::string elapsed =
      s.start == absl::InfinitePast() ? "" : FormatClock(now - s.start);
  f.push_back({elapsed, s.finished ? 5 : 3});
  f.push_back({EtaField(s, now), 4});
  f.erase(std::remove_if(f.begin(), f.end(),
                         [](const Field& x) { return x.text.empty(); }),
          f.end());
  return f;
}

// The columns of |fields| joined by two spaces.
size_t JoinedColumns(const std::vector<Field>& fields) {
  size_t n = 0;
  for (const Field& x : fields) n += Columns(x.text) + 2;
  return n == 0 ? 0 : n - 2;
}

}  // namespace

void RateWindow::Reset(absl::Time now, uint64_t bytes) {
  samples_.clear();
  samples_.emplace_back(now, bytes);
}

void RateWindow::Record(absl::Time now, uint64_t bytes) {
  const size_t n = samples_.size();
  if (n >= 2 && samples_[n - 1].first - samples_[n - 2].first < window_ / 10) {
    samples_.back() = {now, bytes};  // Merged into the newest sample.
  } else {
    samples_.emplace_back(now, bytes);
  }
  // Keep one sample at or before the window's start.
  while (samples_.size() > 2 && now - samples_[1].first >= window_) {
    samples_.pop_front();
  }
}

double RateWindow::BytesPerSecond(absl::Time now) const {
  if (samples_.empty()) return 0;
  // The oldest sample still inside the window, or the last one before it.
  size_t from = 0;
  while (from + 1 < samples_.size() &&
         now - samples_[from + 1].first >= window_)
    ++from;
  const double secs = absl::ToDoubleSeconds(now - samples_[from].first);
  if (secs <= 0) return 0;
  return (samples_.back().second - samples_[from].second) / secs;
}

std::string FormatBytes(uint64_t bytes) {
  if (bytes < 1024) return absl::StrCat(bytes, " B");
  static constexpr const char* kUnits[] = {"KiB", "MiB", "GiB", "TiB", "PiB"};
  double value = bytes / 1024.0;
  size_t unit = 0;
  while (value >= 1024 && unit + 1 < std::size(kUnits)) {
    value /= 1024;
    ++unit;
  }
  return absl::StrFormat("%.1f %s", value, kUnits[unit]);
}

std::string RenderProgressLine(const ProgressSnapshot& s, absl::Time now,
                               int width, bool bar) {
  const size_t room = static_cast<size_t>(std::max(width, 20) - 1);
  std::vector<Field> fields = Fields(s, now);
  // Drops the field that goes first until the line fits.
  while (JoinedColumns(fields) > room && fields.size() > 1) {
    auto first = std::min_element(fields.begin(), fields.end(),
                                  [](const Field& a, const Field& b) {
                                    return a.drop_order < b.drop_order;
                                  });
    fields.erase(first);
  }
  if (JoinedColumns(fields) > room) {
    return FitColumns(fields[0].text, room);
  }
  // The bar takes what is left, up to 42 columns, if that is 12 or more.
  const size_t left = room - JoinedColumns(fields);
  if (bar && s.total && left >= 14) {
    const double fraction =
        *s.total == 0 ? 1.0 : static_cast<double>(s.done) / *s.total;
    // After the percentage (or first when there is none before it).
    auto at = std::find_if(fields.begin(), fields.end(), [](const Field& x) {
      return absl::EndsWith(x.text, "%");
    });
    const size_t position = at == fields.end() ? 0 : at - fields.begin() + 1;
    fields.insert(fields.begin() + position,
                  {Bar(fraction, std::min<size_t>(left - 2, 42)), 0});
  }
  std::vector<std::string> texts;
  for (Field& x : fields) texts.push_back(std::move(x.text));
  return absl::StrJoin(texts, "  ");
}

std::string RenderSummary(const TransferSummary& s) {
  const double secs = absl::ToDoubleSeconds(s.elapsed);
  std::string out = absl::StrFormat("%s in %.1f s", FormatBytes(s.bytes),
                                    std::max(secs, 0.0));
  if (s.bytes > 0 && secs > 0) {
    absl::StrAppend(&out, ", ", FormatRate(s.bytes / secs));
  }
  absl::StrAppend(&out, ", ", s.files, s.files == 1 ? " file" : " files");
  if (s.skipped > 0) {
    absl::StrAppend(&out, ", ", s.skipped, " already complete");
  }
  if (s.resumed > 0) {
    absl::StrAppend(&out, ", ", FormatBytes(s.resumed), " resumed");
  }
  if (absl::StartsWith(s.tls_version, "TLSv")) {
    absl::StrAppend(&out, ", TLS ", s.tls_version.substr(4));
  }
  if (s.data_connections > 0) {
    absl::StrAppend(
        &out, ", ", s.data_resumed, "/", s.data_connections,
        s.data_connections == 1 ? " data connection" : " data connections",
        " resumed");
  }
  return out;
}

int TerminalWidth(int fd) {
  int columns = 0;
  if (const char* env = getenv("COLUMNS");
      env != nullptr && absl::SimpleAtoi(env, &columns) && columns > 0) {
    return columns;
  }
  struct winsize ws;
  if (ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) return ws.ws_col;
  return 80;
}

ProgressMeter::ProgressMeter(std::function<absl::Time()> clock)
    : clock_(std::move(clock)) {}

void ProgressMeter::SetBatch(int files, std::optional<uint64_t> bytes) {
  MutexLock lock(&mu_);
  batch_ = true;
  s_.files_total = files;
  s_.total = bytes;
}

void ProgressMeter::StartFile(std::string name, std::optional<uint64_t> size,
                              uint64_t resumed) {
  const absl::Time now = clock_();
  MutexLock lock(&mu_);
  if (s_.start == absl::InfinitePast()) {
    s_.start = now;
    window_.Reset(now, s_.moved);
  }
  s_.name = std::move(name);
  s_.last_byte = now;
  if (batch_) {
    s_.done += resumed;
  } else {
    s_.total = size;
    s_.done = resumed;  // A retry starts again from what the file holds.
  }
  s_.resumed += resumed;
}

void ProgressMeter::Add(uint64_t n) {
  const absl::Time now = clock_();
  MutexLock lock(&mu_);
  s_.done += n;
  s_.moved += n;
  s_.last_byte = now;
  window_.Record(now, s_.moved);
}

void ProgressMeter::FinishFile(bool ok) {
  MutexLock lock(&mu_);
  ++s_.files_done;
  if (ok) ++transferred_;
}

void ProgressMeter::SkipFile(std::string name, uint64_t size) {
  const absl::Time now = clock_();
  MutexLock lock(&mu_);
  if (s_.start == absl::InfinitePast()) {
    s_.start = now;
    window_.Reset(now, s_.moved);
  }
  s_.name = std::move(name);
  if (!batch_) s_.total = size;
  s_.done += size;
  ++s_.files_done;
  ++skipped_;
}

void ProgressMeter::Finish() {
  MutexLock lock(&mu_);
  s_.finished = true;
}

ProgressSnapshot ProgressMeter::Snapshot() const {
  const absl::Time now = clock_();
  MutexLock lock(&mu_);
  ProgressSnapshot s = s_;
  s.rate = window_.BytesPerSecond(now);
  return s;
}

TransferSummary ProgressMeter::Summary() const {
  const absl::Time now = clock_();
  MutexLock lock(&mu_);
  TransferSummary t;
  t.bytes = s_.moved;
  t.resumed = s_.resumed;
  t.files = transferred_;
  t.skipped = skipped_;
  t.elapsed =
      s_.start == absl::InfinitePast() ? absl::ZeroDuration() : now - s_.start;
  return t;
}

}  // namespace tlsession::ftp
