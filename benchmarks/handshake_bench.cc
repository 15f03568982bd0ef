// Full against resumed TLS handshakes, library against raw BoringSSL.
//
// handshake/{lib|raw}/{memory|tcp}/{tls12_sid|tls12_ticket|tls13}/
//           {ecdsa|rsa}/{full|resumed}
// handshake/paired/memory/...: library and raw handshakes alternating in one
//           loop, for the overhead ratios that the floors are checked on.
//
// memory: a BIO pair in one thread, the cost of the handshake itself; the
// raw baseline drives BoringSSL directly over the same transport, so the
// library's overhead is a ratio within one run. tcp: 127.0.0.1 with the
// server on another thread, what a user sees (wall time). The client
// verifies the server's certificate in every cell. A resumed cell in which a
// handshake did not resume fails instead of reporting a fast number.
//
// handshake/build/{this|small}/memory/{tls12_sid|tls12_ticket|tls13}/ecdsa/full
//           with --small_bench=PATH (another build of this binary; run.sh:
//           BoringSSL with -DOPENSSL_SMALL, as Debian ships it): library
//           handshakes in memory, each repetition a child process of either
//           build (--measure), so that the two builds are measured alike and
//           back to back.
//
// handshake/rtt20ms/tls13/ecdsa/{full|resumed|early}: time to the first
//           response byte through a relay with a 20 ms round trip, full,
//           resumed, and 0-RTT (benchmarks/rtt_cells.h).
//
// Flags besides Google Benchmark's: --report_dir=DIR writes handshake.md,
// handshake.dat and handshake.svg there; --smoke runs each cell briefly;
// --measure=MODE/KEY/KIND measures library handshakes in memory in this
// process and prints their rate.
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <time.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "benchmarks/report.h"
#include "benchmarks/rtt_cells.h"
#include "testbed/certs.h"
#include "tls/connection.h"
#include "tls/context.h"
#include "tls/socket.h"

namespace tlsession::bench {
namespace {

using testing::KeyType;

enum class Mode { kTls12Sid, kTls12Ticket, kTls13 };
const char* ModeName(Mode m) {
  return m == Mode::kTls12Sid      ? "tls12_sid"
         : m == Mode::kTls12Ticket ? "tls12_ticket"
                                   : "tls13";
}

struct Setup {
  std::shared_ptr<const Context> lib_server;
  std::shared_ptr<const Context> lib_client;
  bssl::UniquePtr<SSL_CTX> raw_server;
  bssl::UniquePtr<SSL_CTX> raw_client;
};

ContextOptions LibServerOptions(Mode mode, KeyType key) {
  const testing::TestPki& pki = testing::GetTestPki(key);
  ContextOptions o;
  o.role = Role::kServer;
  o.certificate_chain_pem = pki.server.cert_pem;
  o.private_key_pem = pki.server.key_pem;
  if (mode != Mode::kTls13) o.max_version = TLS1_2_VERSION;
  if (mode == Mode::kTls12Sid) o.session_tickets = false;
  if (mode == Mode::kTls12Ticket) o.session_id_cache = false;
  return o;
}

// The same configuration, set up with BoringSSL's API directly.
bssl::UniquePtr<SSL_CTX> RawServer(Mode mode, KeyType key) {
  const testing::TestPki& pki = testing::GetTestPki(key);
  bssl::UniquePtr<SSL_CTX> ctx(SSL_CTX_new(TLS_method()));
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
  SSL_CTX_set_max_proto_version(
      ctx.get(), mode == Mode::kTls13 ? TLS1_3_VERSION : TLS1_2_VERSION);
  SSL_CTX_set_strict_cipher_list(ctx.get(),
                                 std::string(kDefaultCipherList).c_str());
  SSL_CTX_set1_curves_list(ctx.get(), "X25519:P-256:P-384");
  SSL_CTX_use_certificate(ctx.get(), pki.server.cert.get());
  SSL_CTX_use_PrivateKey(ctx.get(), pki.server.key.get());
  static const uint8_t kSidCtx[] = "raw";
  SSL_CTX_set_session_id_context(ctx.get(), kSidCtx, sizeof(kSidCtx));
  SSL_CTX_set_session_cache_mode(ctx.get(), mode == Mode::kTls12Ticket
                                                ? SSL_SESS_CACHE_OFF
                                                : SSL_SESS_CACHE_SERVER);
  if (mode == Mode::kTls12Sid) SSL_CTX_set_options(ctx.get(), SSL_OP_NO_TICKET);
  return ctx;
}

// The newest session the raw client received (TLS 1.3 tickets arrive after
// the handshake and only reach the application through this callback).
thread_local bssl::UniquePtr<SSL_SESSION> raw_latest_session;
int RawNewSession(SSL*, SSL_SESSION* session) {
  raw_latest_session.reset(session);
  return 1;
}

bssl::UniquePtr<SSL_CTX> RawClient(KeyType key) {
  bssl::UniquePtr<SSL_CTX> ctx(SSL_CTX_new(TLS_method()));
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
  SSL_CTX_set_max_proto_version(ctx.get(), TLS1_3_VERSION);
  SSL_CTX_set_strict_cipher_list(ctx.get(),
                                 std::string(kDefaultCipherList).c_str());
  SSL_CTX_set1_curves_list(ctx.get(), "X25519:P-256:P-384");
  X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx.get()),
                      testing::GetTestPki(key).ca.cert.get());
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
  SSL_CTX_set_session_cache_mode(
      ctx.get(), SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL);
  SSL_CTX_sess_set_new_cb(ctx.get(), RawNewSession);
  return ctx;
}

Setup MakeSetup(Mode mode, KeyType key) {
  Setup s;
  s.lib_server = *Context::Create(LibServerOptions(mode, key));
  ContextOptions client;
  client.ca_pem = testing::GetTestPki(key).ca.cert_pem;
  s.lib_client = *Context::Create(client);
  s.raw_server = RawServer(mode, key);
  s.raw_client = RawClient(key);
  return s;
}

// One library handshake over a fresh BIO pair. Returns whether it resumed,
// and the client's session (tickets read) when |want_session|.
struct LibResult {
  bool ok = false;
  bool resumed = false;
  uint64_t bytes = 0;
  Session session;
};

LibResult LibMemoryHandshake(const Setup& s, const Session& offer,
                             bool want_session) {
  LibResult r;
  BIO* c = nullptr;
  BIO* sv = nullptr;
  BIO_new_bio_pair(&c, 0, &sv, 0);
  bssl::UniquePtr<BIO> client_bio(c), server_bio(sv);
  BIO_up_ref(c);
  BIO_up_ref(sv);
  auto client = Connection::CreateOverBio(s.lib_client, std::move(client_bio),
                                          "localhost");
  auto server =
      Connection::CreateOverBio(s.lib_server, std::move(server_bio), "");
  if (!client.ok() || !server.ok()) return r;
  if (!offer.empty() && !(*client)->set_session(offer).ok()) return r;
  bool cd = false, sd = false;
  for (int i = 0; i < 16 && !(cd && sd); ++i) {
    auto a = (*client)->HandshakeStep();
    auto b = (*server)->HandshakeStep();
    if (!a.ok() || !b.ok()) return r;
    cd = *a;
    sd = *b;
  }
  r.ok = cd && sd;
  r.resumed = (*client)->session_reused();
  r.bytes = BIO_number_written(c) + BIO_number_written(sv);
  if (want_session) {
    (void)(*client)->ProcessPendingMessages();
    r.session = (*client)->session();
  }
  BIO_free(c);
  BIO_free(sv);
  return r;
}

struct RawResult {
  bool ok = false;
  bool resumed = false;
  uint64_t bytes = 0;
  bssl::UniquePtr<SSL_SESSION> session;
};

RawResult RawMemoryHandshake(const Setup& s, SSL_SESSION* offer,
                             bool want_session) {
  RawResult r;
  bssl::UniquePtr<SSL> client(SSL_new(s.raw_client.get()));
  bssl::UniquePtr<SSL> server(SSL_new(s.raw_server.get()));
  SSL_set_connect_state(client.get());
  SSL_set_accept_state(server.get());
  SSL_set_tlsext_host_name(client.get(), "localhost");
  SSL_set1_host(client.get(), "localhost");
  if (offer) SSL_set_session(client.get(), offer);
  BIO* c = nullptr;
  BIO* sv = nullptr;
  BIO_new_bio_pair(&c, 0, &sv, 0);
  SSL_set_bio(client.get(), c, c);
  SSL_set_bio(server.get(), sv, sv);
  bool cd = false, sd = false;
  for (int i = 0; i < 16 && !(cd && sd); ++i) {
    int a = SSL_do_handshake(client.get());
    if (a <= 0 && SSL_get_error(client.get(), a) != SSL_ERROR_WANT_READ) break;
    int b = SSL_do_handshake(server.get());
    if (b <= 0 && SSL_get_error(server.get(), b) != SSL_ERROR_WANT_READ) break;
    cd = a > 0;
    sd = b > 0;
    if (sd && SSL_version(server.get()) >= TLS1_3_VERSION) {
      SSL_write(server.get(), "", 0);  // Flush tickets, as the library does.
    }
  }
  r.ok = cd && sd;
  r.resumed = SSL_session_reused(client.get());
  r.bytes = BIO_number_written(c) + BIO_number_written(sv);
  if (want_session) {
    char byte;
    SSL_peek(client.get(), &byte, 1);  // Process tickets.
    ERR_clear_error();
    r.session = std::move(raw_latest_session);
  }
  return r;
}

void Finish(benchmark::State& state, uint64_t handshakes, uint64_t bytes,
            uint64_t resumed, bool want_resumed) {
  state.counters["handshakes_per_s"] = benchmark::Counter(
      static_cast<double>(handshakes), benchmark::Counter::kIsRate);
  state.counters["wire_bytes"] = benchmark::Counter(
      static_cast<double>(bytes) / std::max<uint64_t>(handshakes, 1));
  state.counters["all_resumed"] = want_resumed && resumed == handshakes ? 1 : 0;
}

void BM_LibMemory(benchmark::State& state, Mode mode, KeyType key,
                  bool resumed) {
  Setup s = MakeSetup(mode, key);
  Session offer;
  if (resumed) {
    LibResult first = LibMemoryHandshake(s, Session(), true);
    if (!first.ok || !first.session.is_resumable()) {
      state.SkipWithError("could not get a resumable session");
      return;
    }
    offer = first.session;
  }
  uint64_t n = 0, bytes = 0, reused = 0;
  for (auto _ : state) {
    LibResult r = LibMemoryHandshake(s, offer, false);
    if (!r.ok) {
      state.SkipWithError("handshake failed");
      return;
    }
    if (resumed && !r.resumed) {
      state.SkipWithError("a handshake did not resume");
      return;
    }
    ++n;
    bytes += r.bytes;
    reused += r.resumed;
  }
  Finish(state, n, bytes, reused, resumed);
}

void BM_RawMemory(benchmark::State& state, Mode mode, KeyType key,
                  bool resumed) {
  Setup s = MakeSetup(mode, key);
  bssl::UniquePtr<SSL_SESSION> offer;
  if (resumed) {
    RawResult first = RawMemoryHandshake(s, nullptr, true);
    if (!first.ok || !first.session ||
        !SSL_SESSION_is_resumable(first.session.get())) {
      state.SkipWithError("could not get a resumable session");
      return;
    }
    offer = std::move(first.session);
  }
  uint64_t n = 0, bytes = 0, reused = 0;
  for (auto _ : state) {
    RawResult r = RawMemoryHandshake(s, offer.get(), false);
    if (!r.ok) {
      state.SkipWithError("handshake failed");
      return;
    }
    if (resumed && !r.resumed) {
      state.SkipWithError("a handshake did not resume");
      return;
    }
    ++n;
    bytes += r.bytes;
    reused += r.resumed;
  }
  Finish(state, n, bytes, reused, resumed);
}

double ThreadCpuSeconds() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

// The library and raw BoringSSL in alternation, one handshake each per
// iteration (the order swapped every iteration), each timed by the thread's
// CPU clock: the overhead ratio then compares handshakes made moments apart,
// which a shared, noisy machine cannot skew the way it skews cells measured
// at different times.
void BM_Paired(benchmark::State& state, Mode mode, KeyType key, bool resumed) {
  Setup s = MakeSetup(mode, key);
  Session lib_offer;
  bssl::UniquePtr<SSL_SESSION> raw_offer;
  if (resumed) {
    LibResult a = LibMemoryHandshake(s, Session(), true);
    RawResult b = RawMemoryHandshake(s, nullptr, true);
    if (!a.ok || !a.session.is_resumable() || !b.ok || !b.session) {
      state.SkipWithError("could not get resumable sessions");
      return;
    }
    lib_offer = a.session;
    raw_offer = std::move(b.session);
  }
  double lib_s = 0, raw_s = 0;
  uint64_t n = 0;
  for (auto _ : state) {
    double lib_t = 0, raw_t = 0;
    bool ok = true, all_resumed = true;
    for (int order = 0; order < 2; ++order) {
      const bool lib_now = (order == 0) == (n % 2 == 0);
      const double t0 = ThreadCpuSeconds();
      if (lib_now) {
        LibResult r = LibMemoryHandshake(s, lib_offer, false);
        ok &= r.ok;
        all_resumed &= r.resumed;
        lib_t = ThreadCpuSeconds() - t0;
      } else {
        RawResult r = RawMemoryHandshake(s, raw_offer.get(), false);
        ok &= r.ok;
        all_resumed &= r.resumed;
        raw_t = ThreadCpuSeconds() - t0;
      }
    }
    if (!ok) {
      state.SkipWithError("handshake failed");
      return;
    }
    if (resumed && !all_resumed) {
      state.SkipWithError("a handshake did not resume");
      return;
    }
    lib_s += lib_t;
    raw_s += raw_t;
    ++n;
  }
  state.counters["lib_us"] = lib_s / std::max<uint64_t>(n, 1) * 1e6;
  state.counters["raw_us"] = raw_s / std::max<uint64_t>(n, 1) * 1e6;
  state.counters["lib_over_raw"] = raw_s > 0 ? lib_s / raw_s : 0;
}

// A library server on 127.0.0.1 handshaking every connection it accepts.
class TcpServer {
 public:
  explicit TcpServer(std::shared_ptr<const Context> ctx)
      : ctx_(std::move(ctx)),
        listener_(*TcpListener::Listen("127.0.0.1", 0, 512)) {
    thread_ = std::thread([this] {
      while (!stop_) {
        auto fd = listener_.Accept(absl::Milliseconds(20));
        if (!fd.ok()) continue;
        auto conn = Connection::Create(ctx_, std::move(*fd), "");
        if (!conn.ok()) continue;
        (*conn)->set_timeout(absl::Seconds(5));
        if (!(*conn)->Handshake().ok()) continue;
        char buf[256];
        (void)(*conn)->Read(buf, sizeof(buf));  // Until the client closes.
      }
    });
  }
  ~TcpServer() {
    stop_ = true;
    thread_.join();
  }
  uint16_t port() const { return listener_.port(); }

 private:
  std::shared_ptr<const Context> ctx_;
  TcpListener listener_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

void BM_LibTcp(benchmark::State& state, Mode mode, KeyType key, bool resumed) {
  Setup s = MakeSetup(mode, key);
  TcpServer server(s.lib_server);
  Session offer;
  if (resumed) {
    auto first = Connection::Connect(s.lib_client, "localhost", server.port());
    if (!first.ok()) {
      state.SkipWithError("could not connect");
      return;
    }
    auto session = (*first)->WaitForSession(absl::Seconds(5));
    if (!session.ok()) {
      state.SkipWithError("could not get a resumable session");
      return;
    }
    offer = *session;
  }
  uint64_t n = 0, bytes = 0, reused = 0;
  for (auto _ : state) {
    auto conn =
        Connection::Connect(s.lib_client, "localhost", server.port(), offer);
    if (!conn.ok()) {
      state.SkipWithError(std::string(conn.status().message()).c_str());
      return;
    }
    if (resumed && !(*conn)->session_reused()) {
      state.SkipWithError("a handshake did not resume");
      return;
    }
    ++n;
    bytes += (*conn)->wire().bytes_read + (*conn)->wire().bytes_written;
    reused += (*conn)->session_reused();
  }
  Finish(state, n, bytes, reused, resumed);
}

// --measure=MODE/KEY/KIND (say tls13/ecdsa/full): library handshakes per
// CPU second in memory, in this process.
absl::StatusOr<double> MeasureHere(const std::string& cell, double seconds) {
  for (Mode mode : {Mode::kTls12Sid, Mode::kTls12Ticket, Mode::kTls13}) {
    for (KeyType key : {KeyType::kEcdsaP256, KeyType::kRsa2048}) {
      for (bool resumed : {false, true}) {
        if (cell != absl::StrCat(ModeName(mode), "/",
                                 key == KeyType::kEcdsaP256 ? "ecdsa" : "rsa",
                                 "/", resumed ? "resumed" : "full")) {
          continue;
        }
        Setup s = MakeSetup(mode, key);
        Session offer;
        if (resumed) {
          LibResult first = LibMemoryHandshake(s, Session(), true);
          if (!first.ok || !first.session.is_resumable()) {
            return absl::InternalError("could not get a resumable session");
          }
          offer = first.session;
        }
        return MeasureRate(
            [&] {
              LibResult r = LibMemoryHandshake(s, offer, false);
              return r.ok && r.resumed == resumed;
            },
            seconds);
      }
    }
  }
  return absl::InvalidArgumentError("unknown cell " + cell);
}

// The modes whose full ECDSA handshakes compare the two BoringSSL builds.
constexpr const char* kBuildCells[] = {
    "tls12_sid/ecdsa/full", "tls12_ticket/ecdsa/full", "tls13/ecdsa/full"};

// handshake/build/{this|small}/memory/CELL: |binary| --measure=CELL, once per
// repetition.
void BM_Build(benchmark::State& state, const std::string& binary,
              const std::string& cell, double seconds) {
  double rate = 0;
  for (auto _ : state) {
    absl::StatusOr<double> r = MeasureInChild(binary, cell, seconds);
    if (!r.ok()) {
      state.SkipWithError(std::string(r.status().message()).c_str());
      return;
    }
    rate = *r;
  }
  state.counters["handshakes_per_s"] = rate;
}

std::string CellName(const char* impl, const char* transport, Mode mode,
                     KeyType key, bool resumed) {
  return absl::StrCat("handshake/", impl, "/", transport, "/", ModeName(mode),
                      "/", key == KeyType::kEcdsaP256 ? "ecdsa" : "rsa", "/",
                      resumed ? "resumed" : "full");
}

// Registers every cell; the build comparison's when |flags| names a
// --small_bench.
void RegisterAll(const SuiteFlags& flags) {
  const bool smoke = flags.smoke;
  RegisterRttCells(smoke);
  if (!flags.small_bench.empty()) {
    const double seconds = smoke ? 0.01 : flags.measure_seconds;
    for (const char* cell : kBuildCells) {
      for (const std::string& build :
           {std::string("this"), std::string("small")}) {
        const std::string binary =
            build == "this" ? SelfPath() : flags.small_bench;
        const std::string c = cell;
        benchmark::RegisterBenchmark(
            absl::StrCat("handshake/build/", build, "/memory/", c).c_str(),
            [=](benchmark::State& st) { BM_Build(st, binary, c, seconds); })
            ->Iterations(1)
            ->Unit(benchmark::kMillisecond);
      }
    }
  }
  for (Mode mode : {Mode::kTls12Sid, Mode::kTls12Ticket, Mode::kTls13}) {
    for (KeyType key : {KeyType::kEcdsaP256, KeyType::kRsa2048}) {
      for (bool resumed : {false, true}) {
        auto* lib = benchmark::RegisterBenchmark(
            CellName("lib", "memory", mode, key, resumed).c_str(),
            [=](benchmark::State& st) {
              BM_LibMemory(st, mode, key, resumed);
            });
        auto* raw = benchmark::RegisterBenchmark(
            CellName("raw", "memory", mode, key, resumed).c_str(),
            [=](benchmark::State& st) {
              BM_RawMemory(st, mode, key, resumed);
            });
        auto* tcp = benchmark::RegisterBenchmark(
            CellName("lib", "tcp", mode, key, resumed).c_str(),
            [=](benchmark::State& st) { BM_LibTcp(st, mode, key, resumed); });
        tcp->UseRealTime();
        auto* paired = benchmark::RegisterBenchmark(
            CellName("paired", "memory", mode, key, resumed).c_str(),
            [=](benchmark::State& st) { BM_Paired(st, mode, key, resumed); });
        for (auto* b : {lib, raw, tcp, paired}) {
          b->Unit(benchmark::kMicrosecond);
          if (smoke) b->Iterations(3);
        }
      }
    }
  }
}

struct Row {
  std::string transport, mode, key;
};

void WriteReport(const std::map<std::string, Cell>& cells,
                 const std::string& dir) {
  auto get = [&](const std::string& name) -> const Cell* {
    auto it = cells.find(name);
    return it == cells.end() || it->second.error ? nullptr : &it->second;
  };
  std::string md = absl::StrCat(
      "# Handshakes: full against resumed\n\n",
      "Machine: ", MachineDescription(), ". Medians of ",
      cells.empty() ? 0 : cells.begin()->second.repetitions,
      " interleaved repetitions; spread = interquartile range / median.\n\n",
      "In memory (BIO pair, one thread), CPU time per handshake, each cell "
      "measured on its own:\n\n",
      "| cell | lib full µs | lib resumed µs | raw full µs | raw resumed µs "
      "| lib speedup | raw speedup | speedup lib/raw (floor 0.9) "
      "| overhead full (floor 1.05) | overhead resumed (floor 1.05) "
      "| bytes full / resumed | spread % |\n",
      "|---|---|---|---|---|---|---|---|---|---|---|---|\n");
  std::string dat = "# cell lib_full_hs_s lib_resumed_hs_s\n";
  std::string tcp_md =
      "\nOver TCP on 127.0.0.1 (library, wall time per connect + "
      "handshake):\n\n| cell | full µs | resumed µs | speedup | bytes full "
      "/ resumed | spread % |\n|---|---|---|---|---|---|\n";
  for (const char* mode : {"tls12_sid", "tls12_ticket", "tls13"}) {
    for (const char* key : {"ecdsa", "rsa"}) {
      const std::string cell = absl::StrCat(mode, "/", key);
      auto name = [&](const char* impl, const char* tr, const char* kind) {
        return absl::StrCat("handshake/", impl, "/", tr, "/", cell, "/", kind);
      };
      const Cell* lf = get(name("lib", "memory", "full"));
      const Cell* lr = get(name("lib", "memory", "resumed"));
      const Cell* rf = get(name("raw", "memory", "full"));
      const Cell* rr = get(name("raw", "memory", "resumed"));
      if (lf && lr && rf && rr) {
        const double ls = lf->cpu_s / lr->cpu_s, rs = rf->cpu_s / rr->cpu_s;
        const double speed_ratio = ls / rs;
        const double of = lf->cpu_s / rf->cpu_s, orr = lr->cpu_s / rr->cpu_s;
        const double spread =
            std::max({lf->spread, lr->spread, rf->spread, rr->spread});
        absl::StrAppend(
            &md, "| ", cell, " | ", Fmt(lf->cpu_s * 1e6), " | ",
            Fmt(lr->cpu_s * 1e6), " | ", Fmt(rf->cpu_s * 1e6), " | ",
            Fmt(rr->cpu_s * 1e6), " | ", Fmt(ls), "x | ", Fmt(rs), "x | ",
            Fmt(speed_ratio), speed_ratio >= 0.9 ? " ✓" : " ✗", " | ", Fmt(of),
            of <= 1.05 ? " ✓" : " ✗", " | ", Fmt(orr),
            orr <= 1.05 ? " ✓" : " ✗", " | ",
            absl::StrFormat("%.0f / %.0f", lf->counters.at("wire_bytes"),
                            lr->counters.at("wire_bytes")),
            " | ", Fmt(spread), " |\n");
        absl::StrAppend(&dat, cell, " ", 1 / lf->cpu_s, " ", 1 / lr->cpu_s,
                        "\n");
      } else {
        absl::StrAppend(&md, "| ", cell, " | missing or failed |\n");
      }
      const Cell* tf = get(name("lib", "tcp", "full"));
      const Cell* tr = get(name("lib", "tcp", "resumed"));
      if (tf && tr) {
        absl::StrAppend(
            &tcp_md, "| ", cell, " | ", Fmt(tf->real_s * 1e6), " | ",
            Fmt(tr->real_s * 1e6), " | ", Fmt(tf->real_s / tr->real_s), "x | ",
            absl::StrFormat("%.0f / %.0f", tf->counters.at("wire_bytes"),
                            tr->counters.at("wire_bytes")),
            " | ", Fmt(std::max(tf->spread, tr->spread)), " |\n");
      }
    }
  }
  // The floors, from the paired cells (library and raw handshakes made
  // alternately in one loop).
  absl::StrAppend(
      &md,
      "\nPaired (library and raw BoringSSL handshakes alternating in one "
      "loop, thread CPU time; the floors are checked here):\n\n"
      "| cell | lib full µs | raw full µs | overhead full (floor 1.05) | lib "
      "resumed µs | raw resumed µs | overhead resumed (floor 1.05) | speedup "
      "lib/raw (floor 0.9) |\n|---|---|---|---|---|---|---|---|\n");
  for (const char* mode : {"tls12_sid", "tls12_ticket", "tls13"}) {
    for (const char* key : {"ecdsa", "rsa"}) {
      const std::string cell = absl::StrCat(mode, "/", key);
      const Cell* pf =
          get(absl::StrCat("handshake/paired/memory/", cell, "/full"));
      const Cell* pr =
          get(absl::StrCat("handshake/paired/memory/", cell, "/resumed"));
      if (!pf || !pr) continue;
      const double lf = pf->counters.at("lib_us"),
                   rf = pf->counters.at("raw_us");
      const double lr = pr->counters.at("lib_us"),
                   rr = pr->counters.at("raw_us");
      const double of = pf->counters.at("lib_over_raw");
      const double orr = pr->counters.at("lib_over_raw");
      const double sp = (lf / lr) / (rf / rr);
      absl::StrAppend(&md, "| ", cell, " | ", Fmt(lf), " | ", Fmt(rf), " | ",
                      Fmt(of), of <= 1.05 ? " ✓" : " ✗", " | ", Fmt(lr), " | ",
                      Fmt(rr), " | ", Fmt(orr), orr <= 1.05 ? " ✓" : " ✗",
                      " | ", Fmt(sp), sp >= 0.9 ? " ✓" : " ✗", " |\n");
    }
  }
  // This BoringSSL build against the same source with -DOPENSSL_SMALL.
  bool has_build = false;
  std::string build_md =
      "\nThis BoringSSL build against the same source built with "
      "-DOPENSSL_SMALL (as Debian ships it), back to back: library, full "
      "ECDSA P-256 handshakes in memory, handshakes per CPU second, each "
      "repetition a process of its own:\n\n| cell | this build | "
      "OPENSSL_SMALL | speedup (floor 1.25x) |\n|---|---|---|---|\n";
  for (const char* cell : kBuildCells) {
    const Cell* a = get(absl::StrCat("handshake/build/this/memory/", cell));
    const Cell* b = get(absl::StrCat("handshake/build/small/memory/", cell));
    if (!a || !b) continue;
    has_build = true;
    const double x = a->counters.at("handshakes_per_s");
    const double y = b->counters.at("handshakes_per_s");
    absl::StrAppend(&build_md, "| ", cell, " | ", Fmt(x), "/s | ", Fmt(y),
                    "/s | ", Fmt(x / y), "x", x / y >= 1.25 ? " ✓" : " ✗",
                    " |\n");
  }
  if (has_build) md += build_md;
  for (const auto& [n, c] : cells) {
    if (c.error) absl::StrAppend(&md, "\nFAILED: ", n, ": ", c.error_message);
  }
  md += tcp_md;
  md += RttTable(cells);
  md += "\n![handshakes per second](handshake.svg)\n";
  WriteText(dir + "/handshake.md", md);
  WriteText(dir + "/handshake.dat", dat);
  WriteText(dir + "/handshake.gp",
            absl::StrCat(
                "set terminal svg size 900,420 font 'sans,11' noenhanced\n",
                "set output 'handshake.svg'\n",
                "set title 'tlsession: handshakes per second per core, in "
                "memory (higher is better)'\n",
                "set style data histograms\nset style histogram cluster "
                "gap 1\nset style fill solid 0.8 border -1\n",
                "set logscale y\nset ylabel 'handshakes/s'\nset grid y\n",
                "set xtics rotate by -20\nset key top left\n",
                "plot 'handshake.dat' using 2:xtic(1) title 'full', '' using 3 "
                "title 'resumed'\n"));
  RunGnuplot(dir, "handshake.gp");
}

}  // namespace
}  // namespace tlsession::bench

int main(int argc, char** argv) {
  tlsession::bench::SuiteFlags flags;
  if (!tlsession::bench::ParseSuiteFlags(&argc, argv, &flags)) return 2;
  if (!flags.measure.empty()) {
    return tlsession::bench::PrintMeasurement(
        tlsession::bench::MeasureHere(flags.measure, flags.measure_seconds));
  }
  tlsession::bench::RegisterAll(flags);
  return tlsession::bench::RunSuite(flags, tlsession::bench::WriteReport);
}
