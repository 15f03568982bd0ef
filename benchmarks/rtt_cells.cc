#include "benchmarks/rtt_cells.h"

#include <algorithm>
#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "benchmarks/delay_relay.h"
#include "testbed/certs.h"
#include "tls/connection.h"
#include "tls/context.h"
#include "tls/socket.h"

namespace tlsession::bench {
namespace {

constexpr absl::Duration kRtt = absl::Milliseconds(20);
constexpr char kRequest[] = "GET /index.html\r\n\r\n";  // 19 bytes.

enum class Kind { kFull, kResumed, kEarly };

const char* KindName(Kind k) {
  return k == Kind::kFull ? "full" : k == Kind::kResumed ? "resumed" : "early";
}

std::string RttCellName(Kind k) {
  return absl::StrCat("handshake/rtt", absl::ToInt64Milliseconds(kRtt),
                      "ms/tls13/ecdsa/", KindName(k));
}

// An echo server with early data on, a thread per connection (a connection
// the client dropped must not delay the next one's handshake).
class EchoServer {
 public:
  EchoServer()
      : listener_(*TcpListener::Listen("127.0.0.1", 0, 64)),
        thread_([this] { Accept(); }) {}
  ~EchoServer() {
    stop_ = true;
    thread_.join();
    std::lock_guard<std::mutex> lock(mu_);
    for (std::thread& t : served_) t.join();
  }
  uint16_t port() const { return listener_.port(); }

 private:
  static std::shared_ptr<const Context> MakeContext() {
    const testing::TestPki& pki = testing::GetTestPki();
    ContextOptions o;
    o.role = Role::kServer;
    o.certificate_chain_pem = pki.server.cert_pem;
    o.private_key_pem = pki.server.key_pem;
    o.early_data = true;
    return *Context::Create(o);
  }
  void Accept() {
    while (!stop_) {
      absl::StatusOr<OwnedFd> fd = listener_.Accept(absl::Milliseconds(20));
      if (!fd.ok()) continue;
      std::lock_guard<std::mutex> lock(mu_);
      served_.emplace_back(
          [this, fd = std::make_shared<OwnedFd>(*std::move(fd))]() mutable {
            Serve(std::move(*fd));
          });
    }
  }
  void Serve(OwnedFd fd) {
    auto conn = Connection::Create(context_, std::move(fd), "");
    if (!conn.ok()) return;
    (*conn)->set_timeout(absl::Seconds(5));
    char buf[1024];
    for (;;) {
      absl::StatusOr<size_t> n = (*conn)->Read(buf, sizeof(buf));
      if (!n.ok() || *n == 0) return;
      if (!(*conn)->Write(absl::string_view(buf, *n)).ok()) return;
    }
  }

  const std::shared_ptr<const Context> context_ = MakeContext();
  TcpListener listener_;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::vector<std::thread> served_;  // Guarded by mu_.
  std::thread thread_;               // Last: it uses the members above.
};

// One connection through |port| (the relay): connect, handshake, request,
// first byte of the response. Sets |*ttfb| and, when the server sent one,
// |*next| to a fresh ticket. An error when anything failed, or when |kind|
// is kEarly and the early data was not accepted.
absl::Status OneRequest(const std::shared_ptr<const Context>& client,
                        uint16_t port, Kind kind, const Session& offer,
                        absl::Duration* ttfb, Session* next) {
  const absl::Time start = absl::Now();
  absl::StatusOr<OwnedFd> fd = ConnectTcp("127.0.0.1", port, absl::Seconds(5));
  if (!fd.ok()) return fd.status();
  auto conn = Connection::Create(client, std::move(*fd), "localhost");
  if (!conn.ok()) return conn.status();
  if (!offer.empty()) {
    if (absl::Status s = (*conn)->set_session(offer); !s.ok()) return s;
  }
  absl::Status sent = kind == Kind::kEarly
                          ? (*conn)->HandshakeWithEarlyData(kRequest)
                          : (*conn)->Write(kRequest);
  if (!sent.ok()) return sent;
  char byte;
  absl::StatusOr<size_t> n = (*conn)->Read(&byte, 1);
  if (!n.ok()) return n.status();
  *ttfb = absl::Now() - start;
  if (kind != Kind::kFull && !(*conn)->session_reused()) {
    return absl::InternalError("a handshake did not resume");
  }
  if (kind == Kind::kEarly &&
      (*conn)->early_data().outcome != EarlyDataOutcome::kAccepted) {
    return absl::InternalError(absl::StrCat("early data not accepted: ",
                                            (*conn)->early_data().reason));
  }
  absl::StatusOr<Session> session = (*conn)->WaitForSession(absl::Seconds(5));
  if (session.ok()) *next = *session;
  return absl::OkStatus();
}

void BM_Rtt(benchmark::State& state, Kind kind) {
  EchoServer server;
  auto relay = DelayRelay::Start(server.port(), kRtt);
  if (!relay.ok()) {
    state.SkipWithError(std::string(relay.status().message()).c_str());
    return;
  }
  ContextOptions o;
  o.ca_pem = testing::GetTestPki().ca.cert_pem;
  o.early_data = kind == Kind::kEarly;
  auto client = *Context::Create(o);
  Session ticket;
  absl::Duration ignored;
  if (kind != Kind::kFull) {
    absl::Status s = OneRequest(client, (*relay)->port(), Kind::kFull,
                                Session(), &ignored, &ticket);
    if (!s.ok() || ticket.empty()) {
      state.SkipWithError(
          absl::StrCat("could not get a ticket: ", s.message()).c_str());
      return;
    }
  }
  double total_s = 0;
  uint64_t n = 0;
  for (auto _ : state) {
    absl::Duration ttfb;
    Session next;
    absl::Status s =
        OneRequest(client, (*relay)->port(), kind,
                   kind == Kind::kFull ? Session() : ticket, &ttfb, &next);
    if (!s.ok()) {
      state.SkipWithError(std::string(s.message()).c_str());
      return;
    }
    ticket = next;
    state.SetIterationTime(absl::ToDoubleSeconds(ttfb));
    total_s += absl::ToDoubleSeconds(ttfb);
    ++n;
  }
  state.counters["ttfb_ms"] = n ? total_s / n * 1e3 : 0;
  state.counters["rtt_ms"] = absl::ToDoubleMilliseconds(kRtt);
}

}  // namespace

void RegisterRttCells(bool smoke) {
  for (Kind kind : {Kind::kFull, Kind::kResumed, Kind::kEarly}) {
    benchmark::RegisterBenchmark(
        RttCellName(kind).c_str(),
        [kind](benchmark::State& st) { BM_Rtt(st, kind); })
        ->UseManualTime()
        ->Unit(benchmark::kMillisecond)
        ->Iterations(smoke ? 2 : 10);
  }
}

std::string RttTable(const std::map<std::string, Cell>& cells) {
  const Cell* c[3] = {};
  for (Kind kind : {Kind::kFull, Kind::kResumed, Kind::kEarly}) {
    auto it = cells.find(RttCellName(kind));
    if (it == cells.end() || it->second.error) return "";
    c[static_cast<int>(kind)] = &it->second;
  }
  const double full = c[0]->real_s * 1e3, resumed = c[1]->real_s * 1e3,
               early = c[2]->real_s * 1e3;
  return absl::StrCat(
      "\nTime to the first response byte over a ",
      absl::ToInt64Milliseconds(kRtt),
      " ms round trip (a user-space relay on 127.0.0.1 delaying each "
      "direction by 10 ms, and a new connection's first bytes by one more "
      "round trip for TCP's handshake), TLS 1.3, ECDSA P-256, median wall "
      "time; 0-RTT sends the request as early data on a fresh ticket:\n\n"
      "| full ms | resumed ms | 0-RTT ms | full / 0-RTT | resumed / 0-RTT | "
      "spread % |\n|---|---|---|---|---|---|\n| ",
      Fmt(full), " | ", Fmt(resumed), " | ", Fmt(early), " | ",
      Fmt(full / early), "x | ", Fmt(resumed / early), "x | ",
      Fmt(std::max({c[0]->spread, c[1]->spread, c[2]->spread})), " |\n");
}

}  // namespace tlsession::bench
