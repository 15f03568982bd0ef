// OwnedFd: a file descriptor with one owner, closed when the owner drops it.
#ifndef TLSESSION_BASE_OWNED_FD_H_
#define TLSESSION_BASE_OWNED_FD_H_

#include <utility>

namespace tlsession {

// Owns a file descriptor and closes it on destruction.
class OwnedFd {
 public:
  OwnedFd() = default;
  explicit OwnedFd(int fd) : fd_(fd) {}
  OwnedFd(OwnedFd&& other) noexcept : fd_(other.release()) {}
  OwnedFd& operator=(OwnedFd&& other) noexcept {
    reset(other.release());
    return *this;
  }
  OwnedFd(const OwnedFd&) = delete;
  OwnedFd& operator=(const OwnedFd&) = delete;
  ~OwnedFd() { reset(); }

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  // Gives up ownership without closing.
  int release() { return std::exchange(fd_, -1); }
  // Closes the current descriptor (if any) and takes |fd|.
  void reset(int fd = -1);

 private:
  int fd_ = -1;
};

}  // namespace tlsession

#endif  // TLSESSION_BASE_OWNED_FD_H_
