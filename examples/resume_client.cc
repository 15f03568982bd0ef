// resume_client: an HTTPS-style client that fetches "/" twice from a TLS
// server and says whether the second handshake resumed the first one's
// session (for example against `openssl s_server -www`):
//
//   resume_client HOST PORT [CA_FILE] [--early-data]
//
// Each fetch reads the response to its end, the server's close_notify: a
// clean end is what lets the session cache keep the sessions the server sent
// (TLS 1.3 tickets arrive after the handshake). The second connection, made
// from the same Context, offers one of them with no code at the call site.
//
// With --early-data the second request goes as TLS 1.3 early data (0-RTT,
// for example to `tls_echo_server --early-data`), and the program prints
// "early data: accepted" or "early data: rejected (REASON)" (a rejected
// request is sent again after the handshake, once), then the second
// response's body. In that mode each request is followed by close_notify
// (TLS 1.3 half-close), so that a server that answers and waits (an echo
// server) ends the response with its own.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>

#include "tls/connection.h"
#include "tls/context.h"

namespace {

using tlsession::ClientSessionCache;
using tlsession::Connection;
using tlsession::Context;
using tlsession::ContextOptions;
using tlsession::EarlyDataOutcome;
using tlsession::UnsentEarlyData;

bool Fail(const absl::Status& status) {
  fprintf(stderr, "resume_client: %s\n", std::string(status.message()).c_str());
  return false;
}

// One fetch: handshake, GET /, the response to its end (close_notify).
bool FetchOnce(const std::shared_ptr<const Context>& context,
               const std::string& host, uint16_t port, bool* resumed) {
  auto conn = Connection::Connect(context, host, port);
  if (!conn.ok()) return Fail(conn.status());
  *resumed = (*conn)->session_reused();
  printf("handshake: %s, %s\n", (*conn)->version_name().c_str(),
         *resumed ? "resumed" : "full");
  auto sent = (*conn)->Write("GET / HTTP/1.0\r\nHost: " + host + "\r\n\r\n");
  if (!sent.ok()) return Fail(sent);
  size_t total = 0;
  for (char buf[4096];;) {
    auto n = (*conn)->Read(buf, sizeof(buf));
    if (!n.ok()) return Fail(n.status());
    if (*n == 0) break;  // close_notify: a clean end.
    total += *n;
  }
  printf("response: %zu bytes\n", total);
  (void)(*conn)->Shutdown();  // Ours back; the peer may already be gone.
  return true;
}

std::string Request(const std::string& host) {
  return "GET / HTTP/1.0\r\nHost: " + host + "\r\n\r\n";
}

// Sends close_notify after the request, then reads the response up to the
// server's close_notify. Returns false (said on stderr) on failure.
bool ReadToEnd(Connection& conn, std::string* response) {
  if (auto s = conn.SendCloseNotify(); !s.ok()) return Fail(s);
  for (char buf[4096];;) {
    auto n = conn.Read(buf, sizeof(buf));
    if (!n.ok()) return Fail(n.status());
    if (*n == 0) return true;  // close_notify: a clean end.
    response->append(buf, *n);
  }
}

// An HTTP response's body (after the blank line); any other reply whole.
std::string BodyOf(const std::string& response) {
  const size_t end = response.find("\r\n\r\n");
  if (response.rfind("HTTP/", 0) != 0 || end == std::string::npos) {
    return response;
  }
  return response.substr(end + 4);
}

// --early-data: a full fetch that leaves a ticket in the cache, then one
// whose request is early data. Prints the outcome and the second body.
int FetchTwiceEarly(const std::shared_ptr<const Context>& context,
                    const std::string& host, uint16_t port) {
  std::string response;
  {
    auto conn = Connection::Connect(context, host, port);
    if (!conn.ok()) return Fail(conn.status()), 1;
    if (auto s = (*conn)->Write(Request(host)); !s.ok()) return Fail(s), 1;
    // BoringSSL ignores tickets that arrive after our close_notify: take
    // one first (a server that sends none just gets no 0-RTT).
    (void)(*conn)->WaitForSession(absl::Seconds(5));
    if (!ReadToEnd(**conn, &response)) return 1;
  }
  auto conn = Connection::ConnectWithEarlyData(
      context, host, port, Request(host), UnsentEarlyData::kResend);
  if (!conn.ok()) return Fail(conn.status()), 1;
  const tlsession::EarlyDataResult& early = (*conn)->early_data();
  if (early.outcome == EarlyDataOutcome::kAccepted) {
    printf("early data: accepted\n");
  } else {
    printf(
        "early data: rejected (%s%s)\n",
        early.outcome == EarlyDataOutcome::kNotOffered ? "not offered: " : "",
        early.reason.c_str());
  }
  response.clear();
  if (!ReadToEnd(**conn, &response)) return 1;
  const std::string body = BodyOf(response);
  fwrite(body.data(), 1, body.size(), stdout);
  return (*conn)->session_reused() ? 0 : 3;
}

}  // namespace

int main(int argc, char** argv) {
  const bool early = argc > 3 && strcmp(argv[argc - 1], "--early-data") == 0;
  if (early) --argc;
  if (argc < 3 || argc > 4) {
    fprintf(stderr,
            "usage: resume_client HOST PORT [CA_FILE] [--early-data]\n");
    return 2;
  }
  ContextOptions options;
  if (argc > 3) options.ca_file = argv[3];
  options.early_data = early;
  options.session_cache = std::make_shared<ClientSessionCache>();
  auto context = Context::Create(options);
  if (!context.ok()) {
    fprintf(stderr, "resume_client: %s\n",
            std::string(context.status().message()).c_str());
    return 1;
  }
  const uint16_t port = static_cast<uint16_t>(atoi(argv[2]));
  if (early) return FetchTwiceEarly(*context, argv[1], port);
  bool first = false, second = false;
  if (!FetchOnce(*context, argv[1], port, &first) ||
      !FetchOnce(*context, argv[1], port, &second)) {
    return 1;
  }
  printf("second handshake %s\n", second ? "RESUMED" : "did NOT resume");
  return second ? 0 : 3;
}
