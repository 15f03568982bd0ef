// Results that people can read: collects Google Benchmark runs while the
// console shows them, reduces each benchmark's repetitions to a median and a
// spread, and writes Markdown tables and gnuplot plots.
#ifndef TLSESSION_BENCHMARKS_REPORT_H_
#define TLSESSION_BENCHMARKS_REPORT_H_

#include <benchmark/benchmark.h>

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace tlsession::bench {

// One benchmark's repetitions, reduced.
struct Cell {
  std::string name;
  int repetitions = 0;
  double cpu_s = 0;   // Median CPU seconds per iteration.
  double real_s = 0;  // Median wall seconds per iteration.
  double spread = 0;  // Interquartile range / median of the time, in %.
  std::map<std::string, double> counters;  // Medians.
  bool error = false;
  std::string error_message;
};

class CollectingReporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override;
  // Cells by benchmark name. A benchmark timed by the wall clock
  // (UseRealTime() or UseManualTime(): its run name carries a time type) has
  // its spread taken over real time; the others over CPU time.
  std::map<std::string, Cell> Cells() const;

 private:
  std::map<std::string, std::vector<Run>> runs_;
};

// The flags the suites take besides Google Benchmark's own.
struct SuiteFlags {
  std::string report_dir;  // --report_dir=DIR: write the report there.
  bool smoke = false;      // --smoke: a quick pass so the suite cannot rot.
  // --small_bench=PATH: another build of the same benchmark binary, measured
  // in this run beside this one (run.sh: BoringSSL with -DOPENSSL_SMALL).
  std::string small_bench;
  // --measure=NAME: measure one operation for --measure_seconds of CPU time
  // (default 0.5), print "per_s=RATE" and exit. How a suite measures this
  // build and the --small_bench one alike, each in a process of its own.
  std::string measure;
  double measure_seconds = 0.5;
};
// Initializes Google Benchmark and parses the rest of argv; false (after a
// message on stderr) on an unknown flag.
bool ParseSuiteFlags(int* argc, char** argv, SuiteFlags* flags);

// Runs the registered benchmarks, passes the cells to |write_report| when a
// report folder was asked for, and returns the process's exit code: 1 if a
// benchmark failed (a resumed cell that did not resume, say), 0 otherwise.
int RunSuite(const SuiteFlags& flags,
             void (*write_report)(const std::map<std::string, Cell>&,
                                  const std::string& dir));

// Calls |op| until it has used |seconds| of this thread's CPU time and
// returns its calls per CPU second (OpenSSL's `speed` also divides by CPU
// time); an error as soon as |op| returns false.
absl::StatusOr<double> MeasureRate(const std::function<bool()>& op,
                                   double seconds);

// What --measure prints for |rate| ("per_s=RATE" on stdout, or the error on
// stderr); returns the process's exit code.
int PrintMeasurement(const absl::StatusOr<double>& rate);

// Runs `binary --measure=NAME --measure_seconds=SECONDS` and returns the rate
// it printed; an error quoting its output when it failed.
absl::StatusOr<double> MeasureInChild(const std::string& binary,
                                      const std::string& name, double seconds);

// This process's executable (/proc/self/exe, resolved), for MeasureInChild.
std::string SelfPath();

// Runs |argv| to its end (killed after |timeout|) and returns what it wrote
// to stdout and stderr together; an error naming the command when it could
// not start, timed out or did not exit with status 0.
absl::StatusOr<std::string> RunForOutput(const std::vector<std::string>& argv,
                                         absl::Duration timeout);

// Writes |text| to |path|; false on failure.
bool WriteText(const std::string& path, const std::string& text);

// Runs gnuplot on |script| inside |dir| (scripts name their files relative
// to it) if gnuplot is installed; false otherwise.
bool RunGnuplot(const std::string& dir, const std::string& script);

// "1.23", "12.3", "123" (three significant digits).
std::string Fmt(double v);

// A one-line description of this machine (CPU model, cores, kernel).
std::string MachineDescription();

}  // namespace tlsession::bench

#endif  // TLSESSION_BENCHMARKS_REPORT_H_
