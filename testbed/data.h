// Test data: deterministic pseudo-random contents and their SHA-256, so that
// a transfer can be checked byte for byte and a failure printed briefly.
#ifndef TLSESSION_TESTBED_DATA_H_
#define TLSESSION_TESTBED_DATA_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"

namespace tlsession::testing {

// |n| bytes from an xorshift generator seeded with |seed|: the same
// arguments always give the same bytes.
std::string PseudoRandomBytes(size_t n, uint32_t seed);

// The SHA-256 of |data| in lower-case hex.
std::string Sha256Hex(absl::string_view data);

}  // namespace tlsession::testing

#endif  // TLSESSION_TESTBED_DATA_H_
