// The one way tests, benchmarks and demos start a server as a child process
// and wait for it: vsftpd, ProFTPD, redis-server, `openssl s_server`,
// tls_echo_server.
//
// ServerProcess::Start picks a free loopback port, starts the server on it
// and waits for the server's own word that it is ready, never for a TCP
// probe that another process holding the port could answer:
//  * a line the server prints in its log (redis-server's "Ready to accept
//    connections", s_server's "ACCEPT", tls_echo_server's "listening on"),
//  * and/or a socket listening on the port that the child (or a process of
//    its group) holds, found through /proc: for servers that print nothing
//    (vsftpd in standalone mode) or print before they call listen(2)
//    (ProFTPD writes "standalone mode STARTUP" just before it).
// When the port was taken between PickFreePort and the server's bind (its
// log says so), the attempt is retried on another port. Errors are
// absl::Status quoting the command and the server's log. The time bound is
// Scaled() for sanitizer builds.
#ifndef TLSESSION_TESTBED_SERVER_PROCESS_H_
#define TLSESSION_TESTBED_SERVER_PROCESS_H_

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "testbed/subprocess.h"

namespace tlsession::testing {

// What to start and how to tell that it is ready.
struct ServerSpec {
  // For messages: "vsftpd", "redis-server".
  std::string name;
  // The command line of a server listening on 127.0.0.1:|port|. It may
  // write configuration files that name the port; it is called once per
  // attempt.
  std::function<absl::StatusOr<std::vector<std::string>>(uint16_t port)>
      command;
  // Added to the child's environment ("NAME=value").
  std::vector<std::string> env;
  // Where the child's stdout and stderr go (truncated at each attempt).
  std::string log_path;
  // The log file the server writes itself (ProFTPD's SystemLog), removed
  // before each attempt; the ready line and the port-taken texts are looked
  // for there. Empty: in log_path.
  std::string server_log_path;
  // The text of the line the server prints once it is ready; "{port}"
  // stands for the port. Empty: no line (then listening_socket must be set).
  std::string ready_line;
  // Also wait until the child or its process group holds a socket listening
  // on the port (after the ready line, if any).
  bool listening_socket = false;
  // Texts in the log that say the port was taken: the attempt is retried on
  // another port.
  std::vector<std::string> port_taken = {"Address already in use"};
  // The child gets its own process group (servers that fork per
  // connection); its whole group is killed with it.
  bool own_process_group = false;
  // The child's stdin is its log too (vsftpd writes its startup errors, such
  // as "could not bind listening IPv4 socket", to fd 0).
  bool stdin_is_log = false;
  // How long one attempt may take, before Scaled().
  absl::Duration timeout = absl::Seconds(15);
  // Attempts in all, each on a fresh port.
  int attempts = 5;
};

// A server started by Start(): killed (with its group) on destruction.
class ServerProcess {
 public:
  // Starts |spec| on a free loopback port and waits until it is ready,
  // retrying on another port when the port was taken meanwhile. Returns the
  // running server, or an error quoting the command and its log: the child
  // exited, did not get ready within Scaled(spec.timeout), or lost the race
  // for a port spec.attempts times.
  static absl::StatusOr<std::unique_ptr<ServerProcess>> Start(
      const ServerSpec& spec);
  // Starts |spec| on |port| exactly, once, and waits until it is ready (a
  // restart on the port clients already know). Errors as Start()'s.
  static absl::StatusOr<std::unique_ptr<ServerProcess>> StartOnPort(
      const ServerSpec& spec, uint16_t port);

  uint16_t port() const { return port_; }
  ChildProcess& child() { return *child_; }
  // The child's output, then the server's own log file if it has one.
  std::string log() const;

 private:
  ServerProcess(const ServerSpec& spec, uint16_t port,
                std::unique_ptr<ChildProcess> child)
      : spec_(spec), port_(port), child_(std::move(child)) {}

  const ServerSpec spec_;
  const uint16_t port_;
  std::unique_ptr<ChildProcess> child_;
};

// True when |pid|, or with |process_group| any process of the group |pid|
// leads, holds a TCP socket (IPv4 or IPv6) listening on |port|: the inodes
// of listening sockets in /proc/net/tcp{,6} against /proc/PID/fd. No other
// process can make this true for the child.
bool HoldsListeningSocket(pid_t pid, bool process_group, uint16_t port);

}  // namespace tlsession::testing

#endif  // TLSESSION_TESTBED_SERVER_PROCESS_H_
