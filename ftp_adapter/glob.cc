#include "ftp_adapter/glob.h"

#include <fnmatch.h>

namespace tlsession::ftp {

bool HasGlob(const std::string& text) {
  return text.find_first_of("*?[") != std::string::npos;
}

bool GlobMatches(const std::string& pattern, const std::string& name) {
  return fnmatch(pattern.c_str(), name.c_str(), FNM_PERIOD) == 0;
}

}  // namespace tlsession::ftp
