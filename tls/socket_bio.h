// A BoringSSL BIO over a socket that never raises SIGPIPE and counts the
// bytes it moves.
//
// BoringSSL's own socket BIO writes with write(2): a write to a peer that
// has reset the connection then kills the process with SIGPIPE unless the
// application ignores that signal. This BIO writes with send(MSG_NOSIGNAL),
// so a reset peer is an error (EPIPE), never a dead process.
#ifndef TLSESSION_TLS_SOCKET_BIO_H_
#define TLSESSION_TLS_SOCKET_BIO_H_

#include <openssl/bio.h>

#include <cstdint>

namespace tlsession {

// Bytes moved through a socket BIO.
struct WireCounters {
  uint64_t bytes_read = 0;
  uint64_t bytes_written = 0;
};

// Returns a BIO reading and writing |fd| (not owned: the caller closes it),
// or null on allocation failure. |counters| (not owned, may be null) must
// outlive the BIO.
bssl::UniquePtr<BIO> NewSocketBio(int fd, WireCounters* counters);

}  // namespace tlsession

#endif  // TLSESSION_TLS_SOCKET_BIO_H_
