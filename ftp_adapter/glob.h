// Remote globs: which names of a listing a pattern such as "*.csv" picks,
// with fnmatch(3) semantics ('*', '?', '[...]', '\' quoting; a leading '.'
// matched only explicitly, as in a shell).
#ifndef TLSESSION_FTP_ADAPTER_GLOB_H_
#define TLSESSION_FTP_ADAPTER_GLOB_H_

#include <string>

namespace tlsession::ftp {

// True when |text| holds a glob character ('*', '?' or '[').
bool HasGlob(const std::string& text);

// True when |name| (one path segment) matches |pattern|.
bool GlobMatches(const std::string& pattern, const std::string& name);

}  // namespace tlsession::ftp

#endif  // TLSESSION_FTP_ADAPTER_GLOB_H_
