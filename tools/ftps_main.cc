// ftps: an FTPS command-line client whose data connections resume the
// control connection's TLS session.
//
//   ftps [OPTIONS] ls URL
//   ftps [OPTIONS] get URL|'URL/DIR/*.csv' [LOCAL|DIR|-]
//   ftps [OPTIONS] get --output-dir DIR [--input-file FILE] [URL...]
//   ftps [OPTIONS] put LOCALFILE... URL|URL/DIR/
//   ftps [OPTIONS] mirror [-R] [--delete] [--dry-run] URL DIR | DIR URL
//   ftps [OPTIONS] rm|mkdir|rmdir|size URL
//   ftps [OPTIONS] mv URL NEWPATH
//
// The options and exit codes are in tools/ftps_flags.cc (`ftps --help`
// prints them), the commands in tools/ftps_tool.cc.
#include <optional>
#include <utility>

#include "tools/ftps_flags.h"
#include "tools/ftps_tool.h"

int main(int argc, char** argv) {
  tlsession::ftp::FtpsOptions options;
  if (std::optional<int> code =
          tlsession::ftp::ParseFtpsCommandLine(argc, argv, &options)) {
    return *code;
  }
  return tlsession::ftp::RunFtps(std::move(options));
}
