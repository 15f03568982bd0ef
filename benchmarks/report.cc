#include "benchmarks/report.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"

namespace tlsession::bench {
namespace {

double Median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
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
    if (a.rfind("--report_dir=", 0) == 0) {
      flags->report_dir = a.substr(sizeof("--report_dir=") - 1);
    } else if (a == "--smoke") {
      flags->smoke = true;
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
      cpu = std::string(absl::StripAsciiWhitespace(line.substr(line.find(':') + 1)));
      break;
    }
  }
  utsname u;
  uname(&u);
  return absl::StrCat(cpu, ", ", sysconf(_SC_NPROCESSORS_ONLN), " cores, Linux ",
                      u.release);
}

}  // namespace tlsession::bench
