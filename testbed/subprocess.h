// Child processes for tests: real peers (openssl, vsftpd, ProFTPD) started
// on loopback, with output to a log file, killed and reaped on destruction.
#ifndef TLSESSION_TESTBED_SUBPROCESS_H_
#define TLSESSION_TESTBED_SUBPROCESS_H_

#include <sys/resource.h>
#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "base/owned_fd.h"

namespace tlsession::testing {

// The file's bytes, or "" when it cannot be read.
std::string ReadFileOrEmpty(const std::string& path);

// A child process with stdout and stderr going to a log file and stdin from
// a pipe we hold (or /dev/null, or the log). It dies with the test process
// (even on a crash). The destructor kills and reaps it, with its whole process
// group when it has its own (servers that fork per connection).
class ChildProcess {
 public:
  // Starts |argv| (argv[0] a path: no PATH search) with stdout and stderr
  // appended to |log_path| (truncated first). Its stdin is a pipe we hold
  // with |stdin_pipe|, the log file (opened for writing) with |stdin_is_log|
  // (for servers that write errors to fd 0, as vsftpd does at startup), else
  // /dev/null. |env| entries ("NAME=value") are added to the environment,
  // overriding inherited ones of the same name. With |own_process_group| it
  // leads a process group of its own. Returns the running child, or an error
  // when the log, the pipe or the fork cannot be made.
  static absl::StatusOr<std::unique_ptr<ChildProcess>> Spawn(
      const std::vector<std::string>& argv, const std::string& log_path,
      bool stdin_pipe, const std::vector<std::string>& env = {},
      bool own_process_group = false, bool stdin_is_log = false);

  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  // Closes our end of the child's stdin: the child sees EOF.
  void CloseStdin();
  // True while the child has not exited. Reaps it when it has.
  bool Running();
  // Waits up to |timeout| for the child to exit; returns its wait status,
  // or DeadlineExceeded quoting the command and its output.
  absl::StatusOr<int> Wait(absl::Duration timeout);
  // SIGKILL (the group too, if it has its own) and reap. Idempotent.
  void Kill();

  // The CPU the child used (user and system), once it has exited.
  double cpu_seconds() const {
    return usage_.ru_utime.tv_sec + usage_.ru_stime.tv_sec +
           (usage_.ru_utime.tv_usec + usage_.ru_stime.tv_usec) / 1e6;
  }

  std::string log() const { return ReadFileOrEmpty(log_path_); }
  const std::string& command() const { return command_; }
  pid_t pid() const { return pid_; }

 private:
  ChildProcess(pid_t pid, OwnedFd stdin_write, std::string log_path,
               std::string command, bool group)
      : pid_(pid),
        stdin_(std::move(stdin_write)),
        log_path_(std::move(log_path)),
        command_(std::move(command)),
        group_(group) {}

  const pid_t pid_;
  OwnedFd stdin_;
  const std::string log_path_;
  const std::string command_;
  const bool group_;
  bool exited_ = false;
  int status_ = 0;
  rusage usage_{};
};

// "exit code 1", "signal 9".
std::string DescribeWaitStatus(int status);

// A port that was free a moment ago: bind 127.0.0.1:0, read it, close.
// Servers start on it through ServerProcess (testbed/server_process.h),
// which retries when another process took it meanwhile.
absl::StatusOr<uint16_t> PickFreePort();

}  // namespace tlsession::testing

#endif  // TLSESSION_TESTBED_SUBPROCESS_H_
