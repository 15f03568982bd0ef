#include "testbed/server_process.h"

#include <dirent.h>
#include <limits.h>
#include <unistd.h>

#include <fstream>
#include <set>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "testbed/poll.h"

namespace tlsession::testing {
namespace {

// The inodes of the TCP sockets listening on |port| (any address), from
// /proc/net/tcp and /proc/net/tcp6.
std::set<std::string> ListeningInodes(uint16_t port) {
  std::set<std::string> inodes;
  const std::string port_hex =
      absl::StrCat(":", absl::Hex(port, absl::kZeroPad4));
  for (const char* table : {"/proc/net/tcp", "/proc/net/tcp6"}) {
    std::ifstream in(table);
    std::string line;
    std::getline(in, line);  // The header.
    while (std::getline(in, line)) {
      // "sl local rem st tx:rx tr:when retrnsmt uid timeout inode ..."
      std::vector<std::string> f = absl::StrSplit(line, ' ', absl::SkipEmpty());
      if (f.size() < 10 || f[3] != "0A") continue;  // 0A: TCP_LISTEN.
      if (absl::EndsWithIgnoreCase(f[1], port_hex)) inodes.insert(f[9]);
    }
  }
  return inodes;
}

// The processes other than |pid| in the process group |pid| leads.
std::vector<pid_t> GroupMembers(pid_t pid) {
  std::vector<pid_t> pids;
  DIR* proc = opendir("/proc");
  if (proc == nullptr) return pids;
  while (dirent* e = readdir(proc)) {
    pid_t other = 0;
    if (!absl::SimpleAtoi(e->d_name, &other) || other == pid) continue;
    // "PID (COMM) STATE PPID PGRP ...": COMM may hold spaces and parentheses.
    const std::string stat =
        ReadFileOrEmpty(absl::StrCat("/proc/", other, "/stat"));
    const size_t end = stat.rfind(')');
    if (end == std::string::npos) continue;
    std::vector<std::string> f =
        absl::StrSplit(stat.substr(end + 1), ' ', absl::SkipEmpty());
    pid_t group = 0;
    if (f.size() > 2 && absl::SimpleAtoi(f[2], &group) && group == pid) {
      pids.push_back(other);
    }
  }
  closedir(proc);
  return pids;
}

// True when |pid| has a descriptor open on one of the socket |inodes|.
bool HoldsSocket(pid_t pid, const std::set<std::string>& inodes) {
  const std::string fd_dir = absl::StrCat("/proc/", pid, "/fd");
  DIR* dir = opendir(fd_dir.c_str());
  if (dir == nullptr) return false;
  bool found = false;
  while (dirent* e = readdir(dir)) {
    char target[PATH_MAX];
    const std::string path = absl::StrCat(fd_dir, "/", e->d_name);
    const ssize_t n = readlink(path.c_str(), target, sizeof(target) - 1);
    if (n <= 0) continue;
    absl::string_view link(target, n);  // "socket:[12345]"
    if (absl::ConsumePrefix(&link, "socket:[") &&
        absl::ConsumeSuffix(&link, "]") && inodes.count(std::string(link))) {
      found = true;
      break;
    }
  }
  closedir(dir);
  return found;
}

// The file the server's ready line and port-taken texts appear in.
std::string ServerLog(const ServerSpec& spec) {
  return ReadFileOrEmpty(spec.server_log_path.empty() ? spec.log_path
                                                      : spec.server_log_path);
}

// The child's output and the server's own log, for error messages.
std::string QuoteLogs(const ServerSpec& spec) {
  std::string out =
      absl::StrCat("its output:\n", ReadFileOrEmpty(spec.log_path));
  if (!spec.server_log_path.empty()) {
    absl::StrAppend(&out, "\n== ", spec.server_log_path, "\n",
                    ReadFileOrEmpty(spec.server_log_path));
  }
  return out;
}

// Where one attempt stands.
enum class State { kWaiting, kReady, kPortTaken, kExited };

// Looks once: whether the child is ready on |port|, lost the port, exited.
// The child's state is read before its log, so that the log of an exited
// child is complete.
State Check(const ServerSpec& spec, const std::string& ready_line,
            uint16_t port, ChildProcess& child) {
  const bool running = child.Running();
  const std::string log = ServerLog(spec);
  for (const std::string& text : spec.port_taken) {
    if (absl::StrContains(log, text)) return State::kPortTaken;
  }
  if (!running) return State::kExited;
  if (!ready_line.empty() && !absl::StrContains(log, ready_line)) {
    return State::kWaiting;
  }
  if (spec.listening_socket &&
      !HoldsListeningSocket(child.pid(), spec.own_process_group, port)) {
    return State::kWaiting;
  }
  return State::kReady;
}

// One attempt's result: a ready child, or why not.
struct Attempt {
  State state = State::kExited;
  absl::Status status;
  std::unique_ptr<ChildProcess> child;
};

// The error for an attempt that ended in |state| (not kReady).
absl::Status AttemptError(const ServerSpec& spec, State state, uint16_t port,
                          const std::string& ready_line, ChildProcess& child) {
  const std::string head = absl::StrCat("'", child.command(), "'");
  if (state == State::kPortTaken) {
    return absl::UnavailableError(
        absl::StrCat(head, " found port ", port, " taken; ", QuoteLogs(spec)));
  }
  if (state == State::kExited) {
    absl::StatusOr<int> status = child.Wait(absl::ZeroDuration());
    return absl::UnavailableError(absl::StrCat(
        head, " exited (",
        status.ok() ? DescribeWaitStatus(*status) : "still running",
        ") before it was ready on port ", port, "; ", QuoteLogs(spec)));
  }
  std::vector<std::string> waited_for;
  if (!ready_line.empty())
    waited_for.push_back(absl::StrCat("\"", ready_line, "\""));
  if (spec.listening_socket) waited_for.push_back("its listening socket");
  return absl::DeadlineExceededError(
      absl::StrCat(head, " was not ready on port ", port, " within ",
                   absl::FormatDuration(Scaled(spec.timeout)), " (waiting for ",
                   absl::StrJoin(waited_for, " and "), "); ", QuoteLogs(spec)));
}

// Starts |spec| on |port| and waits until it is ready, lost the port,
// exited or took too long.
Attempt RunAttempt(const ServerSpec& spec, uint16_t port) {
  Attempt a;
  if (spec.ready_line.empty() && !spec.listening_socket) {
    a.status = absl::InvalidArgumentError(
        absl::StrCat(spec.name, ": no ready line and no listening socket"));
    return a;
  }
  absl::StatusOr<std::vector<std::string>> argv = spec.command(port);
  if (!argv.ok()) {
    a.status = argv.status();
    return a;
  }
  if (!spec.server_log_path.empty()) unlink(spec.server_log_path.c_str());
  absl::StatusOr<std::unique_ptr<ChildProcess>> child =
      ChildProcess::Spawn(*argv, spec.log_path, /*stdin_pipe=*/false, spec.env,
                          spec.own_process_group, spec.stdin_is_log);
  if (!child.ok()) {
    a.status =
        absl::Status(child.status().code(),
                     absl::StrCat("cannot start '", absl::StrJoin(*argv, " "),
                                  "': ", child.status().message()));
    return a;
  }
  a.child = *std::move(child);
  const std::string ready_line =
      absl::StrReplaceAll(spec.ready_line, {{"{port}", absl::StrCat(port)}});
  PollUntil(
      [&] {
        a.state = Check(spec, ready_line, port, *a.child);
        return a.state != State::kWaiting;
      },
      absl::Now() + Scaled(spec.timeout));
  if (a.state != State::kReady) {
    a.status = AttemptError(spec, a.state, port, ready_line, *a.child);
    a.child.reset();  // Killed and reaped, with its group.
  }
  return a;
}

}  // namespace

bool HoldsListeningSocket(pid_t pid, bool process_group, uint16_t port) {
  const std::set<std::string> inodes = ListeningInodes(port);
  if (inodes.empty()) return false;
  if (HoldsSocket(pid, inodes)) return true;
  if (!process_group) return false;
  for (pid_t member : GroupMembers(pid)) {
    if (HoldsSocket(member, inodes)) return true;
  }
  return false;
}

absl::StatusOr<std::unique_ptr<ServerProcess>> ServerProcess::Start(
    const ServerSpec& spec) {
  absl::Status last = absl::InvalidArgumentError("attempts < 1");
  for (int i = 0; i < spec.attempts; ++i) {
    absl::StatusOr<uint16_t> port = PickFreePort();
    if (!port.ok()) return port.status();
    Attempt a = RunAttempt(spec, *port);
    if (a.state == State::kReady) {
      return std::unique_ptr<ServerProcess>(
          new ServerProcess(spec, *port, std::move(a.child)));
    }
    // Only a lost race for the port is worth another one.
    if (a.state != State::kPortTaken) return a.status;
    last = a.status;
  }
  return absl::UnavailableError(
      absl::StrCat(spec.name, ": no free port after ", spec.attempts,
                   " attempts; the last: ", last.message()));
}

absl::StatusOr<std::unique_ptr<ServerProcess>> ServerProcess::StartOnPort(
    const ServerSpec& spec, uint16_t port) {
  Attempt a = RunAttempt(spec, port);
  if (a.state != State::kReady) return a.status;
  return std::unique_ptr<ServerProcess>(
      new ServerProcess(spec, port, std::move(a.child)));
}

std::string ServerProcess::log() const {
  std::string out = ReadFileOrEmpty(spec_.log_path);
  if (!spec_.server_log_path.empty()) {
    absl::StrAppend(&out, "== ", spec_.server_log_path, "\n",
                    ReadFileOrEmpty(spec_.server_log_path));
  }
  return out;
}

}  // namespace tlsession::testing
