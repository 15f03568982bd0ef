// FTPS transfers against a local vsftpd: our client with and without TLS
// session reuse on data connections, and curl doing the same work against
// the same server in the same run.
//
// ftps/{ours|curl}/{reuse|noreuse|default|fast}/{N}x4KiB  N small files over
//                                                         one control
//                                                         connection
// ftps/{ours|curl}/100MiB, ftps/ours/100MiB_nofsync      one large file
//
// Servers: vsftpd with require_ssl_reuse=YES (what users meet) and a second
// one with require_ssl_reuse=NO, so that "no reuse" can be measured at all.
// curl 7.88 stalls about 200 ms per file by default; --ignore-content-length
// is its fast configuration ("fast").
//
// Flags besides Google Benchmark's: --report_dir=DIR writes ftps.md,
// ftps.dat and ftps.svg; --smoke runs a small version once.
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "benchmarks/report.h"
#include "ftp_adapter/ftps_client.h"
#include "testbed/certs.h"
#include "testbed/ftp_servers.h"
#include "testbed/subprocess.h"
#include "tls/context.h"

namespace tlsession::bench {
namespace {

using testing::FtpServer;

struct World {
  std::unique_ptr<FtpServer> strict;   // require_ssl_reuse=YES
  std::unique_ptr<FtpServer> lenient;  // require_ssl_reuse=NO
  std::string ca_file;
  std::string work_dir;
  int small_files = 200;
  size_t big_size = 100u << 20;
  int curl_default_files = 20;  // curl's default stalls: fewer files.
};

World* world = nullptr;

double ThreadCpuSeconds() {
  rusage u;
  getrusage(RUSAGE_THREAD, &u);
  return u.ru_utime.tv_sec + u.ru_stime.tv_sec +
         (u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

std::string FileName(int i) { return absl::StrCat("f", i); }

void Counters(benchmark::State& state, double files, double bytes,
              double cpu_s) {
  state.counters["files_per_s"] =
      benchmark::Counter(files, benchmark::Counter::kIsRate);
  state.counters["MiB_per_s"] =
      benchmark::Counter(bytes / 1048576.0, benchmark::Counter::kIsRate);
  state.counters["cpu_ms_per_file"] =
      benchmark::Counter(1000 * cpu_s / std::max(files, 1.0));
}

// Our client: |files| downloads (or the big file) over one control
// connection.
void BM_Ours(benchmark::State& state, bool strict, bool reuse, bool big,
             bool tls12 = false, bool fsync = true) {
  FtpServer& server = strict ? *world->strict : *world->lenient;
  ContextOptions tls;
  tls.ca_file = world->ca_file;
  if (tls12) tls.max_version = TLS1_2_VERSION;
  auto ctx = Context::Create(tls);
  const std::string dir = testing::MakeTempDir();
  double files = 0, bytes = 0, cpu = 0;
  for (auto _ : state) {
    const double cpu0 = ThreadCpuSeconds();
    const absl::Time t0 = absl::Now();
    ftp::ClientOptions o;
    o.tls_context = *ctx;
    o.reuse_session = reuse;
    o.sync_downloads = fsync;
    auto client = ftp::FtpsClient::Connect("localhost", server.port(), o);
    if (!client.ok()) {
      state.SkipWithError(std::string(client.status().message()).c_str());
      return;
    }
    if (auto s = (*client)->Login(FtpServer::kUser, FtpServer::kPassword);
        !s.ok()) {
      state.SkipWithError(std::string(s.message()).c_str());
      return;
    }
    const int n = big ? 1 : world->small_files;
    for (int i = 0; i < n; ++i) {
      const std::string name = big ? "big.bin" : FileName(i);
      if (auto s = (*client)->DownloadFile(name, dir + "/" + name); !s.ok()) {
        state.SkipWithError(std::string(s.message()).c_str());
        return;
      }
    }
    (void)(*client)->Quit();
    for (const auto& d : (*client)->data_connections()) {
      if (d.session_reused != reuse) {
        state.SkipWithError(reuse ? "a data connection did not resume"
                                  : "a data connection resumed");
        return;
      }
    }
    state.SetIterationTime(absl::ToDoubleSeconds(absl::Now() - t0));
    cpu += ThreadCpuSeconds() - cpu0;
    files += n;
    bytes += big ? world->big_size : n * 4096.0;
  }
  Counters(state, files, bytes, cpu);
}

// curl downloading the same files in one invocation (one control
// connection), against the strict server.
void BM_Curl(benchmark::State& state, bool fast, bool big, bool tls12 = false) {
  FtpServer& server = *world->strict;
  const std::string dir = testing::MakeTempDir();
  const int n =
      big ? 1 : (fast ? world->small_files : world->curl_default_files);
  std::vector<std::string> argv = {
      "/usr/bin/curl",
      "-sS",
      "--fail",
      "--ssl-reqd",
      "--cacert",
      world->ca_file,
      "--user",
      absl::StrCat(FtpServer::kUser, ":", FtpServer::kPassword)};
  if (fast) argv.push_back("--ignore-content-length");
  if (tls12) {
    argv.push_back("--tls-max");
    argv.push_back("1.2");
  }
  for (int i = 0; i < n; ++i) {
    const std::string name = big ? "big.bin" : FileName(i);
    argv.push_back(absl::StrCat("ftp://localhost:", server.port(), "/", name));
    argv.push_back("-o");
    argv.push_back(dir + "/" + name);
  }
  double files = 0, bytes = 0, cpu = 0;
  for (auto _ : state) {
    const absl::Time t0 = absl::Now();
    auto child = testing::ChildProcess::Spawn(argv, dir + "/curl.log", false);
    if (!child.ok()) {
      state.SkipWithError("cannot run curl");
      return;
    }
    auto status = (*child)->Wait(absl::Minutes(10));
    if (!status.ok() || !WIFEXITED(*status) || WEXITSTATUS(*status) != 0) {
      state.SkipWithError(
          absl::StrCat("curl failed: ", (*child)->log()).c_str());
      return;
    }
    state.SetIterationTime(absl::ToDoubleSeconds(absl::Now() - t0));
    cpu += (*child)->cpu_seconds();
    files += n;
    bytes += big ? world->big_size : n * 4096.0;
  }
  Counters(state, files, bytes, cpu);
}

void RegisterAll(bool smoke) {
  const std::string n = absl::StrCat(world->small_files, "x4KiB");
  const std::string nd = absl::StrCat(world->curl_default_files, "x4KiB");
  auto reg = [&](const std::string& name, auto fn) {
    auto* b = benchmark::RegisterBenchmark(name.c_str(), fn);
    b->UseManualTime()->Unit(benchmark::kMillisecond);
    if (smoke) b->Iterations(1);
  };
  reg("ftps/ours/reuse/" + n,
      [](benchmark::State& s) { BM_Ours(s, true, true, false); });
  reg("ftps/ours/reuse_lenient/" + n,
      [](benchmark::State& s) { BM_Ours(s, false, true, false); });
  reg("ftps/ours/noreuse_lenient/" + n,
      [](benchmark::State& s) { BM_Ours(s, false, false, false); });
  reg("ftps/curl/fast/" + n,
      [](benchmark::State& s) { BM_Curl(s, true, false); });
  reg("ftps/ours/reuse_tls12/" + n,
      [](benchmark::State& s) { BM_Ours(s, true, true, false, true); });
  reg("ftps/curl/fast_tls12/" + n,
      [](benchmark::State& s) { BM_Curl(s, true, false, true); });
  reg("ftps/curl/default/" + nd,
      [](benchmark::State& s) { BM_Curl(s, false, false); });
  reg("ftps/ours/100MiB",
      [](benchmark::State& s) { BM_Ours(s, true, true, true); });
  reg("ftps/ours/100MiB_nofsync",
      [](benchmark::State& s) { BM_Ours(s, true, true, true, false, false); });
  reg("ftps/curl/100MiB", [](benchmark::State& s) { BM_Curl(s, true, true); });
}

void WriteReport(const std::map<std::string, Cell>& cells,
                 const std::string& dir) {
  const std::string n = absl::StrCat(world->small_files, "x4KiB");
  const std::string nd = absl::StrCat(world->curl_default_files, "x4KiB");
  auto v = [&](const std::string& name, const char* counter) -> double {
    auto it = cells.find(name);
    if (it == cells.end() || it->second.error) return 0;
    auto c = it->second.counters.find(counter);
    return c == it->second.counters.end() ? 0 : c->second;
  };
  struct Line {
    std::string name, label, plot_label;
  };
  const std::vector<Line> lines = {
      {"ftps/ours/reuse/" + n, "ours, reuse (require_ssl_reuse=YES)", "ours"},
      {"ftps/ours/reuse_lenient/" + n, "ours, reuse (require_ssl_reuse=NO)",
       "ours, lenient server"},
      {"ftps/ours/noreuse_lenient/" + n,
       "ours, no reuse (require_ssl_reuse=NO)", "ours, no reuse"},
      {"ftps/curl/fast/" + n, "curl --ignore-content-length", "curl fast"},
      {"ftps/ours/reuse_tls12/" + n, "ours, reuse, TLS 1.2", "ours TLS 1.2"},
      {"ftps/curl/fast_tls12/" + n,
       "curl --ignore-content-length --tls-max 1.2", "curl fast TLS 1.2"},
      {"ftps/curl/default/" + nd, "curl, default", "curl default"},
      {"ftps/ours/100MiB", "ours, one 100 MiB file (fsync, the default)", ""},
      {"ftps/ours/100MiB_nofsync", "ours, one 100 MiB file, --no-fsync", ""},
      {"ftps/curl/100MiB", "curl, one 100 MiB file", ""},
  };
  std::string md = absl::StrCat(
      "# FTPS transfers against vsftpd on loopback\n\nMachine: ",
      MachineDescription(), ". vsftpd 3.0.3, TLS 1.3, medians of ",
      cells.empty() ? 0 : cells.begin()->second.repetitions,
      " repetitions; spread = interquartile range / median.\n\n",
      "| run | files/s | MiB/s | CPU ms/file (client) | spread % |\n",
      "|---|---|---|---|---|\n");
  std::string dat = "# label files_per_s\n";
  for (const Line& l : lines) {
    auto it = cells.find(l.name);
    if (it == cells.end()) continue;
    if (it->second.error) {
      absl::StrAppend(&md, "| ", l.label,
                      " | FAILED: ", it->second.error_message, " | | | |\n");
      continue;
    }
    absl::StrAppend(&md, "| ", l.label, " | ", Fmt(v(l.name, "files_per_s")),
                    " | ", Fmt(v(l.name, "MiB_per_s")), " | ",
                    Fmt(v(l.name, "cpu_ms_per_file")), " | ",
                    Fmt(it->second.spread), " |\n");
    if (!absl::StrContains(l.name, "100MiB")) {
      absl::StrAppend(&dat, "\"", l.plot_label, "\" ", v(l.name, "files_per_s"),
                      "\n");
    }
  }
  auto ratio = [](double a, double b) { return b > 0 ? a / b : 0; };
  const double ours = v("ftps/ours/reuse/" + n, "files_per_s");
  const double fast13 = v("ftps/curl/fast/" + n, "files_per_s");
  const double fast12 = v("ftps/curl/fast_tls12/" + n, "files_per_s");
  const double ours12 = v("ftps/ours/reuse_tls12/" + n, "files_per_s");
  const double fast = std::max(fast13, fast12);  // curl at its fastest.
  const double slow = v("ftps/curl/default/" + nd, "files_per_s");
  const double reuse_l = v("ftps/ours/reuse_lenient/" + n, "files_per_s");
  const double noreuse = v("ftps/ours/noreuse_lenient/" + n, "files_per_s");
  const double big_ours = v("ftps/ours/100MiB", "MiB_per_s");
  const double big_nofsync = v("ftps/ours/100MiB_nofsync", "MiB_per_s");
  const double big_curl = v("ftps/curl/100MiB", "MiB_per_s");
  absl::StrAppend(
      &md, "\nRatios in this run:\n\n",
      "| ratio | value | floor |\n|---|---|---|\n",
      "| ours at its fastest / curl at its fastest, files/s | ",
      Fmt(ratio(std::max(ours, ours12), fast)), "x",
      ratio(std::max(ours, ours12), fast) >= 1.2 ? " ✓" : " ✗",
      " | 1.2x (aim 1.5x) |\n", "| ours / curl fast, both TLS 1.3, files/s | ",
      Fmt(ratio(ours, fast13)), "x", ratio(ours, fast13) >= 1.2 ? " ✓" : " ✗",
      " | 1.2x |\n", "| ours / curl fast, both TLS 1.2, files/s | ",
      Fmt(ratio(ours12, fast12)), "x",
      ratio(ours12, fast12) >= 1.2 ? " ✓" : " ✗", " | 1.2x |\n",
      "| ours TLS 1.3 / curl fast TLS 1.2, files/s | ",
      Fmt(ratio(ours, fast12)),
      "x | (TLS 1.3 resumption costs an ECDHE per data connection) |\n",
      "| ours / curl default, files/s | ", Fmt(ratio(ours, slow)),
      "x | (what users meet) |\n",
      "| reuse / no reuse, same lenient server, files/s | ",
      Fmt(ratio(reuse_l, noreuse)), "x | (reported) |\n",
      "| ours --no-fsync / curl, 100 MiB MiB/s (the same work: neither "
      "fsyncs) | ",
      Fmt(ratio(big_nofsync, big_curl)), "x",
      ratio(big_nofsync, big_curl) >= 0.95 ? " ✓" : " ✗", " | 0.95x |\n",
      "| ours (fsync, the default) / curl, 100 MiB MiB/s | ",
      Fmt(ratio(big_ours, big_curl)),
      "x | (reported: ours also waits for the disk) |\n",
      "\n![files per second](ftps.svg)\n");
  WriteText(dir + "/ftps.md", md);
  WriteText(dir + "/ftps.dat", dat);
  WriteText(dir + "/ftps.gp",
            absl::StrCat(
                "set terminal svg size 900,420 font 'sans,11' noenhanced\n",
                "set output 'ftps.svg'\n",
                "set title 'Small FTPS downloads per second over one control "
                "connection (higher is better)'\n",
                "set style data histograms\nset style fill solid 0.8 "
                "border -1\nset boxwidth 0.7\nset logscale y\n",
                "set ylabel 'files/s'\nset grid y\nset xtics rotate by -15\n",
                "unset key\nplot 'ftps.dat' using 2:xtic(1)\n"));
  RunGnuplot(dir, "ftps.gp");
}

}  // namespace
}  // namespace tlsession::bench

int main(int argc, char** argv) {
  using namespace tlsession;
  bench::SuiteFlags flags;
  if (!bench::ParseSuiteFlags(&argc, argv, &flags)) return 2;
  const bool smoke = flags.smoke;
  bench::World w;
  if (smoke) {
    w.small_files = 10;
    w.big_size = 1u << 20;
    w.curl_default_files = 2;
  }
  testing::FtpServerOptions strict;
  testing::FtpServerOptions lenient;
  lenient.require_reuse = false;
  auto a = testing::FtpServer::Start(strict);
  auto b = testing::FtpServer::Start(lenient);
  if (!a.ok() || !b.ok()) {
    fprintf(stderr, "cannot start vsftpd: %s\n",
            (!a.ok() ? a.status() : b.status()).ToString().c_str());
    return 1;
  }
  w.strict = std::move(*a);
  w.lenient = std::move(*b);
  w.work_dir = testing::MakeTempDir();
  w.ca_file = w.work_dir + "/ca.pem";
  testing::WriteFileOrDie(w.ca_file, w.strict->ca_pem());
  for (testing::FtpServer* s : {w.strict.get(), w.lenient.get()}) {
    for (int i = 0; i < w.small_files; ++i) {
      s->PutFile(bench::FileName(i),
                 std::string(4096, static_cast<char>('a' + i % 26)));
    }
  }
  std::string big(w.big_size, '\0');
  for (size_t i = 0; i < big.size(); ++i)
    big[i] = static_cast<char>(i * 2654435761u >> 13);
  w.strict->PutFile("big.bin", big);
  big.clear();
  big.shrink_to_fit();
  bench::world = &w;
  bench::RegisterAll(smoke);
  const int code = bench::RunSuite(flags, bench::WriteReport);
  bench::world = nullptr;
  return code;
}
