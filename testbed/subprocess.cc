#include "testbed/subprocess.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "testbed/poll.h"

namespace tlsession::testing {
namespace {
std::string ErrnoText(int err) { return strerror(err); }

// This process's environment with |env| ("NAME=value") added, its entries
// replacing inherited variables of the same name.
std::vector<std::string> ChildEnvironment(const std::vector<std::string>& env) {
  std::vector<std::string> out;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string entry = *e;
    const std::string name = entry.substr(0, entry.find('=') + 1);
    bool overridden = false;
    for (const std::string& mine : env) overridden |= mine.rfind(name, 0) == 0;
    if (!overridden) out.push_back(entry);
  }
  out.insert(out.end(), env.begin(), env.end());
  return out;
}

// The child's stdin: the read end of a pipe whose write end goes to
// |write_end| (with |use_pipe|), or /dev/null. Both close on exec.
absl::Status OpenStdin(bool use_pipe, OwnedFd* read_end, OwnedFd* write_end) {
  if (use_pipe) {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) {
      return absl::InternalError(absl::StrCat("pipe2: ", ErrnoText(errno)));
    }
    read_end->reset(fds[0]);
    write_end->reset(fds[1]);
    return absl::OkStatus();
  }
  read_end->reset(open("/dev/null", O_RDONLY | O_CLOEXEC));
  if (!read_end->valid()) {
    return absl::InternalError(
        absl::StrCat("open /dev/null: ", ErrnoText(errno)));
  }
  return absl::OkStatus();
}
}  // namespace

std::string ReadFileOrEmpty(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

absl::StatusOr<std::unique_ptr<ChildProcess>> ChildProcess::Spawn(
    const std::vector<std::string>& argv, const std::string& log_path,
    bool stdin_pipe, const std::vector<std::string>& env,
    bool own_process_group, bool stdin_is_log) {
  if (argv.empty()) return absl::InvalidArgumentError("empty argv");
  if (stdin_pipe && stdin_is_log) {
    return absl::InvalidArgumentError("stdin_pipe and stdin_is_log");
  }
  // Everything the child needs is prepared before fork(): between fork and
  // exec of a multithreaded process only async-signal-safe calls are made.
  std::vector<char*> args;
  for (const std::string& a : argv)
    args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  std::vector<std::string> env_strings = ChildEnvironment(env);
  std::vector<char*> envp;
  for (std::string& e : env_strings) envp.push_back(&e[0]);
  envp.push_back(nullptr);

  OwnedFd log(open(log_path.c_str(),
                   O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600));
  if (!log.valid()) {
    return absl::InternalError(
        absl::StrCat("open ", log_path, ": ", ErrnoText(errno)));
  }
  OwnedFd stdin_read;
  OwnedFd stdin_write;
  if (absl::Status s = OpenStdin(stdin_pipe, &stdin_read, &stdin_write);
      !s.ok()) {
    return s;
  }

  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid < 0) {
    return absl::InternalError(absl::StrCat("fork: ", ErrnoText(errno)));
  }
  if (pid == 0) {
    // Child. Die with the test process even if it crashes.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(126);
    if (own_process_group) setpgid(0, 0);
    if (dup2(stdin_is_log ? log.get() : stdin_read.get(), 0) < 0 ||
        dup2(log.get(), 1) < 0 || dup2(log.get(), 2) < 0) {
      _exit(126);
    }
    signal(SIGPIPE, SIG_DFL);
#ifdef SYS_close_range
    syscall(SYS_close_range, 3u, ~0u, 0u);
#endif
    execve(args[0], args.data(), envp.data());
    _exit(127);
  }
  if (own_process_group) setpgid(pid, pid);  // Either side may win the race.
  return std::unique_ptr<ChildProcess>(
      new ChildProcess(pid, std::move(stdin_write), log_path,
                       absl::StrJoin(argv, " "), own_process_group));
}

ChildProcess::~ChildProcess() { Kill(); }

void ChildProcess::CloseStdin() { stdin_.reset(); }

bool ChildProcess::Running() {
  if (exited_) return false;
  int status = 0;
  pid_t r = wait4(pid_, &status, WNOHANG, &usage_);
  if (r == pid_) {
    exited_ = true;
    status_ = status;
    return false;
  }
  return r == 0;
}

absl::StatusOr<int> ChildProcess::Wait(absl::Duration timeout) {
  if (!PollUntil([this] { return !Running(); }, absl::Now() + timeout,
                 absl::Milliseconds(1))) {
    return absl::DeadlineExceededError(
        absl::StrCat("'", command_, "' did not exit within ",
                     absl::FormatDuration(timeout), "; its output:\n", log()));
  }
  return status_;
}

void ChildProcess::Kill() {
  stdin_.reset();
  if (group_) kill(-pid_, SIGKILL);  // Per-connection children too.
  if (exited_) return;
  kill(pid_, SIGKILL);
  int status = 0;
  while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  exited_ = true;
  status_ = status;
}

std::string DescribeWaitStatus(int status) {
  if (WIFEXITED(status)) return absl::StrCat("exit code ", WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return absl::StrCat("signal ", WTERMSIG(status));
  return absl::StrCat("wait status ", status);
}

absl::StatusOr<uint16_t> PickFreePort() {
  OwnedFd fd(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return absl::InternalError(ErrnoText(errno));
  sockaddr_in addr = {};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  if (bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    return absl::InternalError(absl::StrCat("bind: ", ErrnoText(errno)));
  }
  socklen_t len = sizeof(addr);
  if (getsockname(fd.get(), reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    return absl::InternalError(absl::StrCat("getsockname: ", ErrnoText(errno)));
  }
  return ntohs(addr.sin_port);
}

}  // namespace tlsession::testing
