#include "tests/testing/files.h"

#include <dirent.h>
#include <sys/stat.h>

namespace tlsession::testing {

bool PathExists(const std::string& path) { return LinkMode(path) != 0; }

mode_t LinkMode(const std::string& path) {
  struct stat st;
  return lstat(path.c_str(), &st) == 0 ? st.st_mode : 0;
}

std::vector<std::string> ListDir(const std::string& dir) {
  std::vector<std::string> names;
  if (DIR* d = opendir(dir.c_str())) {
    while (dirent* e = readdir(d)) {
      const std::string name = e->d_name;
      if (name != "." && name != "..") names.push_back(name);
    }
    closedir(d);
  }
  return names;
}

}  // namespace tlsession::testing
