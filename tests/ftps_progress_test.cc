// The ftps tool's progress line and summary (tools/ftps_progress.h): a pure
// function of the meter's state, an injected clock and the width. No
// terminal, no socket.
#include "tools/ftps_progress.h"

#include <string>

#include "absl/strings/match.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace tlsession::ftp {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

constexpr uint64_t kMiB = 1 << 20;

// The columns a rendered line takes (one per UTF-8 character).
size_t Columns(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

class ProgressTest : public ::testing::Test {
 protected:
  // Moves the clock on by |d|.
  void Advance(absl::Duration d) { now_ += d; }
  // |bytes| every |step| for |span|.
  void Feed(uint64_t bytes, absl::Duration step, absl::Duration span) {
    for (absl::Duration t; t < span; t += step) {
      Advance(step);
      meter_.Add(bytes);
    }
  }
  std::string Line(int width = 200, bool bar = true) {
    return RenderProgressLine(meter_.Snapshot(), now_, width, bar);
  }

  absl::Time now_ = absl::FromUnixSeconds(1700000000);
  ProgressMeter meter_{[this] { return now_; }};
};

TEST_F(ProgressTest, ShowsTotalPercentageBarRateElapsedAndEta) {
  meter_.StartFile("big.bin", 100 * kMiB, 0);
  Feed(kMiB, absl::Milliseconds(100), absl::Seconds(4));  // 10 MiB/s.
  const std::string line = Line();
  EXPECT_THAT(line, StartsWith("big.bin  40%  [")) << line;
  EXPECT_THAT(line, HasSubstr("40.0 MiB / 100.0 MiB")) << line;
  EXPECT_THAT(line, HasSubstr("10.0 MiB/s")) << line;
  EXPECT_THAT(line, HasSubstr("0:04")) << line;      // Elapsed.
  EXPECT_THAT(line, HasSubstr("ETA 0:06")) << line;  // 60 MiB at 10 MiB/s.
}

TEST_F(ProgressTest, RateIsTheCurrentOneNotTheAverageSinceTheStart) {
  meter_.StartFile("f", 1000 * kMiB, 0);
  Feed(kMiB, absl::Milliseconds(100), absl::Seconds(20));  // 10 MiB/s.
  Feed(kMiB, absl::Milliseconds(500), absl::Seconds(10));  // 2 MiB/s.
  EXPECT_THAT(Line(), HasSubstr(" 2.0 MiB/s")) << Line();
}

TEST_F(ProgressTest, AStallIsVisibleAndHasNoEta) {
  meter_.StartFile("f", 300 * kMiB, 0);
  Feed(kMiB, absl::Milliseconds(100), absl::Seconds(5));
  Advance(absl::Seconds(9));
  const std::string line = Line();
  EXPECT_THAT(line, HasSubstr("stalled 9s")) << line;
  EXPECT_THAT(line, Not(HasSubstr("ETA"))) << line;
  EXPECT_THAT(line, Not(HasSubstr("MiB/s"))) << line;
  // A connection that sends nothing from the start stalls too.
  ProgressMeter idle([this] { return now_; });
  idle.StartFile("g", 10, 0);
  Advance(absl::Seconds(4));
  EXPECT_THAT(RenderProgressLine(idle.Snapshot(), now_, 80, true),
              HasSubstr("stalled 4s"));
}

TEST_F(ProgressTest, PercentageReaches100OnlyWhenComplete) {
  meter_.StartFile("f", 1000, 0);
  meter_.Add(999);
  EXPECT_THAT(Line(), HasSubstr(" 99% ")) << Line();
  meter_.Add(1);
  EXPECT_THAT(Line(), HasSubstr(" 100% ")) << Line();
}

TEST_F(ProgressTest, TheFinalLineIs100PercentWithTheAverageRateAndNoEta) {
  meter_.StartFile("f", 300 * kMiB, 0);
  Feed(30 * kMiB, absl::Seconds(1), absl::Seconds(10));
  meter_.FinishFile(true);
  meter_.Finish();
  const std::string line = Line();
  EXPECT_THAT(line, HasSubstr("100%  [")) << line;
  EXPECT_THAT(line, HasSubstr("300.0 MiB / 300.0 MiB")) << line;
  EXPECT_THAT(line, HasSubstr("30.0 MiB/s")) << line;
  EXPECT_THAT(line, HasSubstr("0:10")) << line;
  EXPECT_THAT(line, Not(HasSubstr("ETA"))) << line;
  EXPECT_THAT(line, Not(HasSubstr(">"))) << line;  // The bar is full.
}

TEST_F(ProgressTest, ResumedBytesCountTowardsTheTotalButNotTheRate) {
  meter_.StartFile("f", 200 * kMiB, 100 * kMiB);
  Feed(kMiB, absl::Milliseconds(100), absl::Seconds(5));  // 10 MiB/s.
  const std::string line = Line();
  EXPECT_THAT(line, HasSubstr("75%")) << line;
  EXPECT_THAT(line, HasSubstr("150.0 MiB / 200.0 MiB")) << line;
  EXPECT_THAT(line, HasSubstr("10.0 MiB/s")) << line;
  const TransferSummary summary = meter_.Summary();
  EXPECT_EQ(summary.bytes, 50 * kMiB);
  EXPECT_EQ(summary.resumed, 100 * kMiB);
}

TEST_F(ProgressTest, AFileFoundCompleteIsAFinal100PercentLine) {
  meter_.SkipFile("f", 156 * kMiB);
  meter_.Finish();
  EXPECT_THAT(Line(), HasSubstr("100%")) << Line();
  const TransferSummary summary = meter_.Summary();
  EXPECT_EQ(summary.files, 0);
  EXPECT_EQ(summary.skipped, 1);
  EXPECT_EQ(RenderSummary(summary),
            "0 B in 0.0 s, 0 files, 1 already complete");
}

TEST_F(ProgressTest, NeverWiderThanTheTerminalAndKeepsWhatMattersMost) {
  meter_.SetBatch(200, 300 * kMiB);
  meter_.StartFile("a-rather-long-file-name-that-takes-room.csv", 0, 0);
  Feed(kMiB, absl::Milliseconds(100), absl::Seconds(3));
  for (int width = 1; width <= 240; ++width) {
    const std::string line = Line(width);
    EXPECT_LE(Columns(line), static_cast<size_t>(std::max(width, 20) - 1))
        << width << ": " << line;
  }
  const std::string narrow = Line(32);
  EXPECT_THAT(narrow, HasSubstr("10%")) << narrow;
  EXPECT_THAT(narrow, HasSubstr("30.0 MiB / 300.0 MiB")) << narrow;
  const std::string wide = Line(200);
  EXPECT_THAT(wide, StartsWith("[0/200]  a-rather-long-file-name-tha...  10%"))
      << wide;
}

TEST_F(ProgressTest, TheBatchCountMovesAsFilesFinish) {
  meter_.SetBatch(3, std::nullopt);
  meter_.StartFile("a", 10, 0);
  meter_.Add(10);
  meter_.FinishFile(true);
  meter_.SkipFile("b", 5);
  const std::string line = Line(80, /*bar=*/true);
  EXPECT_THAT(line, StartsWith("[2/3]  b  15 B")) << line;
  EXPECT_THAT(line, Not(HasSubstr("%"))) << line;  // No total: no percentage,
  EXPECT_THAT(line, Not(HasSubstr("["
                                  "=")))
      << line;                                       // no bar,
  EXPECT_THAT(line, Not(HasSubstr("ETA"))) << line;  // no ETA.
}

TEST_F(ProgressTest, ANameFromTheServerIsEscaped) {
  meter_.StartFile("evil\x1b]0;pwned\x07.txt", 10, 0);
  const std::string line = Line();
  EXPECT_THAT(line, Not(HasSubstr("\x1b"))) << line;
  EXPECT_THAT(line, HasSubstr("evil\\x1b]0;pwned\\x07.txt")) << line;
}

TEST_F(ProgressTest, LineModeHasNoBar) {
  meter_.StartFile("f", 100, 0);
  meter_.Add(50);
  EXPECT_EQ(Line(200, /*bar=*/false).find('['), std::string::npos);
}

TEST(ProgressSummaryTest, OneLineWithRateFilesTlsAndResumedDataConnections) {
  TransferSummary s;
  s.bytes = 300 * kMiB;
  s.elapsed = absl::Milliseconds(1600);
  s.files = 1;
  s.tls_version = "TLSv1.3";
  s.data_connections = 3;
  s.data_resumed = 3;
  EXPECT_EQ(RenderSummary(s),
            "300.0 MiB in 1.6 s, 187.5 MiB/s, 1 file, TLS 1.3, 3/3 data "
            "connections resumed");
  s.files = 2;
  s.resumed = kMiB;
  s.data_connections = 1;
  s.data_resumed = 0;
  EXPECT_EQ(RenderSummary(s),
            "300.0 MiB in 1.6 s, 187.5 MiB/s, 2 files, 1.0 MiB resumed, TLS "
            "1.3, 0/1 data connection resumed");
}

TEST(FormatBytesTest, BinaryUnits) {
  EXPECT_EQ(FormatBytes(0), "0 B");
  EXPECT_EQ(FormatBytes(1023), "1023 B");
  EXPECT_EQ(FormatBytes(4096), "4.0 KiB");
  EXPECT_EQ(FormatBytes(300 * kMiB), "300.0 MiB");
  EXPECT_EQ(FormatBytes(uint64_t{5} << 40), "5.0 TiB");
}

TEST(RateWindowTest, FallsDuringAStallAndForgetsOldSamples) {
  RateWindow w(absl::Seconds(5));
  absl::Time t = absl::FromUnixSeconds(0);
  w.Reset(t, 0);
  for (int i = 1; i <= 100; ++i) w.Record(t + absl::Milliseconds(100 * i), i);
  // 10 bytes a second over the last 5 s.
  EXPECT_NEAR(w.BytesPerSecond(t + absl::Seconds(10)), 10.0, 0.5);
  // Nothing more for 5 s: the rate falls (the window still holds samples
  // from before the stall).
  EXPECT_LT(w.BytesPerSecond(t + absl::Seconds(15)), 5.0);
  EXPECT_EQ(RateWindow().BytesPerSecond(t), 0.0);
}

}  // namespace
}  // namespace tlsession::ftp
