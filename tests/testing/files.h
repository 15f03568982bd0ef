// Checking what code under test left on disk: whether a path exists (a
// dangling symlink too), what kind of file it is, what a folder holds.
#ifndef TLSESSION_TESTS_TESTING_FILES_H_
#define TLSESSION_TESTS_TESTING_FILES_H_

#include <sys/types.h>

#include <string>
#include <vector>

namespace tlsession::testing {

// True when |path| exists (a dangling symlink too).
bool PathExists(const std::string& path);

// The lstat() mode of |path| (type and permissions; a symlink's own), or 0
// when there is nothing.
mode_t LinkMode(const std::string& path);

// Writes |data| to |path| (created or truncated) with mode 0600 whatever
// the umask, as key and cache files must be. Returns false when any step
// fails.
bool WritePrivateFile(const std::string& path, const std::string& data);

// The names in |dir| (without "." and "..").
std::vector<std::string> ListDir(const std::string& dir);

}  // namespace tlsession::testing

#endif  // TLSESSION_TESTS_TESTING_FILES_H_
