// fleet_bench's cells for the server's cost of 0-RTT's anti-replay check
// (ServerSessionStore::ClaimEarlyData), one claim of a fresh ticket digest
// per iteration, on the calling (handshake) thread:
//
//   fleet/early_claim/memory: MemoryServerSessionStore (a set under a lock)
//   fleet/early_claim/redis:  RedisServerSessionStore (SET NX PX, one round
//                             trip to the suite's redis-server on 127.0.0.1)
//
// CPU time is this process's thread (Redis's own work is not counted); wall
// time is what the handshake waits. A claim that fails fails the cell.
#ifndef TLSESSION_BENCHMARKS_EARLY_CLAIM_CELLS_H_
#define TLSESSION_BENCHMARKS_EARLY_CLAIM_CELLS_H_

#include <functional>
#include <map>
#include <memory>
#include <string>

#include "benchmarks/report.h"
#include "fleet/redis_client.h"

namespace tlsession::bench {

// Registers both cells; |redis| makes the Redis store's clients (one per
// cell, the caller's pool settings). --smoke: a few iterations.
void RegisterEarlyClaimCells(
    std::function<std::shared_ptr<fleet::RedisClient>()> redis, bool smoke);

// The Markdown table of the two cells, with the Redis/memory ratios; ""
// when they are missing.
std::string EarlyClaimTable(const std::map<std::string, Cell>& cells);

}  // namespace tlsession::bench

#endif  // TLSESSION_BENCHMARKS_EARLY_CLAIM_CELLS_H_
