#include "benchmarks/delay_relay.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <deque>
#include <list>
#include <string>
#include <utility>
#include <vector>

#include "absl/time/clock.h"

namespace tlsession::bench {
namespace {

// Bytes read from one side, due on the other at |due|; empty: the EOF.
struct Chunk {
  absl::Time due;
  std::string bytes;
};

// One direction of a relayed connection.
struct Leg {
  int from = -1;
  int to = -1;
  bool eof = false;  // |from| ended; its EOF is queued.
  std::deque<Chunk> queue;
};

struct Pair {
  OwnedFd client, server;
  absl::Time readable_at;  // Client bytes are read from then on (TCP's RTT).
  Leg up, down;            // client -> server, server -> client.
  bool done() const {
    return up.eof && down.eof && up.queue.empty() && down.queue.empty();
  }
};

// Writes all of |bytes| to the blocking socket |fd|; false on failure.
bool WriteAll(int fd, const std::string& bytes) {
  size_t off = 0;
  while (off < bytes.size()) {
    const ssize_t n = write(fd, bytes.data() + off, bytes.size() - off);
    if (n <= 0) return false;
    off += static_cast<size_t>(n);
  }
  return true;
}

// Reads what |leg.from| has and queues it |delay| from now (or its EOF).
void ReadInto(Leg& leg, absl::Time now, absl::Duration delay) {
  char buf[65536];
  const ssize_t n = read(leg.from, buf, sizeof(buf));
  if (n <= 0) {
    leg.eof = true;
    leg.queue.push_back({now + delay, ""});
    return;
  }
  leg.queue.push_back({now + delay, std::string(buf, n)});
}

// Forwards the chunks of |leg| that are due at |now|.
void Flush(Leg& leg, absl::Time now) {
  while (!leg.queue.empty() && leg.queue.front().due <= now) {
    const Chunk& c = leg.queue.front();
    if (c.bytes.empty()) {
      shutdown(leg.to, SHUT_WR);
    } else if (!WriteAll(leg.to, c.bytes)) {
      leg.eof = true;  // The other side is gone: drop what is queued.
      leg.queue.clear();
      return;
    }
    leg.queue.pop_front();
  }
}

// A relayed connection for the client socket |client|, or nothing when the
// target cannot be reached.
std::unique_ptr<Pair> Connect(OwnedFd client, uint16_t target,
                              absl::Time readable_at) {
  absl::StatusOr<OwnedFd> server =
      ConnectTcp("127.0.0.1", target, absl::Seconds(5));
  if (!server.ok()) return nullptr;
  auto p = std::make_unique<Pair>();
  p->client = std::move(client);
  p->server = std::move(*server);
  for (int fd : {p->client.get(), p->server.get()}) {
    (void)SetNonBlocking(fd, false);
    const int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  }
  p->readable_at = readable_at;
  p->up = {p->client.get(), p->server.get()};
  p->down = {p->server.get(), p->client.get()};
  return p;
}

}  // namespace

absl::StatusOr<std::unique_ptr<DelayRelay>> DelayRelay::Start(
    uint16_t target_port, absl::Duration rtt) {
  absl::StatusOr<TcpListener> listener =
      TcpListener::Listen("127.0.0.1", 0, 64);
  if (!listener.ok()) return listener.status();
  std::unique_ptr<DelayRelay> relay(
      new DelayRelay(*std::move(listener), target_port, rtt));
  relay->thread_ = std::thread([r = relay.get()] { r->Run(); });
  return relay;
}

DelayRelay::DelayRelay(TcpListener listener, uint16_t target_port,
                       absl::Duration rtt)
    : listener_(std::move(listener)), target_port_(target_port), rtt_(rtt) {}

DelayRelay::~DelayRelay() {
  stop_ = true;
  thread_.join();
}

void DelayRelay::Run() {
  const absl::Duration half = rtt_ / 2;
  std::list<std::unique_ptr<Pair>> pairs;
  while (!stop_) {
    const absl::Time now = absl::Now();
    // Sleep until the next chunk is due, a socket is readable, or 10 ms.
    absl::Time wake = now + absl::Milliseconds(10);
    std::vector<pollfd> fds = {{listener_.fd(), POLLIN, 0}};
    std::vector<std::pair<Leg*, Pair*>> legs;
    for (auto& p : pairs) {
      for (Leg* leg : {&p->up, &p->down}) {
        if (!leg->queue.empty()) wake = std::min(wake, leg->queue.front().due);
        if (leg->eof) continue;
        if (leg == &p->up && now < p->readable_at) {
          wake = std::min(wake, p->readable_at);
          continue;
        }
        fds.push_back({leg->from, POLLIN, 0});
        legs.push_back({leg, p.get()});
      }
    }
    const timespec timeout =
        absl::ToTimespec(std::max(wake - now, absl::ZeroDuration()));
    if (ppoll(fds.data(), fds.size(), &timeout, nullptr) < 0) continue;
    const absl::Time after = absl::Now();
    for (size_t i = 1; i < fds.size(); ++i) {
      if (fds[i].revents != 0) ReadInto(*legs[i - 1].first, after, half);
    }
    if (fds[0].revents != 0) {
      absl::StatusOr<OwnedFd> client =
          listener_.Accept(absl::Milliseconds(1));  // Ready: no wait.
      if (client.ok()) {
        auto p = Connect(*std::move(client), target_port_, after + rtt_);
        if (p != nullptr) pairs.push_back(std::move(p));
      }
    }
    for (auto it = pairs.begin(); it != pairs.end();) {
      Flush((*it)->up, after);
      Flush((*it)->down, after);
      it = (*it)->done() ? pairs.erase(it) : std::next(it);
    }
  }
}

}  // namespace tlsession::bench
