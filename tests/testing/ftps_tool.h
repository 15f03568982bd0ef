// The `ftps` tool (//tools:ftps, from the test's runfiles) run as a
// real child process: its exit code, its output, and its stderr apart when
// asked.
#ifndef TLSESSION_TESTS_TESTING_FTPS_TOOL_H_
#define TLSESSION_TESTS_TESTING_FTPS_TOOL_H_

#include <ostream>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace tlsession::testing {

// The tool's exit codes, as its usage text documents them.
constexpr int kExitOk = 0;
constexpr int kExitOther = 1;
constexpr int kExitUsage = 2;
constexpr int kExitConnection = 3;
constexpr int kExitLogin = 4;
constexpr int kExitRefused = 5;
constexpr int kExitLocalFile = 6;
constexpr int kExitReuseRequired = 7;

// What one run of the tool did.
struct ToolRun {
  int exit_code = -1;  // -1: did not exit normally (see the test failure).
  std::string output;  // stdout and stderr, or only stdout with split_stderr.
  std::string err;     // stderr, with split_stderr.
  std::string command;
};

// The command, exit code and output, for failure messages.
std::ostream& operator<<(std::ostream& os, const ToolRun& r);

struct RunOptions {
  std::vector<std::string> env;  // "NAME=value", added to the environment.
  std::string home;              // $HOME for the child; default: the
                                 // FtpsTool's default home.
  bool split_stderr = false;     // stderr to ToolRun::err instead of output.
  std::string cwd;               // The child's working folder; default: ours.
};

// The tool's path in the test's runfiles.
std::string FtpsBinary();

// The lines of |output| that start with |prefix|.
std::vector<std::string> LinesStartingWith(const std::string& output,
                                           absl::string_view prefix);

// Runs the tool, each run's output in files of its own under a folder.
class FtpsTool {
 public:
  // Output files go to |dir|; |default_home| is $HOME for runs that name
  // none (a folder without .netrc keeps the real home's out).
  FtpsTool(std::string dir, std::string default_home);

  // Runs `ftps ARGS...` and waits for it (at most |timeout|: a run that
  // takes longer is a test failure, and is killed).
  ToolRun Run(const std::vector<std::string>& args,
              const RunOptions& options = RunOptions(),
              absl::Duration timeout = absl::Seconds(60));

  // Where the next run's stderr goes with split_stderr (a test may read it
  // while the run is under way).
  std::string NextStderrPath() const;

 private:
  std::string dir_;
  std::string default_home_;
  int runs_ = 0;
};

}  // namespace tlsession::testing

#endif  // TLSESSION_TESTS_TESTING_FTPS_TOOL_H_
