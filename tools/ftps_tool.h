// The ftps tool's work: runs the command of a parsed command line (ls, get,
// put, rm, mkdir, rmdir, size, mv) against an FTPS server, data connections
// resuming the control connection's TLS session.
#ifndef TLSESSION_TOOLS_FTPS_TOOL_H_
#define TLSESSION_TOOLS_FTPS_TOOL_H_

#include "tools/ftps_flags.h"

namespace tlsession::ftp {

// Runs the command in |options|.args: one TLS context for the run, one
// control connection per server (|options|.parallel of them for `get
// --output-dir`), the session cache or store of |options| loaded first and
// saved last. Prints errors on stderr and returns the exit code
// (ExitCodeFor in ftps_flags.h).
int RunFtps(FtpsOptions options);

}  // namespace tlsession::ftp

#endif  // TLSESSION_TOOLS_FTPS_TOOL_H_
