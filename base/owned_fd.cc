#include "base/owned_fd.h"

#include <unistd.h>

namespace tlsession {

void OwnedFd::reset(int fd) {
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
}

}  // namespace tlsession
