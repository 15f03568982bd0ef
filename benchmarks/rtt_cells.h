// handshake_bench's round-trip cells: time to the first response byte over a
// link with a real round-trip time (a DelayRelay on loopback, 10 ms each
// way), for a full TLS 1.3 handshake, a resumed one, and a resumed one whose
// request goes as 0-RTT early data:
//
//   handshake/rtt20ms/tls13/ecdsa/{full|resumed|early}
//
// Each iteration connects through the relay, sends a 20-byte request and
// times until the first byte of the echo; resumed and early iterations offer
// the ticket the previous iteration received (tickets are single-use). An
// early iteration whose early data was not accepted fails the cell.
#ifndef TLSESSION_BENCHMARKS_RTT_CELLS_H_
#define TLSESSION_BENCHMARKS_RTT_CELLS_H_

#include <map>
#include <string>

#include "benchmarks/report.h"

namespace tlsession::bench {

// Registers the three cells (--smoke: two iterations each).
void RegisterRttCells(bool smoke);

// The Markdown table of the cells in |cells|, with the ratios full/early
// and resumed/early; "" when they are missing.
std::string RttTable(const std::map<std::string, Cell>& cells);

}  // namespace tlsession::bench

#endif  // TLSESSION_BENCHMARKS_RTT_CELLS_H_
