#include "tls/socket_bio.h"

#include <errno.h>
#include <sys/socket.h>

#include <new>

namespace tlsession {
namespace {

struct BioState {
  int fd;
  WireCounters* counters;
};

bool Retriable(int err) {
  return err == EAGAIN || err == EWOULDBLOCK || err == EINTR;
}

int BioWrite(BIO* bio, const char* data, int len) {
  auto* state = static_cast<BioState*>(BIO_get_data(bio));
  BIO_clear_retry_flags(bio);
  ssize_t n = send(state->fd, data, static_cast<size_t>(len), MSG_NOSIGNAL);
  if (n < 0) {
    if (Retriable(errno)) BIO_set_retry_write(bio);
    return -1;
  }
  if (state->counters)
    state->counters->bytes_written += static_cast<uint64_t>(n);
  return static_cast<int>(n);
}

int BioRead(BIO* bio, char* out, int len) {
  auto* state = static_cast<BioState*>(BIO_get_data(bio));
  BIO_clear_retry_flags(bio);
  ssize_t n = recv(state->fd, out, static_cast<size_t>(len), 0);
  if (n < 0) {
    if (Retriable(errno)) BIO_set_retry_read(bio);
    return -1;
  }
  if (state->counters) state->counters->bytes_read += static_cast<uint64_t>(n);
  return static_cast<int>(n);
}

long BioCtrl(BIO* bio, int cmd, long /*num*/, void* ptr) {
  if (cmd == BIO_C_GET_FD) {  // SSL_get_fd: the socket, for its address.
    const int fd = static_cast<BioState*>(BIO_get_data(bio))->fd;
    if (ptr != nullptr) *static_cast<int*>(ptr) = fd;
    return fd;
  }
  return cmd == BIO_CTRL_FLUSH ? 1 : 0;
}

int BioDestroy(BIO* bio) {
  delete static_cast<BioState*>(BIO_get_data(bio));
  BIO_set_data(bio, nullptr);
  return 1;
}

const BIO_METHOD* Method() {
  static const BIO_METHOD* const method = [] {
    BIO_METHOD* m = BIO_meth_new(BIO_TYPE_SOCKET, "tlsession socket");
    BIO_meth_set_write(m, BioWrite);
    BIO_meth_set_read(m, BioRead);
    BIO_meth_set_ctrl(m, BioCtrl);
    BIO_meth_set_destroy(m, BioDestroy);
    return m;
  }();
  return method;
}

}  // namespace

bssl::UniquePtr<BIO> NewSocketBio(int fd, WireCounters* counters) {
  bssl::UniquePtr<BIO> bio(BIO_new(Method()));
  if (!bio) return nullptr;
  BIO_set_data(bio.get(), new (std::nothrow) BioState{fd, counters});
  if (BIO_get_data(bio.get()) == nullptr) return nullptr;
  BIO_set_init(bio.get(), 1);
  return bio;
}

}  // namespace tlsession
