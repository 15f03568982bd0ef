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

namespace tlsession::testing {
namespace {
std::string ErrnoText(int err) { return strerror(err); }
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
    bool own_process_group) {
  if (argv.empty()) return absl::InvalidArgumentError("empty argv");
  // Everything the child needs is prepared before fork(): between fork and
  // exec of a multithreaded process only async-signal-safe calls are made.
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  // |env| overrides inherited variables of the same name.
  std::vector<std::string> env_strings;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string entry = *e;
    const std::string name = entry.substr(0, entry.find('=') + 1);
    bool overridden = false;
    for (const std::string& mine : env) overridden |= mine.rfind(name, 0) == 0;
    if (!overridden) env_strings.push_back(entry);
  }
  env_strings.insert(env_strings.end(), env.begin(), env.end());
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
  if (stdin_pipe) {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) {
      return absl::InternalError(absl::StrCat("pipe2: ", ErrnoText(errno)));
    }
    stdin_read.reset(fds[0]);
    stdin_write.reset(fds[1]);
  } else {
    stdin_read.reset(open("/dev/null", O_RDONLY | O_CLOEXEC));
    if (!stdin_read.valid()) {
      return absl::InternalError(
          absl::StrCat("open /dev/null: ", ErrnoText(errno)));
    }
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
    if (dup2(stdin_read.get(), 0) < 0 || dup2(log.get(), 1) < 0 ||
        dup2(log.get(), 2) < 0) {
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
  const absl::Time deadline = absl::Now() + timeout;
  while (Running()) {
    if (absl::Now() >= deadline) {
      return absl::DeadlineExceededError(absl::StrCat(
          "'", command_, "' did not exit within ",
          absl::FormatDuration(timeout), "; its output:\n", log()));
    }
    absl::SleepFor(absl::Milliseconds(1));
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

absl::Status WaitUntilListening(uint16_t port, ChildProcess& child,
                                absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    if (!child.Running()) {
      return absl::UnavailableError(absl::StrCat(
          "'", child.command(), "' exited before listening on port ", port,
          "; its output:\n", child.log()));
    }
    if (ConnectTcp("127.0.0.1", port, absl::Milliseconds(200)).ok()) {
      return absl::OkStatus();
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
  return absl::DeadlineExceededError(absl::StrCat(
      "'", child.command(), "' did not listen on port ", port, " within ",
      absl::FormatDuration(timeout), "; its output:\n", child.log()));
}

}  // namespace tlsession::testing
