// `openssl s_client` (OpenSSL 3, /usr/bin/openssl) as a child process: a TLS
// client we did not write, for tests against the library's servers.
#ifndef TLSESSION_TESTBED_OPENSSL_CLIENT_H_
#define TLSESSION_TESTBED_OPENSSL_CLIENT_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "testbed/certs.h"

namespace tlsession::testing {

// One `openssl s_client` run, after it exited.
struct SClientRun {
  // Its wait status (DescribeWaitStatus in testbed/subprocess.h says it).
  int wait_status = -1;
  // Everything it wrote to stdout and stderr.
  std::string output;

  // Whether its handshake summary is "New, TLSv1.x," (a full handshake).
  bool new_session() const;
  // Whether its handshake summary is "Reused, TLSv1.x," (a resumption).
  bool reused() const;
};

// Whether |output| of s_client holds its handshake summary ("New, " or
// "Reused, " at the start of a line): the handshake is over.
bool HasHandshakeSummary(const std::string& output);

// Runs /usr/bin/openssl s_client against 127.0.0.1:|port|, verifying the
// server's certificate for "localhost" (also sent as SNI) against |pki|'s CA,
// with |extra| arguments appended ("-sess_out", "-tls1_3", ...). Its stdout
// and stderr go to |log_path|. Its stdin is a pipe, closed (EOF: s_client
// sends close_notify and exits) once |ready| holds for its output so far, or
// once it exited by itself. Then waits for it to exit and returns its wait
// status and output; the caller checks both.
//
// Returns DeadlineExceeded, quoting the command and its output, when |ready|
// does not hold within Scaled(15 s) or s_client does not exit within
// Scaled(10 s) of EOF; or the error from starting it.
absl::StatusOr<SClientRun> RunSClient(
    uint16_t port, const TestPki& pki, const std::vector<std::string>& extra,
    const std::string& log_path,
    const std::function<bool(const std::string& output)>& ready);

}  // namespace tlsession::testing

#endif  // TLSESSION_TESTBED_OPENSSL_CLIENT_H_
