#include "tests/testing/ftps_tool.h"

#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "testbed/subprocess.h"

namespace tlsession::testing {

std::ostream& operator<<(std::ostream& os, const ToolRun& r) {
  return os << "$ " << r.command << "\n(exit " << r.exit_code << ")\n"
            << r.output << (r.err.empty() ? "" : "\n-- stderr --\n") << r.err;
}

std::string FtpsBinary() {
  if (access("tools/ftps", X_OK) == 0) {
    char cwd[4096];
    if (getcwd(cwd, sizeof(cwd)) != nullptr) {
      return absl::StrCat(cwd, "/tools/ftps");
    }
    return "tools/ftps";
  }
  const char* srcdir = getenv("TEST_SRCDIR");
  return absl::StrCat(srcdir ? srcdir : ".", "/tlsession/tools/ftps");
}

std::vector<std::string> LinesStartingWith(const std::string& output,
                                           absl::string_view prefix) {
  std::vector<std::string> out;
  for (absl::string_view line : absl::StrSplit(output, '\n')) {
    if (absl::StartsWith(line, prefix)) out.emplace_back(line);
  }
  return out;
}

FtpsTool::FtpsTool(std::string dir, std::string default_home)
    : dir_(std::move(dir)), default_home_(std::move(default_home)) {}

std::string FtpsTool::NextStderrPath() const {
  return absl::StrCat(dir_, "/ftps-", runs_ + 1, ".err");
}

ToolRun FtpsTool::Run(const std::vector<std::string>& args,
                      const RunOptions& options, absl::Duration timeout) {
  ToolRun run;
  const std::string err_path = NextStderrPath();
  const std::string out_path = absl::StrCat(dir_, "/ftps-", ++runs_, ".out");
  std::vector<std::string> argv;
  if (options.split_stderr || !options.cwd.empty()) {
    // ChildProcess sends both streams to one file: let a shell part them
    // (and change folders).
    argv = {
        "/bin/sh", "-c",
        absl::StrCat(options.cwd.empty() ? "" : "cd \"$FTPS_TEST_CWD\" && ",
                     "exec \"$0\" \"$@\"",
                     options.split_stderr ? " 2>\"$FTPS_TEST_STDERR\"" : ""),
        FtpsBinary()};
  } else {
    argv = {FtpsBinary()};
  }
  argv.insert(argv.end(), args.begin(), args.end());
  run.command = absl::StrJoin(args, " ");
  std::vector<std::string> env = options.env;
  if (options.split_stderr) {
    env.push_back(absl::StrCat("FTPS_TEST_STDERR=", err_path));
  }
  if (!options.cwd.empty()) env.push_back("FTPS_TEST_CWD=" + options.cwd);
  // ChildProcess::Spawn appends |env| after the inherited environment, and
  // getenv() returns the first match: an inherited HOME (Bazel passes it,
  // see .bazelrc) would win over "HOME=..." in |env|. So HOME is set in
  // this process, which the child inherits.
  const std::string home = options.home.empty() ? default_home_ : options.home;
  setenv("HOME", home.c_str(), 1);
  auto child = ChildProcess::Spawn(argv, out_path, /*stdin_pipe=*/false, env);
  if (!child.ok()) {
    ADD_FAILURE() << "cannot run ftps: " << child.status();
    return run;
  }
  absl::StatusOr<int> status = (*child)->Wait(timeout);
  if (!status.ok()) {
    ADD_FAILURE() << status.status();
    (*child)->Kill();
  } else if (!WIFEXITED(*status)) {
    ADD_FAILURE() << "ftps " << run.command << ": "
                  << DescribeWaitStatus(*status);
  } else {
    run.exit_code = WEXITSTATUS(*status);
  }
  run.output = ReadFileOrEmpty(out_path);
  if (options.split_stderr) run.err = ReadFileOrEmpty(err_path);
  return run;
}

}  // namespace tlsession::testing
