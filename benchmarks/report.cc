#include "benchmarks/report.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "testbed/subprocess.h"

namespace tlsession::bench {
namespace {

double Median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// CPU time used so far by the calling thread.
double ThreadCpuSeconds() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

// Whether |s| starts with |prefix|; if so, |rest| gets what follows it.
bool StartsWith(const std::string& s, const char* prefix, std::string* rest) {
  const size_t n = strlen(prefix);
  if (s.compare(0, n, prefix) != 0) return false;
  *rest = s.substr(n);
  return true;
}

}  // namespace

void CollectingReporter::ReportRuns(const std::vector<Run>& runs) {
  ConsoleReporter::ReportRuns(runs);
  for (const Run& r : runs) {
    if (r.run_type != Run::RT_Iteration) continue;
    runs_[r.run_name.function_name].push_back(r);
  }
}

std::map<std::string, Cell> CollectingReporter::Cells() const {
  std::map<std::string, Cell> cells;
  for (const auto& [name, runs] : runs_) {
    Cell c;
    c.name = name;
    c.repetitions = static_cast<int>(runs.size());
    std::vector<double> cpu, real;
    std::map<std::string, std::vector<double>> counters;
    for (const Run& r : runs) {
      if (r.error_occurred) {
        c.error = true;
        c.error_message = r.error_message;
        continue;
      }
      const double it = static_cast<double>(std::max<int64_t>(r.iterations, 1));
      cpu.push_back(r.cpu_accumulated_time / it);
      real.push_back(r.real_accumulated_time / it);
      for (const auto& [k, counter] : r.counters) {
        // Already finished (rates divided by time, averages by iterations)
        // by the library before reporting.
        const double v = counter.value;
        counters[k].push_back(v);
      }
    }
    c.cpu_s = Median(cpu);
    c.real_s = Median(real);
    const bool real_time = !runs.empty() && !runs[0].run_name.time_type.empty();
    const std::vector<double>& t = real_time ? real : cpu;
    if (!t.empty()) {
      // Interquartile range over the median: robust to the odd stalled
      // repetition on a shared machine.
      std::vector<double> sorted = t;
      std::sort(sorted.begin(), sorted.end());
      const double q1 = sorted[sorted.size() / 4];
      const double q3 = sorted[(sorted.size() * 3) / 4];
      const double m = Median(t);
      c.spread = m > 0 ? 100.0 * (q3 - q1) / m : 0;
    }
    for (auto& [k, v] : counters) c.counters[k] = Median(v);
    cells[name] = c;
  }
  return cells;
}

bool ParseSuiteFlags(int* argc, char** argv, SuiteFlags* flags) {
  benchmark::Initialize(argc, argv);
  for (int i = 1; i < *argc; ++i) {
    const std::string a = argv[i];
    std::string v;
    if (StartsWith(a, "--report_dir=", &v)) {
      flags->report_dir = v;
    } else if (a == "--smoke") {
      flags->smoke = true;
    } else if (StartsWith(a, "--small_bench=", &v)) {
      flags->small_bench = v;
    } else if (StartsWith(a, "--measure=", &v)) {
      flags->measure = v;
    } else if (StartsWith(a, "--measure_seconds=", &v)) {
      if (!absl::SimpleAtod(v, &flags->measure_seconds) ||
          !(flags->measure_seconds > 0)) {
        fprintf(stderr, "--measure_seconds wants a positive number\n");
        return false;
      }
    } else {
      fprintf(stderr, "unknown flag %s\n", a.c_str());
      return false;
    }
  }
  return true;
}

int RunSuite(const SuiteFlags& flags,
             void (*write_report)(const std::map<std::string, Cell>&,
                                  const std::string& dir)) {
  CollectingReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  const std::map<std::string, Cell> cells = reporter.Cells();
  int failed = 0;
  for (const auto& [name, cell] : cells) failed += cell.error;
  if (!flags.report_dir.empty()) write_report(cells, flags.report_dir);
  if (failed) {
    fprintf(stderr, "%d benchmark(s) failed\n", failed);
    return 1;
  }
  return cells.empty() ? 1 : 0;
}

absl::StatusOr<double> MeasureRate(const std::function<bool()>& op,
                                   double seconds) {
  if (!op()) return absl::InternalError("the operation failed");  // Warm up.
  const double t0 = ThreadCpuSeconds();
  double t = t0;
  uint64_t n = 0;
  // Batches between clock reads keep the clock out of fast operations.
  for (uint64_t batch = 1; t - t0 < seconds;
       batch = std::min<uint64_t>(batch * 2, 1024)) {
    for (uint64_t i = 0; i < batch; ++i) {
      if (!op()) return absl::InternalError("the operation failed");
    }
    n += batch;
    t = ThreadCpuSeconds();
  }
  return n / (t - t0);
}

int PrintMeasurement(const absl::StatusOr<double>& rate) {
  if (!rate.ok()) {
    fprintf(stderr, "measurement failed: %s\n",
            std::string(rate.status().message()).c_str());
    return 1;
  }
  printf("per_s=%.6g\n", *rate);
  return 0;
}

absl::StatusOr<double> MeasureInChild(const std::string& binary,
                                      const std::string& name, double seconds) {
  absl::StatusOr<std::string> out =
      RunForOutput({binary, absl::StrCat("--measure=", name),
                    absl::StrCat("--measure_seconds=", seconds)},
                   absl::Seconds(60 + 10 * seconds));
  if (!out.ok()) return out.status();
  for (absl::string_view line : absl::StrSplit(*out, '\n')) {
    double rate = 0;
    if (absl::ConsumePrefix(&line, "per_s=") && absl::SimpleAtod(line, &rate) &&
        rate > 0) {
      return rate;
    }
  }
  return absl::InternalError(
      absl::StrCat(binary, " --measure=", name, " printed no rate: ", *out));
}

std::string SelfPath() {
  char buf[PATH_MAX];
  const ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  return n > 0 ? std::string(buf, n) : "/proc/self/exe";
}

absl::StatusOr<std::string> RunForOutput(const std::vector<std::string>& argv,
                                         absl::Duration timeout) {
  const std::string command = absl::StrJoin(argv, " ");
  char dir_template[] = "/tmp/tlsession-bench.XXXXXX";
  if (mkdtemp(dir_template) == nullptr) {
    return absl::InternalError("cannot make a temporary folder");
  }
  const std::string dir = dir_template;
  const std::string log_path = dir + "/output";
  absl::StatusOr<std::string> result;
  {
    auto child = testing::ChildProcess::Spawn(argv, log_path, false);
    if (!child.ok()) {
      result = absl::InternalError(
          absl::StrCat("cannot run ", command, ": ", child.status().message()));
    } else {
      absl::StatusOr<int> status = (*child)->Wait(timeout);
      if (!status.ok()) {
        result = absl::DeadlineExceededError(absl::StrCat(
            command, " did not finish within ", absl::FormatDuration(timeout)));
      } else if (!WIFEXITED(*status) || WEXITSTATUS(*status) != 0) {
        result = absl::InternalError(absl::StrCat(
            command, " failed (", testing::DescribeWaitStatus(*status),
            "): ", (*child)->log()));
      } else {
        result = (*child)->log();
      }
    }
  }  // The child is reaped (killed first if still running) here.
  unlink(log_path.c_str());
  rmdir(dir.c_str());
  return result;
}

bool WriteText(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::trunc);
  out << text;
  return out.good();
}

bool RunGnuplot(const std::string& dir, const std::string& script) {
  if (access("/usr/bin/gnuplot", X_OK) != 0) return false;
  const std::string cmd =
      absl::StrCat("cd '", dir, "' && /usr/bin/gnuplot '", script, "'");
  return system(cmd.c_str()) == 0;
}

std::string Fmt(double v) {
  if (v >= 100) return absl::StrFormat("%.0f", v);
  if (v >= 10) return absl::StrFormat("%.1f", v);
  return absl::StrFormat("%.2f", v);
}

std::string MachineDescription() {
  std::string cpu = "unknown CPU";
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) == 0) {
      cpu = std::string(
          absl::StripAsciiWhitespace(line.substr(line.find(':') + 1)));
      break;
    }
  }
  utsname u;
  uname(&u);
  return absl::StrCat(cpu, ", ", sysconf(_SC_NPROCESSORS_ONLN),
                      " cores, Linux ", u.release);
}

}  // namespace tlsession::bench
