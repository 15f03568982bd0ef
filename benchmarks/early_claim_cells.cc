#include "benchmarks/early_claim_cells.h"

#include <openssl/sha.h>

#include <algorithm>
#include <functional>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "fleet/fleet_key.h"
#include "fleet/redis_server_session_store.h"
#include "session/server_session_store.h"

namespace tlsession::bench {
namespace {

// A distinct 32-byte digest for claim |i| of run |run| (SHA-256, as tls/
// hands the store).
std::string Digest(uint64_t run, uint64_t i) {
  const std::string in = absl::StrCat(run, "/", i);
  uint8_t out[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const uint8_t*>(in.data()), in.size(), out);
  return std::string(reinterpret_cast<const char*>(out), sizeof(out));
}

void BM_Claim(benchmark::State& state, ServerSessionStore& store) {
  static uint64_t run = absl::ToUnixNanos(absl::Now());
  ++run;
  uint64_t i = 0;
  const absl::Time expiry = absl::Now() + absl::Hours(2);
  for (auto _ : state) {
    absl::Status s = store.ClaimEarlyData(Digest(run, i++), expiry);
    if (!s.ok()) {
      state.SkipWithError(std::string(s.message()).c_str());
      return;
    }
  }
  state.counters["claims_per_s"] =
      benchmark::Counter(static_cast<double>(i), benchmark::Counter::kIsRate);
}

}  // namespace

void RegisterEarlyClaimCells(
    std::function<std::shared_ptr<fleet::RedisClient>()> redis, bool smoke) {
  benchmark::RegisterBenchmark("fleet/early_claim/memory",
                               [](benchmark::State& st) {
                                 MemoryServerSessionStore::Config config;
                                 config.max_early_data_claims = 1 << 22;
                                 MemoryServerSessionStore store(config);
                                 BM_Claim(st, store);
                               })
      ->Unit(benchmark::kMicrosecond)
      ->Iterations(smoke ? 3 : 100000);
  benchmark::RegisterBenchmark(
      "fleet/early_claim/redis",
      [redis](benchmark::State& st) {
        auto key = *fleet::FleetKey::FromSecret(Secret(std::string(32, 'c')));
        fleet::RedisServerSessionStore store(redis(), key);
        BM_Claim(st, store);
      })
      ->Unit(benchmark::kMicrosecond)
      ->Iterations(smoke ? 3 : 5000);
}

std::string EarlyClaimTable(const std::map<std::string, Cell>& cells) {
  auto get = [&](const char* name) -> const Cell* {
    auto it = cells.find(name);
    return it == cells.end() || it->second.error ? nullptr : &it->second;
  };
  const Cell* m = get("fleet/early_claim/memory");
  const Cell* r = get("fleet/early_claim/redis");
  if (m == nullptr || r == nullptr) return "";
  return absl::StrCat(
      "\n0-RTT's anti-replay check (ClaimEarlyData of a fresh ticket digest), "
      "on the handshake's thread: CPU is this process's (Redis's own work "
      "not counted), wall is what the handshake waits:\n\n"
      "| store | CPU µs / claim | wall µs / claim | spread % |\n"
      "|---|---|---|---|\n| memory | ",
      Fmt(m->cpu_s * 1e6), " | ", Fmt(m->real_s * 1e6), " | ", Fmt(m->spread),
      " |\n| redis (SET NX PX) | ", Fmt(r->cpu_s * 1e6), " | ",
      Fmt(r->real_s * 1e6), " | ", Fmt(r->spread), " |\n| redis / memory | ",
      Fmt(r->cpu_s / m->cpu_s), "x | ", Fmt(r->real_s / m->real_s), "x | |\n");
}

}  // namespace tlsession::bench
