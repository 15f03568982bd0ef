// resume_client: an HTTPS-style client that fetches "/" twice from a TLS
// server and says whether the second handshake resumed the first one's
// session (for example against `openssl s_server -www`):
//
//   resume_client HOST PORT [CA_FILE]
//
// Each fetch reads the response to its end, the server's close_notify: a
// clean end is what lets the session cache keep the sessions the server sent
// (TLS 1.3 tickets arrive after the handshake). The second connection, made
// from the same Context, offers one of them with no code at the call site.
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "tls/connection.h"
#include "tls/context.h"

namespace {

using tlsession::ClientSessionCache;
using tlsession::Connection;
using tlsession::Context;
using tlsession::ContextOptions;

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

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: resume_client HOST PORT [CA_FILE]\n");
    return 2;
  }
  ContextOptions options;
  if (argc > 3) options.ca_file = argv[3];
  options.session_cache = std::make_shared<ClientSessionCache>();
  auto context = Context::Create(options);
  if (!context.ok()) {
    fprintf(stderr, "resume_client: %s\n",
            std::string(context.status().message()).c_str());
    return 1;
  }
  const uint16_t port = static_cast<uint16_t>(atoi(argv[2]));
  bool first = false, second = false;
  if (!FetchOnce(*context, argv[1], port, &first) ||
      !FetchOnce(*context, argv[1], port, &second)) {
    return 1;
  }
  printf("second handshake %s\n", second ? "RESUMED" : "did NOT resume");
  return second ? 0 : 3;
}
