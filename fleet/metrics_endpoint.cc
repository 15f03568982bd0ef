#include "fleet/metrics_endpoint.h"

#include <errno.h>
#include <sys/socket.h>

#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "base/prometheus_text.h"

namespace tlsession::fleet {
namespace {

// A response with |status| ("404 Not Found"), |extra| header lines (each
// ending in "\r\n") and |body| (sent only when |send_body|; its length is
// always given).
std::string Response(absl::string_view status, absl::string_view content_type,
                     absl::string_view extra, absl::string_view body,
                     bool send_body) {
  return absl::StrCat("HTTP/1.1 ", status, "\r\nContent-Type: ", content_type,
                      "\r\nContent-Length: ", body.size(), "\r\n", extra,
                      "Connection: close\r\n\r\n", send_body ? body : "");
}

// The text responses other than 200.
std::string Refusal(absl::string_view status, absl::string_view extra = "") {
  return Response(status, "text/plain; charset=utf-8", extra,
                  absl::StrCat(status, "\n"), true);
}

// True when |head| ends a request head (the blank line after the headers).
bool HeadComplete(absl::string_view head) {
  return absl::StrContains(head, "\r\n\r\n") || absl::StrContains(head, "\n\n");
}

}  // namespace

std::string MetricsHttpResponse(absl::string_view head,
                                const std::function<std::string()>& render) {
  const absl::string_view line = head.substr(0, head.find_first_of("\r\n"));
  const std::vector<absl::string_view> parts = absl::StrSplit(line, ' ');
  if (parts.size() != 3 || parts[0].empty() || parts[1].empty() ||
      parts[1][0] != '/' ||
      (parts[2] != "HTTP/1.0" && parts[2] != "HTTP/1.1")) {
    return Refusal("400 Bad Request");
  }
  const bool head_only = parts[0] == "HEAD";
  if (parts[0] != "GET" && !head_only) {
    return Refusal("405 Method Not Allowed", "Allow: GET, HEAD\r\n");
  }
  const absl::string_view path = parts[1].substr(0, parts[1].find('?'));
  if (path != "/metrics") return Refusal("404 Not Found");
  return Response("200 OK", kPrometheusTextContentType, "", render(),
                  !head_only);
}

absl::StatusOr<std::unique_ptr<MetricsEndpoint>> MetricsEndpoint::Start(
    TcpListener listener, std::function<std::string()> render,
    Options options) {
  if (!render) return absl::InvalidArgumentError("MetricsEndpoint: no render");
  if (options.max_request_bytes == 0) {
    return absl::InvalidArgumentError("MetricsEndpoint: max_request_bytes 0");
  }
  // The thread blocks in accept(2); Stop() shuts the listener down to wake
  // it.
  if (absl::Status s = SetNonBlocking(listener.fd(), false); !s.ok()) return s;
  std::unique_ptr<MetricsEndpoint> endpoint(new MetricsEndpoint(
      std::move(listener), std::move(render), std::move(options)));
  MetricsEndpoint* raw = endpoint.get();
  endpoint->thread_ = std::thread([raw] { raw->Run(); });
  return endpoint;
}

MetricsEndpoint::MetricsEndpoint(TcpListener listener,
                                 std::function<std::string()> render,
                                 Options options)
    : listener_(std::move(listener)),
      render_(std::move(render)),
      options_(std::move(options)) {}

MetricsEndpoint::~MetricsEndpoint() { Stop(); }

void MetricsEndpoint::Stop() {
  if (stop_.exchange(true)) return;
  shutdown(listener_.fd(), SHUT_RDWR);
  {
    MutexLock lock(&mu_);
    if (open_fd_ >= 0) shutdown(open_fd_, SHUT_RDWR);
  }
  if (thread_.joinable()) thread_.join();
}

void MetricsEndpoint::Run() {
  while (!stop_) {
    OwnedFd fd(accept4(listener_.fd(), nullptr, nullptr,
                       SOCK_CLOEXEC | SOCK_NONBLOCK));
    if (!fd.valid()) {
      // Stopping, or a transient error (out of descriptors): never spin.
      if (!stop_ && errno != EINTR && errno != ECONNABORTED) {
        absl::SleepFor(absl::Milliseconds(10));
      }
      continue;
    }
    {
      MutexLock lock(&mu_);
      if (stop_) break;
      open_fd_ = fd.get();
    }
    Serve(fd);
    MutexLock lock(&mu_);
    open_fd_ = -1;
  }
}

void MetricsEndpoint::Serve(const OwnedFd& fd) {
  const absl::Time deadline = absl::Now() + options_.io_timeout;
  std::string head;
  char buf[1024];
  while (!HeadComplete(head) && head.size() < options_.max_request_bytes) {
    if (!WaitForFd(fd.get(), /*for_write=*/false, deadline).ok()) return;
    const ssize_t n = recv(fd.get(), buf, sizeof(buf), 0);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
    if (n <= 0) return;  // Closed or failed before a whole head: no reply.
    head.append(buf, static_cast<size_t>(n));
  }
  const std::string response = HeadComplete(head)
                                   ? MetricsHttpResponse(head, render_)
                                   : MetricsHttpResponse("", render_);
  absl::string_view rest = response;
  while (!rest.empty()) {
    if (!WaitForFd(fd.get(), /*for_write=*/true, deadline).ok()) return;
    const ssize_t n = send(fd.get(), rest.data(), rest.size(), MSG_NOSIGNAL);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
    if (n <= 0) return;
    rest.remove_prefix(static_cast<size_t>(n));
  }
  // Half-close so the client reads the whole reply before the reset a
  // close with unread request bytes would cause.
  shutdown(fd.get(), SHUT_WR);
}

}  // namespace tlsession::fleet
