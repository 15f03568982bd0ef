// Resumption across a fleet: handshakes over TCP on 127.0.0.1 against
// in-process "instances" (each with its own Context, session store, Redis
// client and ticket-key sync, as separate processes would have), one real
// redis-server started by the suite.
//
// fleet/tls12_sid/{full_memory|full_redis|resumed_memory|resumed_redis|
//                  resumed_redis_lru}
//   full: no session offered (memory store, or the Redis store: its write
//   happens off the handshake's path). resumed_memory: resumed on the
//   instance that made the session. resumed_redis: resumed on another
//   instance whose in-process LRU is off, so that every handshake fetches
//   the session from Redis (one GET). resumed_redis_lru: the same with the
//   LRU on (a repeat hit costs no round trip).
// fleet/tls13/{full|resumed_shared_keys}: TLS 1.3 tickets under ticket keys
//   kept in step through Redis (TicketKeySync), resumed on another instance.
// fleet/paired/tls12_sid: a full handshake, a Redis-backed resumption (on
//   another instance, LRU off) and an in-memory resumption alternate in one
//   loop (taking turns in first place), each timed by the wall clock; the
//   medians of each kind are compared. The floors are checked on these.
// fleet/round_robin/{tls12_sid|tls13}/{shared|local}: a client going
//   round-robin over three instances, each connection offering the session
//   the previous one got (as behind a round-robin balancer): the resumption
//   rate with the shared store and keys, and with each instance on its own.
// fleet/early_claim/{memory|redis}: the server's cost of 0-RTT's single-use
//   check, per claim (benchmarks/early_claim_cells.h).
// fleet/redis_memory: Redis's used_memory before and after storing N real
//   sessions (sealed), per session and for a million.
// fleet/paired/redis_tls: resumption through Redis over this library's TLS
//   (rediss://, a second redis-server serving TLS only) and through
//   plaintext Redis alternate in one loop (both on another instance, LRU
//   off: one GET each); the medians' ratio (target: within 1.15x).
// fleet/failover: a primary, a replica and three Sentinels of its own; two
//   instances over redis-sentinel:// run rounds (a full handshake on one,
//   its session offered to the other) without pause while the primary is
//   SIGKILLed; the resumption rate per half second, from the kill on, and
//   the time from the promotion (the replica's ROLE) to the first resumed
//   handshake.
//
// Every cell that uses Redis reports the Redis commands per handshake from
// INFO commandstats (GET, SET) and the round trips its instances made on the
// handshake's path (RedisServerSessionStore::Metrics::redis_gets). A resumed
// cell in which a handshake did not resume fails.
//
// Flags besides Google Benchmark's: --report_dir=DIR writes fleet.md,
// fleet.dat and fleet.svg there; --smoke runs each cell briefly.
#include <time.h>

#include <algorithm>
#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "benchmarks/early_claim_cells.h"
#include "benchmarks/report.h"
#include "fleet/echo_server.h"
#include "fleet/fleet_key.h"
#include "fleet/fleet_setup.h"
#include "fleet/redis_client.h"
#include "fleet/redis_server_session_store.h"
#include "fleet/ticket_key_sync.h"
#include "session/server_session_store.h"
#include "testbed/certs.h"
#include "testbed/poll.h"
#include "testbed/redis_sentinel.h"
#include "testbed/redis_server.h"
#include "tls/connection.h"
#include "tls/context.h"
#include "tls/socket.h"

namespace tlsession::bench {
namespace {

using fleet::EchoServer;
using fleet::FleetKey;
using fleet::RedisClient;
using fleet::RedisServerSessionStore;
using fleet::TicketKeySync;
using testing::TestRedisServer;

// The suite's Redis (plaintext, and one serving TLS only) and fleet key,
// made once in main().
TestRedisServer* g_redis = nullptr;
TestRedisServer* g_redis_tls = nullptr;
std::shared_ptr<const FleetKey> g_key;

enum class Mode { kTls12Sid, kTls13 };
enum class Store { kMemory, kRedis, kRedisNoLru };

// Which Redis an instance uses: a server (g_redis unless set), or the
// primary that Sentinels name (|url|, with its password).
struct RedisTarget {
  TestRedisServer* server = nullptr;
  std::string url;
};

std::shared_ptr<RedisClient> NewRedisClient(absl::Duration timeout,
                                            const RedisTarget& target = {}) {
  TestRedisServer* server = target.server ? target.server : g_redis;
  auto client = fleet::MakeRedisClient(
      target.url.empty() ? server->url() : target.url, "", timeout,
      target.url.empty() ? server->tls_files() : fleet::RedisTlsFiles());
  if (!client.ok()) {
    fprintf(stderr, "fleet_bench: %s\n", client.status().ToString().c_str());
    abort();
  }
  return *client;
}

// One instance of the fleet: what one server process would hold.
struct Instance {
  RedisTarget redis;
  std::shared_ptr<RedisServerSessionStore> store;
  // The in-memory store of a TLS 1.2 instance without Redis.
  std::shared_ptr<MemoryServerSessionStore> memory;
  std::unique_ptr<TicketKeySync> sync;
  std::unique_ptr<EchoServer> server;
  uint16_t port() const { return server->port(); }
  uint64_t redis_gets() const {
    return store ? store->metrics().redis_gets : 0;
  }
};

std::unique_ptr<Instance> MakeInstance(Mode mode, Store store, bool shared,
                                       const RedisTarget& redis = {}) {
  auto in = std::make_unique<Instance>();
  in->redis = redis;
  const testing::TestPki& pki = testing::GetTestPki();
  ContextOptions o;
  o.role = Role::kServer;
  o.certificate_chain_pem = pki.server.cert_pem;
  o.private_key_pem = pki.server.key_pem;
  if (shared) o.session_id_context = g_key->SessionIdContext();
  if (mode == Mode::kTls12Sid) {
    o.max_version = TLS1_2_VERSION;
    o.session_tickets = false;
  } else if (shared) {
    TicketKeySync::Config sync;
    sync.background = true;
    in->sync = *TicketKeySync::Start(NewRedisClient(absl::Milliseconds(200)),
                                     g_key, sync);
    o.ticket_keys = in->sync->ring();
  } else {
    o.ticket_keys = std::make_shared<TicketKeyRing>(TicketKey::Generate());
  }
  if (store != Store::kMemory) {
    RedisServerSessionStore::Config c;
    c.local_entries = store == Store::kRedisNoLru ? 0 : 4096;
    // The bounds are what fails open; the benchmark measures the cost, and a
    // shared, loaded machine (or a sanitizer build, in the smoke test) can
    // stall a process for longer than the 5 ms default, which would turn a
    // resumption into a full handshake and fail the cell.
    c.write_timeout = absl::Seconds(1);
    in->store = std::make_shared<RedisServerSessionStore>(
        NewRedisClient(
            redis.url.empty() ? absl::Seconds(1) : absl::Milliseconds(50),
            redis),
        g_key, c);
    o.session_store = in->store;
  } else if (mode == Mode::kTls12Sid) {
    in->memory = std::make_shared<MemoryServerSessionStore>();
    o.session_store = in->memory;
  }
  in->server = *EchoServer::Start(*Context::Create(std::move(o)),
                                  *TcpListener::Listen("127.0.0.1", 0, 512),
                                  EchoServer::Options());
  return in;
}

std::shared_ptr<const Context> Client(Mode mode) {
  ContextOptions o;
  o.ca_pem = testing::GetTestPki().ca.cert_pem;
  if (mode == Mode::kTls12Sid) o.max_version = TLS1_2_VERSION;
  return *Context::Create(std::move(o));
}

struct Handshake {
  bool ok = false;
  bool resumed = false;
  Session session;
};

// Connect + handshake (+ the TLS 1.3 ticket when |want_ticket|).
Handshake Connect(const std::shared_ptr<const Context>& client, uint16_t port,
                  const Session& offer, bool want_ticket) {
  Handshake h;
  auto conn = Connection::Connect(client, "localhost", port, offer);
  if (!conn.ok()) return h;
  h.ok = true;
  h.resumed = (*conn)->session_reused();
  if (want_ticket) {
    auto s = (*conn)->WaitForSession(absl::Seconds(5));
    h.ok = s.ok();
    if (s.ok()) h.session = *s;
  } else {
    h.session = (*conn)->session();
  }
  return h;
}

// Commands Redis has run so far, by name.
struct CommandCounts {
  uint64_t get = 0, set = 0;
};
CommandCounts Counts() {
  CommandCounts c;
  c.get = g_redis->CommandCalls("get").value_or(0);
  c.set = g_redis->CommandCalls("set").value_or(0);
  return c;
}

void Finish(benchmark::State& state, uint64_t n, const CommandCounts& before,
            uint64_t sync_round_trips) {
  const CommandCounts after = Counts();
  const double d = static_cast<double>(std::max<uint64_t>(n, 1));
  state.counters["handshakes_per_s"] =
      benchmark::Counter(static_cast<double>(n), benchmark::Counter::kIsRate);
  state.counters["gets_per_hs"] = (after.get - before.get) / d;
  state.counters["sets_per_hs"] = (after.set - before.set) / d;
  state.counters["path_round_trips_per_hs"] = sync_round_trips / d;
}

// A session to resume: a full handshake on |maker|, stored in its store.
// A TLS 1.2 server sends its Finished before it stores the session (BoringSSL
// flushes, then updates its cache), so the client can be done, and connect
// again, before the session is in the store: wait until the store holds it,
// in memory or in Redis.
Session MakeSession(const std::shared_ptr<const Context>& client,
                    Instance& maker, bool tls13) {
  Handshake first = Connect(client, maker.port(), Session(), tls13);
  if (!first.ok) return Session();
  if (tls13) return first.session;
  std::function<bool()> stored;
  if (maker.memory != nullptr) {
    stored = [&] { return maker.memory->entry_count() > 0; };
  } else if (maker.store != nullptr) {
    const std::string name = maker.store->KeyNameFor(first.session.id());
    TestRedisServer* redis = maker.redis.server ? maker.redis.server : g_redis;
    stored = [&, name, redis] {
      auto exists = redis->Command({"EXISTS", name});
      return exists.ok() && exists->integer == 1;
    };
  } else {
    return first.session;
  }
  return testing::PollUntil(stored,
                            absl::Now() + testing::Scaled(absl::Seconds(10)),
                            absl::Milliseconds(1))
             ? first.session
             : Session();
}

void BM_Tls12(benchmark::State& state, Store store, bool resumed,
              bool on_other) {
  auto maker = MakeInstance(Mode::kTls12Sid, store, true);
  auto other = on_other ? MakeInstance(Mode::kTls12Sid, store, true) : nullptr;
  Instance& target = on_other ? *other : *maker;
  auto client = Client(Mode::kTls12Sid);
  Session offer;
  if (resumed) {
    offer = MakeSession(client, *maker, false);
    if (offer.empty()) return state.SkipWithError("no session to resume");
  }
  const CommandCounts before = Counts();
  const uint64_t gets_before = target.redis_gets();
  uint64_t n = 0;
  for (auto _ : state) {
    Handshake h = Connect(client, target.port(), offer, false);
    if (!h.ok) return state.SkipWithError("handshake failed");
    if (resumed != h.resumed) {
      return state.SkipWithError(resumed ? "a handshake did not resume"
                                         : "a full handshake resumed");
    }
    ++n;
  }
  if (target.store) target.store->WaitForWrites(absl::Seconds(5));
  Finish(state, n, before, target.redis_gets() - gets_before);
}

void BM_Tls13(benchmark::State& state, bool resumed) {
  auto maker = MakeInstance(Mode::kTls13, Store::kMemory, true);
  auto other = MakeInstance(Mode::kTls13, Store::kMemory, true);
  auto client = Client(Mode::kTls13);
  Session offer;
  if (resumed) {
    offer = MakeSession(client, *maker, true);
    if (offer.empty()) return state.SkipWithError("no ticket to resume");
  }
  const CommandCounts before = Counts();
  uint64_t n = 0;
  for (auto _ : state) {
    // Each connection resumes with the ticket the previous one got.
    Handshake h = Connect(client, other->port(), offer, resumed);
    if (!h.ok) return state.SkipWithError("handshake failed");
    if (resumed != h.resumed) {
      return state.SkipWithError(resumed ? "a handshake did not resume"
                                         : "a full handshake resumed");
    }
    if (resumed) offer = h.session;
    ++n;
  }
  Finish(state, n, before, 0);
}

double WallSeconds() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

double MedianOf(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// Full, Redis-backed resumption and in-memory resumption, alternating.
void BM_Paired(benchmark::State& state) {
  auto maker = MakeInstance(Mode::kTls12Sid, Store::kRedis, true);
  auto remote = MakeInstance(Mode::kTls12Sid, Store::kRedisNoLru, true);
  auto local = MakeInstance(Mode::kTls12Sid, Store::kMemory, true);
  auto client = Client(Mode::kTls12Sid);
  const Session redis_offer = MakeSession(client, *maker, false);
  const Session memory_offer = MakeSession(client, *local, false);
  if (redis_offer.empty() || memory_offer.empty()) {
    return state.SkipWithError("no session to resume");
  }
  // The three kinds take turns in first, second and third place, so that
  // none always follows the same one (whose server-side tail, an
  // asynchronous SET for instance, may still be running on a shared core).
  // Each handshake's wall time, by kind: full (memory store), resumed via
  // Redis, resumed in memory, full (Redis store: its SET is written by the
  // store's writer thread). Medians, not sums: a shared machine stalls the
  // odd handshake for milliseconds.
  std::vector<double> t[4];
  uint64_t n = 0;
  const uint64_t gets_before = remote->redis_gets();
  for (auto _ : state) {
    for (int k = 0; k < 4; ++k) {
      const int kind = static_cast<int>((n + k) % 4);
      const bool on_remote = kind == 1 || kind == 3;
      const Session& offer = kind == 1   ? redis_offer
                             : kind == 2 ? memory_offer
                                         : Session();
      const double t0 = WallSeconds();
      Handshake h =
          Connect(client, (on_remote ? remote : local)->port(), offer, false);
      t[kind].push_back(WallSeconds() - t0);
      if (!h.ok) return state.SkipWithError("handshake failed");
      if (h.resumed != (kind == 1 || kind == 2)) {
        return state.SkipWithError("unexpected resumption outcome");
      }
    }
    ++n;
  }
  const double t_full = MedianOf(t[0]), t_redis = MedianOf(t[1]),
               t_memory = MedianOf(t[2]), t_full_redis = MedianOf(t[3]);
  state.counters["full_redis_store_us"] = t_full_redis * 1e6;
  state.counters["full_redis_over_memory"] =
      t_full > 0 ? t_full_redis / t_full : 0;
  const double d = static_cast<double>(std::max<uint64_t>(n, 1));
  state.counters["full_us"] = t_full * 1e6;
  state.counters["resumed_redis_us"] = t_redis * 1e6;
  state.counters["resumed_memory_us"] = t_memory * 1e6;
  state.counters["full_over_redis"] = t_redis > 0 ? t_full / t_redis : 0;
  // Every GET of |remote| was made inside a resumed handshake (its full
  // handshakes offer nothing to look up).
  state.counters["redis_round_trips_per_resumed"] =
      (remote->redis_gets() - gets_before) / d;
}

// Resumption via plaintext Redis and via Redis over our TLS, alternating.
void BM_PairedTls(benchmark::State& state) {
  const RedisTarget tls{g_redis_tls, ""};
  auto maker_plain = MakeInstance(Mode::kTls12Sid, Store::kRedis, true);
  auto maker_tls = MakeInstance(Mode::kTls12Sid, Store::kRedis, true, tls);
  auto plain = MakeInstance(Mode::kTls12Sid, Store::kRedisNoLru, true);
  auto over_tls = MakeInstance(Mode::kTls12Sid, Store::kRedisNoLru, true, tls);
  auto client = Client(Mode::kTls12Sid);
  const Session plain_offer = MakeSession(client, *maker_plain, false);
  const Session tls_offer = MakeSession(client, *maker_tls, false);
  if (plain_offer.empty() || tls_offer.empty()) {
    return state.SkipWithError("no session to resume");
  }
  std::vector<double> t[2];
  uint64_t n = 0;
  for (auto _ : state) {
    for (int k = 0; k < 2; ++k) {
      const int kind = static_cast<int>((n + k) % 2);  // Turns in first place.
      const double t0 = WallSeconds();
      Handshake h = Connect(client, (kind == 0 ? plain : over_tls)->port(),
                            kind == 0 ? plain_offer : tls_offer, false);
      t[kind].push_back(WallSeconds() - t0);
      if (!h.ok) return state.SkipWithError("handshake failed");
      if (!h.resumed) return state.SkipWithError("a handshake did not resume");
    }
    ++n;
  }
  const double plain_s = MedianOf(t[0]), tls_s = MedianOf(t[1]);
  state.counters["resumed_plain_redis_us"] = plain_s * 1e6;
  state.counters["resumed_tls_redis_us"] = tls_s * 1e6;
  state.counters["tls_over_plain"] = plain_s > 0 ? tls_s / plain_s : 0;
  const RedisClient::Metrics m = over_tls->store->redis().metrics();
  state.counters["redis_tls_handshakes"] =
      static_cast<double>(m.tls_handshakes);
  state.counters["redis_tls_resumed"] = static_cast<double>(m.tls_resumed);
  state.counters["redis_round_trips"] = static_cast<double>(m.round_trips);
}

// A primary, a replica and three Sentinels, ready for a failover (every
// Sentinel knows the replica and the two others).
struct SentinelSet {
  std::unique_ptr<TestRedisServer> primary, replica;
  std::vector<std::unique_ptr<testing::TestRedisSentinel>> sentinels;
  std::string url;  // redis-sentinel://:PASSWORD@.../mymaster
};

absl::StatusOr<SentinelSet> StartSentinelSet() {
  SentinelSet set;
  auto primary = TestRedisServer::Start();
  if (!primary.ok()) return primary.status();
  set.primary = *std::move(primary);
  TestRedisServer::Options r;
  r.password = set.primary->password();
  r.replica_of = set.primary->port();
  auto replica = TestRedisServer::StartWith(r);
  if (!replica.ok()) return replica.status();
  set.replica = *std::move(replica);
  testing::TestRedisSentinel::Options o;
  o.primary_port = set.primary->port();
  o.password = set.primary->password();
  for (int i = 0; i < 3; ++i) {
    auto sentinel = testing::TestRedisSentinel::Start(o);
    if (!sentinel.ok()) return sentinel.status();
    set.sentinels.push_back(*std::move(sentinel));
  }
  const bool ready = testing::PollUntil(
      [&] {
        for (auto& s : set.sentinels) {
          auto replicas = s->HealthyReplicas();
          auto others = s->OtherSentinels();
          if (!replicas.ok() || *replicas < 1 || !others.ok() || *others < 2) {
            return false;
          }
        }
        return true;
      },
      absl::Now() + absl::Seconds(60), absl::Milliseconds(50));
  if (!ready) return absl::DeadlineExceededError("Sentinels not ready");
  set.url = testing::SentinelUrl(set.sentinels);
  set.url.insert(std::string("redis-sentinel://").size(),
                 absl::StrCat(":", set.primary->password(), "@"));
  return set;
}

// The replica's promotion, watched on a thread of its own: the wall time
// (seconds, WallSeconds) at which its ROLE said master, or 0.
class PromotionWatch {
 public:
  explicit PromotionWatch(TestRedisServer* replica)
      : thread_([this, replica] {
          testing::PollUntil(
              [&] {
                if (stop_.load()) return true;
                auto role = replica->Command({"ROLE"});
                if (!role.ok() || role->elements.empty() ||
                    role->elements[0].str != "master") {
                  return false;
                }
                at_ = WallSeconds();
                return true;
              },
              absl::Now() + absl::Seconds(120), absl::Milliseconds(5));
        }) {}
  ~PromotionWatch() {
    stop_ = true;
    thread_.join();
  }
  double at() const { return at_.load(); }

 private:
  std::atomic<bool> stop_{false};
  std::atomic<double> at_{0};
  std::thread thread_;
};

constexpr int kFailoverBuckets = 24;  // Half seconds after the kill.
constexpr double kBucketSeconds = 0.5;

// Resumption rate per half second across a SIGKILL of the primary.
void BM_Failover(benchmark::State& state) {
  absl::StatusOr<SentinelSet> set = StartSentinelSet();
  if (!set.ok()) return state.SkipWithError(set.status().ToString().c_str());
  const RedisTarget target{nullptr, set->url};
  auto a = MakeInstance(Mode::kTls12Sid, Store::kRedis, true, target);
  auto b = MakeInstance(Mode::kTls12Sid, Store::kRedisNoLru, true, target);
  auto client = Client(Mode::kTls12Sid);
  int rounds[kFailoverBuckets] = {}, resumed[kFailoverBuckets] = {};
  uint64_t failed = 0, total = 0, before = 0, before_resumed = 0;
  double killed = 0, first_resumed = 0, promoted = 0;
  for (auto _ : state) {
    PromotionWatch watch(set->replica.get());
    const double start = WallSeconds();
    for (;;) {
      const double now = WallSeconds();
      if (killed == 0 && now - start >= 2.0) {
        set->primary->Kill();
        killed = WallSeconds();
      }
      if (killed != 0 && now - killed >= kFailoverBuckets * kBucketSeconds) {
        break;
      }
      Handshake full = Connect(client, a->port(), Session(), false);
      a->store->WaitForWrites(absl::Milliseconds(200));
      Handshake again = full.ok
                            ? Connect(client, b->port(), full.session, false)
                            : Handshake();
      failed += !full.ok + !again.ok;
      ++total;
      if (killed == 0) {
        ++before;
        before_resumed += again.resumed;
        continue;
      }
      const int bucket = static_cast<int>((now - killed) / kBucketSeconds);
      if (bucket >= kFailoverBuckets) continue;
      ++rounds[bucket];
      resumed[bucket] += again.resumed;
      if (again.resumed && watch.at() != 0 && now > watch.at() &&
          first_resumed == 0) {
        first_resumed = WallSeconds();
      }
    }
    promoted = watch.at();
  }
  for (int i = 0; i < kFailoverBuckets; ++i) {
    state.counters[absl::StrFormat("b%02d_rounds", i)] = rounds[i];
    state.counters[absl::StrFormat("b%02d_rate", i)] =
        rounds[i] ? static_cast<double>(resumed[i]) / rounds[i] : 0;
  }
  state.counters["rate_before_kill"] =
      before ? static_cast<double>(before_resumed) / before : 0;
  state.counters["failed_handshakes"] = static_cast<double>(failed);
  state.counters["rounds"] = static_cast<double>(total);
  state.counters["kill_to_promotion_s"] = promoted ? promoted - killed : -1;
  state.counters["promotion_to_resumed_s"] =
      promoted && first_resumed ? first_resumed - promoted : -1;
  state.counters["failovers_b"] =
      static_cast<double>(b->store->redis().metrics().failovers);
}

// Round-robin over three instances, offering the previous session.
void BM_RoundRobin(benchmark::State& state, Mode mode, bool shared) {
  const Store store =
      mode == Mode::kTls12Sid && shared ? Store::kRedis : Store::kMemory;
  std::vector<std::unique_ptr<Instance>> fleet;
  for (int i = 0; i < 3; ++i)
    fleet.push_back(MakeInstance(mode, store, shared));
  auto client = Client(mode);
  Session offer;
  uint64_t n = 0, resumed = 0;
  for (auto _ : state) {
    Handshake h =
        Connect(client, fleet[n % 3]->port(), offer, mode == Mode::kTls13);
    if (!h.ok) return state.SkipWithError("handshake failed");
    resumed += h.resumed;
    offer = h.session;
    ++n;
  }
  // The first connection has nothing to offer.
  state.counters["resumption_rate"] =
      n > 1 ? static_cast<double>(resumed) / static_cast<double>(n - 1) : 0;
}

// Redis's used_memory in bytes, or a negative number when INFO fails.
double UsedMemory() {
  auto info = g_redis->Info("memory");
  if (!info.ok() || info->count("used_memory") == 0) return -1;
  double v = -1;
  return absl::SimpleAtod(info->at("used_memory"), &v) ? v : -1;
}

// A real server-side TLS 1.2 session's bytes, captured through a store
// that records what it is given.
std::string CaptureServerSession() {
  struct Recorder : ServerSessionStore {
    std::string last;
    std::mutex mu;
    void Put(absl::string_view, std::string s, absl::Time) override {
      std::lock_guard<std::mutex> lock(mu);
      last = std::move(s);
    }
    std::optional<std::string> Get(absl::string_view) override {
      return std::nullopt;
    }
    void Remove(absl::string_view) override {}
  };
  auto recorder = std::make_shared<Recorder>();
  const testing::TestPki& pki = testing::GetTestPki();
  ContextOptions o;
  o.role = Role::kServer;
  o.certificate_chain_pem = pki.server.cert_pem;
  o.private_key_pem = pki.server.key_pem;
  o.max_version = TLS1_2_VERSION;
  o.session_tickets = false;
  o.session_store = recorder;
  auto server = *EchoServer::Start(*Context::Create(std::move(o)),
                                   *TcpListener::Listen("127.0.0.1", 0, 16),
                                   EchoServer::Options());
  Connect(Client(Mode::kTls12Sid), server->port(), Session(), false);
  server->Stop();
  std::lock_guard<std::mutex> lock(recorder->mu);
  return recorder->last;
}

// Redis's memory for N sealed sessions of a real handshake's size.
void BM_RedisMemory(benchmark::State& state, int sessions) {
  const std::string session = CaptureServerSession();
  if (session.empty()) return state.SkipWithError("captured no session");
  double per_session = 0;
  for (auto _ : state) {
    (void)g_redis->Command({"FLUSHALL"});
    absl::SleepFor(absl::Milliseconds(100));  // Lazy frees settle.
    const double before = UsedMemory();
    RedisServerSessionStore store(NewRedisClient(absl::Seconds(1)), g_key);
    for (int i = 0; i < sessions; ++i) {
      store.Put(absl::StrFormat("%032d", i), session,
                absl::Now() + absl::Hours(2));
      if (i % 1000 == 999) store.WaitForWrites(absl::Seconds(30));
    }
    store.WaitForWrites(absl::Seconds(30));
    const double after = UsedMemory();
    if (before < 0 || after < 0) return state.SkipWithError("INFO failed");
    per_session = (after - before) / sessions;
  }
  auto dbsize = g_redis->Command({"DBSIZE"});
  state.counters["sessions"] = dbsize.ok() ? dbsize->integer : 0;
  state.counters["session_bytes"] = static_cast<double>(session.size());
  state.counters["value_bytes"] =
      static_cast<double>(session.size() + 8 + FleetKey::kSealOverhead);
  state.counters["redis_bytes_per_session"] = per_session;
  state.counters["mb_per_million"] = per_session * 1e6 / (1 << 20);
  (void)g_redis->Command({"FLUSHALL"});
}

void RegisterAll(bool smoke) {
  std::vector<benchmark::internal::Benchmark*> timed = {
      benchmark::RegisterBenchmark("fleet/tls12_sid/full_memory",
                                   [](benchmark::State& s) {
                                     BM_Tls12(s, Store::kMemory, false, false);
                                   }),
      benchmark::RegisterBenchmark("fleet/tls12_sid/full_redis",
                                   [](benchmark::State& s) {
                                     BM_Tls12(s, Store::kRedis, false, false);
                                   }),
      benchmark::RegisterBenchmark("fleet/tls12_sid/resumed_memory",
                                   [](benchmark::State& s) {
                                     BM_Tls12(s, Store::kMemory, true, false);
                                   }),
      benchmark::RegisterBenchmark("fleet/tls12_sid/resumed_redis",
                                   [](benchmark::State& s) {
                                     BM_Tls12(s, Store::kRedisNoLru, true,
                                              true);
                                   }),
      benchmark::RegisterBenchmark(
          "fleet/tls12_sid/resumed_redis_lru",
          [](benchmark::State& s) { BM_Tls12(s, Store::kRedis, true, true); }),
      benchmark::RegisterBenchmark(
          "fleet/tls13/full", [](benchmark::State& s) { BM_Tls13(s, false); }),
      benchmark::RegisterBenchmark(
          "fleet/tls13/resumed_shared_keys",
          [](benchmark::State& s) { BM_Tls13(s, true); }),
      benchmark::RegisterBenchmark("fleet/paired/tls12_sid", BM_Paired),
      benchmark::RegisterBenchmark("fleet/paired/redis_tls", BM_PairedTls),
  };
  for (auto* b : timed) {
    b->Unit(benchmark::kMicrosecond)->UseRealTime();
    if (smoke) b->Iterations(3);
  }
  for (Mode mode : {Mode::kTls12Sid, Mode::kTls13}) {
    for (bool shared : {true, false}) {
      auto* b = benchmark::RegisterBenchmark(
          absl::StrCat("fleet/round_robin/",
                       mode == Mode::kTls12Sid ? "tls12_sid" : "tls13", "/",
                       shared ? "shared" : "local")
              .c_str(),
          [=](benchmark::State& s) { BM_RoundRobin(s, mode, shared); });
      b->Unit(benchmark::kMicrosecond)
          ->UseRealTime()
          ->Iterations(smoke ? 6 : 300);
    }
  }
  benchmark::RegisterBenchmark("fleet/failover", BM_Failover)
      ->Unit(benchmark::kMillisecond)
      ->UseRealTime()
      ->Iterations(1)
      ->Repetitions(1);
  RegisterEarlyClaimCells(
      [] { return NewRedisClient(absl::Milliseconds(100)); }, smoke);
  benchmark::RegisterBenchmark(
      "fleet/redis_memory",
      [=](benchmark::State& s) { BM_RedisMemory(s, smoke ? 100 : 20000); })
      ->Unit(benchmark::kMillisecond)
      ->Iterations(1)
      ->Repetitions(1);
}

}  // namespace
}  // namespace tlsession::bench

namespace tlsession::bench {
namespace {

const Cell* Get(const std::map<std::string, Cell>& cells,
                const std::string& name) {
  auto it = cells.find(name);
  return it == cells.end() || it->second.error ? nullptr : &it->second;
}

double Counter(const Cell* c, const std::string& name) {
  if (c == nullptr) return 0;
  auto it = c->counters.find(name);
  return it == c->counters.end() ? 0 : it->second;
}

std::string Check(bool ok) { return ok ? " ✓" : " ✗"; }

// The TLS 1.2 session-ID and TLS 1.3 cells.
std::string HandshakeTables(const std::map<std::string, Cell>& cells,
                            std::string* dat) {
  const Cell* full = Get(cells, "fleet/tls12_sid/full_memory");
  std::string md =
      "TLS 1.2 session IDs, ECDSA P-256, over TCP on 127.0.0.1 (wall time "
      "per connect + handshake; the client verifies the chain):\n\n"
      "| cell | µs | speedup over full | Redis GET / handshake | Redis SET "
      "/ handshake | Redis round trips on the handshake's path | spread % "
      "|\n|---|---|---|---|---|---|---|\n";
  for (const char* name : {"full_memory", "full_redis", "resumed_memory",
                           "resumed_redis", "resumed_redis_lru"}) {
    const Cell* c = Get(cells, absl::StrCat("fleet/tls12_sid/", name));
    if (c == nullptr) {
      absl::StrAppend(&md, "| ", name, " | missing or failed |\n");
      continue;
    }
    absl::StrAppend(
        &md, "| ", name, " | ", Fmt(c->real_s * 1e6), " | ",
        full ? Fmt(full->real_s / c->real_s) : "?", "x | ",
        absl::StrFormat("%.2f", Counter(c, "gets_per_hs")), " | ",
        absl::StrFormat("%.2f", Counter(c, "sets_per_hs")), " | ",
        absl::StrFormat("%.2f", Counter(c, "path_round_trips_per_hs")), " | ",
        Fmt(c->spread), " |\n");
    absl::StrAppend(dat, name, " ", 1 / c->real_s, "\n");
  }
  const Cell* t13f = Get(cells, "fleet/tls13/full");
  const Cell* t13r = Get(cells, "fleet/tls13/resumed_shared_keys");
  if (t13f && t13r) {
    absl::StrAppend(
        &md,
        "\nTLS 1.3 tickets under ticket keys synced through Redis, "
        "resumed on another instance: full ",
        Fmt(t13f->real_s * 1e6), " µs, resumed ", Fmt(t13r->real_s * 1e6),
        " µs (", Fmt(t13f->real_s / t13r->real_s),
        "x); Redis commands per handshake: ",
        absl::StrFormat("%.2f GET, %.2f SET", Counter(t13r, "gets_per_hs"),
                        Counter(t13r, "sets_per_hs")),
        " (keys are read by a background thread, never on a handshake).\n");
  }
  return md;
}

// The paired cell, where the floors are checked.
std::string PairedTable(const std::map<std::string, Cell>& cells) {
  std::string md;
  const Cell* p = Get(cells, "fleet/paired/tls12_sid");
  if (p != nullptr) {
    const double ratio = Counter(p, "full_over_redis");
    const double trips = Counter(p, "redis_round_trips_per_resumed");
    const Cell* fr = Get(cells, "fleet/tls12_sid/full_redis");
    const double full_trips = Counter(fr, "path_round_trips_per_hs");
    absl::StrAppend(
        &md,
        "\nPaired (four kinds of handshake taking turns in one loop: full "
        "with the memory store, resumed via Redis on another instance with "
        "its LRU off, resumed in memory, full with the Redis store; medians "
        "of each kind's wall times; the floors are checked here):\n\n"
        "| full µs | resumed via Redis µs | resumed in memory µs | full / "
        "Redis-resumed (floor 2.5) | Redis round trips per resumed handshake "
        "(floor ≤ 1) | full with the Redis store µs | its Redis round trips "
        "on the handshake's path (floor 0) |\n|---|---|---|---|---|---|---|\n"
        "| ",
        Fmt(Counter(p, "full_us")), " | ", Fmt(Counter(p, "resumed_redis_us")),
        " | ", Fmt(Counter(p, "resumed_memory_us")), " | ", Fmt(ratio),
        Check(ratio >= 2.5), " | ", absl::StrFormat("%.2f", trips),
        Check(trips <= 1.0), " | ", Fmt(Counter(p, "full_redis_store_us")),
        " (", Fmt(Counter(p, "full_redis_over_memory")),
        "x the memory "
        "store's) | ",
        absl::StrFormat("%.2f", full_trips),
        Check(fr != nullptr && full_trips == 0), " |\n");
  }
  return md;
}

// Redis over TLS against plaintext, and the failover timeline.
std::string TlsAndFailoverTables(const std::map<std::string, Cell>& cells) {
  std::string md;
  const Cell* p = Get(cells, "fleet/paired/redis_tls");
  if (p == nullptr) {
    md += "\nRedis over TLS: missing or failed.\n";
  } else {
    const double ratio = Counter(p, "tls_over_plain");
    absl::StrAppend(
        &md,
        "\nRedis over this library's TLS (rediss://, TLS 1.3, ECDSA P-256, "
        "pooled links) against plaintext Redis, alternating in one loop "
        "(TLS 1.2 session-ID resumption on another instance, LRU off: one "
        "GET per handshake; medians):\n\n| resumed via plaintext Redis µs | "
        "resumed via Redis over TLS µs | TLS / plaintext (target ≤ 1.15) | "
        "Redis TLS handshakes (resumed) |\n|---|---|---|---|\n| ",
        Fmt(Counter(p, "resumed_plain_redis_us")), " | ",
        Fmt(Counter(p, "resumed_tls_redis_us")), " | ",
        absl::StrFormat("%.3f", ratio), Check(ratio <= 1.15), " | ",
        absl::StrFormat("%.0f (%.0f)", Counter(p, "redis_tls_handshakes"),
                        Counter(p, "redis_tls_resumed")),
        " |\n");
  }
  const Cell* f = Get(cells, "fleet/failover");
  if (f == nullptr) return md + "\nSentinel failover: missing or failed.\n";
  absl::StrAppend(
      &md,
      "\nSentinel failover (a primary, a replica, three Sentinels with "
      "down-after-milliseconds 1000; two instances over redis-sentinel://, "
      "Redis timeout 50 ms; rounds of a full handshake on one instance and "
      "its session offered to the other, without pause; the primary "
      "SIGKILLed at 0 s): kill to promotion ",
      absl::StrFormat("%.2f", Counter(f, "kill_to_promotion_s")),
      " s, promotion to the first resumed handshake ",
      absl::StrFormat("%.2f", Counter(f, "promotion_to_resumed_s")),
      " s (bound 10 s)",
      Check(Counter(f, "promotion_to_resumed_s") >= 0 &&
            Counter(f, "promotion_to_resumed_s") < 10),
      "; failed handshakes: ",
      absl::StrFormat("%.0f of %.0f rounds", Counter(f, "failed_handshakes"),
                      Counter(f, "rounds")),
      Check(Counter(f, "failed_handshakes") == 0),
      ". Resumption rate in the 2 s before the kill: ",
      absl::StrFormat("%.2f", Counter(f, "rate_before_kill")),
      ".\n\n| seconds after the kill | rounds | resumption rate |\n"
      "|---|---|---|\n");
  for (int i = 0; i < kFailoverBuckets; ++i) {
    absl::StrAppend(
        &md, "| ",
        absl::StrFormat("%.1f-%.1f", i * kBucketSeconds,
                        (i + 1) * kBucketSeconds),
        " | ",
        absl::StrFormat("%.0f", Counter(f, absl::StrFormat("b%02d_rounds", i))),
        " | ",
        absl::StrFormat("%.2f", Counter(f, absl::StrFormat("b%02d_rate", i))),
        " |\n");
  }
  return md;
}

std::string RoundRobinTable(const std::map<std::string, Cell>& cells) {
  std::string md =
      "\nRound-robin over three instances, each connection offering the "
      "session the previous one got (as behind a round-robin balancer):\n\n"
      "| mode | shared store and keys (floor 0.95) | each instance on its own "
      "|\n|---|---|---|\n";
  for (const char* mode : {"tls12_sid", "tls13"}) {
    const Cell* s =
        Get(cells, absl::StrCat("fleet/round_robin/", mode, "/shared"));
    const Cell* l =
        Get(cells, absl::StrCat("fleet/round_robin/", mode, "/local"));
    const double rs = Counter(s, "resumption_rate");
    absl::StrAppend(&md, "| ", mode, " | ", absl::StrFormat("%.3f", rs),
                    Check(s != nullptr && rs >= 0.95), " | ",
                    absl::StrFormat("%.3f", Counter(l, "resumption_rate")),
                    " |\n");
  }
  return md;
}

std::string MemoryTable(const std::map<std::string, Cell>& cells) {
  const Cell* m = Get(cells, "fleet/redis_memory");
  if (m == nullptr) return "\nRedis memory: missing or failed.\n";
  const double per = Counter(m, "redis_bytes_per_session");
  return absl::StrCat(
      "\nRedis memory (INFO memory used_memory before and after storing ",
      absl::StrFormat("%.0f", Counter(m, "sessions")),
      " sessions of a real ECDSA TLS 1.2 handshake; each value is the sealed "
      "session, ",
      absl::StrFormat("%.0f", Counter(m, "value_bytes")), " bytes for a ",
      absl::StrFormat("%.0f", Counter(m, "session_bytes")),
      "-byte session, with a PX expiry):\n\n| bytes per session | 1 million "
      "sessions |\n|---|---|\n| ",
      absl::StrFormat("%.0f", per), " | ",
      absl::StrFormat("%.0f MiB", Counter(m, "mb_per_million")), " |\n");
}

void WriteReport(const std::map<std::string, Cell>& cells,
                 const std::string& dir) {
  std::string dat = "# cell handshakes_per_s\n";
  std::string md = absl::StrCat(
      "# Resumption across a fleet (Redis)\n\nMachine: ", MachineDescription(),
      ". redis-server 7.0 on the same machine, 127.0.0.1. Medians of ",
      cells.empty() ? 0 : cells.begin()->second.repetitions,
      " interleaved repetitions; spread = interquartile range / median.\n\n");
  md += HandshakeTables(cells, &dat);
  md += PairedTable(cells);
  md += TlsAndFailoverTables(cells);
  md += RoundRobinTable(cells);
  md += MemoryTable(cells);
  md += EarlyClaimTable(cells);
  for (const auto& [n, c] : cells) {
    if (c.error) absl::StrAppend(&md, "\nFAILED: ", n, ": ", c.error_message);
  }
  md += "\n![handshakes per second](fleet.svg)\n";
  WriteText(dir + "/fleet.md", md);
  WriteText(dir + "/fleet.dat", dat);
  WriteText(dir + "/fleet.gp",
            absl::StrCat(
                "set terminal svg size 900,420 font 'sans,11' noenhanced\n",
                "set output 'fleet.svg'\n",
                "set title 'tlsession: TLS 1.2 handshakes per second over TCP, "
                "one client (higher is better)'\n",
                "set style data histograms\nset style fill solid 0.8 border "
                "-1\nset ylabel 'handshakes/s'\nset grid y\nset yrange [0:*]\n",
                "set xtics rotate by -20\nunset key\n",
                "plot 'fleet.dat' using 2:xtic(1)\n"));
  RunGnuplot(dir, "fleet.gp");
}

}  // namespace
}  // namespace tlsession::bench

int main(int argc, char** argv) {
  tlsession::bench::SuiteFlags flags;
  if (!tlsession::bench::ParseSuiteFlags(&argc, argv, &flags)) return 2;
  auto redis = tlsession::testing::TestRedisServer::Start();
  if (!redis.ok()) {
    fprintf(stderr, "fleet_bench: %s\n", redis.status().ToString().c_str());
    return 1;
  }
  tlsession::bench::g_redis = redis->get();
  tlsession::testing::TestRedisServer::Options tls;
  tls.tls = true;
  auto redis_tls = tlsession::testing::TestRedisServer::StartWith(tls);
  if (!redis_tls.ok()) {
    fprintf(stderr, "fleet_bench: %s\n", redis_tls.status().ToString().c_str());
    return 1;
  }
  tlsession::bench::g_redis_tls = redis_tls->get();
  tlsession::bench::g_key = *tlsession::fleet::FleetKey::FromSecret(
      tlsession::Secret(std::string(32, 'b')));
  tlsession::bench::RegisterAll(flags.smoke);
  return tlsession::bench::RunSuite(flags, tlsession::bench::WriteReport);
}
